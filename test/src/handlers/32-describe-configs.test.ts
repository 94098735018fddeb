import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CreateTopics, DescribeConfigs } from '../../../protocol/messages/index.js';
import {
  CONFIG_TYPE_ID,
  ConfigResourceType,
  ConfigSource,
  TOPIC_CONFIGS,
} from '../../../src/config/topic-configs.js';
import { startHarness } from './helpers.js';

const TOPIC = ConfigResourceType.TOPIC;
const BROKER = ConfigResourceType.BROKER;

async function setup(
  t: Parameters<typeof startHarness>[0],
  options: Parameters<typeof startHarness>[1] = {},
) {
  const h = await startHarness(t, options);
  const res = await h.client.send(CreateTopics, 4, {
    topics: [
      {
        name: 'cfg',
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [
          { name: 'retention.ms', value: '3600000' },
          { name: 'compression.type', value: 'zstd' },
        ],
      },
    ],
    timeoutMs: 1000,
  });
  t.equal(res.topics[0]!.errorCode, 0);
  return h;
}

t.test('v1 topic: every config, sources, synonyms on request', async (t) => {
  const { client } = await setup(t, { logRetentionBytes: 5_000_000 });
  const plain = await client.send(DescribeConfigs, 1, {
    resources: [{ resourceType: TOPIC, resourceName: 'cfg', configurationKeys: null }],
    includeSynonyms: false,
  });
  const r = plain.results[0]!;
  t.match(r, { errorCode: ErrorCode.NONE, resourceType: TOPIC, resourceName: 'cfg' });
  t.equal(r.configs.length, TOPIC_CONFIGS.size);
  const byName = new Map(r.configs.map((c) => [c.name, c]));
  t.match(byName.get('retention.ms'), {
    value: '3600000',
    configSource: ConfigSource.TOPIC_CONFIG,
    readOnly: false,
    synonyms: [],
  });
  t.match(byName.get('compression.type'), { value: 'zstd', configSource: ConfigSource.TOPIC_CONFIG });
  t.match(byName.get('retention.bytes'), {
    value: '5000000',
    configSource: ConfigSource.STATIC_BROKER_CONFIG,
  });
  t.match(byName.get('segment.ms'), { value: '604800000', configSource: ConfigSource.DEFAULT_CONFIG });
  t.match(byName.get('remote.storage.enable'), { value: 'false', configSource: ConfigSource.DEFAULT_CONFIG });

  const withSynonyms = await client.send(DescribeConfigs, 1, {
    resources: [
      {
        resourceType: TOPIC,
        resourceName: 'cfg',
        configurationKeys: ['retention.ms', 'retention.bytes', 'no.such'],
      },
    ],
    includeSynonyms: true,
  });
  const configs = withSynonyms.results[0]!.configs;
  t.same(
    configs.map((c) => c.name),
    ['retention.bytes', 'retention.ms'],
    'configurationKeys filters; unknown keys are skipped',
  );
  t.same(configs.find((c) => c.name === 'retention.ms')!.synonyms, [
    { name: 'retention.ms', value: '3600000', source: ConfigSource.TOPIC_CONFIG },
    { name: 'log.retention.ms', value: '604800000', source: ConfigSource.DEFAULT_CONFIG },
  ]);
  t.same(configs.find((c) => c.name === 'retention.bytes')!.synonyms, [
    { name: 'log.retention.bytes', value: '5000000', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.bytes', value: '-1', source: ConfigSource.DEFAULT_CONFIG },
  ]);
});

t.test('v0 reports isDefault', async (t) => {
  const { client } = await setup(t);
  const res = await client.send(DescribeConfigs, 0, {
    resources: [
      { resourceType: TOPIC, resourceName: 'cfg', configurationKeys: ['retention.ms', 'segment.bytes'] },
    ],
  });
  t.same(
    res.results[0]!.configs.map((c) => [c.name, c.isDefault, c.readOnly, c.isSensitive]),
    [
      ['retention.ms', false, false, false],
      ['segment.bytes', true, false, false],
    ],
  );
});

t.test('v3/v4: configType always, documentation when asked', async (t) => {
  const { client } = await setup(t);
  for (const version of [3, 4]) {
    const ask = (includeDocumentation: boolean) =>
      client.send(DescribeConfigs, version, {
        resources: [
          {
            resourceType: TOPIC,
            resourceName: 'cfg',
            configurationKeys: ['cleanup.policy', 'max.message.bytes', 'preallocate'],
          },
        ],
        includeSynonyms: false,
        includeDocumentation,
      });
    const without = (await ask(false)).results[0]!.configs;
    t.same(
      without.map((c) => [c.name, c.configType, c.documentation]),
      [
        ['cleanup.policy', CONFIG_TYPE_ID.list, null],
        ['max.message.bytes', CONFIG_TYPE_ID.int, null],
        ['preallocate', CONFIG_TYPE_ID.boolean, null],
      ],
      `v${version} without documentation`,
    );
    const withDocs = (await ask(true)).results[0]!.configs;
    t.match(
      withDocs[0]!.documentation,
      /keeps the last record of each key/,
      'cleanup.policy documents what compaction keeps',
    );
    t.ok(withDocs.every((c) => typeof c.documentation === 'string' && c.documentation.length > 0));
  }
});

t.test('broker resource: node id, empty name, wrong id', async (t) => {
  const { broker, client } = await setup(t, { nodeId: 5, numPartitions: 3 });
  const res = await client.send(DescribeConfigs, 4, {
    resources: [
      { resourceType: BROKER, resourceName: '5', configurationKeys: null },
      { resourceType: BROKER, resourceName: '', configurationKeys: null },
      { resourceType: BROKER, resourceName: '6', configurationKeys: null },
      { resourceType: BROKER, resourceName: 'five', configurationKeys: null },
      { resourceType: 8, resourceName: '5', configurationKeys: null },
    ],
    includeSynonyms: true,
    includeDocumentation: true,
  });
  const [mine, cluster, other, notANumber, loggers] = res.results;
  t.equal(mine!.errorCode, ErrorCode.NONE);
  const byName = new Map(mine!.configs.map((c) => [c.name, c]));
  for (const name of [
    'num.partitions',
    'auto.create.topics.enable',
    'log.retention.ms',
    'message.max.bytes',
    'socket.request.max.bytes',
    'connections.max.idle.ms',
    'default.replication.factor',
    'min.insync.replicas',
    'streamhouse.upload.target.bytes',
  ]) {
    t.ok(byName.has(name), name);
  }
  t.match(byName.get('num.partitions'), {
    value: '3',
    configSource: ConfigSource.STATIC_BROKER_CONFIG,
    readOnly: true,
  });
  t.match(byName.get('auto.create.topics.enable'), {
    value: 'true',
    configSource: ConfigSource.DEFAULT_CONFIG,
    readOnly: true,
  });
  t.match(byName.get('node.id'), { value: '5', configType: CONFIG_TYPE_ID.int });
  t.match(byName.get('advertised.listeners'), { value: `PLAINTEXT://${broker.bootstrap}` });
  t.match(byName.get('streamhouse.metadata.url'), { value: null, isSensitive: true });
  t.ok(mine!.configs.every((c) => c.readOnly && typeof c.documentation === 'string'));
  t.same(cluster, { ...cluster, errorCode: ErrorCode.NONE, configs: [] }, 'no dynamic cluster-wide defaults');
  t.equal(other!.errorCode, ErrorCode.INVALID_REQUEST);
  t.equal(notANumber!.errorCode, ErrorCode.INVALID_REQUEST);
  t.equal(loggers!.errorCode, ErrorCode.INVALID_REQUEST);
});

t.test('topic errors: unknown and invalid names', async (t) => {
  const { client } = await setup(t);
  const res = await client.send(DescribeConfigs, 2, {
    resources: [
      { resourceType: TOPIC, resourceName: 'nope', configurationKeys: null },
      { resourceType: TOPIC, resourceName: 'bad/name', configurationKeys: null },
      { resourceType: TOPIC, resourceName: 'cfg', configurationKeys: ['retention.ms'] },
    ],
    includeSynonyms: false,
  });
  t.same(
    res.results.map((r) => [r.resourceName, r.errorCode, r.configs.length]),
    [
      ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0],
      ['bad/name', ErrorCode.INVALID_TOPIC_EXCEPTION, 0],
      ['cfg', ErrorCode.NONE, 1],
    ],
  );
});
