// EndTxn (key 26), serves 0-4. Commits or aborts the producer's transaction: PrepareCommit/Abort is
// made durable, markers are written to every partition of the transaction, pending transactional
// offsets are applied (commit) or dropped (abort), and the answer comes once that is done. A retry of
// a completed EndTxn answers NONE; the opposite decision INVALID_TXN_STATE; while a previous one is
// still completing CONCURRENT_TRANSACTIONS. PRODUCER_FENCED from v2 (INVALID_PRODUCER_EPOCH before).
import { EndTxn } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';
import { fencedForVersion } from './txn-errors.js';

export const endTxnHandler = defineHandler(
  EndTxn,
  { min: 0, max: 4 },
  {
    async handle(ctx, req) {
      const code = await ctx.broker.transactions.endTxn(
        req.transactionalId,
        Number(req.producerId),
        req.producerEpoch,
        req.committed,
      );
      return { throttleTimeMs: 0, errorCode: fencedForVersion(code, ctx.header.apiVersion) };
    },
  },
);
