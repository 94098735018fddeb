// DescribeGroups (key 15), serves 0-5. Unknown groups are reported in state "Dead" with no error,
// as Kafka's classic coordinator does. Members carry their metadata and assignment bytes as sent.
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeGroups } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const describeGroupsHandler = defineHandler(
  DescribeGroups,
  { min: 0, max: 5 },
  {
    handle(ctx, req) {
      return {
        throttleTimeMs: 0,
        groups: req.groups.map((groupId) => {
          const g = ctx.broker.groups.group(groupId, false);
          if (g === undefined || g.state === 'Dead') {
            return {
              errorCode: ErrorCode.NONE,
              groupId,
              groupState: 'Dead',
              protocolType: '',
              protocolData: '',
              members: [],
            };
          }
          return {
            errorCode: ErrorCode.NONE,
            groupId,
            groupState: g.state,
            protocolType: g.protocolType ?? '',
            protocolData:
              g.state === 'Stable' || g.state === 'CompletingRebalance' ? (g.protocolName ?? '') : '',
            members: [...g.members.values()].map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              memberMetadata: m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? Buffer.alloc(0),
              memberAssignment: m.assignment,
            })),
          };
        }),
      };
    },
  },
);
