/**
 * Log compaction (src/log/compactor.ts): what a consumer reads from a compacted partition after a
 * pass — the last record per key at its original offset, tombstones until delete.retention.ms,
 * aborted transactional records gone and markers kept, keyless records kept, compressed batches
 * rewritten in their codec — and that a pass cut short between the object PUT and the index swap
 * leaves the log as it was. Real parts: memory metadata and object stores, the LogStore read path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import {
  ATTRIBUTES_POS,
  BASE_SEQUENCE_POS,
  BASE_TIMESTAMP_POS,
  COMPRESSION_CODEC_MASK,
  CONTROL_BIT,
  LAST_OFFSET_DELTA_POS,
  PRODUCER_EPOCH_POS,
  PRODUCER_ID_POS,
  readBatchMaxTimestamp,
  readSafeInt64,
  splitBatches,
} from '../../../protocol/records/batch.js';
import { type CompressionName, compressionAvailability } from '../../../protocol/records/compression.js';
import { buildRecordBatch, iterateRecords } from '../../../protocol/records/record.js';
import type { CompactionResult } from '../../../src/log/compactor.js';
import { LogStore, type LogStoreOptions } from '../../../src/log/log-store.js';
import { MemoryMetadataStore } from '../../../src/metadata/memory-metadata-store.js';
import type { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { openMetadataStore } from '../../../src/metadata/open-metadata-store.js';
import { MemoryObjectStore } from '../../../src/tiering/memory-object-store.js';
import { openObjectStore } from '../../../src/tiering/open-object-store.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const OPTS: LogStoreOptions = {
  maxUnuploadedBytes: 64 * 1024 * 1024,
  backpressureTimeoutMs: 5_000,
  hotTailMaxBytes: 64 * 1024 * 1024,
  uploadTargetBytes: 1 << 30,
  uploadMaxAgeMs: 1 << 30,
  objectCacheBytes: 16 * 1024 * 1024,
  retentionCheckIntervalMs: 1 << 30,
  objectDeleteGraceMs: 0,
  topicDefaults: () => ({}),
  // Enabled, but the timer never fires during a test: passes are run explicitly.
  compaction: { enabled: true, backoffMs: 1 << 30, dedupeBufferBytes: 128 * 1024 * 1024 },
};

const NOW = Date.now();
const DAY = 86_400_000;

interface Opened {
  log: LogStore;
  metadata: MetadataStore;
  objects: MemoryObjectStore;
}

async function openLog(
  t: Test,
  opts: Partial<LogStoreOptions> = {},
  stores?: { metadata: MetadataStore; objects: MemoryObjectStore },
): Promise<Opened> {
  const metadata = stores?.metadata ?? new MemoryMetadataStore();
  const objects = stores?.objects ?? new MemoryObjectStore();
  const log = await LogStore.open(metadata, objects, null, { ...OPTS, ...opts }, pino({ level: 'silent' }));
  t.teardown(() => log.close());
  return { log, metadata, objects };
}

interface Rec {
  key: string | null;
  value: string | null;
  headers?: { key: string; value: string }[];
  timestampDelta?: number;
}

interface BatchOpts {
  ts?: number;
  compression?: CompressionName;
  pid?: number;
  epoch?: number;
  seq?: number;
  txn?: boolean;
}

async function produce(log: LogStore, topic: string, records: Rec[], o: BatchOpts = {}): Promise<number> {
  const batch = buildRecordBatch({
    baseTimestamp: o.ts ?? NOW - DAY,
    records,
    compression: o.compression ?? 'none',
    producerId: o.pid ?? -1,
    producerEpoch: o.epoch ?? -1,
    baseSequence: o.seq ?? -1,
    isTransactional: o.txn ?? false,
  });
  const [r] = await log.produce([{ topic, partition: 0, records: batch }], 30_000);
  if (r!.errorCode !== ErrorCode.NONE) throw new Error(`produce failed: ${JSON.stringify(r)}`);
  return r!.baseOffset;
}

interface Seen {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: string[];
  control: boolean;
}

/** Every record a read_uncommitted consumer gets from `from` to the high watermark (CRCs checked). */
async function readAll(log: LogStore, topic: string, from = 0): Promise<Seen[]> {
  const p = log.partition(topic, 0)!;
  const out: Seen[] = [];
  let at = Math.max(from, p.logStartOffset);
  while (at < p.highWatermark) {
    const r = await log.readPartition(p, at, 64 * 1024);
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`read failed: ${r.errorCode}`);
    if (r.records.length === 0) break;
    for (const chunk of r.records) {
      for (const b of splitBatches(chunk).batches) {
        const control = (b.readUInt16BE(ATTRIBUTES_POS) & CONTROL_BIT) !== 0;
        for (const rec of iterateRecords(b, { maxDecompressedBytes: 1 << 24, verifyCrc: true })) {
          if (Number(rec.offset) < at) continue;
          out.push({
            offset: Number(rec.offset),
            key: rec.key?.toString() ?? null,
            value: rec.value?.toString() ?? null,
            timestamp: Number(rec.timestamp),
            headers: rec.headers.map((h) => `${h.key}=${h.value?.toString()}`),
            control,
          });
        }
        at = Number(b.readBigInt64BE(0)) + b.readInt32BE(LAST_OFFSET_DELTA_POS) + 1;
      }
    }
  }
  return out;
}

