/**
 * Transactions in the log (KIP-98): open transactions per partition, the last stable offset, the
 * aborted-transaction index, markers (writeTxnMarkers), read_committed reads over the hot tail and
 * over uploaded objects, the produce guard, and crash recovery of all of it (producer-state snapshot
 * as of the uploaded end + WAL replay).
 *
 * Crash images as in log-store.test.ts: a synchronous copy of the data directory is what a SIGKILL at
 * that instant would leave; a second LogStore opened on the copy is the restart.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CONTROL_BIT, splitBatches } from '../../../protocol/records/batch.js';
import { buildRecordBatch, decodeControlRecord, iterateRecords } from '../../../protocol/records/record.js';
import { LogStore, type LogStoreOptions, type ReadResult } from '../../../src/log/log-store.js';
import { WriteAheadLog } from '../../../src/log/wal/index.js';
import type { MetadataStore } from '../../../src/metadata/metadata-store.js';
import { openMetadataStore } from '../../../src/metadata/open-metadata-store.js';
import type { ObjectStore } from '../../../src/tiering/object-store.js';
import { openObjectStore } from '../../../src/tiering/open-object-store.js';

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const T0 = 1_700_000_000_000;

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
};

interface Opened {
  log: LogStore;
  metadata: MetadataStore;
  wal: WriteAheadLog | null;
  close(): Promise<void>;
}

/** A LogStore on `dir` (SQLite + local objects + a real WAL), or on memory:// stores when dir is null. */
async function openLog(t: Test, dir: string | null, opts: Partial<LogStoreOptions> = {}): Promise<Opened> {
  const metadata = await openMetadataStore(
    dir === null ? 'memory://' : `sqlite://${join(dir, 'metadata.db')}`,
  );
  const objects: ObjectStore = await openObjectStore(
    dir === null ? 'memory://' : `file://${join(dir, 'objects')}`,
  );
  const wal = dir === null ? null : await WriteAheadLog.open(join(dir, 'wal'), { segmentBytes: 256 * 1024 });
  const log = await LogStore.open(metadata, objects, wal, { ...OPTS, ...opts }, pino({ level: 'silent' }));
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= (async () => {
      await log.close();
      await wal?.close();
      await metadata.close();
      await objects.close();
    })();
    return closing;
  };
  t.teardown(close);
  return { log, metadata, wal, close };
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'txn-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function crashImage(t: Test, dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'txn-log-crash-'));
  cpSync(dir, copy, { recursive: true });
  t.teardown(() => rm(copy, { recursive: true, force: true }));
  return copy;
}

let seqs = new Map<string, number>();
t.beforeEach(() => {
  seqs = new Map();
});

/** One batch of `n` records; transactional/idempotent for producer `pid` (sequences tracked per pid/epoch). */
function batch(n: number, pid = -1, epoch = 0, transactional = pid >= 0): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({ key: null, value: `v${i}`, timestampDelta: i }));
  if (pid < 0) return buildRecordBatch({ baseTimestamp: T0, records });
  const k = `${pid}/${epoch}`;
  const seq = seqs.get(k) ?? 0;
  seqs.set(k, seq + n);
  return buildRecordBatch({
    baseTimestamp: T0,
    records,
    producerId: pid,
    producerEpoch: epoch,
    baseSequence: seq,
    isTransactional: transactional,
  });
}

async function produce(log: LogStore, topic: string, partition: number, b: Buffer): Promise<number> {
  const [r] = await log.produce([{ topic, partition, records: b }], 30_000);
  if (r!.errorCode !== ErrorCode.NONE) throw new Error(`produce failed: ${JSON.stringify(r)}`);
  return r!.baseOffset;
}

async function marker(
  log: LogStore,
  topic: string,
  partition: number,
  pid: number,
  commit: boolean,
  epoch = 0,
) {
  const [r] = await log.writeTxnMarkers([{ topic, partition }], pid, epoch, commit);
  if (r!.errorCode !== ErrorCode.NONE) throw new Error(`marker failed: ${JSON.stringify(r)}`);
}

interface Seen {
  /** Base offsets of the returned batches. */
  bases: number[];
  /** End (exclusive) of the returned data, or -1. */
  end: number;
}

