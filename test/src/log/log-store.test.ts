/**
 * LogStore end to end, below the wire: produce → WAL → hot tail → uploader → object index → reads,
 * retention, DeleteRecords, ListOffsets by time, restart and crash recovery.
 *
 * Two backends run the same behaviour tests: "durable" (SQLite metadata, local-directory object
 * store, a real WAL, all in a temp dir) and "memory" (memory:// stores, no WAL). Durability tests
 * (high watermark vs fsync, checkpoints, restart, crash images, torn WAL tails) use the durable one.
 *
 * Crash images: a LogStore that is never closed leaves on disk exactly what a SIGKILL would leave
 * (the WAL is fsynced per group; SQLite and the object store commit synchronously). Copying the data
 * directory synchronously at a chosen instant (no await between the event and the copy) freezes that
 * image; opening a second LogStore on the copy is a restart after `kill -9` at that instant. This is
 * deterministic where a real kill is not; compat-tests/crash-recovery.test.ts does the real kill.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { splitBatches } from '../../../protocol/records/batch.js';
import { buildRecordBatch, iterateRecords, type RecordInput } from '../../../protocol/records/record.js';
import {
  LogStore,
  type LogStoreOptions,
  type ProducePart,
  type ProducePartResult,
} from '../../../src/log/log-store.js';
import { nodeFileOps } from '../../../src/log/wal/files.js';
import { type WalOptions, WriteAheadLog } from '../../../src/log/wal/index.js';
import type { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { openMetadataStore } from '../../../src/metadata/open-metadata-store.js';
import { type ObjectStore, ObjectStoreError } from '../../../src/tiering/object-store.js';
import { openObjectStore } from '../../../src/tiering/open-object-store.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const T0 = 1_700_000_000_000;
const WAL_SEGMENT_BYTES = 256 * 1024;

/** Uploads happen only when a test asks (flush) or backpressure forces them. */
const BASE_OPTS: LogStoreOptions = {
  maxUnuploadedBytes: 64 * 1024 * 1024,
  backpressureTimeoutMs: 5_000,
  hotTailMaxBytes: 64 * 1024 * 1024,
  uploadTargetBytes: 1 << 30,
  uploadMaxAgeMs: 1 << 30,
  objectCacheBytes: 16 * 1024 * 1024,
  retentionCheckIntervalMs: 1 << 30,
  objectDeleteGraceMs: 0,
  topicDefaults: () => ({}),
};

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

interface Opened {
  log: LogStore;
  metadata: MetadataStore;
  objects: ObjectStore;
  wal: WriteAheadLog | null;
  lines: LogLine[];
  /** Close everything (what a graceful broker stop does); idempotent. */
  close(): Promise<void>;
}

interface OpenOptions {
  /** The data directory; null = memory:// stores and no WAL. */
  dir: string | null;
  opts?: Partial<LogStoreOptions>;
  wal?: WalOptions;
  wrapObjects?: (o: ObjectStore) => ObjectStore;
  wrapMetadata?: (m: MetadataStore) => MetadataStore;
}

async function openLog(t: Test, o: OpenOptions): Promise<Opened> {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  const rawMetadata = await openMetadataStore(
    o.dir === null ? 'memory://' : `sqlite://${join(o.dir, 'metadata.db')}`,
  );
  const rawObjects = await openObjectStore(o.dir === null ? 'memory://' : `file://${join(o.dir, 'objects')}`);
  const metadata = o.wrapMetadata ? o.wrapMetadata(rawMetadata) : rawMetadata;
  const objects = o.wrapObjects ? o.wrapObjects(rawObjects) : rawObjects;
  const wal =
    o.dir === null
      ? null
      : await WriteAheadLog.open(join(o.dir, 'wal'), { segmentBytes: WAL_SEGMENT_BYTES, ...o.wal });
  const log = await LogStore.open(metadata, objects, wal, { ...BASE_OPTS, ...o.opts }, logger);
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await log.close();
      await wal?.close();
      await rawMetadata.close();
      await rawObjects.close();
    })();
    return closing;
  };
  t.teardown(close);
  return { log, metadata, objects, wal, lines, close };
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'log-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A synchronous copy of a data directory: the on-disk image a SIGKILL at this instant would leave. */
function crashImage(t: Test, dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'log-store-crash-'));
  cpSync(dir, copy, { recursive: true });
  t.teardown(() => rm(copy, { recursive: true, force: true }));
  return copy;
}

// ---- records ------------------------------------------------------------------------------------

/** One batch of `values`, record i at baseTimestamp + deltas[i] (default i). */
function batch(values: string[], baseTimestamp = T0, deltas?: number[], compression?: 'gzip'): Buffer {
  const records: RecordInput[] = values.map((value, i) => ({
    key: `k-${value}`,
    value,
    timestampDelta: deltas?.[i] ?? i,
  }));
  return buildRecordBatch({ baseTimestamp, records, ...(compression ? { compression } : {}) });
}

interface Rec {
  offset: number;
  value: string;
  timestamp: number;
}

function decode(chunks: readonly Buffer[]): Rec[] {
  const out: Rec[] = [];
  for (const chunk of chunks) {
    for (const b of splitBatches(chunk).batches) {
      for (const r of iterateRecords(b, { maxDecompressedBytes: 1 << 26, verifyCrc: true })) {
        out.push({
          offset: Number(r.offset),
          value: r.value?.toString() ?? '',
          timestamp: Number(r.timestamp),
        });
      }
    }
  }
  return out;
}

