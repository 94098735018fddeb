// JoinGroup (key 11), serves 0-9. Member ids are assigned by the broker (v4+: MEMBER_ID_REQUIRED
// first, KIP-394); static membership from v5 (group.instance.id, KIP-345); protocol type/name echoed
// from v7; skipAssignment (v9) tells a restarted static leader to keep the current assignment.
import { ErrorCode } from '../../protocol/error-codes.js';
import { JoinGroup } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const joinGroupHandler = defineHandler(
  JoinGroup,
  { min: 0, max: 9 },
  {
    async handle(ctx, req) {
      const { groups } = ctx.broker;
      const version = ctx.header.apiVersion;
      const base = {
        throttleTimeMs: 0,
        generationId: -1,
        protocolName: '',
        leader: '',
        memberId: req.memberId,
        members: [],
      };
      if (req.groupId === '') return { ...base, errorCode: ErrorCode.INVALID_GROUP_ID };
      const { minSessionTimeoutMs, maxSessionTimeoutMs } = groups.options;
      if (req.sessionTimeoutMs < minSessionTimeoutMs || req.sessionTimeoutMs > maxSessionTimeoutMs) {
        return { ...base, errorCode: ErrorCode.INVALID_SESSION_TIMEOUT };
      }
      // Only a join without a member id creates a group; a known-member join of an unknown group
      // (e.g. after a broker restart) is UNKNOWN_MEMBER_ID, and the client rejoins from scratch.
      const group = groups.group(req.groupId, req.memberId === '');
      if (group === undefined) return { ...base, errorCode: ErrorCode.UNKNOWN_MEMBER_ID };
      const result = await group.join({
        memberId: req.memberId,
        groupInstanceId: req.groupInstanceId,
        clientId: ctx.header.clientId ?? '',
        clientHost: ctx.connection.remoteAddress,
        sessionTimeoutMs: req.sessionTimeoutMs,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalanceTimeoutMs:
          version >= 1 && req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
        protocolType: req.protocolType,
        protocols: req.protocols,
        requireKnownMemberId: version >= 4,
        supportsSkipAssignment: version >= 9,
      });
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        generationId: result.generationId,
        protocolType: result.protocolType,
        protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ''),
        leader: result.leader,
        skipAssignment: result.skipAssignment ?? false,
        memberId: result.memberId,
        members: result.members,
      };
    },
    errorResponse(req, errorCode) {
      return {
        errorCode,
        generationId: -1,
        protocolName: '',
        leader: '',
        memberId: req.memberId,
        members: [],
      };
    },
  },
);
