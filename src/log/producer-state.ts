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
      if (nowMs - e.lastTimestampMs > expirationMs) {
        this.producers.delete(id);
        n++;
      }
    }
    if (n > 0) this.dirty = true;
    return n;
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
