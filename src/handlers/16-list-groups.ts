// ListGroups (key 16), serves 0-5. Groups with members and groups known only by committed offsets
// (state Empty). v4+ filters by state (case-insensitive, as Kafka), v5+ by type ("classic" only here).
import { ErrorCode } from '../../protocol/error-codes.js';
import { ListGroups } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const listGroupsHandler = defineHandler(
  ListGroups,
  { min: 0, max: 5 },
  {
    async handle(ctx, req) {
      const { groups } = ctx.broker;
      const states = new Set(req.statesFilter.map((s) => s.toLowerCase()));
      const types = new Set(req.typesFilter.map((s) => s.toLowerCase()));
      const out = [];
      for (const groupId of await groups.listGroupIds()) {
        const g = groups.group(groupId, false);
        const state = g?.state ?? 'Empty';
        if (state === 'Dead') continue;
        if (states.size > 0 && !states.has(state.toLowerCase())) continue;
        if (types.size > 0 && !types.has('classic')) continue;
        out.push({ groupId, protocolType: g?.protocolType ?? '', groupState: state, groupType: 'classic' });
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: out };
    },
  },
);
