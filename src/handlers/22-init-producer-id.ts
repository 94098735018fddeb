// InitProducerId (key 22), serves 0-5. Without a transactional id: a new durable producer id at
// epoch 0 (as Kafka does, also when a v3+ client passes its old id/epoch after an error). With one:
// the transaction coordinator bumps that id's epoch (fencing older instances), aborting an open
// transaction first; v3+ (KIP-360) may pass the current id/epoch to resume after an error.
// PRODUCER_FENCED exists from v4; older versions get INVALID_PRODUCER_EPOCH instead, as from Kafka.
import { ErrorCode } from '../../protocol/error-codes.js';
import { InitProducerId } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const initProducerIdHandler = defineHandler(
  InitProducerId,
  { min: 0, max: 5 },
  {
    async handle(ctx, req) {
      const transactionalId = req.transactionalId;
      const fail = (errorCode: number) => ({
        throttleTimeMs: 0,
        errorCode,
        producerId: -1n,
        producerEpoch: -1,
      });
      if (transactionalId !== null && transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
      if (transactionalId === null) {
        const state = await ctx.broker.producerIds.newProducerId();
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          producerId: BigInt(state.producerId),
          producerEpoch: state.producerEpoch,
        };
      }
      const expected =
        ctx.header.apiVersion >= 3 && req.producerId >= 0n
          ? { producerId: Number(req.producerId), producerEpoch: req.producerEpoch }
          : null;
      const res = await ctx.broker.transactions.initProducerId(
        transactionalId,
        req.transactionTimeoutMs,
        expected,
      );
      if (res.errorCode !== ErrorCode.NONE) {
        return fail(
          res.errorCode === ErrorCode.PRODUCER_FENCED && ctx.header.apiVersion < 4
            ? ErrorCode.INVALID_PRODUCER_EPOCH
            : res.errorCode,
        );
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        producerId: BigInt(res.producerId),
        producerEpoch: res.producerEpoch,
      };
    },
    errorResponse(_req, errorCode) {
      return { errorCode, producerId: -1n, producerEpoch: -1 };
    },
  },
);
