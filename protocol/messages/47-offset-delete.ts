// OffsetDelete (key 47), version 0 only, never flexible: the response puts its top-level error code before the throttle time.
import { array, defineApi, int16, int32, string } from '../schema/schema.js';

export const OffsetDelete = defineApi({
  apiKey: 47,
  name: 'OffsetDelete',
  versions: '0',
  flexible: 'none',
  request: {
    groupId: string(),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
      }),
    }),
  },
  response: {
    errorCode: int16(),
    throttleTimeMs: int32(),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
      }),
    }),
  },
});
