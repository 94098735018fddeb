import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { isWalError, WAL_ERROR_CODES, WalError } from '../../../../src/log/wal/index.js';

t.test('every error code is documented', async (t) => {
  for (const [code, description] of Object.entries(WAL_ERROR_CODES)) {
    t.match(code, /^WAL_[A-Z_]+$/, `${code} is an upper-case stable code`);
    t.ok(description.length > 20, `${code} has a description`);
  }
});

t.test('every code thrown in src/log/wal is in the table', async (t) => {
  // dist/test/src/log/wal → the TypeScript sources of src/log/wal
  const here = dirname(fileURLToPath(import.meta.url));
  const srcDir = join(here, '..', '..', '..', '..', '..', 'src', 'log', 'wal');
  const used = new Set<string>();
  for (const name of await readdir(srcDir)) {
    if (!name.endsWith('.ts')) continue;
    const text = await readFile(join(srcDir, name), 'utf8');
    for (const m of text.matchAll(/(?:new WalError\(|asWalError\([^,]+,)\s*'([A-Z_]+)'/g)) used.add(m[1]!);
  }
  t.ok(used.size >= 8, `found ${used.size} codes in use`);
  for (const code of used) t.ok(code in WAL_ERROR_CODES, `${code} is documented`);
});

t.test('WalError carries code and cause', async (t) => {
  const cause = new Error('EIO');
  const err = new WalError('WAL_WRITE_FAILED', 'boom', { cause });
  t.ok(isWalError(err));
  t.notOk(isWalError(cause));
  t.equal(err.code, 'WAL_WRITE_FAILED');
  t.equal(err.cause, cause);
  t.equal(err.name, 'WalError');
});
