// Heartbeat (key 12), versions 0-4, flexible 4+: v1+ responses carry a throttle time, v3+ requests a static-member group instance id.
import { defineApi, int16, int32, string } from '../schema/schema.js';

export const Heartbeat = defineApi({
  apiKey: 12,
  name: 'Heartbeat',
  versions: '0-4',
  flexible: '4+',
  request: {
    groupId: string(),
    generationId: int32(),
    memberId: string(),
    groupInstanceId: string('3+', { nullable: '3+', default: null }),
  },
  response: {
    throttleTimeMs: int32('1+'),
    errorCode: int16(),
  },
});
