import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CreateTopics, Metadata } from '../../../protocol/messages/index.js';
import { ZERO_UUID } from '../../../protocol/primitives/reader.js';
import { ConfigSource } from '../../../src/config/topic-configs.js';
import { startHarness } from './helpers.js';

const topic = (name: string, numPartitions = 1, extra: object = {}) => ({
  name,
  numPartitions,
  replicationFactor: 1,
  assignments: [],
  configs: [],
  ...extra,
});

t.test('v0 creates a topic the Metadata API then lists', async (t) => {
  const { client } = await startHarness(t);
  const res = await client.send(CreateTopics, 0, { topics: [topic('v0-topic', 3)], timeoutMs: 1000 });
  t.equal(res.topics.length, 1);
  t.match(res.topics[0], { name: 'v0-topic', errorCode: ErrorCode.NONE });
  const md = await client.send(Metadata, 1, { topics: [{ name: 'v0-topic' }] });
  t.equal(md.topics[0]!.errorCode, ErrorCode.NONE);
  t.equal(md.topics[0]!.partitions.length, 3);
});

t.test(
  'v7 answers topic id, partitions, replication factor and effective configs with sources',
  async (t) => {
    const { broker, client } = await startHarness(t, { numPartitions: 4 });
    const res = await client.send(CreateTopics, 7, {
      topics: [
        topic('v7-topic', -1, {
          replicationFactor: -1,
          configs: [
            { name: 'retention.ms', value: ' 60000 ' },
            { name: 'cleanup.policy', value: 'compact, delete' },
            { name: 'min.insync.replicas', value: '2' },
          ],
        }),
      ],
      timeoutMs: 1000,
    });
    const r = res.topics[0]!;
    t.equal(r.errorCode, ErrorCode.NONE);
    t.equal(r.numPartitions, 4, '-1 takes num.partitions');
    t.equal(r.replicationFactor, 1);
    const created = broker.context.log.topic('v7-topic')!;
    t.equal(r.topicId, created.topicId);
    t.not(r.topicId, ZERO_UUID);
    t.same(
      created.configs,
      { 'retention.ms': '60000', 'cleanup.policy': 'compact,delete', 'min.insync.replicas': '2' },
      'stored canonical',
    );
    const configs = new Map(r.configs!.map((c) => [c.name, c]));
    t.match(configs.get('retention.ms'), {
      value: '60000',
      configSource: ConfigSource.TOPIC_CONFIG,
      readOnly: false,
      isSensitive: false,
    });
    t.match(configs.get('max.message.bytes'), {
      value: '1048588',
      configSource: ConfigSource.DEFAULT_CONFIG,
    });
    t.match(configs.get('compression.type'), {
      value: 'producer',
      configSource: ConfigSource.DEFAULT_CONFIG,
    });
    t.ok(configs.size > 20, 'every catalogue config is listed');
  },
);

t.test('a broker config that changes a default is reported as STATIC_BROKER_CONFIG', async (t) => {
  const { client } = await startHarness(t, { logRetentionMs: 1234 });
  const res = await client.send(CreateTopics, 5, { topics: [topic('static')], timeoutMs: 1000 });
  const retention = res.topics[0]!.configs!.find((c) => c.name === 'retention.ms');
  t.match(retention, { value: '1234', configSource: ConfigSource.STATIC_BROKER_CONFIG });
});