/** Everything readable in [from, HW): records and the raw stored bytes, via repeated read() calls. */
async function readAll(log: LogStore, topic: string, partition: number, from?: number) {
  const p = log.partition(topic, partition)!;
  let at = from ?? p.logStartOffset;
  const records: Rec[] = [];
  const raw: Buffer[] = [];
  while (at < p.highWatermark) {
    const r = await log.read(topic, partition, at, 1000);
    if (r.errorCode !== ErrorCode.NONE)
      throw new Error(`read ${topic}/${partition}@${at}: error ${r.errorCode}`);
    if (r.records.length === 0) throw new Error(`read ${topic}/${partition}@${at}: no records below HW`);
    raw.push(...r.records);
    for (const rec of decode(r.records)) {
      if (rec.offset >= at) records.push(rec);
    }
    const last = r.records[r.records.length - 1]!;
    at = Number(last.readBigInt64BE(0)) + last.readInt32BE(23) + 1;
  }
  return { records, raw: Buffer.concat(raw) };
}

async function produceOk(log: LogStore, parts: ProducePart[]): Promise<number[]> {
  const results = await log.produce(parts, 30_000);
  for (const r of results)
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`produce failed: ${JSON.stringify(r)}`);
  return results.map((r) => r.baseOffset);
}

function part(topic: string, partition: number, ...batches: Buffer[]): ProducePart {
  return { topic, partition, records: Buffer.concat(batches) };
}

async function listKeys(objects: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of objects.list('data/')) keys.push(o.key);
  return keys;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

function expectContiguous(t: Test, records: Rec[], from: number, to: number, what: string): void {
  const offsets = records.map((r) => r.offset);
  const expected = Array.from({ length: to - from }, (_, i) => from + i);
  t.same(offsets, expected, `${what}: offsets ${from}..${to - 1}, each once`);
}

// ---- behaviour, on both backends -----------------------------------------------------------------

