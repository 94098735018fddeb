// Heartbeat (key 12), serves 0-4. REBALANCE_IN_PROGRESS tells a member to rejoin; UNKNOWN_MEMBER_ID
// an expelled one (session expired); ILLEGAL_GENERATION a stale generation; FENCED_INSTANCE_ID a
// static member replaced by a newer instance.
import { ErrorCode } from '../../protocol/error-codes.js';
import { Heartbeat } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const heartbeatHandler = defineHandler(
  Heartbeat,
  { min: 0, max: 4 },
  {
    handle(ctx, req) {
      const group = ctx.broker.groups.group(req.groupId, false);
      const errorCode =
        group === undefined
          ? ErrorCode.UNKNOWN_MEMBER_ID
          : group.heartbeat(req.memberId, req.groupInstanceId, req.generationId);
      return { throttleTimeMs: 0, errorCode };
    },
    errorResponse(_req, errorCode) {
      return { errorCode };
    },
  },
);
