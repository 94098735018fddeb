// FindCoordinator (key 10), serves 0-5. This broker coordinates every group (key type 0) and every
// transactional id (key type 1). v4+ batches several keys in one request.
import { ErrorCode } from '../../protocol/error-codes.js';
import { FindCoordinator } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

const GROUP = 0;
const TRANSACTION = 1;

export const findCoordinatorHandler = defineHandler(
  FindCoordinator,
  { min: 0, max: 5 },
  {
    handle(ctx, req) {
      const { nodeId, advertised } = ctx.broker;
      const known = req.keyType === GROUP || req.keyType === TRANSACTION;
      const errorCode = known ? ErrorCode.NONE : ErrorCode.INVALID_REQUEST;
      const errorMessage = known ? null : `unknown coordinator key type ${req.keyType}`;
      return {
        throttleTimeMs: 0,
        errorCode,
        errorMessage,
        nodeId: known ? nodeId : -1,
        host: known ? advertised.host : '',
        port: known ? advertised.port : -1,
        coordinators: req.coordinatorKeys.map((key) => ({
          key,
          nodeId: known ? nodeId : -1,
          host: known ? advertised.host : '',
          port: known ? advertised.port : -1,
          errorCode,
          errorMessage,
        })),
      };
    },
  },
);
