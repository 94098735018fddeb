// Fetch (key 1), versions 0-17, flexible 12+: v4+ isolation level and aborted transactions, v7+ fetch sessions (KIP-227), v13+ topic ids replace names, v15+ replica state moves into a tagged struct, v16+ tagged leader endpoints, v17+ tagged directory id.
import {
  array,
  defineApi,
  int8,
  int16,
  int32,
  int64,
  records,
  string,
  struct,
  uuid,
} from '../schema/schema.js';

export const Fetch = defineApi({
  apiKey: 1,
  name: 'Fetch',
  versions: '0-17',
  flexible: '12+',
  request: {
    clusterId: string('12+', { nullable: '12+', default: null, tag: 0, tagged: '12+' }),
    replicaId: int32('0-14', { default: -1 }),
    replicaState: struct(
      {
        replicaId: int32('15+', { default: -1 }),
        replicaEpoch: int64('15+', { default: -1n }),
      },
      '15+',
      { tag: 1, tagged: '15+' },
    ),
    maxWaitMs: int32(),
    minBytes: int32(),
    maxBytes: int32('3+', { default: 2147483647 }),
    isolationLevel: int8('4+', { default: 0 }),
    sessionId: int32('7+', { default: 0 }),
    sessionEpoch: int32('7+', { default: -1 }),
    topics: array({
      topic: string('0-12'),
      topicId: uuid('13+'),
      partitions: array({
        partition: int32(),
        currentLeaderEpoch: int32('9+', { default: -1 }),
        fetchOffset: int64(),
        lastFetchedEpoch: int32('12+', { default: -1 }),
        logStartOffset: int64('5+', { default: -1n }),
        partitionMaxBytes: int32(),
        replicaDirectoryId: uuid('17+', { tag: 0, tagged: '17+' }),
      }),
    }),
    forgottenTopicsData: array(
      {
        topic: string('7-12'),
        topicId: uuid('13+'),
        partitions: array('int32', '7+'),
      },
      '7+',
    ),
    rackId: string('11+', { default: '' }),
  },
  response: {
    throttleTimeMs: int32('1+'),
    errorCode: int16('7+'),
    sessionId: int32('7+', { default: 0 }),
    responses: array({
      topic: string('0-12'),
      topicId: uuid('13+'),
      partitions: array({
        partitionIndex: int32(),
        errorCode: int16(),
        highWatermark: int64(),
        lastStableOffset: int64('4+', { default: -1n }),
        logStartOffset: int64('5+', { default: -1n }),
        divergingEpoch: struct(
          {
            epoch: int32('12+', { default: -1 }),
            endOffset: int64('12+', { default: -1n }),
          },
          '12+',
          { tag: 0, tagged: '12+' },
        ),
        currentLeader: struct(
          {
            leaderId: int32('12+', { default: -1 }),
            leaderEpoch: int32('12+', { default: -1 }),
          },
          '12+',
          { tag: 1, tagged: '12+' },
        ),
        snapshotId: struct(
          {
            endOffset: int64('0+', { default: -1n }),
            epoch: int32('0+', { default: -1 }),
          },
          '12+',
          { tag: 2, tagged: '12+' },
        ),
        abortedTransactions: array(
          {
            producerId: int64('4+'),
            firstOffset: int64('4+'),
          },
          '4+',
          { nullable: '4+' },
        ),
        preferredReadReplica: int32('11+', { default: -1 }),
        records: records('0+', { nullable: '0+' }),
      }),
    }),
    nodeEndpoints: array(
      {
        nodeId: int32('16+'),
        host: string('16+'),
        port: int32('16+'),
        rack: string('16+', { nullable: '16+', default: null }),
      },
      '16+',
      { tag: 0, tagged: '16+' },
    ),
  },
});
