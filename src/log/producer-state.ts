/**
 * Idempotent-producer state of one partition (KIP-98): per producer id, its epoch and the metadata of
 * its last 5 batches, so that a retried batch is recognised and answered with its original offsets
 * instead of being appended twice.
 *
 * Rules (as Kafka's broker applies them):
 * - epoch < current epoch → INVALID_PRODUCER_EPOCH (the producer was fenced by a newer one).
 * - same epoch, batch matches one of the last 5 by (firstSeq, lastSeq) → duplicate: original offsets.
 * - same epoch, firstSeq is not lastSeq + 1 (wrapping at INT32 max) → OUT_OF_ORDER_SEQUENCE_NUMBER.
 * - new epoch (bump, KIP-360) → the sequence must restart at 0, unless the producer is unknown here
 *   (first batch we see, or its state expired): then any sequence is accepted.
 * State is rebuilt after a crash from a snapshot taken at upload time plus the WAL replay, and expires
 * after producer.id.expiration.ms without writes.
 *
 * Transactions (KIP-98) live here too, because they are recovered the same way: a transactional batch
 * opens its producer's transaction in this partition (first offset = its base offset) unless one is
 * open; a marker (control batch) closes it, and an ABORT leaves {producerId, firstOffset, lastOffset =
 * marker offset} in the aborted index that read_committed consumers use to drop aborted records.
 * Markers never touch sequences; a marker with a newer epoch fences the producer's older epoch.
 */
import { ErrorCode } from '../../protocol/error-codes.js';

export const MAX_CACHED_BATCHES = 5;
const INT32_MAX = 2147483647;

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  epoch: number;
  batches: BatchMetadata[];
  lastTimestampMs: number;
  /** Offset of the first batch of the (idempotent) producer still in the log, for DescribeProducers. */
  firstOffsetSeen: number;
  /** Offset where the current epoch began here, when a marker bumped it (absent: firstOffsetSeen). */
  epochStartOffset?: number;
}

/** An aborted transaction: its records in [firstOffset, lastOffset) are dropped by read_committed readers. */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** Offset of the ABORT marker. */
  lastOffset: number;
}

/** A transaction closed by a marker the last saved snapshot does not cover yet. */
interface ClosedTxn {
  producerId: number;
  firstOffset: number;
  markerOffset: number;
}

/** Transaction state as of a snapshot's end (JSON: [producerId, firstOffset] and [pid, first, last]). */
export interface TxnSnapshot {
  open: [number, number][];
  aborted: [number, number, number][];
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; batch: BatchMetadata }
  | { kind: 'error'; errorCode: number; message: string };

export interface IdempotentBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** lastOffsetDelta: the batch carries sequences baseSequence .. baseSequence + lastOffsetDelta. */
  lastOffsetDelta: number;
}

function lastSeqOf(b: IdempotentBatch): number {
  const s = b.baseSequence + b.lastOffsetDelta;
  return s > INT32_MAX ? s - INT32_MAX - 1 : s;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (lastSeq === INT32_MAX && nextSeq === 0);
}

export class ProducerStateTable {
  readonly producers = new Map<number, ProducerEntry>();
  /** Set when the table changed since the last snapshot. */
  dirty = false;
  /** Open transactions: producer id → offset of the transaction's first batch in this partition. */
  readonly openTxns = new Map<number, number>();
  /** Aborted transactions, sorted by marker offset (lastOffset). */
  aborted: AbortedTxn[] = [];
  /**
   * Transactions closed since the last snapshot, in marker-offset order: a snapshot as of an earlier
   * end must still list them as open, and the LSO must not pass them before their marker is durable.
   */
  private closed: ClosedTxn[] = [];

