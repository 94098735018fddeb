// SyncGroup (key 14), versions 0-5, flexible 4+: v1+ responses carry a throttle time, v3+ a static-member instance id, v5+ protocol type/name in both directions.
import { array, bytes, defineApi, int16, int32, string } from '../schema/schema.js';

export const SyncGroup = defineApi({
  apiKey: 14,
  name: 'SyncGroup',
  versions: '0-5',
  flexible: '4+',
  request: {
    groupId: string(),
    generationId: int32(),
    memberId: string(),
    groupInstanceId: string('3+', { nullable: '3+', default: null }),
    protocolType: string('5+', { nullable: '5+', default: null }),
    protocolName: string('5+', { nullable: '5+', default: null }),
    assignments: array({
      memberId: string(),
      assignment: bytes(),
    }),
  },
  response: {
    throttleTimeMs: int32('1+'),
    errorCode: int16(),
    protocolType: string('5+', { nullable: '5+', default: null }),
    protocolName: string('5+', { nullable: '5+', default: null }),
    assignment: bytes(),
  },
});
