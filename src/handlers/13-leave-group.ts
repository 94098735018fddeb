// LeaveGroup (key 13), serves 0-5. v0-2 remove one member by id; v3+ a batch of members, each by
// member id or by group.instance.id (static members), with a per-member error.
import { ErrorCode } from '../../protocol/error-codes.js';
import { LeaveGroup } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const leaveGroupHandler = defineHandler(
  LeaveGroup,
  { min: 0, max: 5 },
  {
    handle(ctx, req) {
      const group = ctx.broker.groups.group(req.groupId, false);
      if (ctx.header.apiVersion < 3) {
        const errorCode = group === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : group.leave(req.memberId, null);
        return { throttleTimeMs: 0, errorCode };
      }
      const members = req.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        errorCode:
          group === undefined ? ErrorCode.UNKNOWN_MEMBER_ID : group.leave(m.memberId, m.groupInstanceId),
      }));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, members };
    },
    errorResponse(_req, errorCode) {
      return { errorCode };
    },
  },
);
