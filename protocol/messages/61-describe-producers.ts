// DescribeProducers (key 61), version 0 only, flexible 0+: lists the active idempotent/transactional producers of each partition (KIP-664).
import { array, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const DescribeProducers = defineApi({
  apiKey: 61,
  name: 'DescribeProducers',
  versions: '0',
  flexible: '0+',
  request: {
    topics: array({
      name: string(),
      partitionIndexes: array('int32'),
    }),
  },
  response: {
    throttleTimeMs: int32(),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
        errorMessage: string('0+', { nullable: '0+', default: null }),
        activeProducers: array({
          producerId: int64(),
          producerEpoch: int32(),
          lastSequence: int32('0+', { default: -1 }),
          lastTimestamp: int64('0+', { default: -1n }),
          coordinatorEpoch: int32(),
          currentTxnStartOffset: int64('0+', { default: -1n }),
        }),
      }),
    }),
  },
});
