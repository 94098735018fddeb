/**
 * LogCompactor: the log cleaner of cleanup.policy=compact (and compact,delete) topics — it keeps the
 * last record of every key (docs/adr/0009-compaction.md).
 *
 * One partition per pass, on a timer (log.cleaner.backoff.ms between passes with nothing to do):
 *   1. cleanable range: the leading run of the partition's uploaded index entries below
 *      min(last stable offset, uploaded end) whose newest batch is older than min.compaction.lag.ms;
 *   2. key map: key → last offset over the dirty part of that range (from where the previous pass
 *      stopped), stopping at an entry boundary once the map passes log.cleaner.dedupe.buffer.size;
 *   3. rewrite [range start, map end): per source batch keep the records whose key the map does not
 *      supersede, drop tombstones older than delete.retention.ms (by batch max timestamp) and the
 *      records of aborted transactions; keep control batches and records without a key. A kept
 *      batch keeps its base offset, last offset delta, timestamps, producer fields and codec; the
 *      kept records are copied byte for byte (so their offsets, timestamps and headers are the
 *      original ones); a batch that loses nothing is kept as stored; a rebuilt batch's max timestamp
 *      is its kept records' (CreateTime); the log's last batch never goes (see keepFinal);
 *   4. per group of entries that shrank (in offset order): ObjectStore.put of a new object, then
 *      MetadataStore.replaceIndexEntries swaps the group's entries for the new ones in one
 *      transaction (guarded against a concurrent trim), then the partition's in-memory index. The old
 *      objects are deleted by the sweeper after its grace period.
 *
 * Crash safety: nothing changes what readers see before the swap. A crash between put and swap
 * leaves an object no record names: the orphan sweep deletes it.
 *
 * Memory: the key map (bounded as above), one source entry at a time, and one rewrite group's
 * output (step 4 runs per group of about rewriteGroupBytes of source, each its own object and swap).
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { readVarint, readVarlong, varintState } from '../../protocol/primitives/varint.js';
import {
  ATTRIBUTES_POS,
  BASE_TIMESTAMP_POS,
  BATCH_LENGTH_POS,
  BATCH_LOG_OVERHEAD,
  COMPRESSION_CODEC_MASK,
  CONTROL_BIT,
  CRC_POS,
  CRC_START_POS,
  LAST_OFFSET_DELTA_POS,
  MAX_TIMESTAMP_POS,
  PRODUCER_ID_POS,
  RECORDS_COUNT_POS,
  RECORDS_POS,
  readBatchMaxTimestamp,
  readSafeInt64,
  splitBatches,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from '../../protocol/records/batch.js';
import { compressSync, decompressSync } from '../../protocol/records/compression.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import type { IndexEntry, LocatedIndexEntry } from '../metadata/metadata-store.js';
import type { ObjectStore } from '../tiering/object-store.js';
import type { LogStore } from './log-store.js';
import type { Partition } from './partition.js';
import type { AbortedTxn } from './producer-state.js';

export interface CompactorOptions {
  /** log.cleaner.enable */
  enabled: boolean;
  /** log.cleaner.backoff.ms: pause between passes when no partition needs cleaning. */
  backoffMs: number;
  /** log.cleaner.dedupe.buffer.size: a pass stops growing its range once its key map is this large. */
  dedupeBufferBytes: number;
  /**
   * A pass rewrites and swaps its range in groups of about this many source bytes, each its own
   * object and index swap, so memory holds one group's output (default 64 MiB).
   */
  rewriteGroupBytes?: number;
}

/** What one pass did (also logged). */
export interface CompactionResult {
  topic: string;
  partition: number;
  /** The rewritten offsets, inclusive. */
  firstOffset: number;
  lastOffset: number;
  entriesBefore: number;
  entriesAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsBefore: number;
  recordsAfter: number;
  /** Distinct keys in the key map. */
  keys: number;
  tombstonesDropped: number;
  abortedDropped: number;
  /** True when the key map filled up before the end of the cleanable range. */
  stoppedAtBufferLimit: boolean;
  /** False when nothing shrank (no object written, nothing swapped). */
  swapped: boolean;
  durationMs: number;
}

