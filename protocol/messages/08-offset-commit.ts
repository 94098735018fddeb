// OffsetCommit (key 8), versions 0-9, flexible 8+: v1 alone has a per-partition commit timestamp, v2-4 a retention time, v7+ static membership (group instance id); v9 reuses the generation field as the KIP-848 member epoch.
import { array, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const OffsetCommit = defineApi({
  apiKey: 8,
  name: 'OffsetCommit',
  versions: '0-9',
  flexible: '8+',
  request: {
    groupId: string(),
    generationIdOrMemberEpoch: int32('1+', { default: -1 }),
    memberId: string('1+'),
    groupInstanceId: string('7+', { nullable: '7+', default: null }),
    retentionTimeMs: int64('2-4', { default: -1n }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        committedOffset: int64(),
        committedLeaderEpoch: int32('6+', { default: -1 }),
        commitTimestamp: int64('1', { default: -1n }),
        committedMetadata: string('0+', { nullable: '0+' }),
      }),
    }),
  },
  response: {
    throttleTimeMs: int32('3+'),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
      }),
    }),
  },
});
