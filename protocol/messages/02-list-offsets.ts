// ListOffsets (key 2), versions 0-9, flexible 6+: v0 alone asks for several old-style offsets, v1+ returns one timestamp/offset pair, v2+ isolation level, v4+ leader epochs.
import { array, defineApi, int8, int16, int32, int64, string } from '../schema/schema.js';

export const ListOffsets = defineApi({
  apiKey: 2,
  name: 'ListOffsets',
  versions: '0-9',
  flexible: '6+',
  request: {
    replicaId: int32(),
    isolationLevel: int8('2+'),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        currentLeaderEpoch: int32('4+', { default: -1 }),
        timestamp: int64(),
        maxNumOffsets: int32('0', { default: 1 }),
      }),
    }),
  },
  response: {
    throttleTimeMs: int32('2+'),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
        oldStyleOffsets: array('int64', '0'),
        timestamp: int64('1+', { default: -1n }),
        offset: int64('1+', { default: -1n }),
        leaderEpoch: int32('4+', { default: -1 }),
      }),
    }),
  },
});
