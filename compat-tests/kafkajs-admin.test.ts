// kafkajs 2.2.4 admin client against a StreamHouse broker process: CreateTopics (configs,
// validateOnly, already-exists, invalid config), CreatePartitions (grow, validateOnly, shrink),
// DescribeConfigs (topic and broker) and AlterConfigs (topic replace; broker refused), ListOffsets
// through fetchTopicOffsets / fetchTopicOffsetsByTimestamp after producing, DeleteRecords through
// deleteTopicRecords, and DeleteTopics — each checked by what the client observes afterwards
// (listTopics, fetchTopicMetadata, offsets).
// The broker runs with auto-creation off, so a Metadata request can never create a topic behind
// the test's back (kafkajs asks for metadata with allowAutoTopicCreation=true).
import kafkajs from 'kafkajs';
import t from 'tap';
import { spawnBroker, teardownBroker } from './support/broker-process.js';

const { Kafka, logLevel, ConfigResourceTypes, ConfigSource } = kafkajs;

t.setTimeout(120_000);

const broker = await spawnBroker({ config: { autoCreateTopicsEnable: false, nodeId: 0 } });
t.teardown(teardownBroker(broker));
const kafka = new Kafka({
  clientId: 'compat-kafkajs-admin',
  brokers: [broker.bootstrap],
  logLevel: logLevel.NOTHING,
  retry: { retries: 2, initialRetryTime: 100 },
});
const admin = kafka.admin();
await admin.connect();
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
t.teardown(async () => {
  await producer.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
});

const TOPIC = 'kafkajs-admin';

/** The error type names inside a kafkajs rejection (aggregate or single). */
async function errorTypes(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    const err = e as { type?: string; errors?: { type?: string }[] };
    if (Array.isArray(err.errors)) return err.errors.map((x) => x.type ?? 'unknown');
    return [err.type ?? String(e)];
  }
  return [];
}

async function topicConfig(name: string) {
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name }],
  });
  return new Map(res.resources[0]!.configEntries.map((c) => [c.configName, c]));
}

t.test('createTopics with configs, validateOnly, existing and invalid topics', async (t) => {
  const created = await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        numPartitions: 3,
        replicationFactor: 1,
        configEntries: [
          { name: 'retention.ms', value: '3600000' },
          { name: 'cleanup.policy', value: 'delete' },
        ],
      },
    ],
  });
  t.equal(created, true);
  t.ok((await admin.listTopics()).includes(TOPIC));
  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
  t.equal(md.topics[0]!.partitions.length, 3);
  t.ok(md.topics[0]!.partitions.every((p) => p.leader === 0 && p.replicas.length === 1));

  t.equal(
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] }),
    false,
    'already exists',
  );

  const dry = await admin.createTopics({
    validateOnly: true,
    waitForLeaders: false,
    topics: [{ topic: 'kafkajs-admin-dry-run', numPartitions: 2 }],
  });
  t.equal(dry, true);
  t.notOk((await admin.listTopics()).includes('kafkajs-admin-dry-run'), 'validateOnly created nothing');

  t.same(
    await errorTypes(
      admin.createTopics({
        topics: [{ topic: 'kafkajs-bad-config', configEntries: [{ name: 'retention.ms', value: 'later' }] }],
      }),
    ),
    ['INVALID_CONFIG'],
  );
  t.same(await errorTypes(admin.createTopics({ topics: [{ topic: 'kafkajs-rf3', replicationFactor: 3 }] })), [
    'INVALID_REPLICATION_FACTOR',
  ]);
  t.notOk((await admin.listTopics()).includes('kafkajs-bad-config'));
});

t.test('createPartitions grows the topic; validateOnly and shrinking do not', async (t) => {
  await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 5 }] });
  t.equal((await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.length, 5);
  await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic: TOPIC, count: 8 }] });
  t.equal((await admin.fetchTopicMetadata({ topics: [TOPIC] })).topics[0]!.partitions.length, 5);
  t.same(await errorTypes(admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 2 }] })), [
    'INVALID_PARTITIONS',
  ]);
});