/** The stored batches of the partition, as readers get them. */
async function readBatches(log: LogStore, topic: string): Promise<Buffer[]> {
  const p = log.partition(topic, 0)!;
  const out: Buffer[] = [];
  let at = p.logStartOffset;
  while (at < p.highWatermark) {
    const r = await log.readPartition(p, at, 1 << 20);
    if (r.records.length === 0) break;
    for (const chunk of r.records) {
      for (const b of splitBatches(chunk).batches) {
        out.push(b);
        at = Number(b.readBigInt64BE(0)) + b.readInt32BE(LAST_OFFSET_DELTA_POS) + 1;
      }
    }
  }
  return out;
}

/** The last record per key, as a compacted log must keep it. */
function latestPerKey(records: readonly Seen[]): Seen[] {
  const last = new Map<string | null, Seen>();
  const keyless: Seen[] = [];
  for (const r of records) {
    if (r.key === null) keyless.push(r);
    else last.set(r.key, r);
  }
  return [...keyless, ...last.values()].sort((a, b) => a.offset - b.offset);
}

async function compact(log: LogStore, topic: string, now = Date.now()): Promise<CompactionResult> {
  const r = await log.compactor!.compact(log.partition(topic, 0)!, now);
  if (r === null) throw new Error('nothing to compact');
  return r;
}

t.test('keeps the last record per key at its original offset, timestamp and headers', async (t) => {
  const { log, metadata } = await openLog(t);
  const topic = await log.createTopic('users', 1, { 'cleanup.policy': 'compact' });
  // 5 keys × 40 updates, in batches of 8 records, uploaded as 5 objects.
  let n = 0;
  for (let upload = 0; upload < 5; upload++) {
    for (let b = 0; b < 5; b++) {
      const records: Rec[] = [];
      for (let i = 0; i < 8; i++, n++) {
        records.push({
          key: `user-${n % 5}`,
          value: `v${n}-${'x'.repeat(40)}`,
          headers: [{ key: 'n', value: String(n) }],
          timestampDelta: i,
        });
      }
      await produce(log, 'users', records, { ts: NOW - DAY + n });
    }
    await log.flush();
  }
  const before = await readAll(log, 'users');
  t.equal(before.length, 200);
  const p = log.partition('users', 0)!;
  t.equal(p.objectIndex.length, 5);

  const result = await compact(log, 'users');
  t.comment(
    `200 records, 5 keys: ${result.bytesBefore} bytes in ${result.entriesBefore} entries → ` +
      `${result.bytesAfter} bytes in ${result.entriesAfter} entries`,
  );
  t.ok(result.swapped);
  t.equal(result.recordsBefore, 200);
  t.equal(result.recordsAfter, 5);
  t.equal(result.keys, 5);
  t.ok(result.bytesAfter < result.bytesBefore / 10, 'the log shrank by more than 10×');
  t.same(
    await readAll(log, 'users'),
    latestPerKey(before),
    'latest per key, same offsets, timestamps, headers',
  );
  t.same(
    (await readAll(log, 'users')).map((r) => r.offset),
    [195, 196, 197, 198, 199],
  );
  // Reading from inside a gap gets the next kept record.
  t.same(
    (await readAll(log, 'users', 10)).map((r) => r.offset),
    [195, 196, 197, 198, 199],
  );
  t.same(
    (await readAll(log, 'users', 197)).map((r) => r.value?.slice(0, 4)),
    ['v197', 'v198', 'v199'],
  );
  // The index still covers every offset; the partition's end and the store's bookkeeping follow.
  t.equal(p.objectIndex[0]!.baseOffset, 0);
  t.equal(p.objectIndex[p.objectIndex.length - 1]!.lastOffset, 199);
  const state = await metadata.getPartitionState(topic.topicId, 0);
  t.equal(state.indexedEndOffset, 200);
  t.equal(state.indexedBytes, result.bytesAfter);
  t.equal(log.statsSnapshot.compactionBytesBefore, result.bytesBefore);
  t.equal(log.statsSnapshot.compactionBytesAfter, result.bytesAfter);

  // A second pass finds nothing dirty; new data after it is compacted with the old.
  t.equal(await log.compactor!.runOnce(), null, 'nothing dirty');
  await produce(log, 'users', [{ key: 'user-0', value: 'final' }]);
  await produce(log, 'users', [{ key: 'user-9', value: 'new key' }]);
  await log.flush();
  const again = await compact(log, 'users');
  t.equal(again.recordsAfter, 6);
  t.same(
    (await readAll(log, 'users')).map((r) => [r.offset, r.key, r.value?.slice(0, 5)]),
    [
      [196, 'user-1', 'v196-'],
      [197, 'user-2', 'v197-'],
      [198, 'user-3', 'v198-'],
      [199, 'user-4', 'v199-'],
      [200, 'user-0', 'final'],
      [201, 'user-9', 'new k'],
    ],
  );
  // Produces continue at the right offset after compaction.
  t.equal(await produce(log, 'users', [{ key: 'user-1', value: 'later' }]), 202);
});

