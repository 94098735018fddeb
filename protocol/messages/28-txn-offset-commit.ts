// TxnOffsetCommit (key 28), versions 0-4, flexible 3+. v2 adds the committed leader epoch; v3 adds the
// group member identity (generation, member id, static instance id); v4 may answer TRANSACTION_ABORTABLE.
import { array, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const TxnOffsetCommit = defineApi({
  apiKey: 28,
  name: 'TxnOffsetCommit',
  versions: '0-4',
  flexible: '3+',
  request: {
    transactionalId: string(),
    groupId: string(),
    producerId: int64(),
    producerEpoch: int16(),
    generationId: int32('3+', { default: -1 }),
    memberId: string('3+', { default: '' }),
    groupInstanceId: string('3+', { nullable: '3+', default: null }),
    topics: array({
      name: string(),
      partitions: array({
        partitionIndex: int32(),
        committedOffset: int64(),
        committedLeaderEpoch: int32('2+', { default: -1 }),
        committedMetadata: string('0+', { nullable: '0+' }),
      }),
    }),
  },
  response: {
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
