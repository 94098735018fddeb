/**
 * The MetadataStore contract: every implementation runs this suite (the semantics are documented
 * in src/metadata/metadata-store.ts). An implementation's test file calls runMetadataStoreContract
 * with a factory that makes a fresh, empty store per subtest, driven by the suite's clock.
 */
import type tap from 'tap';
import type {
  IndexEntry,
  MetadataStore,
  NewTopic,
  ObjectCommit,
  OffsetCommitEntry,
} from '../../../src/metadata/metadata-store.js';
import { MetadataStoreError } from '../../../src/metadata/metadata-store.js';

export type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0];

export interface MetadataStoreHarness {
  /** A fresh, empty store that reads time from the clock it was given. */
  readonly store: MetadataStore;
  /** Durable stores only: open the same data again (the suite has closed the previous instance). */
  readonly reopen?: () => Promise<MetadataStore>;
  /** Called once the subtest is done, after the suite closed its stores. */
  readonly cleanup?: () => Promise<void>;
}

export type MetadataStoreFactory = (options: { clock: () => number }) => Promise<MetadataStoreHarness>;

interface Clock {
  nowMs: number;
}

const T0 = 1_700_000_000_000;
const TOPIC_A = '5f8b6a1e-0c1d-4a57-9c33-0d5a7f6b1a01';
const TOPIC_B = '5f8b6a1e-0c1d-4a57-9c33-0d5a7f6b1a02';

function newTopic(
  name: string,
  topicId: string,
  partitionCount = 2,
  configs: Record<string, string> = {},
): NewTopic {
  return { name, topicId, partitionCount, configs };
}

/** An entry whose bytes are 100 per offset, placed at `byteOffset`. */
function entry(
  topicId: string,
  partition: number,
  baseOffset: number,
  lastOffset: number,
  byteOffset: number,
  maxTimestampMs = T0,
): IndexEntry {
  return {
    topicId,
    partition,
    baseOffset,
    lastOffset,
    byteOffset,
    byteLength: (lastOffset - baseOffset + 1) * 100,
    maxTimestampMs,
    batchCount: 1,
  };
}

/** An object holding `entries` back to back from byte 0 (their byteOffsets are recomputed). */
function object(key: string, entries: readonly IndexEntry[], createdAtMs = T0): ObjectCommit {
  let position = 0;
  const placed = entries.map((e) => {
    const p = { ...e, byteOffset: position };
    position += e.byteLength;
    return p;
  });
  return { key, sizeBytes: position, createdAtMs, entries: placed };
}

function offsetCommit(topic: string, partition: number, offset: number, metadata: string | null = null) {
  return {
    topic,
    partition,
    offset,
    leaderEpoch: 3,
    metadata,
    commitTimestampMs: T0,
  } satisfies OffsetCommitEntry;
}

