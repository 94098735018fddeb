// StateWriter: the transaction coordinator's writes of one event-loop turn go to the metadata store
// together, and a bad entry fails only its own write. Real memory and SQLite stores, wrapped to count.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { StateWriter } from '../../../src/coordinators/transactions/state-writer.js';
import type { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { openMetadataStore } from '../../../src/metadata/open-metadata-store.js';

function counting(store: MetadataStore) {
  const calls = { setMeta: 0, setMetaMany: 0 };
  const wrapped = {
    setMeta: (key: string, value: string) => {
      calls.setMeta++;
      return store.setMeta(key, value);
    },
    setMetaMany: (entries: readonly { key: string; value: string }[]) => {
      calls.setMetaMany++;
      return store.setMetaMany(entries);
    },
  };
  return { calls, wrapped };
}

for (const kind of ['memory', 'sqlite'] as const) {
  t.test(`${kind}: writes of one turn share one setMetaMany; each resolves once durable`, async (t) => {
    let url = 'memory://';
    if (kind === 'sqlite') {
      const dir = await mkdtemp(join(tmpdir(), 'state-writer-'));
      t.teardown(() => rm(dir, { recursive: true, force: true }));
      url = `sqlite://${join(dir, 'metadata.db')}`;
    }
    const store = await openMetadataStore(url);
    t.teardown(() => store.close());
    const { calls, wrapped } = counting(store);
    const writer = new StateWriter(wrapped);
    await Promise.all(Array.from({ length: 20 }, (_, i) => writer.write(`txn/${i}`, `state-${i}`)));
    t.equal(calls.setMetaMany, 1, 'twenty writes in one turn: one store call');
    t.equal(calls.setMeta, 0);
    t.equal((await store.listMeta('txn/')).length, 20, 'all twenty are in the store');
    await writer.write('txn/alone', 'x');
    t.equal(calls.setMeta, 1, 'a lone write is a plain setMeta');

    // One entry the store refuses (an empty key): only its own write fails.
    const results = await Promise.allSettled([
      writer.write('txn/good-1', 'a'),
      writer.write('', 'bad key'),
      writer.write('txn/good-2', 'b'),
    ]);
    t.same(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
      'the bad entry fails alone',
    );
    t.equal(await store.getMeta('txn/good-1'), 'a');
    t.equal(await store.getMeta('txn/good-2'), 'b');
  });
}