t.test('validateOnly checks everything and creates nothing', async (t) => {
  const { broker, client } = await startHarness(t);
  const res = await client.send(CreateTopics, 7, {
    topics: [
      topic('dry-run', 2, { configs: [{ name: 'retention.bytes', value: '100' }] }),
      topic('bad name!', 1),
    ],
    timeoutMs: 1000,
    validateOnly: true,
  });
  t.match(res.topics[0], {
    name: 'dry-run',
    errorCode: ErrorCode.NONE,
    numPartitions: 2,
    topicId: ZERO_UUID,
  });
  t.equal(res.topics[1]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  t.equal(broker.context.log.topic('dry-run'), undefined);
});

t.test('errors: exists, names, duplicates, partitions, replication, configs', async (t) => {
  const { client } = await startHarness(t);
  await client.send(CreateTopics, 4, { topics: [topic('exists'), topic('a.b')], timeoutMs: 1000 });
  const res = await client.send(CreateTopics, 4, {
    topics: [
      topic('exists'),
      topic('a_b'),
      topic(''),
      topic('x'.repeat(250)),
      topic('dup'),
      topic('dup'),
      topic('zero-partitions', 0),
      topic('negative-partitions', -5),
      topic('rf3', 1, { replicationFactor: 3 }),
      topic('rf0', 1, { replicationFactor: 0 }),
      topic('unknown-config', 1, { configs: [{ name: 'no.such.config', value: '1' }] }),
      topic('bad-value', 1, { configs: [{ name: 'retention.ms', value: 'soon' }] }),
      topic('bad-enum', 1, { configs: [{ name: 'message.timestamp.type', value: 'Whenever' }] }),
      topic('bad-policy', 1, { configs: [{ name: 'cleanup.policy', value: 'shred' }] }),
      topic('null-config', 1, { configs: [{ name: 'retention.ms', value: null }] }),
      topic('lag-conflict', 1, {
        configs: [
          { name: 'min.compaction.lag.ms', value: '10' },
          { name: 'max.compaction.lag.ms', value: '5' },
        ],
      }),
    ],
    timeoutMs: 1000,
  });
  const codes = Object.fromEntries(res.topics.map((r) => [r.name.slice(0, 20), r.errorCode]));
  t.same(codes, {
    exists: ErrorCode.TOPIC_ALREADY_EXISTS,
    a_b: ErrorCode.INVALID_TOPIC_EXCEPTION,
    '': ErrorCode.INVALID_TOPIC_EXCEPTION,
    xxxxxxxxxxxxxxxxxxxx: ErrorCode.INVALID_TOPIC_EXCEPTION,
    dup: ErrorCode.INVALID_REQUEST,
    'zero-partitions': ErrorCode.INVALID_PARTITIONS,
    'negative-partitions': ErrorCode.INVALID_PARTITIONS,
    rf3: ErrorCode.INVALID_REPLICATION_FACTOR,
    rf0: ErrorCode.INVALID_REPLICATION_FACTOR,
    'unknown-config': ErrorCode.INVALID_CONFIG,
    'bad-value': ErrorCode.INVALID_CONFIG,
    'bad-enum': ErrorCode.INVALID_CONFIG,
    'bad-policy': ErrorCode.INVALID_CONFIG,
    'null-config': ErrorCode.INVALID_REQUEST,
    'lag-conflict': ErrorCode.INVALID_CONFIG,
  });
  t.equal(res.topics.filter((r) => r.name === 'dup').length, 1, 'one answer per duplicated name');
  t.match(res.topics.find((r) => r.name === 'exists')!.errorMessage, /already exists/);
  t.match(
    res.topics.find((r) => r.name === 'unknown-config')!.errorMessage,
    /Unknown topic config name: no.such.config/,
  );
});

t.test('manual assignments: only this broker, contiguous partitions', async (t) => {
  const { broker, client } = await startHarness(t, { nodeId: 7 });
  const assign = (...parts: [number, number[]][]) =>
    parts.map(([partitionIndex, brokerIds]) => ({ partitionIndex, brokerIds }));
  const res = await client.send(CreateTopics, 3, {
    topics: [
      topic('manual', -1, { replicationFactor: -1, assignments: assign([0, [7]], [1, [7]], [2, [7]]) }),
      topic('other-broker', -1, { replicationFactor: -1, assignments: assign([0, [8]]) }),
      topic('twice', -1, { replicationFactor: -1, assignments: assign([0, [7, 7]]) }),
      topic('gap', -1, { replicationFactor: -1, assignments: assign([0, [7]], [2, [7]]) }),
      topic('empty', -1, { replicationFactor: -1, assignments: assign([0, []]) }),
      topic('with-count', 1, { replicationFactor: -1, assignments: assign([0, [7]]) }),
    ],
    timeoutMs: 1000,
  });
  t.same(
    res.topics.map((r) => [r.name, r.errorCode]),
    [
      ['manual', ErrorCode.NONE],
      ['other-broker', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['twice', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['gap', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['empty', ErrorCode.INVALID_REPLICA_ASSIGNMENT],
      ['with-count', ErrorCode.INVALID_REQUEST],
    ],
  );
  t.equal(broker.context.log.topic('manual')!.partitions.length, 3);
});

t.test('a request may not create more than 10000 partitions', async (t) => {
  const { broker, client } = await startHarness(t);
  const res = await client.send(CreateTopics, 7, { topics: [topic('huge', 10_001)], timeoutMs: 1000 });
  t.equal(res.topics[0]!.errorCode, ErrorCode.POLICY_VIOLATION);
  t.equal(broker.context.log.topic('huge'), undefined);
});

t.test('auto-created topics and CreateTopics agree on TOPIC_ALREADY_EXISTS', async (t) => {
  const { client } = await startHarness(t);
  await client.send(Metadata, 4, { topics: [{ name: 'auto' }], allowAutoTopicCreation: true });
  const res = await client.send(CreateTopics, 2, { topics: [topic('auto')], timeoutMs: 1000 });
  t.equal(res.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
});
