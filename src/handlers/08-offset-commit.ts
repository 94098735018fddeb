// OffsetCommit (key 8), serves 0-9. Members commit under their generation (ILLEGAL_GENERATION /
// UNKNOWN_MEMBER_ID / REBALANCE_IN_PROGRESS / FENCED_INSTANCE_ID as Kafka answers them); a commit with
// generation -1 and no member id is a standalone commit, allowed while the group has no members
// (manual assignment). Commits of a group in one event-loop turn share one durable write.
// Per-partition retention (v2-4 retentionTimeMs) is ignored, as in Kafka ≥ 2.1 for new groups.
import { ErrorCode } from '../../protocol/error-codes.js';
import { OffsetCommit } from '../../protocol/messages/index.js';
import type { OffsetCommitEntry } from '../metadata/metadata-store.js';
import { defineHandler } from './handler.js';

export const offsetCommitHandler = defineHandler(
  OffsetCommit,
  { min: 0, max: 9 },
  {
    async handle(ctx, req) {
      const { groups, log } = ctx.broker;
      const respond = (codeFor: (topic: string, partition: number) => number) => ({
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode: codeFor(t.name, p.partitionIndex),
          })),
        })),
      });
      if (req.groupId === '') return respond(() => ErrorCode.INVALID_GROUP_ID);
      const group = groups.group(req.groupId, false);
      const standalone = req.generationIdOrMemberEpoch < 0 && req.memberId === '';
      if (standalone) {
        if (group !== undefined && group.members.size > 0) return respond(() => ErrorCode.UNKNOWN_MEMBER_ID);
      } else {
        if (group === undefined) return respond(() => ErrorCode.UNKNOWN_MEMBER_ID);
        const check = group.checkMember(req.memberId, req.groupInstanceId, req.generationIdOrMemberEpoch);
        if (check !== ErrorCode.NONE) return respond(() => check);
        if (group.state === 'PreparingRebalance' || group.state === 'CompletingRebalance') {
          return respond(() => ErrorCode.REBALANCE_IN_PROGRESS);
        }
      }
      const now = Date.now();
      const codes = new Map<string, number>();
      const entries: OffsetCommitEntry[] = [];
      for (const t of req.topics) {
        for (const p of t.partitions) {
          const key = `${t.name}\0${p.partitionIndex}`;
          if (log.partition(t.name, p.partitionIndex) === undefined)
            codes.set(key, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          else if (
            p.committedMetadata !== null &&
            Buffer.byteLength(p.committedMetadata) > groups.options.offsetMetadataMaxBytes
          ) {
            codes.set(key, ErrorCode.OFFSET_METADATA_TOO_LARGE);
          } else {
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
      await groups.commitOffsets(req.groupId, entries);
      return respond((topic, partition) => codes.get(`${topic}\0${partition}`) ?? ErrorCode.NONE);
    },
    errorResponse(req, errorCode) {
      return {
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
        })),
      };
    },
  },
);