export interface CompactorStats {
  passes: number;
  bytesBefore: number;
  bytesAfter: number;
  failures: number;
}

/** Per-partition progress, in memory (after a restart the first pass re-reads the whole log). */
interface CleanerState {
  /** Offsets below this were deduplicated by a previous pass. */
  cleanedEnd: number;
  /** When the earliest tombstone kept by the last pass may be dropped (Infinity: none). */
  tombstoneExpiryMs: number;
}

/** Approximate heap bytes of one key map slot beyond the key itself. */
const MAP_SLOT_OVERHEAD = 64;
/** New index entries are cut at about this size (an entry is read whole by cold readers). */
const ENTRY_TARGET_BYTES = 8 * 1024 * 1024;
const MAX_DECOMPRESSED = 256 * 1024 * 1024;
const DEFAULT_DELETE_RETENTION_MS = 86_400_000;
const DEFAULT_MIN_DIRTY_RATIO = 0.5;
const STOP_WAIT_MS = 10_000;
const DEFAULT_REWRITE_GROUP_BYTES = 64 * 1024 * 1024;

interface SourceRecord {
  offset: number;
  key: Buffer | null;
  isTombstone: boolean;
  /** Relative to the batch's base timestamp. */
  timestampDelta: number;
  /** The record as stored: length varint + body. */
  raw: Buffer;
}

export class LogCompactor {
  private readonly state = new WeakMap<Partition, CleanerState>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  readonly stats: CompactorStats = { passes: 0, bytesBefore: 0, bytesAfter: 0, failures: 0 };

