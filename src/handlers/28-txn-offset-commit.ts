// TxnOffsetCommit (key 28), serves 0-4. Offsets sent inside a transaction: held by the transaction
// coordinator and applied to the group only when the transaction commits (dropped on abort); until
// then OffsetFetch with requireStable answers UNSTABLE_OFFSET_COMMIT for them. The group must have
// been added with AddOffsetsToTxn. v3+ carry the member identity, checked as Kafka's group
// coordinator does (FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION; no rebalance check).
// A stale producer epoch is INVALID_PRODUCER_EPOCH, as Kafka's offsets-log append answers.
import { ErrorCode } from '../../protocol/error-codes.js';
import { TxnOffsetCommit } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';
import { planOffsetCommit } from './offset-commit-entries.js';

export const txnOffsetCommitHandler = defineHandler(
  TxnOffsetCommit,
  { min: 0, max: 4 },
  {
    async handle(ctx, req) {
      const { groups, transactions } = ctx.broker;
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
      if (ctx.header.apiVersion >= 3) {
        const group = groups.group(req.groupId, false);
        let check: number = ErrorCode.NONE;
        if (group === undefined) {
          if (req.generationId >= 0) check = ErrorCode.ILLEGAL_GENERATION;
          else if (req.memberId !== '') check = ErrorCode.UNKNOWN_MEMBER_ID;
        } else if (group.state === 'Dead') check = ErrorCode.COORDINATOR_NOT_AVAILABLE;
        else if (req.memberId !== '' || req.groupInstanceId !== null) {
          check = group.validateMember(req.memberId, req.groupInstanceId);
          if (check === ErrorCode.NONE && req.generationId >= 0 && req.generationId !== group.generationId)
            check = ErrorCode.ILLEGAL_GENERATION;
        } else if (req.generationId >= 0 && req.generationId !== group.generationId) {
          check = ErrorCode.ILLEGAL_GENERATION;
        }
        if (check !== ErrorCode.NONE) return respond(() => check);
      }
      const { entries, codes } = planOffsetCommit(ctx.broker, req.topics, Date.now());
      const code =
        entries.length === 0
          ? ErrorCode.NONE
          : await transactions.commitOffsets(
              req.transactionalId,
              Number(req.producerId),
              req.producerEpoch,
              req.groupId,
              entries,
            );
      return respond((topic, partition) => codes.get(`${topic}\0${partition}`) ?? code);
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
