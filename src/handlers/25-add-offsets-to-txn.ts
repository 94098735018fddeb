// AddOffsetsToTxn (key 25), serves 0-4. Makes a consumer group's offsets part of the producer's
// transaction (TxnOffsetCommit may then send them). Errors as AddPartitionsToTxn; PRODUCER_FENCED
// from v2 (INVALID_PRODUCER_EPOCH before). v4 may answer TRANSACTION_ABORTABLE; this broker never needs to.
import { ErrorCode } from '../../protocol/error-codes.js';
import { AddOffsetsToTxn } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';
import { fencedForVersion } from './txn-errors.js';

export const addOffsetsToTxnHandler = defineHandler(
  AddOffsetsToTxn,
  { min: 0, max: 4 },
  {
    async handle(ctx, req) {
      if (req.groupId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID };
      const code = await ctx.broker.transactions.addOffsets(
        req.transactionalId,
        Number(req.producerId),
        req.producerEpoch,
        req.groupId,
      );
      return { throttleTimeMs: 0, errorCode: fencedForVersion(code, ctx.header.apiVersion) };
    },
  },
);
