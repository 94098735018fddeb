// OffsetForLeaderEpoch (key 23), versions 0-4, flexible 4+: v1+ returns the leader epoch, v2+ sends the current leader epoch for fencing, v3+ sends the replica id (default -2 = unset).
import { array, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const OffsetForLeaderEpoch = defineApi({
  apiKey: 23,
  name: 'OffsetForLeaderEpoch',
  versions: '0-4',
  flexible: '4+',
  request: {
    replicaId: int32('3+', { default: -2 }),
    topics: array({
      topic: string(),
      partitions: array({
        partition: int32(),
        currentLeaderEpoch: int32('2+', { default: -1 }),
        leaderEpoch: int32(),
      }),
    }),
  },
  response: {
    throttleTimeMs: int32('2+'),
    topics: array({
      topic: string(),
      partitions: array({
        errorCode: int16(),
        partition: int32(),
        leaderEpoch: int32('1+', { default: -1 }),
        endOffset: int64('0+', { default: -1n }),
      }),
    }),
  },
});