t.test('a rewritten batch keeps its header fields, its offsets span and its codec', async (t) => {
  const { log } = await openLog(t);
  await log.createTopic('idem', 1, { 'cleanup.policy': 'compact' });
  const codecs = (Object.entries(compressionAvailability()) as [CompressionName, boolean][])
    .filter(([, ok]) => ok)
    .map(([c]) => c);
  t.ok(codecs.includes('gzip'));
  let seq = 0;
  for (const compression of codecs) {
    // An idempotent producer's batches: the first record of each is superseded by the next batch.
    await produce(
      log,
      'idem',
      [
        { key: 'a', value: `a-${compression}` },
        { key: `only-${compression}`, value: 'x'.repeat(200), timestampDelta: 3 },
        { key: 'b', value: `b-${compression}`, timestampDelta: 5 },
      ],
      { compression, pid: 42, epoch: 3, seq, ts: NOW - DAY + seq },
    );
    seq += 3;
  }
  await log.flush();
  const sources = await readBatches(log, 'idem');
  const before = await readAll(log, 'idem');
  const result = await compact(log, 'idem');
  t.ok(result.swapped);
  const after = await readBatches(log, 'idem');
  t.same(await readAll(log, 'idem'), latestPerKey(before));
  t.equal(after.length, sources.length, 'every batch still has a kept record');
  for (let i = 0; i < after.length; i++) {
    const a = after[i]!;
    const s = sources[i]!;
    const codec = codecs[i]!;
    t.equal(a.readUInt16BE(ATTRIBUTES_POS), s.readUInt16BE(ATTRIBUTES_POS), `${codec}: attributes (codec)`);
    t.equal(a.readBigInt64BE(0), s.readBigInt64BE(0), `${codec}: base offset`);
    t.equal(a.readInt32BE(LAST_OFFSET_DELTA_POS), 2, `${codec}: last offset delta kept`);
    t.equal(readSafeInt64(a, PRODUCER_ID_POS), 42);
    t.equal(a.readInt16BE(PRODUCER_EPOCH_POS), 3);
    t.equal(a.readInt32BE(BASE_SEQUENCE_POS), s.readInt32BE(BASE_SEQUENCE_POS), `${codec}: base sequence`);
    const kept = [...iterateRecords(a, { maxDecompressedBytes: 1 << 20, verifyCrc: true })];
    t.equal(
      readBatchMaxTimestamp(a),
      Math.max(...kept.map((r) => Number(r.timestamp))),
      `${codec}: max timestamp of the kept records (CreateTime)`,
    );
    t.equal(
      a.readBigInt64BE(BASE_TIMESTAMP_POS),
      s.readBigInt64BE(BASE_TIMESTAMP_POS),
      `${codec}: base timestamp`,
    );
    const last = i === after.length - 1;
    t.same(
      kept.map((r) => r.offsetDelta),
      last ? [0, 1, 2] : [1],
      `${codec}: records kept with their offset deltas`,
    );
    if (codec !== 'none' && !last) {
      t.not(a.readUInt16BE(ATTRIBUTES_POS) & COMPRESSION_CODEC_MASK, 0, `${codec}: still compressed`);
    }
  }
  t.comment(`codecs ${codecs.join(',')}: ${result.bytesBefore} → ${result.bytesAfter} bytes`);
});

t.test('tombstones are kept until delete.retention.ms, then dropped', async (t) => {
  const { log } = await openLog(t);
  await log.createTopic('t', 1, { 'cleanup.policy': 'compact', 'delete.retention.ms': '3600000' });
  await produce(log, 't', [{ key: 'old', value: 'v1' }], { ts: NOW - 3 * DAY });
  await produce(log, 't', [{ key: 'old', value: null }], { ts: NOW - 2 * DAY }); // tombstone, expired
  await produce(log, 't', [{ key: 'keep', value: 'k' }], { ts: NOW - 2 * DAY });
  await produce(log, 't', [{ key: 'recent', value: 'r1' }], { ts: NOW - 2 * DAY });
  await produce(log, 't', [{ key: 'recent', value: null }], { ts: NOW - 1000 }); // tombstone, fresh
  await log.flush();
  const first = await compact(log, 't', NOW);
  t.equal(first.tombstonesDropped, 1);
  t.same(
    (await readAll(log, 't')).map((r) => [r.offset, r.key, r.value]),
    [
      [2, 'keep', 'k'],
      [4, 'recent', null],
    ],
    'the expired tombstone and what it deleted are gone; the fresh tombstone stays',
  );
  t.equal(await log.compactor!.runOnce(NOW), null, 'nothing to do before the tombstone expires');
  // Expired, but the log's last batch: it stays so a consumer at offset 4 is not stranded.
  t.equal((await log.compactor!.runOnce(NOW + 2 * 3_600_000))?.swapped ?? false, false);
  t.equal(await log.compactor!.runOnce(NOW + 2 * 3_600_000), null, 'and is no reason to come back');
  await produce(log, 't', [{ key: 'next', value: 'n' }], { ts: NOW - 2 * DAY });
  await log.flush();
  const later = await compact(log, 't', NOW + 2 * 3_600_000);
  t.equal(later.tombstonesDropped, 1, 'once data follows it, the next pass drops the expired tombstone');
  t.same(
    (await readAll(log, 't')).map((r) => [r.offset, r.key, r.value]),
    [
      [2, 'keep', 'k'],
      [5, 'next', 'n'],
    ],
  );
});