  /** Decide what to do with an idempotent batch, without changing state. */
  check(b: IdempotentBatch, pending?: ProducerEntry): SequenceCheck {
    const entry = pending ?? this.producers.get(b.producerId);
    const firstSeq = b.baseSequence;
    const lastSeq = lastSeqOf(b);
    if (entry === undefined) return { kind: 'append' };
    if (b.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${b.producerId} epoch ${b.producerEpoch} is older than the current epoch ${entry.epoch}`,
      };
    }
    if (b.producerEpoch > entry.epoch) {
      if (firstSeq !== 0) {
        return {
          kind: 'error',
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          message: `producer ${b.producerId} new epoch ${b.producerEpoch} must start at sequence 0, got ${firstSeq}`,
        };
      }
      return { kind: 'append' };
    }
    for (const cached of entry.batches) {
      if (cached.firstSeq === firstSeq && cached.lastSeq === lastSeq)
        return { kind: 'duplicate', batch: cached };
    }
    const last = entry.batches[entry.batches.length - 1];
    if (last !== undefined && !inSequence(last.lastSeq, firstSeq)) {
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${b.producerId} expected sequence ${last.lastSeq === INT32_MAX ? 0 : last.lastSeq + 1}, got ${firstSeq}`,
      };
    }
    return { kind: 'append' };
  }

  /** Record an appended batch (also used by WAL replay and snapshot rebuild). */
  record(b: IdempotentBatch, firstOffset: number, lastOffset: number, timestampMs: number): void {
    let entry = this.producers.get(b.producerId);
    if (entry === undefined || b.producerEpoch > entry.epoch) {
      entry = {
        epoch: b.producerEpoch,
        batches: [],
        lastTimestampMs: timestampMs,
        firstOffsetSeen: firstOffset,
      };
      this.producers.set(b.producerId, entry);
    } else if (b.producerEpoch < entry.epoch) {
      return;
    }
    const firstSeq = b.baseSequence;
    const lastSeq = lastSeqOf(b);
    const tail = entry.batches[entry.batches.length - 1];
    if (tail !== undefined && tail.lastOffset >= firstOffset) return; // replayed twice
    entry.batches.push({ firstSeq, lastSeq, firstOffset, lastOffset });
    if (entry.batches.length > MAX_CACHED_BATCHES) entry.batches.shift();
    entry.lastTimestampMs = Math.max(entry.lastTimestampMs, timestampMs);
    this.dirty = true;
  }

  /** Drop producers idle longer than `expirationMs` (producer.id.expiration.ms). */
  expire(nowMs: number, expirationMs: number): number {
    let n = 0;
    for (const [id, e] of this.producers) {
      // A producer with an open transaction stays: its transaction still holds the LSO back.
      if (nowMs - e.lastTimestampMs > expirationMs && !this.openTxns.has(id)) {
        this.producers.delete(id);
        n++;
      }
    }
    if (n > 0) this.dirty = true;
    return n;
  }

  // ---- transactions ---------------------------------------------------------------------------

  /** A transactional batch of `producerId` at `baseOffset`: opens its transaction unless one is open. */
  beginTxn(producerId: number, baseOffset: number): void {
    if (this.openTxns.has(producerId)) return;
    this.openTxns.set(producerId, baseOffset);
    this.dirty = true;
  }

  /**
   * A marker (COMMIT or ABORT) of `producerId` at `offset`. Closes the producer's open transaction
   * (none open: nothing to close, the marker is a retry); a newer epoch fences the older one.
   * Sequences are untouched: markers carry none.
   */
  applyMarker(
    producerId: number,
    producerEpoch: number,
    offset: number,
    commit: boolean,
    nowMs: number,
  ): void {
    const entry = this.producers.get(producerId);
    if (entry === undefined) {
      this.producers.set(producerId, {
        epoch: producerEpoch,
        batches: [],
        lastTimestampMs: nowMs,
        firstOffsetSeen: offset,
        epochStartOffset: offset,
      });
      this.dirty = true;
    } else if (producerEpoch > entry.epoch) {
      // As Kafka: a bumped epoch starts with no sequence history (the next batch may start anywhere).
      entry.epoch = producerEpoch;
      entry.batches = [];
      entry.epochStartOffset = offset;
      entry.lastTimestampMs = Math.max(entry.lastTimestampMs, nowMs);
      this.dirty = true;
    }
    const first = this.openTxns.get(producerId);
    if (first === undefined) return;
    this.openTxns.delete(producerId);
    this.closed.push({ producerId, firstOffset: first, markerOffset: offset });
    if (!commit) this.aborted.push({ producerId, firstOffset: first, lastOffset: offset });
    this.dirty = true;
  }

  /**
   * First offset that is not stable given a high watermark: the start of the earliest open
   * transaction, or of a closed one whose marker is not durable yet. Infinity when none.
   */
  firstUnstableOffset(highWatermark: number): number {
    let min = Number.POSITIVE_INFINITY;
    // No iterator when nothing is open: every fetch asks (read_uncommitted reports the LSO too).
    if (this.openTxns.size > 0) for (const first of this.openTxns.values()) if (first < min) min = first;
    const closed = this.closed;
    for (let i = closed.length - 1; i >= 0; i--) {
      const c = closed[i]!;
      if (c.markerOffset < highWatermark) break; // marker-offset order: the rest are durable too
      if (c.firstOffset < min) min = c.firstOffset;
    }
    return min;
  }

  /**
   * Aborted transactions a reader of [fetchOffset, upperBound) must know about: those whose marker is
   * at or after fetchOffset and that started before upperBound.
   */
  abortedBetween(fetchOffset: number, upperBound: number): { producerId: number; firstOffset: number }[] {
    const idx = this.aborted;
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (idx[mid]!.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    const out: { producerId: number; firstOffset: number }[] = [];
    for (let i = lo; i < idx.length; i++) {
      const a = idx[i]!;
      if (a.firstOffset < upperBound) out.push({ producerId: a.producerId, firstOffset: a.firstOffset });
    }
    return out;
  }

  /** Drop aborted transactions wholly below the log start (retention, DeleteRecords). */
  pruneAborted(logStartOffset: number): void {
    let n = 0;
    while (n < this.aborted.length && this.aborted[n]!.lastOffset < logStartOffset) n++;
    if (n > 0) {
      this.aborted = this.aborted.slice(n);
      this.dirty = true;
    }
  }

  /**
   * Transaction state exactly as it was when the log ended at `end`: later transactional batches did
   * not open anything yet, and transactions whose marker is at or past `end` were still open.
   */
  txnSnapshot(end: number): TxnSnapshot {
    const open: [number, number][] = [];
    for (const [pid, first] of this.openTxns) if (first < end) open.push([pid, first]);
    for (const c of this.closed) {
      if (c.markerOffset >= end && c.firstOffset < end) open.push([c.producerId, c.firstOffset]);
    }
    const aborted: [number, number, number][] = [];
    for (const a of this.aborted) {
      if (a.lastOffset >= end) break;
      aborted.push([a.producerId, a.firstOffset, a.lastOffset]);
    }
    return { open, aborted };
  }

  /** True when transaction state changed at or after `end` (a snapshot as of `end` misses it). */
  txnChangedSince(end: number): boolean {
    for (const first of this.openTxns.values()) if (first >= end) return true;
    const last = this.closed[this.closed.length - 1];
    return last !== undefined && last.markerOffset >= end;
  }

  /** A snapshot as of `end` was saved: closed transactions before it need no remembering. */
  snapshotSaved(end: number): void {
    let n = 0;
    while (n < this.closed.length && this.closed[n]!.markerOffset < end) n++;
    if (n > 0) this.closed = this.closed.slice(n);
  }

  /** Restore transaction state from a snapshot (absent in snapshots written before transactions). */
  loadTxns(data: unknown): void {
    if (typeof data !== 'object' || data === null) return;
    const { open, aborted } = data as Partial<TxnSnapshot>;
    if (Array.isArray(open)) for (const [pid, first] of open) this.openTxns.set(pid, first);
    if (Array.isArray(aborted)) {
      this.aborted = aborted.map(([producerId, firstOffset, lastOffset]) => ({
        producerId,
        firstOffset,
        lastOffset,
      }));
    }
  }

  toJSON(): unknown {
    return [...this.producers.entries()];
  }

  static fromJSON(data: unknown): ProducerStateTable {
    const t = new ProducerStateTable();
    if (Array.isArray(data)) {
      for (const item of data) {
        if (
          Array.isArray(item) &&
          typeof item[0] === 'number' &&
          typeof item[1] === 'object' &&
          item[1] !== null
        ) {
          t.producers.set(item[0], item[1] as ProducerEntry);
        }
      }
    }
    return t;
  }
}
