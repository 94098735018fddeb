// JoinGroup (key 11), versions 0-9, flexible 6+: v1+ has a rebalance timeout, v5+ static membership, v7+ returns the protocol type (protocol name nullable from v7), v8+ a join reason, v9 SkipAssignment.
import { array, bool, bytes, defineApi, int16, int32, string } from '../schema/schema.js';

export const JoinGroup = defineApi({
  apiKey: 11,
  name: 'JoinGroup',
  versions: '0-9',
  flexible: '6+',
  request: {
    groupId: string(),
    sessionTimeoutMs: int32(),
    rebalanceTimeoutMs: int32('1+', { default: -1 }),
    memberId: string(),
    groupInstanceId: string('5+', { nullable: '5+', default: null }),
    protocolType: string(),
    protocols: array({
      name: string(),
      metadata: bytes(),
    }),
    reason: string('8+', { nullable: '8+', default: null }),
  },
  response: {
    throttleTimeMs: int32('2+'),
    errorCode: int16(),
    generationId: int32('0+', { default: -1 }),
    protocolType: string('7+', { nullable: '7+', default: null }),
    protocolName: string('0+', { nullable: '7+' }),
    leader: string(),
    skipAssignment: bool('9+', { default: false }),
    memberId: string(),
    members: array({
      memberId: string(),
      groupInstanceId: string('5+', { nullable: '5+', default: null }),
      metadata: bytes(),
    }),
  },
});