function seen(r: ReadResult): Seen {
  const bases: number[] = [];
  let end = -1;
  for (const c of r.records) {
    for (const b of splitBatches(c).batches) {
      bases.push(Number(b.readBigInt64BE(0)));
      end = Number(b.readBigInt64BE(0)) + b.readInt32BE(23) + 1;
    }
  }
  return { bases, end };
}

const committed = { readCommitted: true };

for (const backend of ['durable', 'memory'] as const) {
  const dirFor = async (t: Test) => (backend === 'durable' ? tempDir(t) : null);

  t.test(
    `${backend}: LSO and aborted index with interleaved producers; read_committed stops at the LSO`,
    async (t) => {
      const { log } = await openLog(t, await dirFor(t));
      await log.createTopic('a', 1, {});
      const p = log.partition('a', 0)!;
      t.equal(await produce(log, 'a', 0, batch(2)), 0); // 0-1 plain
      t.equal(await produce(log, 'a', 0, batch(2, 7)), 2); // 2-3 txn of 7
      t.equal(await produce(log, 'a', 0, batch(1)), 4); // 4 plain
      t.equal(await produce(log, 'a', 0, batch(2, 8)), 5); // 5-6 txn of 8
      t.equal(await produce(log, 'a', 0, batch(1, 7)), 7); // 7 txn of 7 (same transaction)
      t.equal(p.highWatermark, 8);
      t.equal(p.lastStableOffset, 2, 'the earliest open transaction starts at 2');

      const early = await log.readPartition(p, 0, 1 << 20, committed);
      t.same(seen(early).bases, [0], 'only whole batches below the LSO');
      t.equal(early.lastStableOffset, 2);
      t.equal(early.highWatermark, 8);
      t.same(early.abortedTransactions, []);
      const atLso = await log.readPartition(p, 2, 1 << 20, committed);
      t.same(
        [atLso.errorCode, atLso.bytes, atLso.lastStableOffset],
        [ErrorCode.NONE, 0, 2],
        'at the LSO: empty',
      );
      const pastLso = await log.readPartition(p, 5, 1 << 20, committed);
      t.same(
        [pastLso.errorCode, pastLso.bytes],
        [ErrorCode.NONE, 0],
        'between LSO and HW: empty, not an error',
      );
      const uncommitted = await log.readPartition(p, 0, 1 << 20);
      t.same(seen(uncommitted).bases, [0, 2, 4, 5, 7], 'read_uncommitted sees everything up to the HW');
      t.equal(uncommitted.lastStableOffset, undefined);

      await marker(log, 'a', 0, 7, false); // abort 7 at offset 8
      t.equal(p.highWatermark, 9);
      t.equal(p.lastStableOffset, 5, "producer 8's transaction is still open");
      t.same(p.producers.aborted, [{ producerId: 7, firstOffset: 2, lastOffset: 8 }]);
      const mid = await log.readPartition(p, 0, 1 << 20, committed);
      t.same(seen(mid).bases, [0, 2, 4]);
      t.same(
        mid.abortedTransactions,
        [{ producerId: 7, firstOffset: 2 }],
        'the aborted range the data overlaps',
      );

      await marker(log, 'a', 0, 8, true); // commit 8 at offset 9
      t.equal(p.lastStableOffset, 10);
      const all = await log.readPartition(p, 0, 1 << 20, committed);
      t.same(seen(all).bases, [0, 2, 4, 5, 7, 8, 9], 'markers are returned too (consumers skip them)');
      t.same(all.abortedTransactions, [{ producerId: 7, firstOffset: 2 }]);
      const afterAbort = await log.readPartition(p, 9, 1 << 20, committed);
      t.same(afterAbort.abortedTransactions, [], 'a fetch past the abort marker needs no aborted list');
      const before = await log.readPartition(p, 0, 1, committed);
      t.same(seen(before).bases, [0]);
      t.same(before.abortedTransactions, [], 'data ending before the aborted txn starts: not listed');
      t.same(p.producers.openTxns.size, 0);
    },
  );

  t.test(
    `${backend}: read_committed over uploaded objects cuts at the last batch below the LSO`,
    async (t) => {
      const { log } = await openLog(t, await dirFor(t));
      await log.createTopic('a', 1, {});
      const p = log.partition('a', 0)!;
      await produce(log, 'a', 0, batch(3)); // 0-2
      await produce(log, 'a', 0, batch(2)); // 3-4
      await produce(log, 'a', 0, batch(2, 5)); // 5-6 open txn
      await produce(log, 'a', 0, batch(2)); // 7-8
      await log.flush();
      t.equal(p.uploadedEnd, 9);
      p.evictUploaded(0); // every read below comes from the object
      t.equal(p.hotBase, 9);
      const cold = await log.readPartition(p, 1, 1 << 20, committed);
      t.same(seen(cold).bases, [0, 3], 'the object range is cut before the open transaction');
      t.equal(seen(cold).end, 5);
      const coldAll = await log.readPartition(p, 1, 1 << 20);
      t.same(seen(coldAll).bases, [0, 3, 5, 7], 'read_uncommitted: the whole object');

      await marker(log, 'a', 0, 5, false); // abort at 9 (hot)
      await produce(log, 'a', 0, batch(1)); // 10 (hot)
      const mixed = await log.readPartition(p, 4, 1 << 20, committed);
      t.same(seen(mixed).bases, [3, 5, 7, 9, 10], 'object then hot tail');
      t.same(mixed.abortedTransactions, [{ producerId: 5, firstOffset: 5 }]);
      t.equal(mixed.lastStableOffset, 11);
    },
  );

  t.test(
    `${backend}: the produce guard refuses transactional batches, all-or-nothing per partition`,
    async (t) => {
      const { log } = await openLog(t, await dirFor(t));
      await log.createTopic('a', 2, {});
      const calls: unknown[] = [];
      log.setTxnProduceGuard((producerId, producerEpoch, topic, partition) => {
        calls.push([producerId, producerEpoch, topic, partition]);
        return producerId === 66
          ? { errorCode: ErrorCode.INVALID_TXN_STATE, message: 'not in a transaction' }
          : null;
      });
      const results = await log.produce(
        [
          { topic: 'a', partition: 0, records: Buffer.concat([batch(1), batch(1, 66, 3)]) },
          { topic: 'a', partition: 1, records: batch(1, 67, 1) },
        ],
        30_000,
      );
      t.same(
        results.map((r) => [r.errorCode, r.baseOffset, r.errorMessage]),
        [
          [ErrorCode.INVALID_TXN_STATE, -1, 'not in a transaction'],
          [ErrorCode.NONE, 0, null],
        ],
      );
      t.same(calls, [
        [66, 3, 'a', 0],
        [67, 1, 'a', 1],
      ]);
      t.equal(log.partition('a', 0)!.nextOffset, 0, 'nothing of the refused partition was appended');
      t.equal(log.partition('a', 0)!.producers.openTxns.size, 0);
      t.same([...log.partition('a', 1)!.producers.openTxns], [[67, 0]]);
      calls.length = 0;
      await produce(log, 'a', 0, batch(1, 68, 0, false)); // idempotent, not transactional: no guard
      t.same(calls, []);
      log.setTxnProduceGuard(null);
      t.equal(await produce(log, 'a', 0, batch(1, 66, 3)), 1, 'no guard: allowed');
    },
  );

  t.test(`${backend}: a marker with a newer epoch fences the producer's old epoch`, async (t) => {
    const { log } = await openLog(t, await dirFor(t));
    await log.createTopic('a', 1, {});
    await produce(log, 'a', 0, batch(2, 9, 0));
    await marker(log, 'a', 0, 9, false, 1); // the coordinator bumped the epoch and aborted
    const [r] = await log.produce([{ topic: 'a', partition: 0, records: batch(1, 9, 0) }], 30_000);
    t.equal(r!.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    t.equal(await produce(log, 'a', 0, batch(1, 9, 1)), 3, 'the new epoch starts at sequence 0');
    const p = log.partition('a', 0)!;
    t.same([...p.producers.openTxns], [[9, 3]]);
    t.equal(p.lastStableOffset, 3);
  });

  t.test(`${backend}: writeTxnMarkers writes control batches; unknown partitions are reported`, async (t) => {
    const { log } = await openLog(t, await dirFor(t));
    await log.createTopic('a', 2, {});
    await produce(log, 'a', 0, batch(1, 3));
    const res = await log.writeTxnMarkers(
      [
        { topic: 'a', partition: 0 },
        { topic: 'a', partition: 1 },
        { topic: 'gone', partition: 0 },
        { topic: 'a', partition: 5 },
      ],
      3,
      0,
      true,
    );
    t.same(
      res.map((r) => r.errorCode),
      [
        ErrorCode.NONE,
        ErrorCode.NONE,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ],
    );
    t.equal(log.partition('a', 0)!.highWatermark, 2, 'resolved once durable: the HW is past the marker');
    t.equal(log.partition('a', 1)!.highWatermark, 1, 'a marker with no open transaction is written anyway');
    const r = await log.read('a', 0, 1, 1 << 20);
    const [b] = splitBatches(r.records[0]!).batches;
    t.ok((b!.readUInt16BE(21) & CONTROL_BIT) !== 0, 'a control batch');
    const [rec] = [...iterateRecords(b!, { maxDecompressedBytes: 1 << 20, verifyCrc: true })];
    t.same(decodeControlRecord(rec!), { version: 0, type: 1, typeName: 'COMMIT', coordinatorEpoch: 0 });
  });

  t.test(`${backend}: the aborted index is pruned below the log start`, async (t) => {
    const { log } = await openLog(t, await dirFor(t));
    await log.createTopic('a', 1, {});
    const p = log.partition('a', 0)!;
    await produce(log, 'a', 0, batch(1, 1)); // 0
    await marker(log, 'a', 0, 1, false); // 1
    await produce(log, 'a', 0, batch(1, 2)); // 2
    await marker(log, 'a', 0, 2, false); // 3
    await log.deleteRecords(p, 2);
    t.same(p.producers.aborted, [{ producerId: 2, firstOffset: 2, lastOffset: 3 }]);
  });
}

// ---- durability ---------------------------------------------------------------------------------

/** Hold every WAL append until released: what is written meanwhile is in memory only (not durable). */
function holdWal(wal: WriteAheadLog) {
  const original = wal.append.bind(wal);
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  wal.append = (payload) => released.then(() => original(payload));
  return () => {
    wal.append = original;
    release();
  };
}

t.test('crash: the snapshot describes transactions as of the uploaded end, not as of memory', async (t) => {
  const dir = await tempDir(t);
  const { log, wal, metadata } = await openLog(t, dir);
  await log.createTopic('a', 1, {});
  const p = log.partition('a', 0)!;
  await produce(log, 'a', 0, batch(2, 1)); // 0-1: txn of 1
  await produce(log, 'a', 0, batch(1)); // 2
  await produce(log, 'a', 0, batch(1, 2)); // 3: txn of 2
  await marker(log, 'a', 0, 2, false); // 4: abort 2 (durable, will be uploaded)
  const release = holdWal(wal!);
  // Not durable yet: an abort of 1 at 5 and a new transaction of 3 at 6.
  const pendingMarker = log.writeTxnMarkers([{ topic: 'a', partition: 0 }], 1, 0, false);
  const pendingProduce = log.produce([{ topic: 'a', partition: 0, records: batch(1, 3) }], 30_000);
  t.equal(p.nextOffset, 7);
  t.equal(p.highWatermark, 5);
  t.equal(p.lastStableOffset, 0, 'the abort of 1 is not durable: its transaction still holds the LSO');
  t.same(seen(await log.readPartition(p, 0, 1 << 20, committed)).bases, []);
  await log.flush(); // uploads 0-4 (what is durable); snapshot as of 5
  t.equal(p.uploadedEnd, 5);
  const snapshot = JSON.parse((await metadata.getMeta(`producer-state/${p.topicId}/0`))!) as {
    end: number;
    txns: { open: unknown; aborted: unknown };
  };
  t.equal(snapshot.end, 5);
  t.same(snapshot.txns, { open: [[1, 0]], aborted: [[2, 3, 4]] }, 'exactly the state at offset 5');
  const image = crashImage(t, dir); // killed before the held WAL writes happened

  release();
  t.same(
    (await pendingMarker).map((r) => r.errorCode),
    [ErrorCode.NONE],
  );
  t.equal((await pendingProduce)[0]!.errorCode, ErrorCode.NONE);
  t.equal(p.lastStableOffset, 6, 'in the live broker: 1 aborted, 3 open at 6');

  const after = await openLog(t, image);
  const q = after.log.partition('a', 0)!;
  t.equal(q.highWatermark, 5, 'the unacknowledged writes are gone');
  t.same([...q.producers.openTxns], [[1, 0]], '1 is open again (its abort never became durable)');
  t.same(q.producers.aborted, [{ producerId: 2, firstOffset: 3, lastOffset: 4 }]);
  t.equal(q.lastStableOffset, 0);
  // The coordinator writes the abort again after its own recovery: the bookkeeping closes it.
  await marker(after.log, 'a', 0, 1, false);
  t.equal(q.lastStableOffset, 6);
  t.same(q.producers.aborted, [
    { producerId: 2, firstOffset: 3, lastOffset: 4 },
    { producerId: 1, firstOffset: 0, lastOffset: 5 },
  ]);
});

t.test('crash: transaction data uploaded, marker only in the WAL → replay closes it exactly', async (t) => {
  const dir = await tempDir(t);
  const { log } = await openLog(t, dir);
  await log.createTopic('a', 1, {});
  await produce(log, 'a', 0, batch(2, 1)); // 0-1
  await produce(log, 'a', 0, batch(1, 2)); // 2
  await log.flush(); // snapshot as of 3: both open
  await marker(log, 'a', 0, 1, false); // 3: durable in the WAL, not uploaded
  await marker(log, 'a', 0, 2, true); // 4
  await produce(log, 'a', 0, batch(1, 4)); // 5: open
  const image = crashImage(t, dir);
  const p = log.partition('a', 0)!;
  const after = await openLog(t, image);
  const q = after.log.partition('a', 0)!;
  t.equal(q.highWatermark, 6);
  t.same(q.producers.aborted, p.producers.aborted);
  t.same(q.producers.aborted, [{ producerId: 1, firstOffset: 0, lastOffset: 3 }]);
  t.same([...q.producers.openTxns], [[4, 5]]);
  t.equal(q.lastStableOffset, 5);
  const r = await after.log.readPartition(q, 0, 1 << 20, committed);
  t.same(seen(r).bases, [0, 2, 3, 4]);
  t.same(r.abortedTransactions, [{ producerId: 1, firstOffset: 0 }]);
});

t.test(
  'restart: open transactions, aborted index and fencing survive an upload and a clean stop',
  async (t) => {
    const dir = await tempDir(t);
    const first = await openLog(t, dir);
    await first.log.createTopic('a', 1, {});
    await produce(first.log, 'a', 0, batch(1, 1)); // 0
    await marker(first.log, 'a', 0, 1, false, 1); // 1: abort with a bumped epoch
    await produce(first.log, 'a', 0, batch(1, 2)); // 2: open
    await first.log.flush();
    await first.close();
    const second = await openLog(t, dir);
    const q = second.log.partition('a', 0)!;
    t.same(q.producers.aborted, [{ producerId: 1, firstOffset: 0, lastOffset: 1 }]);
    t.same([...q.producers.openTxns], [[2, 2]]);
    t.equal(q.lastStableOffset, 2);
    const [r] = await second.log.produce([{ topic: 'a', partition: 0, records: batch(1, 1, 0) }], 30_000);
    t.equal(r!.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'the epoch a marker set is in the snapshot');
  },
);

t.test('snapshots written before transactions (no txns field) still load', async (t) => {
  const dir = await tempDir(t);
  const first = await openLog(t, dir);
  await first.log.createTopic('a', 1, {});
  await produce(first.log, 'a', 0, batch(2, 5, 0, false));
  await first.log.flush();
  const key = `producer-state/${first.log.partition('a', 0)!.topicId}/0`;
  const snap = JSON.parse((await first.metadata.getMeta(key))!) as Record<string, unknown>;
  delete snap.txns;
  await first.metadata.setMeta(key, JSON.stringify(snap));
  await first.close();
  const second = await openLog(t, dir);
  const q = second.log.partition('a', 0)!;
  t.equal(q.producers.openTxns.size, 0);
  t.same(q.producers.aborted, []);
  t.equal(q.producers.producers.get(5)?.batches.length, 1, 'idempotence state as before');
  t.equal(q.lastStableOffset, 2);
});
