// LeaveGroup (key 13), serves 0-5. v0-2 remove one member by id; v3+ a batch of members, each by
// member id or by group.instance.id (static members), with a per-member error; one rebalance per
// request. An unknown group answers UNKNOWN_MEMBER_ID per member.
import { ErrorCode } from '../../protocol/error-codes.js';
import { LeaveGroup } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const leaveGroupHandler = defineHandler(
  LeaveGroup,
  { min: 0, max: 5 },
  {
    handle(ctx, req) {
      const group = ctx.broker.groups.group(req.groupId, false);
      const leaving =
        ctx.header.apiVersion < 3 ? [{ memberId: req.memberId, groupInstanceId: null }] : req.members;
      const codes =
        group === undefined ? leaving.map(() => ErrorCode.UNKNOWN_MEMBER_ID) : group.leave(leaving);
      if (ctx.header.apiVersion < 3) return { throttleTimeMs: 0, errorCode: codes[0]! };
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        members: leaving.map((m, i) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          errorCode: codes[i]!,
        })),
      };
    },
    errorResponse(_req, errorCode) {
      return { errorCode };
    },
  },
);
