// SyncGroup (key 14), serves 0-5. The leader's assignments are handed to every member; the broker
// never reads them. Checks in Kafka's order: member, generation, then (v5) protocol type/name
// against the group's (INCONSISTENT_GROUP_PROTOCOL).
import { ErrorCode } from '../../protocol/error-codes.js';
import { SyncGroup } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

const EMPTY = Buffer.alloc(0);

export const syncGroupHandler = defineHandler(
  SyncGroup,
  { min: 0, max: 5 },
  {
    async handle(ctx, req) {
      if (req.groupId === '')
        return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID, assignment: EMPTY };
      const group = ctx.broker.groups.group(req.groupId, false);
      if (group === undefined)
        return { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID, assignment: EMPTY };
      const r = await group.sync({
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        generationId: req.generationId,
        protocolType: req.protocolType,
        protocolName: req.protocolName,
        assignments: req.assignments,
      });
      return { throttleTimeMs: 0, ...r };
    },
    errorResponse(_req, errorCode) {
      return { errorCode, assignment: EMPTY };
    },
  },
);
