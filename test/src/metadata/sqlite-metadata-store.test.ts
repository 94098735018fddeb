import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import t from 'tap';
import { SQLITE_MIGRATIONS } from '../../../src/metadata/sqlite/migrations.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite-metadata-store.js';
import { CRASH_TOPIC_ID } from './fixtures/commit-loop.js';
import { runMetadataStoreContract } from './metadata-store-contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'streamhouse-sqlite-'));
}

runMetadataStoreContract(t, 'sqlite file', async ({ clock }) => {
  const dir = await tempDir();
  const path = join(dir, 'meta.db');
  return {
    store: SqliteMetadataStore.open(path, { clock }),
    reopen: async () => SqliteMetadataStore.open(path, { clock }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

runMetadataStoreContract(t, 'sqlite :memory:', async ({ clock }) => ({
  store: SqliteMetadataStore.open(':memory:', { clock }),
}));

t.test('sqlite: WAL journal, migrations recorded, parent directory created', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'nested', 'deeper', 'meta.db');
  const store = SqliteMetadataStore.open(path);
  await store.close();

  const db = new Database(path, { readonly: true });
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
  t.same(
    rows,
    SQLITE_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
  );
  db.close();

  // Reopening applies nothing twice.
  const again = SqliteMetadataStore.open(path);
  await again.close();
  const db2 = new Database(path, { readonly: true });
  t.equal(
    (db2.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n,
    SQLITE_MIGRATIONS.length,
  );
  db2.close();
});

t.test('sqlite: migration versions are numbered 1..n without gaps', async (t) => {
  SQLITE_MIGRATIONS.forEach((m, i) => {
    t.equal(m.version, i + 1, `migration ${i} has version ${i + 1}`);
    t.ok(m.name.length > 0);
  });
});

t.test('sqlite: a database from a newer build is refused', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'meta.db');
  await SqliteMetadataStore.open(path).close();
  const db = new Database(path);
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(
    SQLITE_MIGRATIONS.length + 1,
    'from the future',
    Date.now(),
  );
  db.close();
  t.throws(() => SqliteMetadataStore.open(path), { name: 'MetadataStoreError', code: 'SCHEMA_INCOMPATIBLE' });
});

t.test('sqlite: an edited migration is refused', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'meta.db');
  await SqliteMetadataStore.open(path).close();
  const db = new Database(path);
  db.prepare('UPDATE schema_migrations SET name = ? WHERE version = 1').run('renamed');
  db.close();
  t.throws(() => SqliteMetadataStore.open(path), { code: 'SCHEMA_INCOMPATIBLE' });
});

t.test('sqlite: a path that cannot be opened is METADATA_STORE_UNAVAILABLE', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A directory where the database file should be.
  t.throws(() => SqliteMetadataStore.open(dir), { code: 'METADATA_STORE_UNAVAILABLE' });
});

t.test('sqlite: a process killed mid-stream loses nothing it had acknowledged', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'meta.db');
  const script = fileURLToPath(new URL('./fixtures/commit-loop.js', import.meta.url));
  let acknowledged = 0;
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, [script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let lines = 0;
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`exit ${code}`)),
      );
      child.stdout.on('data', (data: Buffer) => {
        buffered += data.toString();
        const complete = buffered.split('\n');
        buffered = complete.pop()!;
        for (const line of complete) {
          acknowledged = Math.max(acknowledged, Number(line));
          // Kill somewhere inside the next commit, once a few went through.
          if (++lines === 20 + round * 7) child.kill('SIGKILL');
        }
      });
    });
  }
  const store = SqliteMetadataStore.open(path);
  const end = await store.getIndexedEnd(CRASH_TOPIC_ID, 0);
  t.ok(end >= acknowledged, `indexed end ${end} covers every acknowledged commit (${acknowledged})`);
  const entries = await store.findIndexEntries(CRASH_TOPIC_ID, 0, 0, 10_000);
  t.equal(entries.length * 10, end, 'the index is gap-free');
  entries.forEach((e, i) => {
    if (e.baseOffset !== i * 10) t.fail(`entry ${i} starts at ${e.baseOffset}`);
  });
  const [offset] = await store.fetchOffsets('crash-group');
  t.ok((offset?.offset ?? 0) >= acknowledged, 'the committed group offset survived');
  await store.close();
});
