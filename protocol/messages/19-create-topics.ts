// CreateTopics (key 19), versions 0-7, flexible 5+: v1+ validate-only, v5+ returns the created topic's partitions, replication factor and configs, v7+ returns topic ids.
import { array, bool, defineApi, int8, int16, int32, string, uuid } from '../schema/schema.js';

export const CreateTopics = defineApi({
  apiKey: 19,
  name: 'CreateTopics',
  versions: '0-7',
  flexible: '5+',
  request: {
    topics: array({
      name: string(),
      numPartitions: int32(),
      replicationFactor: int16(),
      assignments: array({
        partitionIndex: int32(),
        brokerIds: array('int32'),
      }),
      configs: array({
        name: string(),
        value: string('0+', { nullable: '0+' }),
      }),
    }),
    timeoutMs: int32('0+', { default: 60000 }),
    validateOnly: bool('1+', { default: false }),
  },
  response: {
    throttleTimeMs: int32('2+'),
    topics: array({
      name: string(),
      topicId: uuid('7+'),
      errorCode: int16(),
      errorMessage: string('1+', { nullable: '0+' }),
      topicConfigErrorCode: int16('5+', { tag: 0, tagged: '5+' }),
      numPartitions: int32('5+', { default: -1 }),
      replicationFactor: int16('5+', { default: -1 }),
      configs: array(
        {
          name: string('5+'),
          value: string('5+', { nullable: '5+' }),
          readOnly: bool('5+'),
          configSource: int8('5+', { default: -1 }),
          isSensitive: bool('5+'),
        },
        '5+',
        { nullable: '5+' },
      ),
    }),
  },
});