  constructor(
    private readonly store: LogStore,
    private readonly objects: ObjectStore,
    private readonly opts: CompactorOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.opts.backoffMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // A pass in flight may finish, but shutdown never hangs on a slow object store: an interrupted
    // pass changes nothing readers see (its object, if written, is an orphan for the sweeper).
    if (this.running !== null) {
      await Promise.race([
        this.running.catch(() => undefined),
        new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref()),
      ]);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const pass = this.runOnce();
        this.running = pass;
        pass
          .then(
            (r) => this.schedule(r?.swapped ? 0 : this.opts.backoffMs),
            (err: unknown) => {
              this.stats.failures++;
              this.log.warn({ err }, 'compaction pass failed; will retry');
              this.schedule(this.opts.backoffMs);
            },
          )
          .finally(() => {
            if (this.running === pass) this.running = null;
          });
      },
      Math.max(1, delayMs),
    );
    this.timer.unref();
  }

  /** Compact the partition that needs it most; null when none does. */
  async runOnce(now = Date.now()): Promise<CompactionResult | null> {
    let best: { p: Partition; ratio: number } | null = null;
    for (const topic of this.store.topics()) {
      if (topic.deleted || !this.store.isCompacted(topic)) continue;
      for (const p of topic.partitions) {
        const ratio = this.dirtyRatio(p, now);
        if (ratio !== null && (best === null || ratio > best.ratio)) best = { p, ratio };
      }
    }
    return best === null ? null : this.compact(best.p, now);
  }

  /** How much of the partition's cleanable range is dirty (0..1, or 2 for expiring tombstones); null: nothing to do. */
  private dirtyRatio(p: Partition, now: number): number | null {
    const range = this.cleanableRange(p, now);
    if (range.length === 0) return null;
    const st = this.stateOf(p);
    let total = 0;
    let dirty = 0;
    for (const e of range) {
      total += e.byteLength;
      if (e.lastOffset >= st.cleanedEnd) dirty += e.byteLength;
    }
    if (now >= st.tombstoneExpiryMs) return 2;
    if (dirty === 0) return null;
    const ratio = dirty / total;
    const min = Number(
      this.store.topicConfig(p.topic, 'min.cleanable.dirty.ratio') ?? DEFAULT_MIN_DIRTY_RATIO,
    );
    return ratio >= min ? ratio : null;
  }

  /** Leading run of uploaded, stable entries old enough to clean (min.compaction.lag.ms). */
  private cleanableRange(p: Partition, now: number): LocatedIndexEntry[] {
    const end = Math.min(p.lastStableOffset, p.uploadedEnd);
    const lagMs = Number(this.store.topicConfig(p.topic, 'min.compaction.lag.ms') ?? 0);
    const out: LocatedIndexEntry[] = [];
    for (const e of p.objectIndex) {
      if (e.lastOffset >= end || e.maxTimestampMs > now - lagMs) break;
      out.push(e);
    }
    return out;
  }

  private stateOf(p: Partition): CleanerState {
    let st = this.state.get(p);
    if (st === undefined) {
      st = { cleanedEnd: 0, tombstoneExpiryMs: Number.POSITIVE_INFINITY };
      this.state.set(p, st);
    }
    return st;
  }

  /** One pass over one partition (exposed for tests and operators). */
  async compact(p: Partition, now = Date.now()): Promise<CompactionResult | null> {
    const started = performance.now();
    const range = this.cleanableRange(p, now);
    if (range.length === 0) return null;
    const st = this.stateOf(p);
    const logStart = p.logStartOffset;
    const aborted = p.producers.aborted.slice();
    const deleteRetentionMs = Number(
      this.store.topicConfig(p.topic, 'delete.retention.ms') ?? DEFAULT_DELETE_RETENTION_MS,
    );

    // 1. Key map over the dirty part, bounded by the dedupe buffer (whole entries only).
    const map = new Map<string, number>();
    let mapBytes = 0;
    let used = range.length;
    let stoppedAtBufferLimit = false;
    for (let i = 0; i < range.length; i++) {
      const e = range[i]!;
      if (e.lastOffset < st.cleanedEnd) continue;
      if (mapBytes >= this.opts.dedupeBufferBytes && i > 0) {
        used = i;
        stoppedAtBufferLimit = true;
        break;
      }
      for (const batch of splitBatches(await this.store.readIndexEntry(e)).batches) {
        if (!isData(batch) || isAborted(batch, aborted)) continue;
        for (const r of sourceRecords(batch)) {
          if (r.offset < logStart || r.offset < st.cleanedEnd || r.key === null) continue;
          const k = r.key.toString('latin1');
          if (!map.has(k)) mapBytes += k.length + MAP_SLOT_OVERHEAD;
          map.set(k, r.offset);
        }
      }
    }
    const entries = range.slice(0, used);
    const first = entries[0]!;
    const last = entries[entries.length - 1]!;

    const result: CompactionResult = {
      topic: p.topicName,
      partition: p.id,
      firstOffset: first.baseOffset,
      lastOffset: last.lastOffset,
      entriesBefore: entries.length,
      entriesAfter: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      recordsBefore: 0,
      recordsAfter: 0,
      keys: map.size,
      tombstonesDropped: 0,
      abortedDropped: 0,
      stoppedAtBufferLimit,
      swapped: false,
      durationMs: 0,
    };
    const ctx: RewriteContext = {
      map,
      aborted,
      logStart,
      deleteRetentionMs,
      tombstoneHorizon: now - deleteRetentionMs,
      tombstoneExpiryMs: Number.POSITIVE_INFINITY,
    };
    // 2. Rewrite the range group by group (about rewriteGroupBytes of source each): each group that
    // shrinks becomes its own object and index swap, so memory holds one group's output, and the
    // already clean part of the log is rewritten only where the new key map supersedes something.
    const groupBytes = this.opts.rewriteGroupBytes ?? DEFAULT_REWRITE_GROUP_BYTES;
    // When nothing follows the range, its last batch stays as stored: a consumer positioned past
    // the last kept batch would otherwise get empty fetches below the high watermark until new data
    // arrives (Kafka never cleans its active segment). The next pass with data after it may drop it.
    const keepFinal = last.lastOffset + 1 >= p.highWatermark;
    let groupStart = 0;
    while (groupStart < entries.length) {
      let groupEnd = groupStart;
      let sourceBytes = 0;
      const out: OutBatch[] = [];
      let lastSource: OutBatch | null = null;
      // A group that would compact to nothing takes the next entries too: an index entry cannot be
      // empty, and keeping a superseded batch in its place would bring old values back.
      while (
        groupEnd < entries.length &&
        (groupEnd === groupStart || sourceBytes < groupBytes || out.length === 0)
      ) {
        const e = entries[groupEnd]!;
        sourceBytes += e.byteLength;
        const keepLastBatch = keepFinal && groupEnd === entries.length - 1;
        lastSource = (await this.rewriteEntry(e, ctx, result, out, keepLastBatch)) ?? lastSource;
        groupEnd++;
      }
      // Only when the whole rest of the range compacted to nothing: keep its last batch as stored
      // (an index entry cannot be empty). It is the range's last batch, so nothing after it
      // supersedes its records (an older value it holds is followed by the newer one in the same
      // batch): it only lost expired tombstones, aborted records or records below the log start.
      if (out.length === 0 && lastSource !== null) out.push(lastSource);
      const group = entries.slice(groupStart, groupEnd);
      groupStart = groupEnd;
      const bytesAfter = out.reduce((n, b) => n + b.bytes.length, 0);
      result.bytesBefore += sourceBytes;
      if (bytesAfter >= sourceBytes) {
        result.bytesAfter += sourceBytes;
        result.entriesAfter += group.length;
        continue;
      }
      // 3. New object, then the atomic index swap of this group.
      const gFirst = group[0]!;
      const gLast = group[group.length - 1]!;
      const newEntries = planEntries(p, gFirst.baseOffset, gLast.lastOffset, out);
      const key = compactedObjectKey();
      // Until the swap names it, the object has no record: keep the orphan sweep off it.
      const release = this.store.holdPendingObject(key);
      let swapped: Awaited<ReturnType<LogStore['swapCompacted']>>;
      try {
        await this.objects.put(
          key,
          out.map((b) => b.bytes),
        );
        swapped = await this.store.swapCompacted(p, group, {
          key,
          sizeBytes: bytesAfter,
          createdAtMs: Date.now(),
          entries: newEntries,
        });
      } finally {
        release();
      }
      if (swapped === null) {
        // The range changed meanwhile (retention, DeleteRecords, deletion): the new object is an
        // orphan for the sweeper; groups swapped before stay (each swap is whole); the next pass
        // starts over.
        this.log.info(
          { topic: p.topicName, partition: p.id },
          'compaction pass abandoned: the partition index changed meanwhile',
        );
        return null;
      }
      result.swapped = true;
      result.bytesAfter += bytesAfter;
      result.entriesAfter += newEntries.length;
    }
    st.cleanedEnd = last.lastOffset + 1;
    st.tombstoneExpiryMs = ctx.tombstoneExpiryMs;
    result.durationMs = Math.round(performance.now() - started);
    this.stats.passes++;
    this.stats.bytesBefore += result.bytesBefore;
    this.stats.bytesAfter += result.bytesAfter;
    this.log.info(result, 'compaction pass');
    return result;
  }

  /**
   * Appends the kept batches of one source entry to `out`; returns its last batch as stored.
   * keepLastBatch: the entry ends the log, and its last batch must not vanish: its tombstones are
   * kept and, aborted, it is kept as stored. Its last record is never superseded (nothing follows),
   * so the batch keeps at least that record and its offset span.
   */
  private async rewriteEntry(
    e: LocatedIndexEntry,
    ctx: RewriteContext,
    result: CompactionResult,
    out: OutBatch[],
    keepLastBatch: boolean,
  ): Promise<OutBatch | null> {
    const { map, aborted, logStart } = ctx;
    let lastSource: OutBatch | null = null;
    const { batches } = splitBatches(await this.store.readIndexEntry(e));
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i]!;
      const base = Number(batch.readBigInt64BE(0));
      const lastOffset = base + batch.readInt32BE(LAST_OFFSET_DELTA_POS);
      const maxTimestamp = readBatchMaxTimestamp(batch);
      lastSource = { bytes: batch, lastOffset, maxTimestamp };
      const isFinal = keepLastBatch && i === batches.length - 1;
      if (!isData(batch)) {
        result.recordsBefore++;
        if (lastOffset >= logStart) {
          out.push({ bytes: batch, lastOffset, maxTimestamp });
          result.recordsAfter++;
        }
        continue;
      }
      const records = [...sourceRecords(batch)];
      result.recordsBefore += records.length;
      if (isAborted(batch, aborted)) {
        if (isFinal)
          out.push(lastSource); // read_committed readers skip it by the aborted index
        else result.abortedDropped += records.length;
        continue;
      }
      const expired = !isFinal && maxTimestamp < ctx.tombstoneHorizon;
      const kept: SourceRecord[] = [];
      let keptTombstone = false;
      for (const r of records) {
        if (r.offset < logStart) continue;
        if (r.key !== null) {
          const latest = map.get(r.key.toString('latin1'));
          if (latest !== undefined && latest > r.offset) continue;
        }
        if (r.isTombstone && expired) {
          result.tombstonesDropped++;
          continue;
        }
        if (r.isTombstone) keptTombstone = true;
        kept.push(r);
      }
      // A tombstone kept only because its batch ends the log is not a reason to come back.
      if (keptTombstone && !(isFinal && maxTimestamp < ctx.tombstoneHorizon))
        ctx.tombstoneExpiryMs = Math.min(ctx.tombstoneExpiryMs, maxTimestamp + ctx.deleteRetentionMs + 1);
      result.recordsAfter += kept.length;
      if (kept.length === 0) continue;
      if (kept.length === records.length) {
        out.push({ bytes: batch, lastOffset, maxTimestamp });
      } else {
        const bytes = rebuildBatch(batch, kept);
        out.push({ bytes, lastOffset, maxTimestamp: readBatchMaxTimestamp(bytes) });
      }
    }
    return lastSource;
  }
}