t.test('aborted transactional records are removed, markers and committed records kept', async (t) => {
  const { log } = await openLog(t);
  await log.createTopic('tx', 1, { 'cleanup.policy': 'compact' });
  await produce(log, 'tx', [{ key: 'a', value: 'a-plain' }]); // 0
  await produce(log, 'tx', [{ key: 'a', value: 'a-aborted' }], { pid: 7, epoch: 0, seq: 0, txn: true }); // 1
  await produce(log, 'tx', [{ key: 'b', value: 'b-committed' }], { pid: 8, epoch: 0, seq: 0, txn: true }); // 2
  t.equal((await log.writeTxnMarkers([{ topic: 'tx', partition: 0 }], 7, 0, false))[0]!.errorCode, 0); // 3
  t.equal((await log.writeTxnMarkers([{ topic: 'tx', partition: 0 }], 8, 0, true))[0]!.errorCode, 0); // 4
  await log.flush();
  await produce(log, 'tx', [{ key: 'b', value: 'b-open' }], { pid: 9, epoch: 0, seq: 0, txn: true }); // 5, open
  await log.flush();
  const p = log.partition('tx', 0)!;
  t.equal(p.lastStableOffset, 5, 'the open transaction holds the LSO');
  const result = await compact(log, 'tx');
  t.equal(result.lastOffset, 4, 'the cleanable range stops below the LSO');
  t.equal(result.abortedDropped, 1);
  const seen = await readAll(log, 'tx');
  t.same(
    seen.map((r) => [r.offset, r.control ? '<marker>' : r.key, r.control ? 'control' : r.value]),
    [
      [0, 'a', 'a-plain'],
      [2, 'b', 'b-committed'],
      [3, '<marker>', 'control'],
      [4, '<marker>', 'control'],
      [5, 'b', 'b-open'],
    ],
    'the aborted write does not supersede the committed one; markers stay; the open one is untouched',
  );
  const committed = await log.readPartition(p, 0, 1 << 20, { readCommitted: true });
  t.equal(committed.lastStableOffset, 5);
});

t.test('records without a key: kept by compaction, refused at produce time', async (t) => {
  const { log } = await openLog(t);
  await log.createTopic('mixed', 1, { 'cleanup.policy': 'delete' });
  await produce(log, 'mixed', [
    { key: null, value: 'n0' },
    { key: 'k', value: 'k1' },
    { key: null, value: 'n2' },
  ]);
  await produce(log, 'mixed', [{ key: 'k', value: 'k3' }]);
  await log.flush();
  await log.alterTopicConfigs('mixed', { 'cleanup.policy': 'compact,delete' }, []);
  await compact(log, 'mixed');
  t.same(
    (await readAll(log, 'mixed')).map((r) => [r.offset, r.key, r.value]),
    [
      [0, null, 'n0'],
      [2, null, 'n2'],
      [3, 'k', 'k3'],
    ],
  );
  const batch = buildRecordBatch({ baseTimestamp: NOW, records: [{ key: 'x', value: '1' }, { value: '2' }] });
  const [r] = await log.produce([{ topic: 'mixed', partition: 0, records: batch }], 1000);
  t.equal(r!.errorCode, ErrorCode.INVALID_RECORD);
  t.equal(r!.errorMessage, 'Compacted topic cannot accept message without key');
  t.equal(log.partition('mixed', 0)!.highWatermark, 4, 'nothing of the refused batch was appended');
});

