// Fetch (key 1), serves 4-16. Long-polls on max_wait_ms/min_bytes using append notifications (no
// timer loop). Whole batches only: a fetch offset inside a batch returns that batch, and at least
// one batch comes back even when larger than the limits (KIP-74). v13+ addresses topics by id.
// Fetch sessions (KIP-227): none are created (session id 0), so clients send full requests.
// read_committed (isolation_level 1) reads whole batches below the last stable offset and lists the
// aborted transactions overlapping them; both isolation levels report the LSO. Long polls wake on
// high-watermark advances, which is also when the LSO moves (a marker becomes durable).
import { ErrorCode } from '../../protocol/error-codes.js';
import { Fetch } from '../../protocol/messages/index.js';
import type { ReadResult } from '../log/log-store.js';
import type { Partition } from '../log/partition.js';
import { defineHandler } from './handler.js';

/** Kafka answers "no data" with an empty record set, never null: librdkafka rejects a null one. */
const EMPTY_RECORDS = Buffer.alloc(0);
const READ_COMMITTED = { readCommitted: true } as const;

interface Slot {
  topicIndex: number;
  partitionIndex: number;
  partition: Partition | undefined;
  errorCode: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}

export const fetchHandler = defineHandler(
  Fetch,
  { min: 4, max: 16 },
  {
    async handle(ctx, req) {
      const { log } = ctx.broker;
      const byId = ctx.header.apiVersion >= 13;
      const slots: Slot[] = [];
      req.topics.forEach((t, topicIndex) => {
        const topic = byId ? log.topicById(t.topicId) : log.topic(t.topic);
        for (const p of t.partitions) {
          const partition = topic?.partitions[p.partition];
          slots.push({
            topicIndex,
            partitionIndex: p.partition,
            partition,
            errorCode:
              topic === undefined
                ? byId
                  ? ErrorCode.UNKNOWN_TOPIC_ID
                  : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                : partition === undefined
                  ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                  : ErrorCode.NONE,
            fetchOffset: Number(p.fetchOffset),
            partitionMaxBytes: Math.max(0, p.partitionMaxBytes),
          });
        }
      });

      const maxWaitMs = Math.max(0, req.maxWaitMs);
      const deadline = Date.now() + maxWaitMs;
      const readCommitted = req.isolationLevel === 1;
      const read = readCommitted
        ? (p: Partition, offset: number, maxBytes: number) =>
            log.readPartition(p, offset, maxBytes, READ_COMMITTED)
        : (p: Partition, offset: number, maxBytes: number) => log.readPartition(p, offset, maxBytes);
      let results = await readAll(slots, Math.max(0, req.maxBytes), read);
      for (;;) {
        let total = 0;
        let anyError = false;
        for (const r of results) {
          total += r.bytes;
          if (r.errorCode !== ErrorCode.NONE) anyError = true;
        }
        const remaining = deadline - Date.now();
        if (total >= req.minBytes || anyError || remaining <= 0) break;
        await waitForAppend(slots, remaining);
        results = await readAll(slots, Math.max(0, req.maxBytes), read);
      }

      const responses = req.topics.map((t) => ({
        topic: t.topic,
        topicId: t.topicId,
        partitions: [] as object[],
      }));
      slots.forEach((s, i) => {
        const r = results[i]!;
        responses[s.topicIndex]!.partitions.push({
          partitionIndex: s.partitionIndex,
          errorCode: r.errorCode,
          highWatermark: BigInt(r.highWatermark),
          lastStableOffset: BigInt(lastStableOffset(s, r)),
          logStartOffset: BigInt(r.logStartOffset),
          abortedTransactions: readCommitted
            ? (r.abortedTransactions ?? []).map((a) => ({
                producerId: BigInt(a.producerId),
                firstOffset: BigInt(a.firstOffset),
              }))
            : null,
          preferredReadReplica: -1,
          records: r.records.length === 0 ? EMPTY_RECORDS : r.records,
        });
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses };
    },
    errorResponse(req, errorCode) {
      return {
        errorCode,
        responses: req.topics.map((t) => ({
          topic: t.topic,
          topicId: t.topicId,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partition,
            errorCode,
            highWatermark: -1n,
          })),
        })),
      };
    },
  },
);

/** The LSO as of the read (read_uncommitted too: Kafka reports it at both levels); -1 without a partition. */
function lastStableOffset(s: Slot, r: ReadResult): number {
  if (r.lastStableOffset !== undefined) return r.lastStableOffset;
  if (s.partition === undefined || r.highWatermark < 0) return -1;
  // Never past the HW the read saw (the read is async; the LSO may have moved on since).
  return Math.min(s.partition.lastStableOffset, r.highWatermark);
}

async function readAll(
  slots: readonly Slot[],
  responseMaxBytes: number,
  read: (p: Partition, offset: number, maxBytes: number) => Promise<ReadResult>,
): Promise<ReadResult[]> {
  const out: ReadResult[] = [];
  let budget = responseMaxBytes;
  let first = true; // nothing in the response yet
  for (const s of slots) {
    if (s.partition === undefined || s.errorCode !== ErrorCode.NONE) {
      out.push({ errorCode: s.errorCode, highWatermark: -1, logStartOffset: -1, records: [], bytes: 0 });
      continue;
    }
    // KIP-74: once something is in the response, later partitions only get what fits.
    const limit = Math.min(s.partitionMaxBytes, Math.max(budget, 0));
    if (limit <= 0 && !first) {
      out.push(await read(s.partition, s.fetchOffset, 0).then((r) => ({ ...r, records: [], bytes: 0 })));
      continue;
    }
    const r = await read(s.partition, s.fetchOffset, Math.max(limit, 1));
    out.push(r);
    budget -= r.bytes;
    if (r.bytes > 0) first = false;
  }
  return out;
}

/** Resolve when any of the partitions gets new data, or after `timeoutMs`. */
function waitForAppend(slots: readonly Slot[], timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const unregister: (() => void)[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const u of unregister) u();
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    for (const s of slots) if (s.partition !== undefined) unregister.push(s.partition.onAppend(finish));
  });
}