interface OutBatch {
  bytes: Buffer;
  lastOffset: number;
  maxTimestamp: number;
}

/** What every group of one pass shares. */
interface RewriteContext {
  map: ReadonlyMap<string, number>;
  aborted: readonly AbortedTxn[];
  logStart: number;
  deleteRetentionMs: number;
  tombstoneHorizon: number;
  /** When the earliest tombstone kept so far may be dropped. */
  tombstoneExpiryMs: number;
}

function isData(batch: Buffer): boolean {
  return (batch.readUInt16BE(ATTRIBUTES_POS) & CONTROL_BIT) === 0;
}

/** A transactional data batch of a transaction that was aborted (the partition's aborted index). */
function isAborted(batch: Buffer, aborted: readonly AbortedTxn[]): boolean {
  if ((batch.readUInt16BE(ATTRIBUTES_POS) & TRANSACTIONAL_BIT) === 0) return false;
  const producerId = readSafeInt64(batch, PRODUCER_ID_POS);
  const base = Number(batch.readBigInt64BE(0));
  return aborted.some((a) => a.producerId === producerId && a.firstOffset <= base && base < a.lastOffset);
}

/** The records of one data batch, with their stored bytes (decompressed), key and offset. */
function* sourceRecords(batch: Buffer): Generator<SourceRecord> {
  const codec = batch.readUInt16BE(ATTRIBUTES_POS) & COMPRESSION_CODEC_MASK;
  const end = batch.readInt32BE(BATCH_LENGTH_POS) + BATCH_LOG_OVERHEAD;
  const stored = batch.subarray(RECORDS_POS, end);
  const section = codec === 0 ? stored : decompressSync(codec, stored, MAX_DECOMPRESSED);
  const base = Number(batch.readBigInt64BE(0));
  const count = batch.readInt32BE(RECORDS_COUNT_POS);
  let pos = 0;
  for (let i = 0; i < count && pos < section.length; i++) {
    const start = pos;
    const length = readVarint(section, pos);
    pos += varintState.length;
    const bodyEnd = pos + length;
    let q = pos + 1; // attributes
    const timestampDelta = readVarlong(section, q);
    q += varintState.length;
    const offsetDelta = readVarint(section, q);
    q += varintState.length;
    const keyLength = readVarint(section, q);
    q += varintState.length;
    const key = keyLength < 0 ? null : section.subarray(q, q + keyLength);
    if (keyLength > 0) q += keyLength;
    const valueLength = readVarint(section, q);
    yield {
      offset: base + offsetDelta,
      key,
      isTombstone: valueLength < 0,
      timestampDelta,
      raw: section.subarray(start, bodyEnd),
    };
    pos = bodyEnd;
  }
}

