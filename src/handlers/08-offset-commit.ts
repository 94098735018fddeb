// OffsetCommit (key 8), serves 0-9. Members commit under their generation (ILLEGAL_GENERATION /
// UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID as Kafka answers them). Members of the current generation
// may commit while the group prepares a rebalance (consumers commit before rejoining), not between
// JoinGroup and SyncGroup (REBALANCE_IN_PROGRESS). A commit with generation -1 is a standalone
// commit (admin tools, manual assignment), allowed while the group is Empty or unknown. Commits are
// group-committed: many requests share one durable write, each answered once its commit is durable.
// Per-partition retention (v2-4 retentionTimeMs) is ignored, as in Kafka >= 2.1 for new groups.
import { ErrorCode } from '../../protocol/error-codes.js';
import { OffsetCommit } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';
import { planOffsetCommit } from './offset-commit-entries.js';

export const offsetCommitHandler = defineHandler(
  OffsetCommit,
  { min: 0, max: 9 },
  {
    async handle(ctx, req) {
      const { groups } = ctx.broker;
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
      const generationId = ctx.header.apiVersion >= 1 ? req.generationIdOrMemberEpoch : -1;
      if (group === undefined) {
        // Unknown group: a generation -1 commit creates a "simple" group (its offsets); a member's
        // commit means the group is gone (e.g. after a restart): GROUP_ID_NOT_FOUND from v9,
        // ILLEGAL_GENERATION before, as Kafka answers.
        if (generationId >= 0) {
          const code =
            ctx.header.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION;
          return respond(() => code);
        }
      } else {
        const check = group.validateOffsetCommit(req.memberId, req.groupInstanceId, generationId);
        if (check !== ErrorCode.NONE) return respond(() => check);
      }
      const { entries, codes } = planOffsetCommit(ctx.broker, req.topics, Date.now());
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
