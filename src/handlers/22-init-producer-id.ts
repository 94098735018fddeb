// InitProducerId (key 22), serves 0-5. Without a transactional id: a new durable producer id at
// epoch 0 (as Kafka does, also when a v3+ client passes its old id/epoch after an error). With one:
// the id persisted for that transactional id with its epoch bumped, fencing older instances.
// Gaps: transactions themselves (AddPartitionsToTxn, EndTxn, markers) are not implemented yet.
import { ErrorCode } from '../../protocol/error-codes.js';
import { InitProducerId } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const initProducerIdHandler = defineHandler(
  InitProducerId,
  { min: 0, max: 5 },
  {
    async handle(ctx, req) {
      const ids = ctx.broker.producerIds;
      const transactionalId = req.transactionalId;
      if (transactionalId !== null && transactionalId === '') {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.INVALID_REQUEST,
          producerId: -1n,
          producerEpoch: -1,
        };
      }
      const state =
        transactionalId === null ? await ids.newProducerId() : await ids.initTransactional(transactionalId);
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        producerId: BigInt(state.producerId),
        producerEpoch: state.producerEpoch,
      };
    },
    errorResponse(_req, errorCode) {
      return { errorCode, producerId: -1n, producerEpoch: -1 };
    },
  },
);