t.test('describeConfigs for the topic and the broker; alterConfigs', async (t) => {
  let configs = await topicConfig(TOPIC);
  t.match(configs.get('retention.ms'), {
    configValue: '3600000',
    configSource: ConfigSource.TOPIC_CONFIG,
    isDefault: false,
  });
  t.match(configs.get('cleanup.policy'), { configValue: 'delete', configSource: ConfigSource.TOPIC_CONFIG });
  t.match(configs.get('max.message.bytes'), {
    configValue: '1048588',
    configSource: ConfigSource.DEFAULT_CONFIG,
  });

  const brokerConfigs = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [
      {
        type: ConfigResourceTypes.BROKER,
        name: '0',
        configNames: ['auto.create.topics.enable', 'num.partitions'],
      },
    ],
  });
  const entries = brokerConfigs.resources[0]!.configEntries;
  t.same(
    entries.map((e) => [e.configName, e.configValue, e.readOnly]),
    [
      ['auto.create.topics.enable', 'false', true],
      ['num.partitions', '1', true],
    ],
  );
  t.equal(
    entries[0]!.configSource,
    ConfigSource.STATIC_BROKER_CONFIG,
    'changed from the default by the broker config',
  );

  // Legacy AlterConfigs replaces the whole override set: cleanup.policy goes back to its default.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: TOPIC,
        configEntries: [{ name: 'retention.ms', value: '7200000' }],
      },
    ],
  });
  configs = await topicConfig(TOPIC);
  t.match(configs.get('retention.ms'), { configValue: '7200000', configSource: ConfigSource.TOPIC_CONFIG });
  t.match(configs.get('cleanup.policy'), {
    configValue: 'delete',
    configSource: ConfigSource.DEFAULT_CONFIG,
  });

  await admin.alterConfigs({
    validateOnly: true,
    resources: [
      { type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.ms', value: '1' }] },
    ],
  });
  t.match(
    (await topicConfig(TOPIC)).get('retention.ms'),
    { configValue: '7200000' },
    'validateOnly changed nothing',
  );

  t.same(
    await errorTypes(
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.BROKER,
            name: '0',
            configEntries: [{ name: 'num.partitions', value: '4' }],
          },
        ],
      }),
    ),
    ['INVALID_REQUEST'],
    'broker configs are read-only',
  );
  t.same(
    await errorTypes(
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: TOPIC,
            configEntries: [{ name: 'no.such.config', value: '1' }],
          },
        ],
      }),
    ),
    ['INVALID_CONFIG'],
  );
});

t.test('offsets after produce, by timestamp, and deleteTopicRecords', async (t) => {
  const t0 = Date.now() - 60_000;
  await producer.send({
    topic: TOPIC,
    messages: Array.from({ length: 10 }, (_, i) => ({
      partition: 0,
      value: `m${i}`,
      timestamp: String(t0 + i * 1000),
    })),
  });
  await producer.send({
    topic: TOPIC,
    messages: [{ partition: 4, value: 'new partition', timestamp: String(t0) }],
  });

  const offsets = new Map((await admin.fetchTopicOffsets(TOPIC)).map((o) => [o.partition, o]));
  t.match(offsets.get(0), { high: '10', low: '0' });
  t.match(offsets.get(4), { high: '1', low: '0' });
  t.match(offsets.get(2), { high: '0', low: '0' });

  const byTime = new Map(
    (await admin.fetchTopicOffsetsByTimestamp(TOPIC, t0 + 5000)).map((o) => [o.partition, o.offset]),
  );
  t.equal(byTime.get(0), '5', 'first record at or after the timestamp');
  t.equal(byTime.get(4), '1', 'nothing that late: the high watermark');
  t.equal(byTime.get(1), '0');

  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '4' }] });
  t.match(new Map((await admin.fetchTopicOffsets(TOPIC)).map((o) => [o.partition, o])).get(0), {
    high: '10',
    low: '4',
  });
  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '-1' }] });
  t.match(new Map((await admin.fetchTopicOffsets(TOPIC)).map((o) => [o.partition, o])).get(0), {
    high: '10',
    low: '10',
  });

  const beyond = await errorTypes(
    admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 4, offset: '5' }] }),
  );
  t.ok(beyond.length > 0, `deleting beyond the high watermark fails (${beyond.join(', ')})`);
});

t.test('deleteTopics', async (t) => {
  await admin.deleteTopics({ topics: [TOPIC] });
  t.notOk((await admin.listTopics()).includes(TOPIC));
  t.ok((await errorTypes(admin.deleteTopics({ topics: ['kafkajs-never-existed'] }))).length > 0);
});
