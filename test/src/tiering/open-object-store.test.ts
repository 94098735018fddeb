import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { LocalObjectStore } from '../../../src/tiering/local-object-store.js';
import { MemoryObjectStore } from '../../../src/tiering/memory-object-store.js';
import { openObjectStore } from '../../../src/tiering/open-object-store.js';
import { S3ObjectStore } from '../../../src/tiering/s3-object-store.js';

t.test('memory:// opens a fresh memory store each time', async (t) => {
  const a = await openObjectStore('memory://');
  const b = await openObjectStore('memory://');
  t.ok(a instanceof MemoryObjectStore);
  await a.put('k', Buffer.from('v'));
  t.equal(await b.head('k'), null, 'stores are independent');
  await a.close();
  await b.close();
});

t.test('file:///abs and file://relative open local stores', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'streamhouse-open-objstore-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  const abs = await openObjectStore(`file://${dir}/abs`);
  t.ok(abs instanceof LocalObjectStore);
  t.equal((abs as LocalObjectStore).rootDir, join(dir, 'abs'));
  await abs.put('k', Buffer.from('v'));
  await abs.close();

  const viaHelper = await openObjectStore(pathToFileURL(join(dir, 'with space')).href);
  t.equal((viaHelper as LocalObjectStore).rootDir, join(dir, 'with space'), 'percent-decoded');
  await viaHelper.close();

  const rel = relative(process.cwd(), join(dir, 'rel'));
  const relStore = await openObjectStore(`file://${rel}?fsync=false`);
  t.equal((relStore as LocalObjectStore).rootDir, join(dir, 'rel'));
  await relStore.close();
});

t.test('s3://bucket/prefix opens an S3 store (no request is made until first use)', async (t) => {
  const store = await openObjectStore('s3://bucket/some/prefix?region=eu-west-1&endpoint=http://127.0.0.1:1');
  t.ok(store instanceof S3ObjectStore);
  t.equal((store as S3ObjectStore).keyPrefix, 'some/prefix/');
  await store.close();
});

t.test('unsupported and invalid URLs', async (t) => {
  await t.rejects(openObjectStore('s3://Bad_Bucket/prefix'), {
    name: 'ObjectStoreError',
    code: 'INVALID_URL',
  });
  await t.rejects(openObjectStore('s3://bucket/prefix?typo=1'), { code: 'INVALID_URL' });
  await t.rejects(openObjectStore('ftp://host/dir'), { code: 'UNSUPPORTED_URL' });
  await t.rejects(openObjectStore('/just/a/path'), { code: 'INVALID_URL' });
  await t.rejects(openObjectStore('file://'), { code: 'INVALID_URL' });
  await t.rejects(openObjectStore('file:///tmp/x?fsync=maybe'), { code: 'INVALID_URL' });
  await t.rejects(openObjectStore('file:///tmp/x?fsnyc=false'), { code: 'INVALID_URL' });
  await t.rejects(openObjectStore('file:///tmp/%zz'), { code: 'INVALID_URL' });
});