t.test('a pass interrupted between the object PUT and the index swap leaves the log intact', async (t) => {
  const metadata = new MemoryMetadataStore();
  const objects = new MemoryObjectStore();
  // The "crash": the swap never happens (the process died after the PUT).
  const failing = new Proxy(metadata, {
    get(target, prop, receiver) {
      if (prop === 'replaceIndexEntries') return () => Promise.reject(new Error('killed before the swap'));
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as MetadataStore;
  const { log } = await openLog(t, {}, { metadata: failing, objects });
  await log.createTopic('c', 1, { 'cleanup.policy': 'compact' });
  for (let i = 0; i < 30; i++) await produce(log, 'c', [{ key: `k${i % 3}`, value: `v${i}` }]);
  await log.flush();
  const before = await readAll(log, 'c');
  const keysBefore = await listKeys(objects);
  await t.rejects(log.compactor!.compact(log.partition('c', 0)!), /killed before the swap/);
  t.same(await readAll(log, 'c'), before, 'readers see the log as before');
  const keysAfter = await listKeys(objects);
  t.equal(keysAfter.length, keysBefore.length + 1, 'the compacted object was written');
  // A restart on the same stores sees every record; the orphan sweep removes the unswapped object.
  await log.close();
  const { log: restarted } = await openLog(t, {}, { metadata, objects });
  t.same(await readAll(restarted, 'c'), before, 'intact after restart');
  t.equal(
    await restarted.sweepOrphans(Date.now() + 60_000, 0),
    1,
    'one orphan (the compacted object) deleted',
  );
  t.same(await listKeys(objects), keysBefore);
  // And compaction, run again, completes.
  await compact(restarted, 'c');
  t.same(await readAll(restarted, 'c'), latestPerKey(before));
});

t.test('old objects stay readable until the sweep; a stale range is not swapped', async (t) => {
  const { log, metadata, objects } = await openLog(t);
  await log.createTopic('s', 1, { 'cleanup.policy': 'compact,delete', 'retention.ms': '-1' });
  for (let i = 0; i < 20; i++) await produce(log, 's', [{ key: `k${i % 2}`, value: `v${i}` }]);
  await log.flush();
  const p = log.partition('s', 0)!;
  const old = p.objectIndex[0]!;
  await compact(log, 's');
  // A reader that located the old entry before the swap can still read it...
  const bytes = await objects.get(old.objectKey, { start: old.byteOffset, length: old.byteLength });
  t.equal(bytes.length, old.byteLength);
  t.same(
    (await metadata.listUnreferencedObjects()).map((o) => o.key),
    [old.objectKey],
    'the replaced object is unreferenced',
  );
  // ...until the sweeper deletes it (grace 0 here).
  t.equal(await log.sweepObjects(), 1);
  t.equal(await objects.head(old.objectKey), null);
  t.same(
    (await readAll(log, 's')).map((r) => [r.offset, r.value]),
    [
      [18, 'v18'],
      [19, 'v19'],
    ],
  );

  // DeleteRecords lands while a pass is reading: the pass gives up instead of swapping a stale range.
  for (let i = 20; i < 40; i++) await produce(log, 's', [{ key: `k${i % 2}`, value: `v${i}` }]);
  await log.flush();
  const pass = log.compactor!.compact(p);
  await log.deleteRecords(p, 20);
  const r = await pass;
  t.equal(r, null, 'abandoned: the index changed meanwhile');
  t.same(
    (await readAll(log, 's')).map((x) => x.offset),
    Array.from({ length: 20 }, (_, i) => 20 + i),
  );
  const next = await compact(log, 's');
  t.ok(next.swapped);
  t.same(
    (await readAll(log, 's')).map((x) => [x.offset, x.value]),
    [
      [38, 'v38'],
      [39, 'v39'],
    ],
  );
});

t.test('on SQLite and local objects: the compacted log is what a restart loads', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'compactor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const open = async () => {
    const metadata = await openMetadataStore(`sqlite://${join(dir, 'metadata.db')}`);
    const objects = await openObjectStore(`file://${join(dir, 'objects')}`);
    const log = await LogStore.open(metadata, objects, null, OPTS, pino({ level: 'silent' }));
    return {
      log,
      close: async () => {
        await log.close();
        await metadata.close();
        await objects.close();
      },
    };
  };
  const first = await open();
  await first.log.createTopic('durable', 1, { 'cleanup.policy': 'compact' });
  for (let u = 0; u < 4; u++) {
    await produce(
      first.log,
      'durable',
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `u${u}` })),
      { compression: 'gzip' },
    );
    await first.log.flush();
  }
  const before = await readAll(first.log, 'durable');
  const result = await compact(first.log, 'durable');
  t.comment(`SQLite: ${result.bytesBefore} → ${result.bytesAfter} bytes`);
  t.equal(await first.log.sweepObjects(), 4, 'the four replaced objects are swept (grace 0)');
  await first.close();
  const second = await open();
  t.teardown(second.close);
  t.same(await readAll(second.log, 'durable'), latestPerKey(before));
  t.same(
    (await readAll(second.log, 'durable')).map((r) => r.offset),
    Array.from({ length: 10 }, (_, i) => 30 + i),
  );
  t.equal(await produce(second.log, 'durable', [{ key: 'k0', value: 'after restart' }]), 40);
});

t.test('a small dedupe buffer splits the work over passes that converge', async (t) => {
  const { log } = await openLog(t, {
    compaction: { enabled: true, backoffMs: 1 << 30, dedupeBufferBytes: 1024 },
  });
  await log.createTopic('big', 1, { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0' });
  for (let u = 0; u < 6; u++) {
    const records: Rec[] = Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: `u${u}` }));
    await produce(log, 'big', records);
    await log.flush();
  }
  const before = await readAll(log, 'big');
  const passes: CompactionResult[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await log.compactor!.runOnce();
    if (r === null) break;
    passes.push(r);
  }
  t.ok(passes[0]!.stoppedAtBufferLimit, 'the first pass stopped at the buffer limit');
  t.ok(passes.length > 1 && passes.length < 10, `${passes.length} passes`);
  t.same(await readAll(log, 'big'), latestPerKey(before));
  t.equal((await readAll(log, 'big')).length, 40);
});

async function listKeys(objects: MemoryObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of objects.list('')) keys.push(o.key);
  return keys;
}

