import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CreateTopics, DescribeTopicPartitions } from '../../../protocol/messages/index.js';
import { ZERO_UUID } from '../../../protocol/primitives/reader.js';
import type { ResponseOf } from '../../../protocol/schema/schema.js';
import type { KafkaTestClient } from '../../support/kafka-client.js';
import { startHarness } from './helpers.js';

async function create(client: KafkaTestClient, topics: [string, number][]) {
  await client.send(CreateTopics, 4, {
    topics: topics.map(([name, numPartitions]) => ({
      name,
      numPartitions,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 1000,
  });
}

type Response = ResponseOf<typeof DescribeTopicPartitions>;

const summary = (res: Response) =>
  res.topics.map((x) => [x.name, x.errorCode, x.partitions.map((p) => p.partitionIndex)]);

t.test('by name, sorted, with partition details', async (t) => {
  const { broker, client } = await startHarness(t, { nodeId: 4 });
  await create(client, [
    ['b', 2],
    ['a', 1],
  ]);
  const res = await client.send(DescribeTopicPartitions, 0, {
    topics: [{ name: 'b' }, { name: 'zz-missing' }, { name: 'a' }, { name: 'bad/name' }],
    responsePartitionLimit: 100,
    cursor: null,
  });
  t.same(summary(res), [
    ['a', ErrorCode.NONE, [0]],
    ['b', ErrorCode.NONE, [0, 1]],
    ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION, []],
    ['zz-missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []],
  ]);
  t.equal(res.nextCursor, null);
  const b = res.topics[1]!;
  t.equal(b.topicId, broker.context.log.topic('b')!.topicId);
  t.equal(res.topics[3]!.topicId, ZERO_UUID);
  t.same(b.partitions[1], {
    errorCode: 0,
    partitionIndex: 1,
    leaderId: 4,
    leaderEpoch: 0,
    replicaNodes: [4],
    isrNodes: [4],
    eligibleLeaderReplicas: [],
    lastKnownElr: [],
    offlineReplicas: [],
  });
  t.equal(b.topicAuthorizedOperations, 3576, 'every topic operation');
});

t.test('all topics, paged by responsePartitionLimit with a cursor', async (t) => {
  const { client } = await startHarness(t);
  await create(client, [
    ['t1', 3],
    ['t2', 2],
    ['t3', 1],
  ]);
  const page = (limit: number, cursor: { topicName: string; partitionIndex: number } | null) =>
    client.send(DescribeTopicPartitions, 0, { topics: [], responsePartitionLimit: limit, cursor });

  const first = await page(2, null);
  t.same(summary(first), [['t1', 0, [0, 1]]]);
  t.same(first.nextCursor, { topicName: 't1', partitionIndex: 2 });
  const second = await page(3, first.nextCursor);
  t.same(summary(second), [
    ['t1', 0, [2]],
    ['t2', 0, [0, 1]],
  ]);
  t.same(
    second.nextCursor,
    { topicName: 't3', partitionIndex: 0 },
    'the page ended exactly at a topic boundary',
  );
  const third = await page(3, second.nextCursor);
  t.same(summary(third), [['t3', 0, [0]]]);
  t.equal(third.nextCursor, null);
});

t.test('the cursor topic must be among the requested topics', async (t) => {
  const { client } = await startHarness(t);
  await create(client, [['only', 1]]);
  const res = await client.send(DescribeTopicPartitions, 0, {
    topics: [{ name: 'only' }],
    responsePartitionLimit: 10,
    cursor: { topicName: 'other', partitionIndex: 0 },
  });
  t.same(summary(res), [['only', ErrorCode.INVALID_REQUEST, []]]);
});