for (const backend of ['durable', 'memory'] as const) {
  const dirFor = async (t: Test) => (backend === 'durable' ? tempDir(t) : null);

  t.test(
    `${backend}: offsets are assigned contiguously across batches, partitions and requests`,
    async (t) => {
      const { log } = await openLog(t, { dir: await dirFor(t) });
      await log.createTopic('a', 2, {});
      // Not awaited in between: offsets are assigned synchronously, in call order.
      const r1 = log.produce(
        [part('a', 0, batch(['0', '1', '2']), batch(['3', '4'])), part('a', 1, batch(['x0']))],
        30_000,
      );
      const r2 = log.produce([part('a', 0, batch(['5', '6', '7', '8']))], 30_000);
      const r3 = log.produce([part('a', 1, batch(['x1', 'x2'])), part('a', 0, batch(['9']))], 30_000);
      const [a, b, c] = await Promise.all([r1, r2, r3]);
      t.same(
        a!.map((r) => [r.errorCode, r.baseOffset]),
        [
          [0, 0],
          [0, 0],
        ],
      );
      t.same(
        b!.map((r) => [r.errorCode, r.baseOffset]),
        [[0, 5]],
      );
      t.same(
        c!.map((r) => [r.errorCode, r.baseOffset]),
        [
          [0, 1],
          [0, 9],
        ],
      );
      const p0 = await readAll(log, 'a', 0);
      expectContiguous(t, p0.records, 0, 10, 'a/0');
      t.same(
        p0.records.map((r) => r.value),
        ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      );
      const p1 = await readAll(log, 'a', 1);
      t.same(
        p1.records.map((r) => [r.offset, r.value]),
        [
          [0, 'x0'],
          [1, 'x1'],
          [2, 'x2'],
        ],
      );
      t.equal(log.partition('a', 0)!.highWatermark, 10);

      const bad = await log.produce([part('nope', 0, batch(['z'])), part('a', 7, batch(['z']))], 1000);
      t.same(
        bad.map((r) => r.errorCode),
        [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      );
      t.equal(log.partition('a', 0)!.nextOffset, 10, 'rejected parts assign no offsets');
    },
  );

  t.test(`${backend}: reads from the hot tail and from objects return identical bytes`, async (t) => {
    const { log, objects } = await openLog(t, { dir: await dirFor(t), opts: { hotTailMaxBytes: 0 } });
    await log.createTopic('a', 1, {});
    const batches = [
      batch(['a', 'b', 'c']),
      batch(['d']),
      batch(['e', 'f', 'g', 'h'], T0, undefined, 'gzip'),
      batch(['i', 'j']),
    ];
    await produceOk(log, [part('a', 0, batches[0]!, batches[1]!)]);
    await produceOk(log, [part('a', 0, batches[2]!)]);
    await produceOk(log, [part('a', 0, batches[3]!)]);
    const p = log.partition('a', 0)!;
    const hot = await readAll(log, 'a', 0);
    t.equal(hot.records.length, 10);
    const sizes = batches.map((b) => b.length);

    // A fetch offset inside a batch returns that whole batch (the client skips the records before it).
    const inside = await log.read('a', 0, 5, 1);
    t.equal(inside.records.length, 1, 'maxBytes below one batch still returns one batch');
    t.equal(inside.records[0]!.readBigInt64BE(0), 4n, 'offset 5 is served by the batch starting at 4');
    t.equal(inside.records[0]!.length, sizes[2]);

    await log.flush();
    t.equal(p.uploadedEnd, 10);
    t.equal(log.statsSnapshot.hotBytes, 0, 'hotTailMaxBytes=0 evicts every uploaded batch');
    t.equal(p.readHot(0, 1 << 20), null, 'nothing left in memory');

    let gets = 0;
    const realGet = objects.get.bind(objects);
    objects.get = (key, range) => {
      gets++;
      return realGet(key, range);
    };
    const cold = await readAll(log, 'a', 0);
    t.ok(gets > 0, 'served from the object store');
    t.ok(cold.raw.equals(hot.raw), 'object reads return the very bytes the hot tail returned');
    t.same(cold.records, hot.records);

    const coldInside = await log.read('a', 0, 5, 1);
    t.equal(coldInside.records.length, 1);
    t.equal(coldInside.records[0]!.readBigInt64BE(0), 4n, 'from objects too, the batch holding offset 5');
    t.ok(coldInside.records[0]!.equals(inside.records[0]!));

    // maxBytes: whole batches, at least one, and no more than maxBytes once one is in.
    const two = await log.read('a', 0, 0, sizes[0]! + sizes[1]!);
    t.same(
      two.records.map((b) => b.length),
      [sizes[0], sizes[1]],
      'exactly two batches fit',
    );
    const almostTwo = await log.read('a', 0, 0, sizes[0]! + sizes[1]! - 1);
    t.same(
      almostTwo.records.map((b) => b.length),
      [sizes[0]],
      'one byte short: one batch',
    );
    t.equal(almostTwo.bytes, sizes[0]);

    // Part uploaded, part hot: one read spans both, contiguously.
    await produceOk(log, [part('a', 0, batch(['k', 'l']))]);
    const all = await log.read('a', 0, 0, 1 << 20);
    const recs = decode(all.records);
    expectContiguous(t, recs, 0, 12, 'objects then hot tail in one read');
    t.equal(all.highWatermark, 12);
  });

  t.test(`${backend}: OFFSET_OUT_OF_RANGE outside [logStart, HW]`, async (t) => {
    const { log } = await openLog(t, { dir: await dirFor(t) });
    await log.createTopic('a', 1, {});
    await produceOk(log, [part('a', 0, batch(['0', '1', '2']), batch(['3', '4']))]);
    const at = (o: number) => log.read('a', 0, o, 1 << 20);
    t.equal((await at(6)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'past the HW');
    t.equal((await at(-1)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'negative');
    const atHw = await at(5);
    t.equal(atHw.errorCode, ErrorCode.NONE, 'at the HW: nothing yet, not an error');
    t.equal(atHw.records.length, 0);
    t.equal(atHw.highWatermark, 5);
    const p = log.partition('a', 0)!;
    t.equal(await log.deleteRecords(p, 3), 3);
    t.equal((await at(2)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'below the log start');
    const r = await at(3);
    t.equal(r.errorCode, ErrorCode.NONE);
    t.equal(r.logStartOffset, 3);
    t.same(
      decode(r.records).map((x) => x.offset),
      [3, 4],
    );
    await log.flush();
    t.equal((await at(2)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'below the log start, after upload');
    t.equal((await at(6)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'past the HW, after upload');
    t.equal((await log.read('nope', 0, 0, 10)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  t.test(`${backend}: one upload makes one object for many partitions and commits its index`, async (t) => {
    const { log, objects, metadata } = await openLog(t, { dir: await dirFor(t) });
    const a = await log.createTopic('a', 3, {});
    const b = await log.createTopic('b', 1, {});
    await produceOk(log, [
      part('a', 0, batch(['a0'])),
      part('a', 1, batch(['a1', 'a1'])),
      part('a', 2, batch(['a2'])),
    ]);
    await produceOk(log, [part('b', 0, batch(['b0', 'b1', 'b2'])), part('a', 0, batch(['a0+']))]);
    const before = new Map<string, Buffer>();
    for (const [name, n] of [
      ['a', 0],
      ['a', 1],
      ['a', 2],
      ['b', 0],
    ] as const)
      before.set(`${name}/${n}`, (await readAll(log, name, n)).raw);
    t.same(await listKeys(objects), [], 'nothing uploaded yet');

    await log.flush();
    const keys = await listKeys(objects);
    t.equal(keys.length, 1, 'one object for all four partitions');
    const key = keys[0]!;
    t.match(key, /^data\/[0-9a-f]{2}\/[0-9a-z]+-[0-9a-f]{16}\.kbatch$/, 'hashed prefix + unique name');
    const size = await objects.head(key);
    t.equal(
      size,
      [...before.values()].reduce((n, x) => n + x.length, 0),
      'the object holds exactly the batches',
    );

    for (const [topic, n, last] of [
      [a, 0, 1],
      [a, 1, 1],
      [a, 2, 0],
      [b, 0, 2],
    ] as const) {
      const entries = await metadata.findIndexEntries(topic.topicId, n, 0, 100);
      t.equal(entries.length, 1, `${topic.name}/${n}: one index entry`);
      const e = entries[0]!;
      t.equal(e.objectKey, key);
      t.same([e.baseOffset, e.lastOffset], [0, last], `${topic.name}/${n}: offsets`);
      t.equal(e.maxTimestampMs, T0 + (topic.name === 'b' ? 2 : last === 1 && n === 1 ? 1 : 0));
      const bytes = await objects.get(key, { start: e.byteOffset, length: e.byteLength });
      t.ok(
        bytes.equals(before.get(`${topic.name}/${n}`)!),
        `${topic.name}/${n}: its byte range is its batches`,
      );
      t.equal(await metadata.getIndexedEnd(topic.topicId, n), last + 1);
    }
    t.equal((await metadata.getObjectRecord(key))?.liveEntryCount, 4);
    t.equal(log.statsSnapshot.unuploadedBytes, 0);
    t.equal(log.stats.objectsUploaded, 1);

    await log.flush();
    t.equal((await listKeys(objects)).length, 1, 'nothing pending: no empty object');
  });

  t.test(
    `${backend}: backpressure waits, fails with REQUEST_TIMED_OUT, and recovers with the store`,
    async (t) => {
      let hold: ReturnType<typeof gate> | null = null;
      let outage = false;
      let puts = 0;
      const { log } = await openLog(t, {
        dir: await dirFor(t),
        opts: { maxUnuploadedBytes: 1, backpressureTimeoutMs: 1500 }, // generous: CI machines are shared and noisy
        wrapObjects: (o) => {
          const realPut = o.put.bind(o);
          o.put = async (key, body) => {
            puts++;
            if (outage) {
              throw new ObjectStoreError('OBJECT_STORE_UNAVAILABLE', 'injected outage');
            }
            if (hold !== null) await hold.promise;
            return realPut(key, body);
          };
          return o;
        },
      });
      await log.createTopic('a', 1, {});
      t.same(await produceOk(log, [part('a', 0, batch(['0', '1']))]), [0], 'under the cap: appended at once');

      hold = gate(); // the object store hangs
      const started = Date.now();
      const [timedOut] = await log.produce([part('a', 0, batch(['lost']))], 30_000);
      const waitedMs = Date.now() - started;
      t.equal(timedOut!.errorCode, 7, 'REQUEST_TIMED_OUT (7), retriable');
      t.equal(timedOut!.errorCode, ErrorCode.REQUEST_TIMED_OUT);
      t.ok(waitedMs >= 1_400 && waitedMs < 8_000, `waited ${waitedMs} ms ≈ backpressureTimeoutMs`);
      t.ok((timedOut!.throttleTimeMs ?? 0) >= 1_400, 'the wait is reported (throttle_time_ms)');
      t.equal(puts, 1, 'the queued produce forced an upload, which hangs');
      t.equal(log.partition('a', 0)!.nextOffset, 2, 'a timed-out produce assigned no offsets');

      // A produce queued while the store hangs completes once the store recovers.
      const queued = log.produce([part('a', 0, batch(['2']))], 30_000);
      setTimeout(() => hold!.open(), 100);
      const [ok] = await queued;
      t.equal(ok!.errorCode, ErrorCode.NONE);
      t.equal(ok!.baseOffset, 2, 'offsets stay contiguous: the failed produce left no hole');
      t.ok((ok!.throttleTimeMs ?? 0) > 0, 'a queued produce reports its wait');
      hold = null;

      // An outage that fails puts (rather than hanging them): throttled while it lasts; the uploader
      // retries, and a client retrying the produce gets through once the store is back.
      outage = true;
      const [during] = await log.produce([part('a', 0, batch(['lost-too']))], 30_000);
      t.equal(during!.errorCode, ErrorCode.REQUEST_TIMED_OUT, 'throttled during the outage');
      t.ok(log.stats.uploadFailures >= 1, 'the failed upload was counted');
      outage = false;
      let attempts = 0;
      let retried: ProducePartResult | undefined;
      do {
        attempts++;
        [retried] = await log.produce([part('a', 0, batch(['3']))], 30_000);
        if (retried!.errorCode !== ErrorCode.NONE) await sleep(100);
      } while (retried!.errorCode === ErrorCode.REQUEST_TIMED_OUT && attempts < 30);
      t.equal(retried!.errorCode, ErrorCode.NONE, `succeeds after the outage (attempt ${attempts})`);
      t.equal(retried!.baseOffset, 3);
      await log.flush();
      const all = await readAll(log, 'a', 0);
      t.same(
        all.records.map((r) => r.value),
        ['0', '1', '2', '3'],
        'the timed-out record is nowhere',
      );
    },
  );

  t.test(
    `${backend}: retention by time and by size advances the log start and deletes objects`,
    async (t) => {
      const { log, objects, metadata } = await openLog(t, { dir: await dirFor(t) });
      const now = Date.now();
      const hour = 3600_000;
      const topic = await log.createTopic('timed', 1, { 'retention.ms': String(hour) });
      await produceOk(log, [part('timed', 0, batch(['old0', 'old1'], now - 3 * hour))]);
      await log.flush();
      await produceOk(log, [part('timed', 0, batch(['old2'], now - 2 * hour))]);
      await log.flush();
      await produceOk(log, [part('timed', 0, batch(['new0', 'new1'], now - 1000))]);
      await log.flush();
      await produceOk(log, [part('timed', 0, batch(['hot-old'], now - 5 * hour))]); // not uploaded: kept
      const keysBefore = await listKeys(objects);
      t.equal(keysBefore.length, 3);
      const entries = await metadata.findIndexEntries(topic.topicId, 0, 0, 10);
      const expiredKeys = entries.slice(0, 2).map((e) => e.objectKey);

      await log.runRetention(now);
      const p = log.partition('timed', 0)!;
      t.equal(p.logStartOffset, 3, 'log start moved past the two expired objects');
      t.equal((await metadata.getPartitionState(topic.topicId, 0)).logStartOffset, 3, 'and that is durable');
      const keysAfter = await listKeys(objects);
      t.same(
        keysAfter,
        keysBefore.filter((k) => !expiredKeys.includes(k)),
        'expired objects deleted from the store',
      );
      for (const k of expiredKeys)
        t.equal(await metadata.getObjectRecord(k), null, 'and forgotten by the metadata');
      t.equal((await log.read('timed', 0, 2, 100)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
      t.same(
        (await readAll(log, 'timed', 0)).records.map((r) => r.value),
        ['new0', 'new1', 'hot-old'],
      );
      await log.runRetention(now);
      t.equal(p.logStartOffset, 3, 'idempotent');

      // Upload 'hot-old' on its own now: an object shared with another partition's entry would
      // (rightly) outlive the trim of the sized topic's entry and blur the count below.
      await log.flush();
      // retention.bytes: keep the newest objects whose total stays at or above the limit (Kafka's rule).
      const sized = await log.createTopic('sized', 1, {});
      for (let i = 0; i < 4; i++) {
        await produceOk(log, [part('sized', 0, batch([`s${i}a`, `s${i}b`], now))]);
        await log.flush();
      }
      const sizedEntries = await metadata.findIndexEntries(sized.topicId, 0, 0, 10);
      t.equal(sizedEntries.length, 4);
      const objectBytes = sizedEntries[0]!.byteLength;
      await log.alterTopicConfigs('sized', { 'retention.bytes': String(2 * objectBytes) }, []);
      const sizedKeysBefore = sizedEntries.map((e) => e.objectKey);
      await log.runRetention(now);
      t.equal(log.partition('sized', 0)!.logStartOffset, 4, 'two objects over the limit deleted');
      const remaining = new Set(await listKeys(objects));
      t.same(
        sizedKeysBefore.map((k) => remaining.has(k)),
        [false, false, true, true],
      );
      t.same(
        (await readAll(log, 'sized', 0)).records.map((r) => r.value),
        ['s2a', 's2b', 's3a', 's3b'],
      );
      t.equal(log.partition('timed', 0)!.logStartOffset, 3, 'the other topic is untouched');
    },
  );

  t.test(`${backend}: deleteRecords`, async (t) => {
    const { log, metadata, objects } = await openLog(t, { dir: await dirFor(t) });
    const topic = await log.createTopic('a', 1, {});
    await produceOk(log, [part('a', 0, batch(['0', '1', '2']), batch(['3', '4']))]);
    await log.flush();
    await produceOk(log, [part('a', 0, batch(['5', '6', '7']))]);
    const p = log.partition('a', 0)!;
    t.equal(await log.deleteRecords(p, 1), 1, 'inside a batch');
    const r = await log.read('a', 0, 1, 1 << 20);
    t.equal(r.records[0]!.readBigInt64BE(0), 0n, 'the batch holding the new log start is served whole');
    t.same(
      (await readAll(log, 'a', 0)).records.map((x) => x.offset),
      [1, 2, 3, 4, 5, 6, 7],
    );
    t.equal(await log.deleteRecords(p, 0), 1, 'never moves backwards');
    await t.rejects(log.deleteRecords(p, 9), { code: 'OFFSET_OUT_OF_RANGE' }, 'not past the HW');
    t.equal(await log.deleteRecords(p, 6), 6, 'into the part not uploaded yet');
    t.equal((await metadata.getPartitionState(topic.topicId, 0)).logStartOffset, 6);
    t.same(await metadata.findIndexEntries(topic.topicId, 0, 0, 10), [], 'the wholly deleted entry is gone');
    await log.sweepObjects();
    t.same(await listKeys(objects), [], 'and its object');
    t.same(
      (await readAll(log, 'a', 0)).records.map((x) => x.value),
      ['6', '7'],
    );
    t.equal(await log.deleteRecords(p, -1), 8, '-1 = up to the HW');
    t.equal((await log.read('a', 0, 8, 100)).errorCode, ErrorCode.NONE);
    t.same(await produceOk(log, [part('a', 0, batch(['8']))]), [8], 'appends continue at the HW');
    await log.flush();
    t.same(
      (await readAll(log, 'a', 0)).records.map((x) => [x.offset, x.value]),
      [[8, '8']],
    );
  });

  t.test(`${backend}: offsetForTimestamp is exact to the record; offsetOfMaxTimestamp`, async (t) => {
    const { log } = await openLog(t, { dir: await dirFor(t), opts: { hotTailMaxBytes: 0 } });
    await log.createTopic('a', 1, {});
    const p = log.partition('a', 0)!;
    const B = T0;
    // offsets: 0..2 → B, B+10, B+20 | 3..4 (gzip) → B+1000, B+1005 | 5..7 → B+2030, B+2000, B+2015
    //          8 → B+100 (late) | 9 → B+2030 (ties the max; the earlier one wins)
    await produceOk(log, [
      part('a', 0, batch(['0', '1', '2'], B, [0, 10, 20]), batch(['3', '4'], B + 1000, [0, 5], 'gzip')),
    ]);
    const cases: [number, number | null][] = [
      [B - 1, 0],
      [B, 0],
      [B + 5, 1],
      [B + 20, 2],
      [B + 21, 3],
      [B + 1003, 4],
      [B + 2001, 5],
      [B + 2016, 5],
      [B + 2030, 5],
      [B + 2031, null],
    ];
    const stages: [string, () => Promise<void>][] = [
      [
        'first batches uploaded, the rest hot',
        async () => {
          await log.flush();
          await produceOk(log, [
            part('a', 0, batch(['5', '6', '7'], B + 2000, [30, 0, 15]), batch(['8'], B + 100)),
          ]);
          await produceOk(log, [part('a', 0, batch(['9'], B + 2030))]);
        },
      ],
      ['all uploaded and evicted', () => log.flush()],
    ];
    for (const [stage, setUp] of stages) {
      await setUp();
      for (const [ts, offset] of cases) {
        const found = await log.offsetForTimestamp(p, ts);
        t.equal(
          found?.offset ?? null,
          offset,
          `${stage}: first offset with timestamp ≥ B+${ts - B} is ${offset}`,
        );
      }
      const max = await log.offsetOfMaxTimestamp(p);
      t.same(max, { offset: 5, timestamp: B + 2030 }, `${stage}: max timestamp at offset 5`);
    }
    await log.deleteRecords(p, 1);
    t.same(
      await log.offsetForTimestamp(p, B - 1),
      { offset: 1, timestamp: B + 10 },
      'never below the log start',
    );

    await log.createTopic('lat', 1, { 'message.timestamp.type': 'LogAppendTime' });
    const before = Date.now();
    await produceOk(log, [part('lat', 0, batch(['x', 'y'], 5))]);
    const lat = await log.offsetForTimestamp(log.partition('lat', 0)!, 0);
    t.equal(lat?.offset, 0);
    t.ok(lat!.timestamp >= before, 'LogAppendTime: the broker time, not the producer one');
  });

  t.test(`${backend}: retention racing an upload keeps the upload's index entry (regression)`, async (t) => {
    // setLogStart awaited the metadata trim and then replaced the in-memory index with a copy taken
    // before the await, dropping any entry an upload committed meanwhile: those offsets became
    // unreadable (empty fetches forever) once evicted from the hot tail.
    let trimGate: ReturnType<typeof gate> | null = null;
    const { log } = await openLog(t, {
      dir: await dirFor(t),
      opts: { hotTailMaxBytes: 0 },
      wrapMetadata: (m) => {
        const realTrim = m.deleteIndexEntriesBelow.bind(m);
        m.deleteIndexEntriesBelow = async (...args) => {
          const r = await realTrim(...args);
          if (trimGate !== null) await trimGate.promise;
          return r;
        };
        return m;
      },
    });
    await log.createTopic('a', 1, {});
    const p = log.partition('a', 0)!;
    await produceOk(log, [part('a', 0, batch(['0', '1']))]);
    await log.flush();
    await produceOk(log, [part('a', 0, batch(['2', '3']))]);
    trimGate = gate();
    const deleting = log.deleteRecords(p, 2);
    await sleep(10); // the trim is now parked
    await log.flush(); // the upload of 2..3 commits while the trim is in flight
    trimGate.open();
    t.equal(await deleting, 2);
    t.same(
      p.objectIndex.map((e) => [e.baseOffset, e.lastOffset]),
      [[2, 3]],
      'the entry committed during the trim is still indexed in memory',
    );
    t.same(
      (await readAll(log, 'a', 0)).records.map((r) => r.value),
      ['2', '3'],
      'and readable from its object',
    );
  });
}

// ---- durability (durable backend only) -----------------------------------------------------------

t.test('the high watermark advances only once the WAL entry is fsynced', async (t) => {
  const dir = await tempDir(t);
  let hold: ReturnType<typeof gate> | null = null;
  let syncs = 0;
  const { log, wal } = await openLog(t, {
    dir,
    wal: {
      fileOps: {
        async fdatasync(fd) {
          if (hold !== null) await hold.promise;
          syncs++;
          return nodeFileOps.fdatasync(fd);
        },
      },
    },
  });
  await log.createTopic('a', 1, {});
  const p = log.partition('a', 0)!;
  await produceOk(log, [part('a', 0, batch(['0', '1']))]);
  t.equal(p.highWatermark, 2);

  hold = gate();
  let settled = false;
  const pending = log.produce([part('a', 0, batch(['2', '3', '4']))], 30_000).then((r) => {
    settled = true;
    return r;
  });
  t.equal(p.nextOffset, 5, 'offsets assigned at once');
  await sleep(50);
  const syncsBefore = syncs;
  t.notOk(settled, 'no answer before the fsync');
  t.equal(p.highWatermark, 2, 'HW still at the fsynced end');
  const r = await log.read('a', 0, 2, 1 << 20);
  t.equal(r.errorCode, ErrorCode.NONE);
  t.equal(r.records.length, 0, 'the unsynced batch is invisible to readers');
  t.equal((await log.read('a', 0, 3, 1 << 20)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'past the HW');
  await log.flush();
  t.equal(p.uploadedEnd, 2, 'the uploader takes only durable batches');
  t.equal(wal!.checkpointLsn <= wal!.durableLsn, true);

  hold.open();
  hold = null;
  const [res] = await pending;
  t.ok(syncs > syncsBefore, 'answered after an fdatasync');
  t.equal(res!.baseOffset, 2);
  t.equal(p.highWatermark, 5, 'HW advanced with the fsync');
  t.same(
    (await readAll(log, 'a', 0)).records.map((x) => x.value),
    ['0', '1', '2', '3', '4'],
  );
});

t.test('the WAL checkpoint advances after an upload and old segments go', async (t) => {
  const dir = await tempDir(t);
  const { log, wal } = await openLog(t, { dir });
  await log.createTopic('a', 2, {});
  const value = 'v'.repeat(4000);
  for (let i = 0; i < 200; i++) {
    await produceOk(log, [part('a', i % 2, batch([`${i}-${value}`]))]);
  }
  const segments = async () => (await readdir(join(dir, 'wal'))).filter((n) => n.endsWith('.wal')).length;
  t.ok((await segments()) >= 3, `the WAL rolled (${await segments()} segments)`);
  t.equal(wal!.checkpointLsn, 0);
  const durable = wal!.durableLsn;
  await log.flush();
  t.equal(wal!.checkpointLsn, durable, 'checkpoint = durable end at upload time');
  t.equal(await segments(), 1, 'segments wholly below the checkpoint were removed');
  await produceOk(log, [part('a', 0, batch(['after']))]);
  await log.flush();
  t.equal(wal!.checkpointLsn, wal!.durableLsn);
  t.equal((await readAll(log, 'a', 0)).records.length, 101);
});

async function fill(log: LogStore): Promise<Map<string, Rec[]>> {
  const out = new Map<string, Rec[]>();
  for (const [topic, n] of [
    ['a', 0],
    ['a', 1],
    ['b', 0],
  ] as const)
    out.set(`${topic}/${n}`, (await readAll(log, topic, n)).records);
  return out;
}

async function produceMix(log: LogStore, tag: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await produceOk(log, [
      part('a', i % 2, batch([`${tag}-a${i}`, `${tag}-a${i}'`], T0 + i)),
      part('b', 0, batch([`${tag}-b${i}`], T0 + i)),
    ]);
  }
}

t.test('restart: close and reopen on the same directory keeps everything at the same offsets', async (t) => {
  const dir = await tempDir(t);
  const first = await openLog(t, { dir });
  await first.log.createTopic('a', 2, {});
  await first.log.createTopic('b', 1, { 'retention.ms': '86400000' });
  await produceMix(first.log, 'up', 10);
  await first.log.flush(); // these are in objects
  await produceMix(first.log, 'wal', 10); // these only in the WAL
  await first.log.deleteRecords(first.log.partition('a', 1)!, 3);
  const before = await fill(first.log);
  const marks = (log: LogStore) =>
    [log.partition('a', 0)!, log.partition('a', 1)!, log.partition('b', 0)!].map((p) => [
      p.logStartOffset,
      p.highWatermark,
      p.nextOffset,
    ]);
  const marksBefore = marks(first.log);
  t.ok(first.log.statsSnapshot.unuploadedBytes > 0, 'part of the log is only in the WAL');
  await first.close();

  const second = await openLog(t, { dir });
  t.same(marks(second.log), marksBefore, 'log start, HW and next offset per partition');
  t.same(await fill(second.log), before, 'every record, at the same offset');
  t.equal(second.log.topic('b')!.configs['retention.ms'], '86400000', 'topic configs');
  t.ok(second.log.statsSnapshot.unuploadedBytes > 0, 'the WAL-only part is pending upload again');
  t.same(
    await produceOk(second.log, [part('b', 0, batch(['next']))]),
    [20],
    'appends continue after the end',
  );
  await second.log.flush();
  t.equal(second.log.stats.uploadFailures, 0);
  await second.close();

  const third = await openLog(t, { dir });
  t.equal(third.wal!.recovery.truncated, null, 'clean shutdown: nothing to truncate');
  t.same((await fill(third.log)).get('b/0')!.at(-1), { offset: 20, value: 'next', timestamp: T0 });
  t.equal(third.log.statsSnapshot.unuploadedBytes, 0, 'and all of it uploaded');
});

t.test('crash images: acknowledged data survives a kill at every stage of an upload', async (t) => {
  // Stages, each an image taken synchronously at that instant:
  //  wal-only   — acknowledged, not uploaded: everything must come back from the WAL
  //  put-done   — the object is written, its index is not committed: replay re-uploads
  //  committed  — the index is committed, the WAL checkpoint is not: replay must not duplicate
  const dir = await tempDir(t);
  const images = new Map<string, string>();
  let stage: string | null = null;
  const { log } = await openLog(t, {
    dir,
    wrapObjects: (o) => {
      const realPut = o.put.bind(o);
      o.put = async (key, body) => {
        await realPut(key, body);
        if (stage === 'put-done') images.set(stage, crashImage(t, dir));
      };
      return o;
    },
    wrapMetadata: (m) => {
      const realCommit = m.commitObject.bind(m);
      m.commitObject = async (c) => {
        const r = await realCommit(c);
        if (stage === 'committed') images.set(stage, crashImage(t, dir));
        return r;
      };
      return m;
    },
  });
  await log.createTopic('a', 2, {});
  await log.createTopic('b', 1, {});
  await produceMix(log, 'first', 5);
  await log.flush();
  await produceMix(log, 'second', 5);
  const expected = await fill(log);
  images.set('wal-only', crashImage(t, dir));
  stage = 'put-done';
  await log.flush();
  await produceMix(log, 'third', 3);
  const expected3 = await fill(log);
  stage = 'committed';
  await log.flush();
  stage = null;

  for (const [name, want] of [
    ['wal-only', expected],
    ['put-done', expected],
    ['committed', expected3],
  ] as const) {
    const image = images.get(name);
    t.ok(image, `${name}: image taken`);
    const reopened = await openLog(t, { dir: image! });
    t.same(await fill(reopened.log), want, `${name}: every acknowledged record at its offset, no duplicates`);
    if (name === 'committed')
      t.equal(reopened.log.statsSnapshot.unuploadedBytes, 0, `${name}: nothing re-uploaded`);
    else t.ok(reopened.log.statsSnapshot.unuploadedBytes > 0, `${name}: pending again`);
    t.same(
      await produceOk(reopened.log, [part('b', 0, batch(['more']))]),
      [want.get('b/0')!.length],
      `${name}: appends continue`,
    );
    await reopened.log.flush();
    t.equal(reopened.log.stats.uploadFailures, 0, `${name}: the re-upload commits (index stays contiguous)`);
    const referenced = new Set<string>();
    for (const topic of reopened.log.topics()) {
      for (const p of topic.partitions) for (const e of p.objectIndex) referenced.add(e.objectKey);
    }
    const orphans = (await listKeys(reopened.objects)).filter((k) => !referenced.has(k));
    // Known gap: an object PUT whose index commit never happened is never deleted.
    if (orphans.length > 0)
      t.comment(`${name}: ${orphans.length} object(s) stored but never indexed (not collected)`);
    await reopened.close();
    const again = await openLog(t, { dir: image! });
    const after = await fill(again.log);
    t.same(after.get('a/0'), want.get('a/0'), `${name}: still there after a second restart`);
    t.equal(again.log.statsSnapshot.unuploadedBytes, 0);
    await again.close();
  }
});

t.test('a torn WAL tail is truncated on reopen, logged, and nothing acknowledged is lost', async (t) => {
  const dir = await tempDir(t);
  const { log, wal } = await openLog(t, { dir });
  await log.createTopic('a', 1, {});
  for (let i = 0; i < 20; i++) await produceOk(log, [part('a', 0, batch([`r${i}`, `r${i}'`]))]);
  const acked = await fill1(log);
  const tornAt = wal!.durableLsn;
  const before = crashImage(t, dir);
  await produceOk(log, [part('a', 0, batch(['torn-1', 'torn-2', 'torn-3'].map((s) => s.repeat(50))))]);
  const endLsn = wal!.durableLsn;
  const after = crashImage(t, dir);
  const walFiles = (await readdir(join(dir, 'wal'))).filter((n) => n.endsWith('.wal')).sort();
  t.equal(walFiles.length, 1, 'one segment (small test)');
  const segment = walFiles[0]!;
  const base = Number(segment.slice(0, 20));

  // Variant 1: the next entry half written (a torn write of a real entry).
  const half = Buffer.alloc(Math.floor((endLsn - tornAt) / 2));
  {
    const fh = await open(join(after, 'wal', segment), 'r');
    await fh.read(half, 0, half.length, tornAt - base);
    await fh.close();
  }
  // Variant 2: garbage after the last entry.
  const garbage = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 73 + 11) & 0xff));
  const variants: [string, Buffer][] = [
    ['half-written entry', half],
    ['garbage', garbage],
  ];
  for (const [name, bytes] of variants) {
    const image = crashImage(t, before);
    const fh = await open(join(image, 'wal', segment), 'r+');
    await fh.write(bytes, 0, bytes.length, tornAt - base);
    await fh.close();
    const reopened = await openLog(t, { dir: image });
    const truncated = reopened.wal!.recovery.truncated;
    t.ok(truncated, `${name}: recovery reports a truncation`);
    t.equal(truncated?.truncatedAtLsn, tornAt, `${name}: at the end of the last whole entry`);
    const line = reopened.lines.find((l) => /torn or corrupt tail/.test(l.msg));
    t.ok(line, `${name}: the broker logs one truncation line`);
    t.equal(line?.level, 40, `${name}: at warn level`);
    t.same(await fill1(reopened.log), acked, `${name}: every acknowledged record, at its offset`);
    t.same(
      await produceOk(reopened.log, [part('a', 0, batch(['next']))]),
      [40],
      `${name}: appends continue at the end`,
    );
    await reopened.close();
    const again = await openLog(t, { dir: image });
    t.equal(again.wal!.recovery.truncated, null, `${name}: the second open finds a clean log`);
    const recs = await fill1(again.log);
    t.same(recs.slice(0, 40), acked);
    t.same(
      recs.slice(40).map((r) => [r.offset, r.value]),
      [[40, 'next']],
    );
    await again.close();
  }
});

async function fill1(log: LogStore): Promise<Rec[]> {
  return (await readAll(log, 'a', 0)).records;
}

t.test('DeleteRecords past the indexed end, then a restart before the upload (regression)', async (t) => {
  // The log start was applied before WAL replay (nextOffset = max(indexedEnd, logStart)), so replay
  // skipped the WAL batches from the indexed end up to the log start — and, for a log start inside a
  // batch, every batch after it too ("offset gap"). Acknowledged records vanished, their offsets were
  // handed out again, and every later upload failed INDEX_NOT_CONTIGUOUS (for all partitions: one
  // object commit), so the WAL and the backlog grew until produce was throttled broker-wide.
  for (const [name, deleteTo, survivors] of [
    ['inside a batch', 7, ['7', '8', '9']],
    ['at a batch boundary', 5, ['5', '6', '7', '8', '9']],
    ['to the high watermark (-1)', -1, []],
  ] as const) {
    const dir = await tempDir(t);
    const first = await openLog(t, { dir });
    await first.log.createTopic('a', 1, {});
    await first.log.createTopic('other', 1, {});
    await produceOk(first.log, [
      part('a', 0, batch(['0', '1', '2', '3', '4'])),
      part('other', 0, batch(['o0'])),
    ]);
    await produceOk(first.log, [
      part('a', 0, batch(['5', '6', '7', '8', '9'])),
      part('other', 0, batch(['o1'])),
    ]);
    const p = first.log.partition('a', 0)!;
    const logStart = await first.log.deleteRecords(p, deleteTo);
    const image = crashImage(t, dir); // killed before any upload

    const second = await openLog(t, { dir: image });
    const q = second.log.partition('a', 0)!;
    t.same(
      [q.logStartOffset, q.highWatermark],
      [logStart, 10],
      `${name}: log start and HW as before the kill`,
    );
    t.same(
      (await fill1(second.log)).map((r) => r.value),
      survivors,
      `${name}: the records after the log start survive`,
    );
    t.same(
      await produceOk(second.log, [part('a', 0, batch(['10']))]),
      [10],
      `${name}: no offset is handed out twice`,
    );
    await second.log.flush();
    t.equal(second.log.stats.uploadFailures, 0, `${name}: uploads still commit`);
    t.equal(second.log.statsSnapshot.unuploadedBytes, 0, `${name}: the backlog drained`);
    t.same(
      (await readAll(second.log, 'other', 0)).records.map((r) => r.value),
      ['o0', 'o1'],
      `${name}: other partitions fine`,
    );
    t.same(
      (await fill1(second.log)).map((r) => r.value),
      [...survivors, '10'],
    );
    await second.close();
    await first.close();
  }
});

t.test('an uploaded object whose index commit keeps failing is never swept as an orphan', async (t) => {
  // The metadata store refuses commits (as when PostgreSQL is down) for longer than the sweep's
  // grace period: the object the uploader wrote must still be there when the commit finally lands.
  const dir = await tempDir(t);
  // The uploader's retry pause is an unref'd timer: keep the process alive while the test awaits it.
  const keepAlive = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(keepAlive));
  let commitsDown = true;
  const { log, objects } = await openLog(t, {
    dir,
    wrapMetadata: (m) => {
      const realCommit = m.commitObject.bind(m);
      m.commitObject = async (c) => {
        if (commitsDown) throw new Error('metadata store unavailable (test)');
        return realCommit(c);
      };
      return m;
    },
  });
  await log.createTopic('held', 1, {});
  await produceOk(log, [part('held', 0, batch(['x', 'y']))]);
  await log.flush(); // PUT succeeds, commit fails
  const written = await listKeys(objects);
  t.equal(written.length, 1, 'the object was written');
  t.ok(log.stats.uploadFailures > 0, 'the index commit failed');
  const swept = await log.sweepOrphans(Date.now() + 3_600_000, 0);
  t.equal(swept, 0, 'the sweep, even past any grace period, leaves the object of a pending commit alone');
  t.same(await listKeys(objects), written, 'the object is still there');
  commitsDown = false;
  await log.flush(); // the same commit (same key) is retried and lands
  t.equal(log.statsSnapshot.unuploadedBytes, 0, 'uploaded and committed');
  const p = log.partition('held', 0)!;
  t.same(
    p.objectIndex.map((e) => e.objectKey),
    written,
    'the index references the object written before the outage',
  );
  t.equal(await log.sweepOrphans(Date.now() + 3_600_000, 0), 0, 'a committed object is no orphan');
  const read = await log.read('held', 0, 0, 1 << 20);
  t.equal(read.errorCode, 0, 'readable');
});
