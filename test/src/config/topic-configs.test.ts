import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { topicConfigDefaults } from '../../../src/broker/topic-defaults.js';
import { DEFAULT_CONFIG } from '../../../src/config/broker-config.js';
import { describeBrokerConfigs, reportedBrokerConfigFields } from '../../../src/config/broker-configs.js';
import {
  ConfigSource,
  checkTopicConfig,
  describeTopicConfigs,
  TOPIC_CONFIGS,
  topicConfigDefault,
  validateTopicConfigs,
} from '../../../src/config/topic-configs.js';

t.test('catalogue shape', async (t) => {
  const honoured = [...TOPIC_CONFIGS.values()].filter((d) => d.honoured).map((d) => d.name);
  t.same(honoured.sort(), [
    'cleanup.policy',
    'delete.retention.ms',
    'max.message.bytes',
    'message.timestamp.type',
    'min.cleanable.dirty.ratio',
    'min.compaction.lag.ms',
    'retention.bytes',
    'retention.ms',
    'segment.bytes',
  ]);
  for (const d of TOPIC_CONFIGS.values()) {
    t.ok(d.doc.length > 10, `${d.name} has a doc`);
    if (d.kafkaDefault !== null)
      t.ok(d.parse(d.kafkaDefault).ok, `${d.name} default ${d.kafkaDefault} is valid`);
  }
  for (const [name, value] of Object.entries(topicConfigDefaults(DEFAULT_CONFIG))) {
    t.ok(TOPIC_CONFIGS.has(name), `broker default ${name} is catalogued`);
    t.ok(TOPIC_CONFIGS.get(name)!.parse(value).ok, `broker default ${name}=${value} is valid`);
    t.ok(TOPIC_CONFIGS.get(name)!.honoured, `${name} has a broker default and is honoured`);
  }
  t.match(TOPIC_CONFIGS.get('cleanup.policy')!.doc, /last record of each key/);
});

t.test('values are validated and made canonical', async (t) => {
  const valid: [string, string, string][] = [
    ['retention.ms', ' 1000 ', '1000'],
    ['retention.ms', '-1', '-1'],
    ['retention.bytes', '-1', '-1'],
    ['flush.messages', '9223372036854775807', '9223372036854775807'],
    ['cleanup.policy', 'compact , delete', 'compact,delete'],
    ['cleanup.policy', 'delete,delete', 'delete'],
    ['preallocate', 'TRUE', 'true'],
    ['min.cleanable.dirty.ratio', '0.25', '0.25'],
    ['message.timestamp.type', 'LogAppendTime', 'LogAppendTime'],
    ['leader.replication.throttled.replicas', '0:1, 1:1', '0:1,1:1'],
    ['leader.replication.throttled.replicas', '*', '*'],
    ['compression.gzip.level', '-1', '-1'],
    ['message.format.version', '2.8-IV1', '2.8-IV1'],
  ];
  for (const [name, value, canonical] of valid)
    t.same(checkTopicConfig(name, value), { value: canonical }, `${name}=${value}`);
  const invalid: [string, string][] = [
    ['retention.ms', '-2'],
    ['retention.ms', '1.5'],
    ['retention.ms', ''],
    ['flush.messages', '9223372036854775808'],
    ['max.message.bytes', '2147483648'],
    ['segment.bytes', '10'],
    ['cleanup.policy', ''],
    ['cleanup.policy', 'Delete'],
    ['message.timestamp.type', 'createtime'],
    ['compression.type', 'brotli'],
    ['compression.gzip.level', '0'],
    ['preallocate', 'yes'],
    ['min.cleanable.dirty.ratio', '2'],
    ['leader.replication.throttled.replicas', '0-1'],
    ['no.such.config', '1'],
  ];
  for (const [name, value] of invalid) {
    t.match(
      checkTopicConfig(name, value),
      { errorCode: ErrorCode.INVALID_CONFIG },
      `${name}=${JSON.stringify(value)}`,
    );
  }
  t.match(
    validateTopicConfigs({ 'min.compaction.lag.ms': '100', 'max.compaction.lag.ms': '10' }, DEFAULT_CONFIG),
    { errorCode: ErrorCode.INVALID_CONFIG },
  );
  t.same(validateTopicConfigs({ 'retention.ms': '05' }, DEFAULT_CONFIG), {
    configs: { 'retention.ms': '5' },
  });
});

t.test('effective values and sources', async (t) => {
  const config = { ...DEFAULT_CONFIG, logRetentionMs: 99, messageMaxBytes: DEFAULT_CONFIG.messageMaxBytes };
  t.same(topicConfigDefault('retention.ms', config), {
    value: '99',
    source: ConfigSource.STATIC_BROKER_CONFIG,
  });
  t.same(topicConfigDefault('max.message.bytes', config), {
    value: '1048588',
    source: ConfigSource.DEFAULT_CONFIG,
  });
  t.same(topicConfigDefault('min.insync.replicas', config), {
    value: '1',
    source: ConfigSource.DEFAULT_CONFIG,
  });
  const views = new Map(describeTopicConfigs({ 'retention.ms': '5' }, config).map((v) => [v.name, v]));
  t.equal(views.size, TOPIC_CONFIGS.size);
  t.same(views.get('retention.ms')!.synonyms, [
    { name: 'retention.ms', value: '5', source: ConfigSource.TOPIC_CONFIG },
    { name: 'log.retention.ms', value: '99', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.ms', value: '604800000', source: ConfigSource.DEFAULT_CONFIG },
  ]);
  t.same(views.get('remote.storage.enable')!.synonyms, [], 'no broker synonym');
});

t.test('broker catalogue', async (t) => {
  const views = describeBrokerConfigs({ ...DEFAULT_CONFIG, numPartitions: 6 }, { host: 'h', port: 1 });
  const names = views.map((v) => v.name);
  t.same(names, [...names].sort(), 'alphabetical');
  t.equal(new Set(names).size, names.length, 'no duplicates');
  t.ok(views.every((v) => v.readOnly));
  const byName = new Map(views.map((v) => [v.name, v]));
  t.match(byName.get('num.partitions'), { value: '6', source: ConfigSource.STATIC_BROKER_CONFIG });
  t.match(byName.get('advertised.listeners'), { value: 'PLAINTEXT://h:1' });
  t.match(byName.get('log.roll.ms'), { value: '604800000', source: ConfigSource.DEFAULT_CONFIG });
  t.match(byName.get('streamhouse.object.store.url'), { value: null, sensitive: true });
  const reported = reportedBrokerConfigFields();
  for (const field of Object.keys(DEFAULT_CONFIG))
    t.ok(reported.has(field as keyof typeof DEFAULT_CONFIG), `BrokerConfig.${field} is reported`);
});
