// AddPartitionsToTxn (key 24), versions 0-5, flexible 3+. v0-3 (clients) carry one transaction in
// the v3AndBelow* fields; v4+ (broker-to-broker) batch many transactions, add verifyOnly and a
// top-level error code; v5 may answer TRANSACTION_ABORTABLE (KIP-890).
import { array, bool, defineApi, int16, int32, int64, string } from '../schema/schema.js';

const AddPartitionsToTxnTopic = {
  name: string(),
  partitions: array('int32'),
};

const AddPartitionsToTxnPartitionResult = {
  partitionIndex: int32(),
  partitionErrorCode: int16(),
};

const AddPartitionsToTxnTopicResult = {
  name: string(),
  resultsByPartition: array(AddPartitionsToTxnPartitionResult),
};

export const AddPartitionsToTxn = defineApi({
  apiKey: 24,
  name: 'AddPartitionsToTxn',
  versions: '0-5',
  flexible: '3+',
  request: {
    transactions: array(
      {
        transactionalId: string('4+'),
        producerId: int64('4+'),
        producerEpoch: int16('4+'),
        verifyOnly: bool('4+', { default: false }),
        topics: array(AddPartitionsToTxnTopic, '4+'),
      },
      '4+',
    ),
    v3AndBelowTransactionalId: string('0-3'),
    v3AndBelowProducerId: int64('0-3'),
    v3AndBelowProducerEpoch: int16('0-3'),
    v3AndBelowTopics: array(AddPartitionsToTxnTopic, '0-3'),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16('4+'),
    resultsByTransaction: array(
      {
        transactionalId: string('4+'),
        topicResults: array(AddPartitionsToTxnTopicResult, '4+'),
      },
      '4+',
    ),
    resultsByTopicV3AndBelow: array(AddPartitionsToTxnTopicResult, '0-3'),
  },
});
