import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t from 'tap';
import { MemoryMetadataStore } from '../../../src/metadata/memory-metadata-store.js';
import { openMetadataStore } from '../../../src/metadata/open-metadata-store.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite-metadata-store.js';

t.test('memory:// opens a fresh memory store each time', async (t) => {
  const a = await openMetadataStore('memory://');
  const b = await openMetadataStore('memory://');
  t.ok(a instanceof MemoryMetadataStore);
  await a.setMeta('k', 'v');
  t.equal(await b.getMeta('k'), null);
  await a.close();
  await b.close();
});

t.test('sqlite:///abs, sqlite://relative and sqlite://:memory:', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'streamhouse-open-meta-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  const abs = await openMetadataStore(`sqlite://${join(dir, 'abs.db')}`);
  t.ok(abs instanceof SqliteMetadataStore);
  t.equal((abs as SqliteMetadataStore).path, join(dir, 'abs.db'));
  await abs.setMeta('k', 'v');
  await abs.close();
  const again = await openMetadataStore(`sqlite://${join(dir, 'abs.db')}`);
  t.equal(await again.getMeta('k'), 'v', 'same file, same data');
  await again.close();

  const rel = relative(process.cwd(), join(dir, 'rel.db'));
  const relStore = await openMetadataStore(`sqlite://${rel}`);
  t.equal((relStore as SqliteMetadataStore).path, join(dir, 'rel.db'));
  await relStore.close();

  const spaced = await openMetadataStore(`sqlite://${join(dir, 'with%20space.db')}`);
  t.equal((spaced as SqliteMetadataStore).path, join(dir, 'with space.db'));
  await spaced.close();

  const mem = await openMetadataStore('sqlite://:memory:');
  t.equal((mem as SqliteMetadataStore).path, ':memory:');
  await mem.close();
});

t.test('the clock option reaches the store', async (t) => {
  const store = await openMetadataStore('memory://', { clock: () => 42 });
  const topic = await store.createTopic({ name: 'x', topicId: 'id-x', partitionCount: 1, configs: {} });
  t.equal(topic.createdAtMs, 42);
  await store.close();
});

t.test('unsupported and invalid URLs', async (t) => {
  await t.rejects(openMetadataStore('postgres://user:secret@127.0.0.1:5432/db?schema=Not-Valid'), {
    name: 'MetadataStoreError',
    code: 'INVALID_URL',
  });
  // Port 1 refuses at once: the store is unavailable, and the password stays out of the message.
  const err = await openMetadataStore('postgresql://user:secret@127.0.0.1:1/db').catch((e: unknown) => e);
  t.match(err, { name: 'MetadataStoreError', code: 'METADATA_STORE_UNAVAILABLE', retriable: true });
  t.notMatch((err as Error).message, /secret/, 'the password is not in the message');
  await t.rejects(openMetadataStore('mysql://host/db'), { code: 'UNSUPPORTED_URL' });
  await t.rejects(openMetadataStore('just-a-file.db'), { code: 'INVALID_URL' });
  await t.rejects(openMetadataStore('sqlite://'), { code: 'INVALID_URL' });
  await t.rejects(openMetadataStore('sqlite:///tmp/x.db?mode=ro'), { code: 'INVALID_URL' });
  await t.rejects(openMetadataStore('sqlite:///tmp/%zz.db'), { code: 'INVALID_URL' });
});