export function runMetadataStoreContract(t: TapTest, name: string, factory: MetadataStoreFactory): void {
  function withStore(
    title: string,
    body: (t: TapTest, store: MetadataStore, clock: Clock, harness: MetadataStoreHarness) => Promise<void>,
  ) {
    t.test(`${name}: ${title}`, async (t) => {
      const clock: Clock = { nowMs: T0 };
      const harness = await factory({ clock: () => clock.nowMs });
      try {
        await body(t, harness.store, clock, harness);
      } finally {
        await harness.store.close();
        await harness.cleanup?.();
      }
    });
  }

  /** Two topics: A (2 partitions), B (1 partition). */
  async function twoTopics(store: MetadataStore): Promise<void> {
    await store.createTopic(newTopic('alpha', TOPIC_A, 2));
    await store.createTopic(newTopic('beta', TOPIC_B, 1));
  }

  // Cluster ------------------------------------------------------------------------------------

  withStore('cluster id is created once and then stable; meta get/set', async (t, store) => {
    const id = await store.getOrCreateClusterId();
    t.match(id, /^[A-Za-z0-9_-]{22}$/, 'base64url of 16 bytes');
    t.equal(await store.getOrCreateClusterId(), id);
    const ids = await Promise.all([store.getOrCreateClusterId(), store.getOrCreateClusterId()]);
    t.same(ids, [id, id], 'concurrent calls agree');
    t.equal(await store.getMeta('nothing'), null);
    await store.setMeta('broker.epoch', '1');
    await store.setMeta('broker.epoch', '2');
    t.equal(await store.getMeta('broker.epoch'), '2');
    await store.setMeta('empty', '');
    t.equal(await store.getMeta('empty'), '');
    await t.rejects(store.setMeta('', 'x'), { code: 'INVALID_ARGUMENT' });
  });

  withStore(
    'setMetaMany: all entries in one call, last value of a repeated key wins, all or nothing',
    async (t, store) => {
      await store.setMeta('m/keep', 'old');
      await store.setMetaMany([
        { key: 'm/a', value: '1' },
        { key: 'm/keep', value: 'new' },
        { key: 'm/a', value: '2' },
        { key: 'm/empty', value: '' },
      ]);
      t.same(await store.listMeta('m/'), [
        { key: 'm/a', value: '2' },
        { key: 'm/empty', value: '' },
        { key: 'm/keep', value: 'new' },
      ]);
      await store.setMetaMany([]);
      t.equal(await store.getMeta('m/a'), '2', 'an empty call changes nothing');
      await t.rejects(
        store.setMetaMany([
          { key: 'm/b', value: 'x' },
          { key: '', value: 'bad key' },
        ]),
        { code: 'INVALID_ARGUMENT' },
      );
      await t.rejects(store.setMetaMany([{ key: 'm/c', value: 3 as unknown as string }]), {
        code: 'INVALID_ARGUMENT',
      });
      t.equal(await store.getMeta('m/b'), null, 'nothing of a rejected call is visible');
      t.equal(await store.getMeta('m/c'), null);
    },
  );

  withStore('listMeta: entries under a prefix, by key', async (t, store) => {
    t.same(await store.listMeta('transactional-id/'), [], 'nothing yet');
    await store.setMeta('transactional-id/b', '2');
    await store.setMeta('transactional-id/a', '1');
    await store.setMeta('transactional-id/a%_', '3');
    await store.setMeta('transactional-idX', 'not under the prefix');
    await store.setMeta('other', 'o');
    t.same(await store.listMeta('transactional-id/'), [
      { key: 'transactional-id/a', value: '1' },
      { key: 'transactional-id/a%_', value: '3' },
      { key: 'transactional-id/b', value: '2' },
    ]);
    t.same(
      await store.listMeta('transactional-id/a%'),
      [{ key: 'transactional-id/a%_', value: '3' }],
      '% is literal',
    );
    t.same(await store.listMeta('transactional-id/_'), [], '_ is literal');
    await store.setMeta('transactional-id/a', '1b');
    t.same(
      (await store.listMeta('transactional-id/a'))[0],
      { key: 'transactional-id/a', value: '1b' },
      'latest value',
    );
    const all = await store.listMeta('');
    t.ok(all.length >= 5, 'empty prefix lists everything');
  });

  // Topics -------------------------------------------------------------------------------------

  withStore('createTopic, getTopic, getTopicById, listTopics', async (t, store, clock) => {
    clock.nowMs = T0 + 5;
    const created = await store.createTopic(newTopic('orders', TOPIC_A, 3, { 'retention.ms': '1000' }));
    t.same(created, {
      name: 'orders',
      topicId: TOPIC_A,
      partitionCount: 3,
      configs: { 'retention.ms': '1000' },
      createdAtMs: T0 + 5,
    });
    await store.createTopic(newTopic('apples', TOPIC_B, 1));
    t.same(await store.getTopic('orders'), created);
    t.same(await store.getTopicById(TOPIC_A), created);
    t.equal(await store.getTopic('missing'), null);
    t.equal(await store.getTopicById('00000000-0000-0000-0000-000000000000'), null);
    t.same(
      (await store.listTopics()).map((topic) => topic.name),
      ['apples', 'orders'],
    );
    t.same((await store.listTopics())[1], created);
    const states = await store.listPartitionStates(TOPIC_A);
    t.same(
      states.map((s) => [
        s.partition,
        s.logStartOffset,
        s.indexedEndOffset,
        s.indexedBytes,
        s.indexedEntryCount,
      ]),
      [
        [0, 0, 0, 0, 0],
        [1, 0, 0, 0, 0],
        [2, 0, 0, 0, 0],
      ],
    );
    t.equal((await store.listPartitionStates()).length, 4);
  });

  withStore('createTopic rejects taken names and ids, and bad arguments', async (t, store) => {
    await store.createTopic(newTopic('orders', TOPIC_A));
    await t.rejects(store.createTopic(newTopic('orders', TOPIC_B)), {
      name: 'MetadataStoreError',
      code: 'TOPIC_ALREADY_EXISTS',
      retriable: false,
    });
    await t.rejects(store.createTopic(newTopic('other', TOPIC_A)), { code: 'TOPIC_ID_ALREADY_EXISTS' });
    await t.rejects(store.createTopic(newTopic('', TOPIC_B)), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.createTopic(newTopic('x', '')), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.createTopic(newTopic('x', TOPIC_B, 0)), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.createTopic(newTopic('x', TOPIC_B, 1.5)), { code: 'INVALID_ARGUMENT' });
    await t.rejects(
      store.createTopic({ ...newTopic('x', TOPIC_B), configs: { a: 1 as unknown as string } }),
      { code: 'INVALID_ARGUMENT' },
    );
    t.same(
      (await store.listTopics()).map((topic) => topic.name),
      ['orders'],
      'nothing else was created',
    );
    const err = await store.createTopic(newTopic('orders', TOPIC_B)).catch((e: unknown) => e);
    t.ok(err instanceof MetadataStoreError, 'an instance of MetadataStoreError');
  });

  withStore('createPartitions grows a topic and only grows it', async (t, store) => {
    await store.createTopic(newTopic('orders', TOPIC_A, 2));
    const grown = await store.createPartitions('orders', 5);
    t.equal(grown.partitionCount, 5);
    t.equal((await store.getTopic('orders'))?.partitionCount, 5);
    t.same(
      (await store.listPartitionStates(TOPIC_A)).map((s) => s.partition),
      [0, 1, 2, 3, 4],
    );
    t.equal(await store.getIndexedEnd(TOPIC_A, 4), 0);
    await t.rejects(store.createPartitions('orders', 5), { code: 'INVALID_PARTITIONS' });
    await t.rejects(store.createPartitions('orders', 3), { code: 'INVALID_PARTITIONS' });
    await t.rejects(store.createPartitions('orders', 6.5), { code: 'INVALID_PARTITIONS' });
    await t.rejects(store.createPartitions('nope', 9), { code: 'TOPIC_NOT_FOUND' });
    t.equal((await store.getTopic('orders'))?.partitionCount, 5);
  });

  withStore('alterTopicConfigs sets and deletes overrides', async (t, store) => {
    await store.createTopic(
      newTopic('orders', TOPIC_A, 1, { 'retention.ms': '1', 'cleanup.policy': 'delete' }),
    );
    const altered = await store.alterTopicConfigs('orders', { 'retention.ms': '2', 'segment.bytes': '3' }, [
      'cleanup.policy',
      'not.there',
    ]);
    t.same(altered.configs, { 'retention.ms': '2', 'segment.bytes': '3' });
    t.same((await store.getTopic('orders'))?.configs, altered.configs);
    await t.rejects(store.alterTopicConfigs('orders', { a: '1' }, ['a']), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.alterTopicConfigs('nope', { a: '1' }, []), { code: 'TOPIC_NOT_FOUND' });
    t.same((await store.getTopic('orders'))?.configs, altered.configs, 'rejected calls changed nothing');
  });

  withStore('records handed out are copies', async (t, store) => {
    const created = await store.createTopic(newTopic('orders', TOPIC_A, 1, { a: '1' }));
    (created.configs as Record<string, string>).a = 'changed';
    const fetched = await store.getTopic('orders');
    (fetched!.configs as Record<string, string>).b = 'added';
    t.same((await store.getTopic('orders'))?.configs, { a: '1' });
  });

  // Object index -------------------------------------------------------------------------------

  withStore('commitObject indexes several partitions; findIndexEntries reads them back', async (t, store) => {
    await twoTopics(store);
    const first = object('objects/0001', [
      entry(TOPIC_A, 0, 0, 9, 0),
      entry(TOPIC_B, 0, 0, 4, 0),
      entry(TOPIC_A, 0, 10, 19, 0),
    ]);
    t.same(await store.commitObject(first), { alreadyCommitted: false });
    await store.commitObject(
      object('objects/0002', [entry(TOPIC_A, 0, 20, 20, 0), entry(TOPIC_A, 1, 0, 2, 0)]),
    );

    t.equal(await store.getIndexedEnd(TOPIC_A, 0), 21);
    t.equal(await store.getIndexedEnd(TOPIC_A, 1), 3);
    t.equal(await store.getIndexedEnd(TOPIC_B, 0), 5);
    t.same(await store.getPartitionState(TOPIC_A, 0), {
      topicId: TOPIC_A,
      partition: 0,
      logStartOffset: 0,
      indexedEndOffset: 21,
      indexedBytes: 2100,
      indexedEntryCount: 3,
    });

    const all = await store.findIndexEntries(TOPIC_A, 0, 0, 100);
    t.same(
      all.map((e) => [e.baseOffset, e.lastOffset, e.objectKey]),
      [
        [0, 9, 'objects/0001'],
        [10, 19, 'objects/0001'],
        [20, 20, 'objects/0002'],
      ],
    );
    const firstEntry = first.entries[0]!;
    t.same(all[0], { ...firstEntry, objectKey: 'objects/0001' }, 'every field round-trips');
    t.same(
      (await store.findIndexEntries(TOPIC_A, 0, 15, 100)).map((e) => e.baseOffset),
      [10, 20],
      'from the middle of an entry',
    );
    t.same(
      (await store.findIndexEntries(TOPIC_A, 0, 10, 1)).map((e) => e.baseOffset),
      [10],
      'maxEntries limits',
    );
    t.same(await store.findIndexEntries(TOPIC_A, 0, 21, 10), [], 'at the indexed end: nothing');
    t.same(await store.findIndexEntries(TOPIC_A, 0, 1000, 10), []);
    await t.rejects(store.findIndexEntries(TOPIC_A, 9, 0, 10), { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await t.rejects(store.findIndexEntries('no-such-id', 0, 0, 10), { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await t.rejects(store.findIndexEntries(TOPIC_A, 0, 0, 0), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.getIndexedEnd(TOPIC_A, 2), { code: 'UNKNOWN_TOPIC_OR_PARTITION' });

    const record = await store.getObjectRecord('objects/0001');
    t.same(record, {
      key: 'objects/0001',
      sizeBytes: first.sizeBytes,
      createdAtMs: T0,
      liveEntryCount: 3,
      unreferencedSinceMs: null,
    });
    t.equal(await store.getObjectRecord('objects/none'), null);
  });

  withStore('contiguity guard: gaps and overlaps are rejected and nothing is written', async (t, store) => {
    await twoTopics(store);
    await store.commitObject(object('o/1', [entry(TOPIC_A, 0, 0, 9, 0)]));

    await t.rejects(store.commitObject(object('o/gap', [entry(TOPIC_A, 0, 11, 12, 0)])), {
      code: 'INDEX_NOT_CONTIGUOUS',
      retriable: false,
    });
    await t.rejects(store.commitObject(object('o/overlap', [entry(TOPIC_A, 0, 9, 12, 0)])), {
      code: 'INDEX_NOT_CONTIGUOUS',
    });
    await t.rejects(store.commitObject(object('o/restart', [entry(TOPIC_A, 0, 0, 3, 0)])), {
      code: 'INDEX_NOT_CONTIGUOUS',
    });
    // The first partition of this object is fine; the second is not: the whole commit fails.
    await t.rejects(
      store.commitObject(object('o/mixed', [entry(TOPIC_A, 1, 0, 4, 0), entry(TOPIC_B, 0, 1, 4, 0)])),
      { code: 'INDEX_NOT_CONTIGUOUS' },
    );
    // Entries of one partition inside one object must follow each other too.
    await t.rejects(
      store.commitObject(object('o/inner-gap', [entry(TOPIC_A, 0, 10, 11, 0), entry(TOPIC_A, 0, 13, 14, 0)])),
      { code: 'INDEX_NOT_CONTIGUOUS' },
    );
    await t.rejects(
      store.commitObject(
        object('o/inner-overlap', [entry(TOPIC_A, 0, 10, 11, 0), entry(TOPIC_A, 0, 11, 14, 0)]),
      ),
      { code: 'INDEX_NOT_CONTIGUOUS' },
    );
    // An unknown partition rejects the whole object as well.
    await t.rejects(
      store.commitObject(object('o/unknown', [entry(TOPIC_A, 0, 10, 11, 0), entry(TOPIC_A, 7, 0, 1, 0)])),
      { code: 'UNKNOWN_TOPIC_OR_PARTITION' },
    );

    t.equal(await store.getIndexedEnd(TOPIC_A, 0), 10);
    t.equal(await store.getIndexedEnd(TOPIC_A, 1), 0, 'the good half of o/mixed was not written');
    t.equal(await store.getIndexedEnd(TOPIC_B, 0), 0);
    for (const key of [
      'o/gap',
      'o/overlap',
      'o/restart',
      'o/mixed',
      'o/inner-gap',
      'o/inner-overlap',
      'o/unknown',
    ]) {
      t.equal(await store.getObjectRecord(key), null, `${key} left no record`);
    }
    t.equal((await store.getPartitionState(TOPIC_A, 1)).indexedEntryCount, 0);
    t.equal((await store.findIndexEntries(TOPIC_A, 0, 0, 100)).length, 1);

    // Entries of one partition may come in any order within the object.
    await store.commitObject(object('o/2', [entry(TOPIC_A, 0, 15, 19, 0), entry(TOPIC_A, 0, 10, 14, 0)]));
    t.equal(await store.getIndexedEnd(TOPIC_A, 0), 20);
  });

  withStore('commitObject rejects malformed objects with INVALID_ARGUMENT', async (t, store) => {
    await twoTopics(store);
    const good = entry(TOPIC_A, 0, 0, 9, 0);
    const cases: [string, ObjectCommit][] = [
      ['no entries', { key: 'k', sizeBytes: 10, createdAtMs: T0, entries: [] }],
      ['empty key', { ...object('k', [good]), key: '' }],
      ['last < base', object('k', [{ ...good, baseOffset: 5, lastOffset: 4 }])],
      [
        'zero byteLength',
        { key: 'k', sizeBytes: 1000, createdAtMs: T0, entries: [{ ...good, byteLength: 0 }] },
      ],
      ['bytes past the object', { ...object('k', [good]), sizeBytes: 999 }],
      [
        'negative byteOffset',
        { key: 'k', sizeBytes: 2000, createdAtMs: T0, entries: [{ ...good, byteOffset: -1 }] },
      ],
      ['fractional offset', object('k', [{ ...good, lastOffset: 9.5 }])],
      ['offset beyond 2^53', object('k', [{ ...good, lastOffset: 2 ** 53 }])],
      ['negative partition', object('k', [{ ...good, partition: -1 }])],
      ['zero batchCount', object('k', [{ ...good, batchCount: 0 }])],
      ['NaN timestamp', object('k', [{ ...good, maxTimestampMs: Number.NaN }])],
    ];
    for (const [label, commit] of cases) {
      await t.rejects(store.commitObject(commit), { code: 'INVALID_ARGUMENT' }, label);
    }
    t.equal(await store.getIndexedEnd(TOPIC_A, 0), 0);
    t.equal(await store.getObjectRecord('k'), null);
  });

  withStore('re-committing the same object is an idempotent no-op', async (t, store) => {
    await twoTopics(store);
    const commit = object('o/1', [entry(TOPIC_A, 0, 0, 9, 0), entry(TOPIC_B, 0, 0, 0, 0)]);
    t.same(await store.commitObject(commit), { alreadyCommitted: false });
    const before = await store.listPartitionStates();
    t.same(await store.commitObject(commit), { alreadyCommitted: true });
    t.same(
      await store.commitObject({ ...commit, entries: [...commit.entries].reverse() }),
      { alreadyCommitted: true },
      'entry order does not matter',
    );
    t.same(
      await store.commitObject({ ...commit, createdAtMs: T0 + 999 }),
      { alreadyCommitted: true },
      'a retry may stamp another creation time',
    );
    t.same(await store.listPartitionStates(), before, 'no double counting');
    t.equal((await store.findIndexEntries(TOPIC_A, 0, 0, 10)).length, 1);

    await t.rejects(
      store.commitObject(object('o/1', [entry(TOPIC_A, 0, 10, 19, 0)])),
      { code: 'OBJECT_KEY_CONFLICT' },
      'same key, other entries',
    );
    await t.rejects(store.commitObject({ ...commit, sizeBytes: commit.sizeBytes + 1 }), {
      code: 'OBJECT_KEY_CONFLICT',
    });

    // Still idempotent after retention trimmed part of the object's entries.
    await store.deleteIndexEntriesBelow(TOPIC_A, 0, 10);
    t.same(await store.commitObject(commit), { alreadyCommitted: true });
    t.equal((await store.getPartitionState(TOPIC_A, 0)).indexedEntryCount, 0, 'nothing was re-added');
  });

  withStore('concurrent commits at the same offset: exactly one wins', async (t, store) => {
    await twoTopics(store);
    const attempts = Array.from({ length: 8 }, (_, i) =>
      store.commitObject(object(`race/${i}`, [entry(TOPIC_A, 0, 0, 4, 0)])),
    );
    const results = await Promise.allSettled(attempts);
    const won = results.filter((r) => r.status === 'fulfilled');
    t.equal(won.length, 1);
    for (const r of results) {
      if (r.status === 'rejected') t.match(r.reason, { code: 'INDEX_NOT_CONTIGUOUS' });
    }
    t.equal(await store.getIndexedEnd(TOPIC_A, 0), 5);
  });

  withStore('findOffsetByTimestamp: first entry whose max timestamp reaches the target', async (t, store) => {
    await twoTopics(store);
    // Timestamps are not monotonic across entries (producers set them).
    const timestamps = [100, 300, 200, 500, 400];
    await store.commitObject(
      object(
        'o/1',
        timestamps.map((ts, i) => entry(TOPIC_A, 0, i * 10, i * 10 + 9, 0, ts)),
      ),
    );
    const at = async (ts: number) => (await store.findOffsetByTimestamp(TOPIC_A, 0, ts))?.baseOffset ?? null;
    t.equal(await at(50), 0);
    t.equal(await at(100), 0);
    t.equal(await at(101), 10);
    t.equal(await at(250), 10, 'the 300 entry comes before the 200 one');
    t.equal(await at(301), 30);
    t.equal(await at(450), 30);
    t.equal(await at(501), null);
    const found = await store.findOffsetByTimestamp(TOPIC_A, 0, 450);
    t.equal(found?.objectKey, 'o/1');
    await store.advanceLogStartOffset(TOPIC_A, 0, 35);
    t.equal(await at(0), 30, 'the entry holding the log start offset is still searched');
    await store.advanceLogStartOffset(TOPIC_A, 0, 40);
    t.equal(await at(0), 40, 'entries wholly below the log start offset are not');
    t.equal(await store.findOffsetByTimestamp(TOPIC_B, 0, 0), null, 'empty partition');
    await t.rejects(store.findOffsetByTimestamp(TOPIC_B, 3, 0), { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });

  // Partition state and retention --------------------------------------------------------------

  withStore('advanceLogStartOffset never moves backwards and touches no entries', async (t, store) => {
    await twoTopics(store);
    await store.commitObject(object('o/1', [entry(TOPIC_A, 0, 0, 9, 0), entry(TOPIC_A, 0, 10, 19, 0)]));
    t.equal(await store.advanceLogStartOffset(TOPIC_A, 0, 12), 12);
    t.equal(await store.advanceLogStartOffset(TOPIC_A, 0, 5), 12, 'backwards is a no-op');
    t.equal((await store.getPartitionState(TOPIC_A, 0)).logStartOffset, 12);
    t.equal((await store.getPartitionState(TOPIC_A, 0)).indexedEntryCount, 2, 'entries untouched');
    t.equal(await store.advanceLogStartOffset(TOPIC_A, 0, 50), 50, 'past the indexed end is allowed');
    t.equal(await store.getIndexedEnd(TOPIC_A, 0), 20, 'the indexed end is independent');
    // The uploader can still index what the WAL holds below the log start offset.
    await store.commitObject(object('o/2', [entry(TOPIC_A, 0, 20, 29, 0)]));
    t.equal(await store.getIndexedEnd(TOPIC_A, 0), 30);
    await t.rejects(store.advanceLogStartOffset(TOPIC_A, 5, 1), { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await t.rejects(store.advanceLogStartOffset(TOPIC_A, 0, -1), { code: 'INVALID_ARGUMENT' });
  });

  withStore('listExpiredEntries returns the leading run of old entries', async (t, store) => {
    await twoTopics(store);
    const timestamps = [100, 200, 900, 300, 400];
    await store.commitObject(
      object(
        'o/1',
        timestamps.map((ts, i) => entry(TOPIC_A, 0, i * 10, i * 10 + 9, 0, ts)),
      ),
    );
    const expired = async (olderThan: number, max = 100) =>
      (await store.listExpiredEntries(TOPIC_A, 0, olderThan, max)).map((e) => e.baseOffset);
    t.same(await expired(50), []);
    t.same(await expired(150), [0]);
    t.same(await expired(1000), [0, 10, 20, 30, 40]);
    t.same(await expired(500), [0, 10], 'stops at the first newer entry (900), as Kafka does');
    t.same(await expired(1000, 2), [0, 10], 'maxEntries');
    await store.advanceLogStartOffset(TOPIC_A, 0, 10);
    t.same(await expired(1000, 2), [10, 20], 'starts at the log start offset');
    const entries = await store.listExpiredEntries(TOPIC_A, 0, 1000, 1);
    t.equal(entries[0]?.objectKey, 'o/1');
  });

  withStore(
    'deleteIndexEntriesBelow trims whole entries and tracks bytes and objects',
    async (t, store, clock) => {
      await twoTopics(store);
      // o/1 holds A0 0..9 and B0 0..4; o/2 holds A0 10..19; o/3 holds A0 20..29 and A1 0..9.
      await store.commitObject(object('o/1', [entry(TOPIC_A, 0, 0, 9, 0), entry(TOPIC_B, 0, 0, 4, 0)]));
      await store.commitObject(object('o/2', [entry(TOPIC_A, 0, 10, 19, 0)]));
      await store.commitObject(object('o/3', [entry(TOPIC_A, 0, 20, 29, 0), entry(TOPIC_A, 1, 0, 9, 0)]));
      t.equal((await store.getPartitionState(TOPIC_A, 0)).indexedBytes, 3000);

      clock.nowMs = T0 + 1000;
      const trimmed = await store.deleteIndexEntriesBelow(TOPIC_A, 0, 15);
      t.same(trimmed, {
        logStartOffset: 15,
        deletedEntryCount: 1,
        deletedBytes: 1000,
        unreferencedObjectKeys: [],
      });
      t.same(
        (await store.findIndexEntries(TOPIC_A, 0, 0, 10)).map((e) => e.baseOffset),
        [10, 20],
        'the entry straddling the new log start stays',
      );
      t.same(await store.getPartitionState(TOPIC_A, 0), {
        topicId: TOPIC_A,
        partition: 0,
        logStartOffset: 15,
        indexedEndOffset: 30,
        indexedBytes: 2000,
        indexedEntryCount: 2,
      });
      t.same(await store.listUnreferencedObjects(), [], 'o/1 still holds B0');
      t.equal((await store.getObjectRecord('o/1'))?.liveEntryCount, 1);

      clock.nowMs = T0 + 2000;
      t.same(await store.deleteIndexEntriesBelow(TOPIC_B, 0, 5), {
        logStartOffset: 5,
        deletedEntryCount: 1,
        deletedBytes: 500,
        unreferencedObjectKeys: ['o/1'],
      });
      clock.nowMs = T0 + 3000;
      t.same(await store.deleteIndexEntriesBelow(TOPIC_A, 0, 30), {
        logStartOffset: 30,
        deletedEntryCount: 2,
        deletedBytes: 2000,
        unreferencedObjectKeys: ['o/2'],
      });
      t.equal((await store.getObjectRecord('o/3'))?.liveEntryCount, 1, 'o/3 still holds A1');

      const state = await store.getPartitionState(TOPIC_A, 0);
      t.equal(state.indexedEndOffset, 30, 'trimming everything keeps the indexed end');
      t.equal(state.indexedBytes, 0);
      t.equal(state.indexedEntryCount, 0);
      t.same(await store.findIndexEntries(TOPIC_A, 0, 0, 10), []);

      // A lower offset than the log start changes nothing; the call reports the current start.
      t.same(await store.deleteIndexEntriesBelow(TOPIC_A, 0, 3), {
        logStartOffset: 30,
        deletedEntryCount: 0,
        deletedBytes: 0,
        unreferencedObjectKeys: [],
      });

      // DeleteRecords first, trim later: trimming at the current log start removes what it passed.
      await store.commitObject(object('o/4', [entry(TOPIC_A, 0, 30, 39, 0)]));
      await store.advanceLogStartOffset(TOPIC_A, 0, 40);
      const later = await store.deleteIndexEntriesBelow(TOPIC_A, 0, 0);
      t.same(later, {
        logStartOffset: 40,
        deletedEntryCount: 1,
        deletedBytes: 1000,
        unreferencedObjectKeys: ['o/4'],
      });

      // Unreferenced objects, oldest first, with a grace cut-off and a limit.
      const unreferenced = await store.listUnreferencedObjects();
      t.same(
        unreferenced.map((o) => [o.key, o.unreferencedSinceMs, o.liveEntryCount]),
        [
          ['o/1', T0 + 2000, 0],
          ['o/2', T0 + 3000, 0],
          ['o/4', T0 + 3000, 0],
        ],
      );
      t.same(
        (await store.listUnreferencedObjects({ unreferencedAtOrBeforeMs: T0 + 2999 })).map((o) => o.key),
        ['o/1'],
      );
      t.same(
        (await store.listUnreferencedObjects({ limit: 2 })).map((o) => o.key),
        ['o/1', 'o/2'],
      );
      t.equal(unreferenced[0]?.sizeBytes, 1500);

      // Only unreferenced records can be forgotten.
      t.same(await store.deleteObjectRecords(['o/2', 'o/3', 'o/unknown', 'o/2']), ['o/2']);
      t.not(await store.getObjectRecord('o/3'), null);
      t.equal(await store.getObjectRecord('o/2'), null);
      t.same(
        (await store.listUnreferencedObjects()).map((o) => o.key),
        ['o/1', 'o/4'],
      );
      t.same(await store.deleteObjectRecords([]), []);
      await t.rejects(store.deleteIndexEntriesBelow(TOPIC_A, 9, 0), { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
    },
  );

  withStore(
    'replaceIndexEntries swaps a run of entries for a new object, atomically',
    async (t, store, clock) => {
      await twoTopics(store);
      // o/1 holds A0 0..9 and B0 0..4; o/2 holds A0 10..19; o/3 holds A0 20..29.
      await store.commitObject(object('o/1', [entry(TOPIC_A, 0, 0, 9, 0), entry(TOPIC_B, 0, 0, 4, 0)]));
      await store.commitObject(object('o/2', [entry(TOPIC_A, 0, 10, 19, 0, T0 + 5)]));
      await store.commitObject(object('o/3', [entry(TOPIC_A, 0, 20, 29, 0)]));
      const before = await store.findIndexEntries(TOPIC_A, 0, 0, 10);
      const run = before.slice(0, 2); // 0..19 in o/1 and o/2
      // The compacted object: two smaller entries covering the same offsets 0..19.
      const compacted = object('c/1', [
        { ...entry(TOPIC_A, 0, 0, 4, 0), byteLength: 120 },
        { ...entry(TOPIC_A, 0, 5, 19, 0, T0 + 5), byteLength: 80, batchCount: 2 },
      ]);
      clock.nowMs = T0 + 1000;
      const swapped = await store.replaceIndexEntries({ replaced: run, object: compacted });
      t.same(swapped, { alreadyCommitted: false, unreferencedObjectKeys: ['o/2'] });
      const after = await store.findIndexEntries(TOPIC_A, 0, 0, 10);
      t.same(
        after.map((e) => [e.baseOffset, e.lastOffset, e.objectKey, e.byteOffset, e.byteLength, e.batchCount]),
        [
          [0, 4, 'c/1', 0, 120, 1],
          [5, 19, 'c/1', 120, 80, 2],
          [20, 29, 'o/3', 0, 1000, 1],
        ],
      );
      t.same(await store.getPartitionState(TOPIC_A, 0), {
        topicId: TOPIC_A,
        partition: 0,
        logStartOffset: 0,
        indexedEndOffset: 30,
        indexedBytes: 1200,
        indexedEntryCount: 3,
      });
      t.equal((await store.getObjectRecord('o/1'))?.liveEntryCount, 1, 'o/1 still holds B0');
      t.same(
        (await store.listUnreferencedObjects()).map((o) => [o.key, o.unreferencedSinceMs]),
        [['o/2', T0 + 1000]],
        'the replaced object is unreferenced (the sweeper deletes it after its grace)',
      );
      t.equal((await store.getObjectRecord('c/1'))?.liveEntryCount, 2);
      t.equal((await store.findOffsetByTimestamp(TOPIC_A, 0, T0 + 1))?.baseOffset, 5);

      // The very same replacement again (its answer lost): recognised, nothing changes.
      t.same(await store.replaceIndexEntries({ replaced: run, object: compacted }), {
        alreadyCommitted: true,
        unreferencedObjectKeys: [],
      });
      // Guarded: the old run is gone, so a second compaction of it (another key) is refused whole.
      await t.rejects(store.replaceIndexEntries({ replaced: run, object: { ...compacted, key: 'c/2' } }), {
        code: 'INDEX_RANGE_CHANGED',
      });
      t.equal(await store.getObjectRecord('c/2'), null, 'a refused replacement writes nothing');
      t.same(await store.findIndexEntries(TOPIC_A, 0, 0, 10), after);

      // A trim that raced ahead (retention passed 0..4) also makes the run stale.
      await store.deleteIndexEntriesBelow(TOPIC_A, 0, 5);
      const current = await store.findIndexEntries(TOPIC_A, 0, 0, 10);
      await t.rejects(
        store.replaceIndexEntries({
          replaced: after.slice(0, 2),
          object: object('c/3', [entry(TOPIC_A, 0, 0, 19, 0)]),
        }),
        { code: 'INDEX_RANGE_CHANGED' },
      );
      // A range that a live entry straddles (5..24 cuts o/3 20..29): stale as well.
      await t.rejects(
        store.replaceIndexEntries({
          replaced: [{ ...current[0]!, lastOffset: 24 }],
          object: object('c/4', [entry(TOPIC_A, 0, 5, 24, 0)]),
        }),
        { code: 'INDEX_RANGE_CHANGED' },
      );
      const partial = { ...current[1]!, baseOffset: 25 };
      await t.rejects(
        store.replaceIndexEntries({
          replaced: [partial],
          object: object('c/5', [entry(TOPIC_A, 0, 25, 29, 0)]),
        }),
        { code: 'INDEX_RANGE_CHANGED' },
      );

      // New entries must cover exactly the replaced offsets, in the same partition.
      for (const bad of [
        object('c/6', [entry(TOPIC_A, 0, 5, 18, 0)]),
        object('c/6', [entry(TOPIC_A, 0, 6, 19, 0)]),
        object('c/6', [entry(TOPIC_A, 1, 5, 19, 0)]),
        object('c/6', [entry(TOPIC_A, 0, 5, 9, 0), entry(TOPIC_A, 0, 11, 19, 0)]),
      ]) {
        await t.rejects(store.replaceIndexEntries({ replaced: [current[0]!], object: bad }), {
          code: /INVALID_ARGUMENT|INDEX_NOT_CONTIGUOUS/,
        });
      }
      await t.rejects(store.replaceIndexEntries({ replaced: [], object: compacted }), {
        code: 'INVALID_ARGUMENT',
      });
      await t.rejects(
        store.replaceIndexEntries({
          replaced: [current[0]!],
          object: object('o/3', [entry(TOPIC_A, 0, 5, 19, 0)]),
        }),
        { code: 'OBJECT_KEY_CONFLICT' },
      );
      t.same(await store.findIndexEntries(TOPIC_A, 0, 0, 10), current, 'nothing changed by refusals');

      // Replacing the whole tail keeps the indexed end; later uploads still append at it.
      const whole = await store.findIndexEntries(TOPIC_A, 0, 0, 10);
      await store.replaceIndexEntries({
        replaced: whole,
        object: object('c/7', [{ ...entry(TOPIC_A, 0, 5, 29, 0), byteLength: 10 }]),
      });
      t.equal(await store.getIndexedEnd(TOPIC_A, 0), 30);
      t.same((await store.listUnreferencedObjects()).map((o) => o.key).sort(), ['c/1', 'o/2', 'o/3']);
      await store.commitObject(object('o/4', [entry(TOPIC_A, 0, 30, 39, 0)]));
      t.same(
        (await store.findIndexEntries(TOPIC_A, 0, 0, 10)).map((e) => [
          e.baseOffset,
          e.lastOffset,
          e.objectKey,
        ]),
        [
          [5, 29, 'c/7'],
          [30, 39, 'o/4'],
        ],
      );
      t.equal((await store.getPartitionState(TOPIC_A, 0)).indexedBytes, 1010);
      await t.rejects(
        store.replaceIndexEntries({
          replaced: [{ ...whole[0]!, topicId: TOPIC_B, partition: 7 }],
          object: object('c/8', [entry(TOPIC_B, 7, 5, 19, 0)]),
        }),
        { code: /UNKNOWN_TOPIC_OR_PARTITION|INDEX_RANGE_CHANGED|INVALID_ARGUMENT/ },
      );
    },
  );

  withStore(
    'deleteTopic removes the topic, its index and offsets, and reports freed objects',
    async (t, store) => {
      await twoTopics(store);
      await store.commitObject(object('o/shared', [entry(TOPIC_A, 0, 0, 9, 0), entry(TOPIC_B, 0, 0, 9, 0)]));
      await store.commitObject(object('o/alpha', [entry(TOPIC_A, 0, 10, 19, 0), entry(TOPIC_A, 1, 0, 9, 0)]));
      await store.commitOffsets('g1', [offsetCommit('alpha', 0, 5), offsetCommit('beta', 0, 7)]);
      await store.commitOffsets('g2', [offsetCommit('alpha', 1, 3)]);

      const deleted = await store.deleteTopic('alpha');
      t.equal(deleted.topic.name, 'alpha');
      t.equal(deleted.topic.topicId, TOPIC_A);
      t.equal(deleted.deletedEntryCount, 3);
      t.same(deleted.unreferencedObjectKeys, ['o/alpha'], 'o/shared still holds beta');
      t.equal(deleted.deletedOffsetCount, 2);

      t.equal(await store.getTopic('alpha'), null);
      t.equal(await store.getTopicById(TOPIC_A), null);
      await t.rejects(store.getPartitionState(TOPIC_A, 0), { code: 'UNKNOWN_TOPIC_OR_PARTITION' });
      t.same(await store.listPartitionStates(TOPIC_A), []);
      t.same(
        (await store.fetchOffsets('g1')).map((o) => o.topic),
        ['beta'],
      );
      t.same(await store.listGroupsWithOffsets(), ['g1']);
      t.equal((await store.getObjectRecord('o/shared'))?.liveEntryCount, 1);
      t.same(
        (await store.listUnreferencedObjects()).map((o) => o.key),
        ['o/alpha'],
      );
      await t.rejects(
        store.commitObject(object('o/late', [entry(TOPIC_A, 0, 20, 29, 0)])),
        { code: 'UNKNOWN_TOPIC_OR_PARTITION' },
        'an upload for a deleted topic is refused',
      );
      await t.rejects(store.deleteTopic('alpha'), { code: 'TOPIC_NOT_FOUND' });

      // The name can be used again, with a new id and fresh partitions.
      const TOPIC_C = '5f8b6a1e-0c1d-4a57-9c33-0d5a7f6b1a03';
      await store.createTopic(newTopic('alpha', TOPIC_C, 1));
      t.equal(await store.getIndexedEnd(TOPIC_C, 0), 0);
    },
  );

  // Producer ids -------------------------------------------------------------------------------

  withStore('producer id blocks never overlap', async (t, store) => {
    const a = await store.allocateProducerIdBlock(1000);
    const b = await store.allocateProducerIdBlock(1);
    const c = await store.allocateProducerIdBlock(50);
    t.equal(a, 0);
    t.equal(b, 1000);
    t.equal(c, 1001);
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => store.allocateProducerIdBlock(10)));
    t.equal(new Set(concurrent).size, 10);
    const sorted = [...concurrent].sort((x, y) => x - y);
    sorted.forEach((first, i) => {
      if (i > 0) t.ok(first >= sorted[i - 1]! + 10, 'blocks do not overlap');
    });
    await t.rejects(store.allocateProducerIdBlock(0), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.allocateProducerIdBlock(2.5), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.allocateProducerIdBlock(2 ** 53), { code: 'INVALID_ARGUMENT' });
  });

  // Consumer group offsets ---------------------------------------------------------------------

  withStore('commitOffsets and fetchOffsets', async (t, store) => {
    await store.commitOffsets('g', [
      offsetCommit('orders', 1, 10, 'meta-1'),
      offsetCommit('orders', 0, 5),
      offsetCommit('audit', 0, 99),
      offsetCommit('orders', 0, 6, 'last wins'),
    ]);
    t.same(await store.fetchOffsets('g'), [
      offsetCommit('audit', 0, 99),
      offsetCommit('orders', 0, 6, 'last wins'),
      offsetCommit('orders', 1, 10, 'meta-1'),
    ]);
    await store.commitOffsets('g', [
      { ...offsetCommit('orders', 1, 11), leaderEpoch: -1, commitTimestampMs: T0 + 1 },
    ]);
    t.same(await store.fetchOffsets('g', [{ topic: 'orders', partitions: [1] }]), [
      { ...offsetCommit('orders', 1, 11), leaderEpoch: -1, commitTimestampMs: T0 + 1 },
    ]);
    t.same(
      (await store.fetchOffsets('g', [{ topic: 'orders' }])).map((o) => [o.partition, o.offset]),
      [
        [0, 6],
        [1, 11],
      ],
    );
    t.same(
      (
        await store.fetchOffsets('g', [
          { topic: 'orders', partitions: [7, 0] },
          { topic: 'audit', partitions: [0] },
          { topic: 'audit' },
          { topic: 'missing' },
        ])
      ).map((o) => [o.topic, o.partition]),
      [
        ['audit', 0],
        ['orders', 0],
      ],
      'unknown partitions are simply absent; duplicates collapse',
    );
    t.same(await store.fetchOffsets('g', []), []);
    t.same(await store.fetchOffsets('nobody'), []);
    await store.commitOffsets('g', []);
    t.same(await store.listGroupsWithOffsets(), ['g']);
  });

  withStore('a bad offset in a batch rejects the whole batch', async (t, store) => {
    await store.commitOffsets('g', [offsetCommit('orders', 0, 5)]);
    await t.rejects(
      store.commitOffsets('g', [offsetCommit('orders', 0, 6), offsetCommit('orders', 1, 1.5)]),
      { code: 'INVALID_ARGUMENT' },
    );
    await t.rejects(store.commitOffsets('g', [offsetCommit('', 0, 6)]), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.commitOffsets('', [offsetCommit('orders', 0, 6)]), { code: 'INVALID_ARGUMENT' });
    t.same(
      (await store.fetchOffsets('g')).map((o) => o.offset),
      [5],
    );
  });

  withStore('commitOffsetsMany commits many groups at once, each readable after', async (t, store) => {
    await store.commitOffsets('group-007', [offsetCommit('orders', 0, 1), offsetCommit('orders', 5, 50)]);
    const groups = Array.from({ length: 100 }, (_, i) => `group-${String(i).padStart(3, '0')}`);
    await store.commitOffsetsMany([
      ...groups.map((groupId, i) => ({
        groupId,
        offsets: [offsetCommit('orders', i % 3, 1000 + i), offsetCommit('audit', 0, i, `m${i}`)],
      })),
      // A group listed twice: merged, the later commit of a partition wins.
      { groupId: 'group-042', offsets: [offsetCommit('orders', 0, 4242), offsetCommit('orders', 9, 9)] },
      { groupId: 'no-offsets', offsets: [] },
    ]);
    t.same(await store.listGroupsWithOffsets(), groups, 'every group, and no group for an empty list');
    t.same(await store.fetchOffsets('group-099'), [
      offsetCommit('audit', 0, 99, 'm99'),
      offsetCommit('orders', 0, 1099),
    ]);
    t.same(
      await store.fetchOffsets('group-007'),
      [
        offsetCommit('audit', 0, 7, 'm7'),
        offsetCommit('orders', 0, 1),
        offsetCommit('orders', 1, 1007),
        offsetCommit('orders', 5, 50),
      ],
      'upserts next to the offsets the group already had',
    );
    t.same(
      (await store.fetchOffsets('group-042', [{ topic: 'orders' }])).map((o) => [o.partition, o.offset]),
      [
        [0, 4242],
        [9, 9],
      ],
    );
    for (const [i, groupId] of groups.entries()) {
      const orders = await store.fetchOffsets(groupId, [{ topic: 'orders', partitions: [i % 3] }]);
      t.equal(orders[0]?.offset, groupId === 'group-042' ? 4242 : 1000 + i, groupId);
    }
    await store.commitOffsetsMany([]);
    t.equal((await store.listGroupsWithOffsets()).length, 100);
  });

  withStore('one invalid entry fails the whole commitOffsetsMany call', async (t, store) => {
    await store.commitOffsets('g0', [offsetCommit('orders', 0, 5)]);
    const valid = [
      { groupId: 'g0', offsets: [offsetCommit('orders', 0, 6)] },
      { groupId: 'g1', offsets: [offsetCommit('orders', 0, 1)] },
    ];
    const invalidCalls = [
      [...valid, { groupId: 'g2', offsets: [offsetCommit('orders', 1, 1.5)] }],
      [...valid, { groupId: 'g2', offsets: [offsetCommit('', 0, 1)] }],
      [...valid, { groupId: 'g2', offsets: [offsetCommit('orders', -1, 1)] }],
      [{ groupId: '', offsets: [offsetCommit('orders', 0, 1)] }, ...valid],
      [...valid, { groupId: 'g2', offsets: 'nope' as unknown as OffsetCommitEntry[] }],
      [...valid, null as unknown as { groupId: string; offsets: OffsetCommitEntry[] }],
    ];
    for (const [i, commits] of invalidCalls.entries()) {
      await t.rejects(store.commitOffsetsMany(commits), { code: 'INVALID_ARGUMENT' }, `invalid call ${i}`);
    }
    t.same(
      (await store.fetchOffsets('g0')).map((o) => o.offset),
      [5],
      'the valid groups of a failed call kept their old offsets',
    );
    t.same(await store.fetchOffsets('g1'), []);
    t.same(await store.listGroupsWithOffsets(), ['g0']);
    await store.commitOffsetsMany(valid);
    t.same(await store.listGroupsWithOffsets(), ['g0', 'g1'], 'the same groups commit once valid');
  });

  withStore('deleteOffsets and listGroupsWithOffsets', async (t, store) => {
    await store.commitOffsets('b-group', [offsetCommit('orders', 0, 1), offsetCommit('orders', 1, 2)]);
    await store.commitOffsets('a-group', [offsetCommit('orders', 0, 3)]);
    t.same(await store.listGroupsWithOffsets(), ['a-group', 'b-group']);
    t.equal(
      await store.deleteOffsets('b-group', [
        { topic: 'orders', partition: 0 },
        { topic: 'orders', partition: 9 },
      ]),
      1,
    );
    t.same(
      (await store.fetchOffsets('b-group')).map((o) => o.partition),
      [1],
    );
    t.equal(await store.deleteOffsets('b-group', [{ topic: 'orders', partition: 1 }]), 1);
    t.same(await store.listGroupsWithOffsets(), ['a-group']);
    t.equal(await store.deleteOffsets('nobody', [{ topic: 'orders', partition: 1 }]), 0);
  });

  // Group records ------------------------------------------------------------------------------

  withStore('saveGroup is compare-and-set on the version', async (t, store, clock) => {
    t.equal(await store.loadGroup('g'), null);
    clock.nowMs = T0 + 1;
    t.equal(await store.saveGroup('g', '{"generation":1}', 0), 1);
    t.same(await store.loadGroup('g'), {
      groupId: 'g',
      state: '{"generation":1}',
      version: 1,
      updatedAtMs: T0 + 1,
    });
    await t.rejects(store.saveGroup('g', '{"other":true}', 0), {
      code: 'GROUP_VERSION_CONFLICT',
      retriable: false,
    });
    clock.nowMs = T0 + 2;
    t.equal(await store.saveGroup('g', '{"generation":2}', 1), 2);
    await t.rejects(store.saveGroup('g', '{"stale":true}', 1), { code: 'GROUP_VERSION_CONFLICT' });
    await t.rejects(store.saveGroup('g', '{"future":true}', 3), { code: 'GROUP_VERSION_CONFLICT' });
    await t.rejects(store.saveGroup('h', '{}', 4), { code: 'GROUP_VERSION_CONFLICT' }, 'no record yet');
    t.same(await store.loadGroup('g'), {
      groupId: 'g',
      state: '{"generation":2}',
      version: 2,
      updatedAtMs: T0 + 2,
    });
    await t.rejects(store.saveGroup('g', '{}', -1), { code: 'INVALID_ARGUMENT' });

    const racers = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => store.saveGroup('g', `{"racer":${i}}`, 2)),
    );
    t.equal(racers.filter((r) => r.status === 'fulfilled').length, 1, 'one concurrent writer wins');
    t.equal((await store.loadGroup('g'))?.version, 3);
  });

  withStore('listGroups and deleteGroup', async (t, store) => {
    await store.saveGroup('b', '{}', 0);
    await store.saveGroup('a', '{}', 0);
    await store.commitOffsets('a', [offsetCommit('orders', 0, 1)]);
    await store.commitOffsets('offsets-only', [offsetCommit('orders', 0, 1)]);
    t.same(await store.listGroups(), ['a', 'b']);
    t.equal(await store.deleteGroup('a'), true);
    t.equal(await store.loadGroup('a'), null);
    t.same(await store.fetchOffsets('a'), [], 'offsets go with the group');
    t.same(await store.listGroups(), ['b']);
    t.equal(await store.deleteGroup('offsets-only'), true);
    t.same(await store.listGroupsWithOffsets(), []);
    t.equal(await store.deleteGroup('never'), false);
    t.equal(await store.saveGroup('a', '{"again":1}', 0), 1, 'a deleted group starts over');
  });

  // Lifecycle ----------------------------------------------------------------------------------

  withStore('after close every call rejects METADATA_STORE_CLOSED; close is idempotent', async (t, store) => {
    await store.createTopic(newTopic('orders', TOPIC_A, 1));
    await store.close();
    await store.close();
    const calls: [string, () => Promise<unknown>][] = [
      ['getOrCreateClusterId', () => store.getOrCreateClusterId()],
      ['getMeta', () => store.getMeta('k')],
      ['setMeta', () => store.setMeta('k', 'v')],
      ['setMetaMany', () => store.setMetaMany([{ key: 'k', value: 'v' }])],
      ['listMeta', () => store.listMeta('k')],
      ['createTopic', () => store.createTopic(newTopic('x', TOPIC_B, 1))],
      ['deleteTopic', () => store.deleteTopic('orders')],
      ['listTopics', () => store.listTopics()],
      ['getTopic', () => store.getTopic('orders')],
      ['getTopicById', () => store.getTopicById(TOPIC_A)],
      ['createPartitions', () => store.createPartitions('orders', 3)],
      ['alterTopicConfigs', () => store.alterTopicConfigs('orders', {}, [])],
      ['getPartitionState', () => store.getPartitionState(TOPIC_A, 0)],
      ['listPartitionStates', () => store.listPartitionStates()],
      ['advanceLogStartOffset', () => store.advanceLogStartOffset(TOPIC_A, 0, 1)],
      ['commitObject', () => store.commitObject(object('o', [entry(TOPIC_A, 0, 0, 0, 0)]))],
      ['getIndexedEnd', () => store.getIndexedEnd(TOPIC_A, 0)],
      ['findIndexEntries', () => store.findIndexEntries(TOPIC_A, 0, 0, 1)],
      ['findOffsetByTimestamp', () => store.findOffsetByTimestamp(TOPIC_A, 0, 0)],
      ['listExpiredEntries', () => store.listExpiredEntries(TOPIC_A, 0, 0, 1)],
      ['deleteIndexEntriesBelow', () => store.deleteIndexEntriesBelow(TOPIC_A, 0, 0)],
      [
        'replaceIndexEntries',
        () =>
          store.replaceIndexEntries({
            replaced: [{ ...entry(TOPIC_A, 0, 0, 0, 0), objectKey: 'o' }],
            object: object('c', [entry(TOPIC_A, 0, 0, 0, 0)]),
          }),
      ],
      ['getObjectRecord', () => store.getObjectRecord('o')],
      ['listUnreferencedObjects', () => store.listUnreferencedObjects()],
      ['deleteObjectRecords', () => store.deleteObjectRecords(['o'])],
      ['allocateProducerIdBlock', () => store.allocateProducerIdBlock(1)],
      ['commitOffsets', () => store.commitOffsets('g', [offsetCommit('orders', 0, 1)])],
      [
        'commitOffsetsMany',
        () => store.commitOffsetsMany([{ groupId: 'g', offsets: [offsetCommit('orders', 0, 1)] }]),
      ],
      ['fetchOffsets', () => store.fetchOffsets('g')],
      ['deleteOffsets', () => store.deleteOffsets('g', [])],
      ['listGroupsWithOffsets', () => store.listGroupsWithOffsets()],
      ['loadGroup', () => store.loadGroup('g')],
      ['saveGroup', () => store.saveGroup('g', '{}', 0)],
      ['listGroups', () => store.listGroups()],
      ['deleteGroup', () => store.deleteGroup('g')],
    ];
    for (const [label, call] of calls) {
      await t.rejects(call(), { code: 'METADATA_STORE_CLOSED' }, label);
    }
  });

  withStore('everything survives close and reopen (durable stores)', async (t, store, _clock, harness) => {
    if (harness.reopen === undefined) {
      t.pass('not a durable store: skipped');
      return;
    }
    const clusterId = await store.getOrCreateClusterId();
    await store.setMeta('k', 'v');
    await twoTopics(store);
    await store.alterTopicConfigs('alpha', { 'retention.ms': '60000' }, []);
    await store.createPartitions('beta', 3);
    await store.commitObject(object('o/1', [entry(TOPIC_A, 0, 0, 9, 0, T0 + 7), entry(TOPIC_B, 2, 0, 1, 0)]));
    await store.commitObject(object('o/2', [entry(TOPIC_A, 0, 10, 19, 0)]));
    await store.deleteIndexEntriesBelow(TOPIC_A, 0, 10);
    await store.advanceLogStartOffset(TOPIC_A, 0, 12);
    const firstIds = await store.allocateProducerIdBlock(100);
    await store.commitOffsets('g', [offsetCommit('alpha', 0, 12, 'm')]);
    await store.saveGroup('g', '{"generation":3}', 0);

    const topics = await store.listTopics();
    const states = await store.listPartitionStates();
    const entries = await store.findIndexEntries(TOPIC_A, 0, 0, 10);
    const objects = [await store.getObjectRecord('o/1'), await store.getObjectRecord('o/2')];
    const offsets = await store.fetchOffsets('g');
    const group = await store.loadGroup('g');
    await store.close();

    const reopened = await harness.reopen();
    try {
      t.equal(await reopened.getOrCreateClusterId(), clusterId);
      t.equal(await reopened.getMeta('k'), 'v');
      t.same(await reopened.listTopics(), topics);
      t.same(await reopened.listPartitionStates(), states);
      t.same(await reopened.findIndexEntries(TOPIC_A, 0, 0, 10), entries);
      t.same([await reopened.getObjectRecord('o/1'), await reopened.getObjectRecord('o/2')], objects);
      t.same(await reopened.fetchOffsets('g'), offsets);
      t.same(await reopened.loadGroup('g'), group);
      t.ok((await reopened.allocateProducerIdBlock(1)) >= firstIds + 100, 'no producer id reused');
      t.same(await reopened.commitObject(object('o/2', [entry(TOPIC_A, 0, 10, 19, 0)])), {
        alreadyCommitted: true,
      });
      await t.rejects(reopened.commitObject(object('o/3', [entry(TOPIC_A, 0, 19, 25, 0)])), {
        code: 'INDEX_NOT_CONTIGUOUS',
      });
      await reopened.commitObject(object('o/3', [entry(TOPIC_A, 0, 20, 25, 0)]));
      t.equal(await reopened.getIndexedEnd(TOPIC_A, 0), 26);
    } finally {
      await reopened.close();
    }
  });
}