/**
 * The source batch with only `kept` records: the same header (base offset, last offset delta,
 * timestamps, producer id/epoch/sequence, attributes and codec), a new count, length and CRC.
 */
function rebuildBatch(source: Buffer, kept: readonly SourceRecord[]): Buffer {
  const codec = source.readUInt16BE(ATTRIBUTES_POS) & COMPRESSION_CODEC_MASK;
  const plain = Buffer.concat(kept.map((r) => r.raw));
  const section = codec === 0 ? plain : compressSync(codec, plain);
  const out = Buffer.allocUnsafe(RECORDS_POS + section.length);
  source.copy(out, 0, 0, RECORDS_POS);
  section.copy(out, RECORDS_POS);
  out.writeInt32BE(out.length - BATCH_LOG_OVERHEAD, BATCH_LENGTH_POS);
  out.writeInt32BE(kept.length, RECORDS_COUNT_POS);
  // CreateTime: the max timestamp is the kept records' (as Kafka's cleaner does); ListOffsets by max
  // timestamp and the index entries' max timestamps must not name a record that is gone.
  // LogAppendTime: the max timestamp is the append time of every record; it stays.
  if ((source.readUInt16BE(ATTRIBUTES_POS) & TIMESTAMP_TYPE_BIT) === 0) {
    const baseTimestamp = source.readBigInt64BE(BASE_TIMESTAMP_POS);
    let maxDelta = kept[0]!.timestampDelta;
    for (const r of kept) if (r.timestampDelta > maxDelta) maxDelta = r.timestampDelta;
    out.writeBigInt64BE(baseTimestamp + BigInt(maxDelta), MAX_TIMESTAMP_POS);
  }
  out.writeUInt32BE(crc32c(out.subarray(CRC_START_POS)), CRC_POS);
  return out;
}

