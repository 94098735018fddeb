import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LocalObjectStore } from '../../../src/tiering/local-object-store.js';
import { CRASH_OBJECT_BYTES, crashBody } from './fixtures/put-loop.js';
import { collect, runObjectStoreContract } from './object-store-contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'streamhouse-objstore-'));
}

runObjectStoreContract(t, 'local', async () => {
  const dir = await tempDir();
  return {
    store: await LocalObjectStore.open(dir),
    reopen: () => LocalObjectStore.open(dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

runObjectStoreContract(t, 'local (fsync off)', async () => {
  const dir = await tempDir();
  return {
    store: await LocalObjectStore.open(dir, { fsync: false }),
    reopen: () => LocalObjectStore.open(dir, { fsync: false }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

t.test('local: keys map to files in subdirectories', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await LocalObjectStore.open(dir);
  await store.put('ab/cd/obj-1', Buffer.from('hello'));
  t.equal((await stat(join(dir, 'ab', 'cd', 'obj-1'))).size, 5);
  t.same(await readdir(join(dir, '.tmp')), [], 'no temp file left behind');
  await store.close();
});

t.test('local: a key that is a path prefix of another rejects KEY_CONFLICT', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await LocalObjectStore.open(dir);
  await store.put('p/q', Buffer.from('1'));
  await t.rejects(store.put('p', Buffer.from('2')), { code: 'KEY_CONFLICT' });
  await t.rejects(store.put('p/q/r', Buffer.from('3')), { code: 'KEY_CONFLICT' });
  t.same(await store.get('p/q'), Buffer.from('1'), 'the first object is untouched');
  t.same(await readdir(join(dir, '.tmp')), [], 'failed puts leave no temp file');
  await store.close();
});

t.test('local: delete prunes the directories it empties, never the root', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await LocalObjectStore.open(dir);
  await store.put('x/y/z/one', Buffer.from('1'));
  await store.put('x/two', Buffer.from('2'));
  await store.delete(['x/y/z/one']);
  t.notOk(existsSync(join(dir, 'x', 'y')), 'x/y was emptied and removed');
  t.ok(existsSync(join(dir, 'x', 'two')));
  await store.delete(['x/two']);
  t.notOk(existsSync(join(dir, 'x')));
  t.ok(existsSync(dir), 'root stays');
  t.ok(existsSync(join(dir, '.tmp')), 'temp directory stays');
  await store.close();
});

t.test('local: open removes stale temp files and keeps fresh ones; dot-files never list', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, '.tmp'), { recursive: true });
  await writeFile(join(dir, '.tmp', 'stale'), 'partial');
  const old = new Date(Date.now() - 60 * 60 * 1000);
  await utimes(join(dir, '.tmp', 'stale'), old, old);
  await writeFile(join(dir, '.tmp', 'fresh'), 'in progress elsewhere');
  await writeFile(join(dir, '.hidden'), 'not an object');
  const store = await LocalObjectStore.open(dir);
  t.same((await readdir(join(dir, '.tmp'))).sort(), ['fresh']);
  t.same(await collect(store.list('')), []);
  await store.close();
});

t.test('local: files that are not valid keys are not listed', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await LocalObjectStore.open(dir);
  await writeFile(join(dir, 'has space'), 'x');
  await store.put('ok', Buffer.from('x'));
  t.same(
    (await collect(store.list(''))).map((i) => i.key),
    ['ok'],
  );
  await store.close();
});

t.test('local: close waits for puts in flight', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await LocalObjectStore.open(dir);
  const puts = Array.from({ length: 10 }, (_, i) => store.put(`w/${i}`, Buffer.alloc(256 * 1024, i)));
  await store.close();
  await Promise.all(puts);
  const reopened = await LocalObjectStore.open(dir);
  t.equal((await collect(reopened.list('w/'))).length, 10);
  await reopened.close();
});

t.test('local: a process killed mid-put never leaves a partial object under a key', async (t) => {
  const dir = await tempDir();
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const script = fileURLToPath(new URL('./fixtures/put-loop.js', import.meta.url));
  for (let round = 0; round < 3; round++) {
    const child = spawn(process.execPath, [script, dir, String(round * 1000)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
      child.stdout.on('data', (data: Buffer) => {
        if (data.toString().includes('ready')) resolve();
      });
    });
    // Kill at a moment unrelated to the put cycle (somewhere inside the next puts).
    await new Promise((resolve) => setTimeout(resolve, 20 + round * 37));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  const store = await LocalObjectStore.open(dir, { staleTempFileAgeMs: 0 });
  const listed = await collect(store.list('crash/'));
  t.ok(listed.length >= 3, `found ${listed.length} objects (at least one per round)`);
  for (const info of listed) {
    t.equal(info.sizeBytes, CRASH_OBJECT_BYTES, `${info.key} is whole`);
    const index = Number(info.key.slice(info.key.lastIndexOf('-') + 1));
    const body = await store.get(info.key);
    t.ok(body.equals(Buffer.concat(crashBody(index))), `${info.key} has its own content`);
  }
  t.same(await readdir(join(dir, '.tmp')), [], 'reopening cleared the temp files of the killed puts');
  await store.close();
});