t.test('ListOffsets max timestamp after a pass removed the record that carried it', async (t) => {
  const { log } = await openLog(t);
  await log.createTopic('ts', 1, { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0' });
  const T = NOW - DAY;
  // Offset 0: a@T, offset 1: b@T+5000 (one batch); offset 2: b@T+1000 supersedes it.
  await produce(log, 'ts', [
    { key: 'a', value: 'a0' },
    { key: 'b', value: 'b0', timestampDelta: 5000 },
  ]);
  await produce(log, 'ts', [{ key: 'b', value: 'b1' }], { ts: T + 1000 });
  await log.flush();
  const p = log.partition('ts', 0)!;
  t.same(await log.offsetOfMaxTimestamp(p), { offset: 1, timestamp: T + 5000 });
  t.ok((await compact(log, 'ts')).swapped);
  t.same(
    await log.offsetOfMaxTimestamp(p),
    { offset: 2, timestamp: T + 1000 },
    'the largest timestamp still in the log',
  );
  const [rebuilt] = await readBatches(log, 'ts');
  t.equal(readBatchMaxTimestamp(rebuilt!), T, "a rebuilt batch's max timestamp is its kept records'");
  t.same(await log.offsetForTimestamp(p, T + 1), { offset: 2, timestamp: T + 1000 });
});

t.test('a pass over a long clean log rewrites it in bounded groups, only where it shrinks', async (t) => {
  const groupBytes = 4096;
  const { log, objects } = await openLog(t, {
    compaction: {
      enabled: true,
      backoffMs: 1 << 30,
      dedupeBufferBytes: 128 * 1024 * 1024,
      rewriteGroupBytes: groupBytes,
    },
  });
  await log.createTopic('long', 1, { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0' });
  const value = 'x'.repeat(200);
  // 12 uploads of 10 keys each (~2.5 KiB per entry); each upload rewrites half of the previous one's keys.
  for (let u = 0; u < 12; u++) {
    const records: Rec[] = Array.from({ length: 10 }, (_, i) => ({ key: `k${u * 5 + i}`, value }));
    await produce(log, 'long', records);
    await log.flush();
  }
  const sizes = async () => {
    const m = new Map<string, number>();
    for await (const o of objects.list('')) m.set(o.key, o.sizeBytes);
    return m;
  };
  const before = await sizes();
  const first = await compact(log, 'long');
  t.ok(first.swapped);
  const afterFirst = await sizes();
  const written = [...afterFirst].filter(([k]) => !before.has(k)).map(([, s]) => s);
  t.ok(written.length > 1, `${written.length} objects written`);
  for (const s of written) t.ok(s <= 2 * groupBytes, `an object of ${s} bytes (group ${groupBytes})`);
  // One more write of one key: the next pass rewrites only the group holding its older value.
  await produce(log, 'long', [{ key: 'k0', value }]);
  await log.flush();
  const expected = latestPerKey(await readAll(log, 'long'));
  const second = await compact(log, 'long');
  t.ok(second.swapped);
  const afterSecond = await sizes();
  const rewritten = [...afterSecond].filter(([k]) => !afterFirst.has(k)).map(([, s]) => s);
  const total = rewritten.reduce((n, s) => n + s, 0);
  t.ok(total < first.bytesAfter / 2, `second pass wrote ${total} bytes of a ${first.bytesAfter}-byte log`);
  t.same(await readAll(log, 'long'), expected);
  t.equal(expected.length, 65);
});

t.test('idle producer ids of a compact-only topic expire', async (t) => {
  const { log } = await openLog(t, { producerIdExpirationMs: 60_000 });
  await log.createTopic('c', 1, { 'cleanup.policy': 'compact' });
  await produce(log, 'c', [{ key: 'a', value: '1' }], { pid: 7, epoch: 0, seq: 0 });
  const p = log.partition('c', 0)!;
  t.equal(p.producers.producers.size, 1);
  await log.runRetention(Date.now() + 120_000);
  t.equal(p.producers.producers.size, 0, 'expired like on a delete topic');
});

t.test('a consumer positioned on the last record of the log is not left behind an empty range', async (t) => {
  const { log } = await openLog(t);
  await log.createTopic('end', 1, { 'cleanup.policy': 'compact', 'delete.retention.ms': '0' });
  await produce(log, 'end', [{ key: 'b', value: '1' }]);
  await produce(log, 'end', [{ key: 'a', value: null }]); // the log's last record: an expired tombstone
  await log.flush();
  await compact(log, 'end');
  const p = log.partition('end', 0)!;
  t.equal(p.highWatermark, 2);
  // A consumer that read offset 0 fetches at 1: it must get a batch that takes it to the end.
  const r = await log.readPartition(p, 1, 1 << 20);
  t.equal(r.errorCode, ErrorCode.NONE);
  const batches = r.records.flatMap((c) => splitBatches(c).batches);
  const reached = batches.map((b) => Number(b.readBigInt64BE(0)) + b.readInt32BE(LAST_OFFSET_DELTA_POS) + 1);
  t.equal(Math.max(0, ...reached), 2, 'the fetch moves the consumer to the high watermark');
  // Once more data follows, the next pass may drop that tombstone.
  await produce(log, 'end', [{ key: 'c', value: '2' }]);
  await log.flush();
  await compact(log, 'end');
  t.same(
    (await readAll(log, 'end')).map((x) => [x.offset, x.key]),
    [
      [0, 'b'],
      [2, 'c'],
    ],
  );
});

t.test(
  'uploads and a DeleteRecords landing while a pass writes: swaps stay exact, a restart agrees',
  async (t) => {
    const metadata = new MemoryMetadataStore();
    const objects = new MemoryObjectStore();
    // Hold the compacted object's PUT until the test lets it go.
    let release: () => void = () => undefined;
    let held: Promise<void> | null = null;
    const put = objects.put.bind(objects);
    objects.put = async (key, body) => {
      if (key.endsWith('.compacted.kbatch') && held !== null) await held;
      return put(key, body);
    };
    const small = { enabled: true, backoffMs: 1 << 30, dedupeBufferBytes: 1 << 27, rewriteGroupBytes: 1500 };
    const { log } = await openLog(t, { compaction: small }, { metadata, objects });
    await log.createTopic('race', 1, { 'cleanup.policy': 'compact,delete' });
    for (let u = 0; u < 8; u++) {
      await produce(
        log,
        'race',
        Array.from({ length: 8 }, (_, i) => ({
          key: `k${(u * 4 + i) % 20}`,
          value: `u${u}-${'v'.repeat(40)}`,
        })),
      );
      await log.flush();
    }
    const p = log.partition('race', 0)!;
    held = new Promise((r) => {
      release = r;
    });
    const pass = log.compactor!.compact(p);
    await new Promise((r) => setTimeout(r, 20));
    // While the first group's object is being written: more uploads, and the log start moves into the log.
    await produce(log, 'race', [{ key: 'k1', value: 'late' }]);
    await log.flush();
    await log.deleteRecords(p, 3);
    held = null;
    release();
    await pass;
    const seen = await readAll(log, 'race');
    const latest = new Map(seen.map((r) => [r.key, r.value]));
    t.equal(latest.get('k1'), 'late', 'the upload made during the pass is readable');
    t.ok(
      seen.every((r) => r.offset >= 3),
      'nothing below the log start is served',
    );
    t.same(
      seen.map((r) => r.offset),
      [...new Set(seen.map((r) => r.offset))].sort((a, b) => a - b),
      'offsets ascend, no duplicates',
    );
    // The in-memory index is the store's, entry for entry, and gap-free.
    const stored = await metadata.findIndexEntries(p.topicId, 0, 0, Number.MAX_SAFE_INTEGER);
    t.same(
      p.objectIndex.map((e) => [e.baseOffset, e.lastOffset, e.objectKey]),
      stored.map((e) => [e.baseOffset, e.lastOffset, e.objectKey]),
    );
    for (let i = 1; i < stored.length; i++) t.equal(stored[i]!.baseOffset, stored[i - 1]!.lastOffset + 1);
    // Every compaction until nothing changes, then a restart reads the same log.
    for (let i = 0; i < 5 && (await log.compactor!.compact(p)) !== null; i++);
    const final = await readAll(log, 'race');
    t.same(
      final.map((r) => [r.key, r.value]),
      [...new Map(final.map((r) => [r.key, r])).values()].map((r) => [r.key, r.value]),
      'one record per key once converged',
    );
    await log.close();
    const reopened = await openLog(t, { compaction: small }, { metadata, objects });
    t.same(await readAll(reopened.log, 'race'), final, 'a restart loads the same compacted log');
  },
);

t.test('a retried idempotent batch whose original was compacted away is still a duplicate', async (t) => {
  const metadata = new MemoryMetadataStore();
  const objects = new MemoryObjectStore();
  const { log } = await openLog(t, {}, { metadata, objects });
  await log.createTopic('idem2', 1, { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0' });
  const send = async (l: LogStore, seq: number, value: string) => {
    const batch = buildRecordBatch({
      baseTimestamp: NOW - DAY,
      records: [{ key: 'a', value }],
      producerId: 9,
      producerEpoch: 0,
      baseSequence: seq,
    });
    const [r] = await l.produce([{ topic: 'idem2', partition: 0, records: batch }], 5000);
    return r!;
  };
  t.equal((await send(log, 0, 'v0')).baseOffset, 0);
  t.equal((await send(log, 1, 'v1')).baseOffset, 1);
  await log.flush();
  await compact(log, 'idem2');
  t.same(
    (await readAll(log, 'idem2')).map((r) => r.offset),
    [1],
    'the first batch is gone from the log',
  );
  const retry = await send(log, 0, 'v0');
  t.equal(retry.errorCode, ErrorCode.NONE);
  t.equal(retry.baseOffset, 0, 'answered with the original offset');
  t.equal(log.partition('idem2', 0)!.highWatermark, 2, 'nothing appended');
  await log.close();
  const { log: again } = await openLog(t, {}, { metadata, objects });
  const afterRestart = await send(again, 1, 'v1');
  t.equal(afterRestart.baseOffset, 1, 'after a restart too');
  t.equal(again.partition('idem2', 0)!.highWatermark, 2);
  t.equal((await send(again, 2, 'v2')).baseOffset, 2, 'the next sequence is appended');
});

t.test('a topic deleted while a pass writes: the pass gives up, nothing is swapped in', async (t) => {
  const metadata = new MemoryMetadataStore();
  const objects = new MemoryObjectStore();
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const put = objects.put.bind(objects);
  objects.put = async (key, body) => {
    if (key.endsWith('.compacted.kbatch')) await held;
    return put(key, body);
  };
  const { log } = await openLog(t, {}, { metadata, objects });
  await log.createTopic('gone', 1, { 'cleanup.policy': 'compact' });
  for (let i = 0; i < 20; i++) await produce(log, 'gone', [{ key: `k${i % 2}`, value: `v${i}` }]);
  await log.flush();
  const p = log.partition('gone', 0)!;
  const pass = log.compactor!.compact(p);
  await new Promise((r) => setTimeout(r, 20));
  await log.deleteTopic('gone');
  release();
  t.equal(await pass, null, 'abandoned');
  t.equal(log.partition('gone', 0), undefined);
  const unreferenced = await metadata.listUnreferencedObjects();
  t.ok(
    unreferenced.every((o) => !o.key.endsWith('.compacted.kbatch')),
    'the compacted object was never committed (an orphan for the sweep)',
  );
  t.equal(await log.sweepOrphans(Date.now() + 3_600_000, 0), 1, 'and the orphan sweep removes it');
});

t.test('a crash between two group swaps: a restart loads a consistent, readable log', async (t) => {
  const metadata = new MemoryMetadataStore();
  const objects = new MemoryObjectStore();
  let swaps = 0;
  const crashing = new Proxy(metadata, {
    get(target, prop, receiver) {
      if (prop === 'replaceIndexEntries') {
        return (r: Parameters<MetadataStore['replaceIndexEntries']>[0]) =>
          ++swaps === 2 ? Promise.reject(new Error('killed')) : target.replaceIndexEntries(r);
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as MetadataStore;
  const compaction = {
    enabled: true,
    backoffMs: 1 << 30,
    dedupeBufferBytes: 1 << 27,
    rewriteGroupBytes: 1500,
  };
  const { log } = await openLog(t, { compaction }, { metadata: crashing, objects });
  await log.createTopic('crash', 1, { 'cleanup.policy': 'compact' });
  for (let u = 0; u < 8; u++) {
    const records = Array.from({ length: 8 }, (_, i) => ({
      key: `k${(u * 3 + i) % 12}`,
      value: `u${u}-${'v'.repeat(40)}`,
    }));
    await produce(log, 'crash', records);
    await log.flush();
  }
  const before = await readAll(log, 'crash');
  const latest = (rs: readonly Seen[]) => [...new Map(rs.map((r) => [r.key, r.value]))].sort();
  await t.rejects(log.compactor!.compact(log.partition('crash', 0)!), /killed/);
  t.equal(swaps, 2, 'the first group was swapped, the second failed');
  await log.close();
  const { log: again } = await openLog(t, { compaction }, { metadata, objects });
  const p = again.partition('crash', 0)!;
  const stored = await metadata.findIndexEntries(p.topicId, 0, 0, Number.MAX_SAFE_INTEGER);
  for (let i = 1; i < stored.length; i++) t.equal(stored[i]!.baseOffset, stored[i - 1]!.lastOffset + 1);
  const mid = await readAll(again, 'crash');
  t.ok(mid.length < before.length, 'partly compacted');
  t.same(latest(mid), latest(before), 'every key reads its latest value');
  await compact(again, 'crash');
  t.same(await readAll(again, 'crash'), latestPerKey(before), 'the next pass finishes the job');
});

t.test('the orphan sweep never deletes a compacted object waiting for its index swap', async (t) => {
  const metadata = new MemoryMetadataStore();
  const objects = new MemoryObjectStore();
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  // The swap is slow (a busy metadata store): the object is written, not yet named by any record.
  const slow = new Proxy(metadata, {
    get(target, prop, receiver) {
      if (prop === 'replaceIndexEntries') {
        return async (r: Parameters<MetadataStore['replaceIndexEntries']>[0]) => {
          await held;
          return target.replaceIndexEntries(r);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as MetadataStore;
  const { log } = await openLog(t, {}, { metadata: slow, objects });
  await log.createTopic('slow', 1, { 'cleanup.policy': 'compact' });
  for (let i = 0; i < 20; i++) await produce(log, 'slow', [{ key: `k${i % 2}`, value: `v${i}` }]);
  await log.flush();
  const expected = latestPerKey(await readAll(log, 'slow'));
  const pass = log.compactor!.compact(log.partition('slow', 0)!);
  await new Promise((r) => setTimeout(r, 20));
  // A sweep whose clock (or the object store's) says the object is old enough to be an orphan.
  t.equal(await log.sweepOrphans(Date.now() + 3_600_000, 0), 0, 'nothing deleted');
  release();
  t.ok((await pass)?.swapped);
  t.same(await readAll(log, 'slow'), expected, 'the compacted log is readable');
});
