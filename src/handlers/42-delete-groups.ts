// DeleteGroups (key 42), serves 0-2. Only groups without members can be deleted (NON_EMPTY_GROUP);
// unknown groups answer GROUP_ID_NOT_FOUND. Deletes the group's committed offsets too.
import { ErrorCode } from '../../protocol/error-codes.js';
import { DeleteGroups } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const deleteGroupsHandler = defineHandler(
  DeleteGroups,
  { min: 0, max: 2 },
  {
    async handle(ctx, req) {
      const results = [];
      for (const groupId of req.groupsNames) {
        results.push({
          groupId,
          errorCode:
            groupId === '' ? ErrorCode.INVALID_GROUP_ID : await ctx.broker.groups.deleteGroup(groupId),
        });
      }
      return { throttleTimeMs: 0, results };
    },
    errorResponse(req, errorCode) {
      return { results: req.groupsNames.map((groupId) => ({ groupId, errorCode })) };
    },
  },
);
