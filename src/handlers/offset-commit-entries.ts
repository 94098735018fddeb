// The per-partition part of OffsetCommit and TxnOffsetCommit, written once: which partitions are
// refused (unknown partition, metadata too large) and the entries to commit for the rest.
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerContext } from '../broker/context.js';
import type { OffsetCommitEntry } from '../metadata/metadata-store.js';

export interface CommitTopicInput {
  readonly name: string;
  readonly partitions: readonly {
    readonly partitionIndex: number;
    readonly committedOffset: bigint;
    readonly committedLeaderEpoch: number;
    readonly committedMetadata: string | null;
  }[];
}

export interface CommitPlan {
  /** Entries to commit, stamped `now`. */
  readonly entries: OffsetCommitEntry[];
  /** Refused partitions by `${topic}\0${partition}`, with their error codes. */
  readonly codes: Map<string, number>;
}

export function planOffsetCommit(
  broker: Pick<BrokerContext, 'log' | 'groups'>,
  topics: readonly CommitTopicInput[],
  now: number,
): CommitPlan {
  const codes = new Map<string, number>();
  const entries: OffsetCommitEntry[] = [];
  const maxMetadataBytes = broker.groups.options.offsetMetadataMaxBytes;
  for (const t of topics) {
    for (const p of t.partitions) {
      const key = `${t.name}\0${p.partitionIndex}`;
      if (broker.log.partition(t.name, p.partitionIndex) === undefined)
        codes.set(key, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > maxMetadataBytes)
        codes.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE);
      else {
        entries.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: Number(p.committedOffset),
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata,
          commitTimestampMs: now,
        });
      }
    }
  }
  return { entries, codes };
}