/** Index entries for the rewritten batches, gap-free over [firstOffset, lastOffset], ~8 MiB each. */
function planEntries(
  p: Partition,
  firstOffset: number,
  lastOffset: number,
  batches: readonly { bytes: Buffer; lastOffset: number; maxTimestamp: number }[],
): IndexEntry[] {
  const entries: IndexEntry[] = [];
  let current: {
    baseOffset: number;
    lastOffset: number;
    byteOffset: number;
    byteLength: number;
    maxTimestampMs: number;
    batchCount: number;
  } | null = null;
  let position = 0;
  const flush = () => {
    if (current !== null) entries.push({ topicId: p.topicId, partition: p.id, ...current });
    current = null;
  };
  for (const b of batches) {
    if (current === null) {
      const prev = entries[entries.length - 1];
      current = {
        baseOffset: prev === undefined ? firstOffset : prev.lastOffset + 1,
        lastOffset: b.lastOffset,
        byteOffset: position,
        byteLength: 0,
        maxTimestampMs: b.maxTimestamp,
        batchCount: 0,
      };
    }
    current.lastOffset = b.lastOffset;
    current.byteLength += b.bytes.length;
    current.batchCount++;
    if (b.maxTimestamp > current.maxTimestampMs) current.maxTimestampMs = b.maxTimestamp;
    position += b.bytes.length;
    if (current.byteLength >= ENTRY_TARGET_BYTES) flush();
  }
  flush();
  // The last entry reaches the end of the range even when its last records were compacted away.
  const tail = entries[entries.length - 1];
  if (tail !== undefined) entries[entries.length - 1] = { ...tail, lastOffset };
  return entries;
}

/** Under data/ like uploads, so the orphan sweep also removes a compacted object never swapped in. */
function compactedObjectKey(): string {
  const rnd = randomBytes(8).toString('hex');
  return `data/${rnd.slice(0, 2)}/${Date.now().toString(36)}-${rnd}.compacted.kbatch`;
}
