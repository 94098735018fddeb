// DescribeTopicPartitions (key 75), version 0 only, flexible 0+: paged topic/partition metadata (KIP-966); the nullable Cursor struct is an INT8 marker (-1 null, 1 present) before its fields.
import { array, bool, defineApi, int16, int32, string, struct, uuid } from '../schema/schema.js';

// The paging cursor, shared by request (Cursor) and response (NextCursor).
const cursorFields = {
  topicName: string(),
  partitionIndex: int32(),
};

export const DescribeTopicPartitions = defineApi({
  apiKey: 75,
  name: 'DescribeTopicPartitions',
  versions: '0',
  flexible: '0+',
  request: {
    topics: array({
      name: string(),
    }),
    responsePartitionLimit: int32('0+', { default: 2000 }),
    cursor: struct(cursorFields, '0+', { nullable: '0+', default: null }),
  },
  response: {
    throttleTimeMs: int32(),
    topics: array({
      errorCode: int16(),
      name: string('0+', { nullable: '0+' }),
      topicId: uuid(),
      isInternal: bool('0+', { default: false }),
      partitions: array({
        errorCode: int16(),
        partitionIndex: int32(),
        leaderId: int32(),
        leaderEpoch: int32('0+', { default: -1 }),
        replicaNodes: array('int32'),
        isrNodes: array('int32'),
        eligibleLeaderReplicas: array('int32', '0+', { nullable: '0+', default: null }),
        lastKnownElr: array('int32', '0+', { nullable: '0+', default: null }),
        offlineReplicas: array('int32'),
      }),
      topicAuthorizedOperations: int32('0+', { default: -2147483648 }),
    }),
    nextCursor: struct(cursorFields, '0+', { nullable: '0+', default: null }),
  },
});
