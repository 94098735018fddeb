// Metadata (key 3), versions 0-12, flexible 9+: null topic list (all topics) from v1, auto-creation flag v4+, authorized operations v8+ (cluster-level only 8-10), topic ids v10+, null topic names v12.
import { array, bool, defineApi, int16, int32, string, uuid } from '../schema/schema.js';

export const Metadata = defineApi({
  apiKey: 3,
  name: 'Metadata',
  versions: '0-12',
  flexible: '9+',
  request: {
    topics: array(
      {
        topicId: uuid('10+'),
        name: string('0+', { nullable: '10+' }),
      },
      '0+',
      { nullable: '1+' },
    ),
    allowAutoTopicCreation: bool('4+', { default: true }),
    includeClusterAuthorizedOperations: bool('8-10'),
    includeTopicAuthorizedOperations: bool('8+'),
  },
  response: {
    throttleTimeMs: int32('3+'),
    brokers: array({
      nodeId: int32(),
      host: string(),
      port: int32(),
      rack: string('1+', { nullable: '1+', default: null }),
    }),
    clusterId: string('2+', { nullable: '2+', default: null }),
    controllerId: int32('1+', { default: -1 }),
    topics: array({
      errorCode: int16(),
      name: string('0+', { nullable: '12+' }),
      topicId: uuid('10+'),
      isInternal: bool('1+', { default: false }),
      partitions: array({
        errorCode: int16(),
        partitionIndex: int32(),
        leaderId: int32(),
        leaderEpoch: int32('7+', { default: -1 }),
        replicaNodes: array('int32'),
        isrNodes: array('int32'),
        offlineReplicas: array('int32', '5+'),
      }),
      topicAuthorizedOperations: int32('8+', { default: -2147483648 }),
    }),
    clusterAuthorizedOperations: int32('8-10', { default: -2147483648 }),
  },
});
