// DescribeTransactions (key 65), version 0 only, flexible from v0. Reports a transaction coordinator's
// view of each transactional id: state name, timeout, start time, producer id/epoch and partitions.
import { array, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const DescribeTransactions = defineApi({
  apiKey: 65,
  name: 'DescribeTransactions',
  versions: '0',
  flexible: '0+',
  request: {
    transactionalIds: array('string'),
  },
  response: {
    throttleTimeMs: int32(),
    transactionStates: array({
      errorCode: int16(),
      transactionalId: string(),
      transactionState: string(),
      transactionTimeoutMs: int32(),
      transactionStartTimeMs: int64(),
      producerId: int64(),
      producerEpoch: int16(),
      topics: array({
        topic: string(),
        partitions: array('int32'),
      }),
    }),
  },
});
