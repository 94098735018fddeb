/**
 * The durable record of one transactional id, as stored in the metadata store under
 * `transactional-id/<id>` (the key ProducerIdManager used before transactions existed; its old
 * `{producerId, producerEpoch}` values still load, as an Empty transaction).
 */
import type { OffsetCommitEntry } from '../../metadata/metadata-store.js';

export const TXN_META_PREFIX = 'transactional-id/';

/** Kafka's state names (DescribeTransactions / ListTransactions report them verbatim). */
export const TXN_STATES = [
  'Empty',
  'Ongoing',
  'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit',
  'CompleteAbort',
  'PrepareEpochFence',
  'Dead',
] as const;
export type TxnState = (typeof TXN_STATES)[number];

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface PendingOffset extends OffsetCommitEntry {
  readonly groupId: string;
}

export interface TxnRecord {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** The epoch before the last InitProducerId bump (-1: none), so a KIP-360 retry gets the same answer. */
  readonly lastProducerEpoch: number;
  /** The producer id before the last rotation (-1: none); its batches are fenced, not unknown. */
  readonly previousProducerId: number;
  readonly timeoutMs: number;
  readonly state: TxnState;
  readonly partitions: readonly TopicPartition[];
  /** Consumer groups added with AddOffsetsToTxn. */
  readonly groups: readonly string[];
  /** TxnOffsetCommit offsets, applied to the groups only when the transaction commits. */
  readonly pendingOffsets: readonly PendingOffset[];
  /** When the current (or last) transaction started; -1 before the first. */
  readonly startTimeMs: number;
  readonly updatedAtMs: number;
}

export function txnKey(transactionalId: string): string {
  return `${TXN_META_PREFIX}${transactionalId}`;
}

export function encodeTxn(r: TxnRecord): string {
  return JSON.stringify(r);
}

/** Parses a stored record; tolerant of the pre-transactions format (producer id and epoch only). */
export function decodeTxn(transactionalId: string, json: string, defaultTimeoutMs: number): TxnRecord {
  const v = JSON.parse(json) as Partial<TxnRecord> & { producerId: number; producerEpoch: number };
  const state = TXN_STATES.includes(v.state as TxnState) ? (v.state as TxnState) : 'Empty';
  return {
    transactionalId,
    producerId: v.producerId,
    producerEpoch: v.producerEpoch,
    lastProducerEpoch: v.lastProducerEpoch ?? -1,
    previousProducerId: v.previousProducerId ?? -1,
    timeoutMs: v.timeoutMs ?? defaultTimeoutMs,
    state,
    partitions: v.partitions ?? [],
    groups: v.groups ?? [],
    pendingOffsets: v.pendingOffsets ?? [],
    startTimeMs: v.startTimeMs ?? -1,
    updatedAtMs: v.updatedAtMs ?? 0,
  };
}

export function samePartition(a: TopicPartition, b: TopicPartition): boolean {
  return a.topic === b.topic && a.partition === b.partition;
}
