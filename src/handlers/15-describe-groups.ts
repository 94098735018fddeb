// DescribeGroups (key 15), serves 0-5. Unknown groups are reported in state "Dead" with no error,
// as Kafka's classic coordinator does. In Stable, members carry their metadata and assignment bytes
// as sent; while rebalancing, neither (nor the protocol name), as in Kafka.
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeGroups } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

const EMPTY = Buffer.alloc(0);

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
          // Member metadata and assignments are only meaningful in Stable; during a rebalance Kafka
          // describes members without them and with no protocol.
          const stable = g.state === 'Stable';
          return {
            errorCode: ErrorCode.NONE,
            groupId,
            groupState: g.state,
            protocolType: g.protocolType ?? '',
            protocolData: stable ? (g.protocolName ?? '') : '',
            members: [...g.members.values()].map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              memberMetadata: stable
                ? (m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? EMPTY)
                : EMPTY,
              memberAssignment: stable ? m.assignment : EMPTY,
            })),
          };
        }),
      };
    },
  },
);
