import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CreatePartitions, CreateTopics, Metadata } from '../../../protocol/messages/index.js';
import { produce, startHarness } from './helpers.js';

t.test('grows topics; validateOnly; errors', async (t) => {
  const { broker, client } = await startHarness(t);
  await client.send(CreateTopics, 4, {
    topics: ['grow', 'dry', 'same', 'dup'].map((name) => ({
      name,
      numPartitions: 2,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 1000,
  });

  for (const version of [0, 3]) {
    const target = version === 0 ? 3 : 5;
    const res = await client.send(CreatePartitions, version, {
      topics: [
        { name: 'grow', count: target, assignments: null },
        { name: 'same', count: 2, assignments: null },
        { name: 'missing', count: 4, assignments: null },
        { name: 'dup', count: 3, assignments: null },
        { name: 'dup', count: 4, assignments: null },
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    t.same(
      res.results.map((r) => [r.name, r.errorCode]),
      [
        ['grow', ErrorCode.NONE],
        ['same', ErrorCode.INVALID_PARTITIONS],
        ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['dup', ErrorCode.INVALID_REQUEST],
        ['dup', ErrorCode.INVALID_REQUEST],
      ],
      `v${version}`,
    );
    t.equal(broker.context.log.topic('grow')!.partitions.length, target);
  }

  // The new partitions are real: Metadata lists them and they take writes.
  const md = await client.send(Metadata, 4, { topics: [{ name: 'grow' }], allowAutoTopicCreation: false });
  t.equal(md.topics[0]!.partitions.length, 5);
  t.equal(await produce(client, 'grow', 4, 2), 0n);

  const shrink = await client.send(CreatePartitions, 1, {
    topics: [{ name: 'grow', count: 4, assignments: null }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  t.equal(shrink.results[0]!.errorCode, ErrorCode.INVALID_PARTITIONS);
  t.match(shrink.results[0]!.errorMessage, /higher than the requested 4/);

  const dry = await client.send(CreatePartitions, 2, {
    topics: [{ name: 'dry', count: 6, assignments: null }],
    timeoutMs: 1000,
    validateOnly: true,
  });
  t.equal(dry.results[0]!.errorCode, ErrorCode.NONE);
  t.equal(broker.context.log.topic('dry')!.partitions.length, 2, 'validateOnly changes nothing');
});

t.test('manual assignments name this broker, one per new partition', async (t) => {
  const { broker, client } = await startHarness(t, { nodeId: 3 });
  await client.send(CreateTopics, 4, {
    topics: [{ name: 'm', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
  });
  const send = (assignments: number[][]) =>
    client.send(CreatePartitions, 1, {
      topics: [{ name: 'm', count: 3, assignments: assignments.map((brokerIds) => ({ brokerIds })) }],
      timeoutMs: 1000,
      validateOnly: false,
    });
  t.equal((await send([[3]])).results[0]!.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'too few');
  t.equal(
    (await send([[3], [4]])).results[0]!.errorCode,
    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    'unknown broker',
  );
  t.equal(
    (await send([[3], [3, 3]])).results[0]!.errorCode,
    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    'repeated broker',
  );
  t.equal((await send([[3], [3]])).results[0]!.errorCode, ErrorCode.NONE);
  t.equal(broker.context.log.topic('m')!.partitions.length, 3);
});
