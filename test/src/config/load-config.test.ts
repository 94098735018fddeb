/**
 * loadConfig: precedence (defaults < file < env < flags), both file formats, every parser, and that
 * every error names the key, where the value came from, the value and what would be valid. Also keeps
 * docs/configuration.md in step with CONFIG_KEYS.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type BrokerConfig, DEFAULT_CONFIG } from '../../../src/config/broker-config.js';
import {
  CONFIG_KEYS,
  type ConfigInputs,
  configKey,
  envNameOf,
  loadConfig,
  suggest,
} from '../../../src/config/load-config.js';
import { StreamhouseError } from '../../../src/errors.js';

/** The assertions configError needs (works for the root and for subtests). */
type Asserts = Pick<typeof t, 'ok' | 'equal' | 'match' | 'fail'>;

const ROOT = new URL('../../../../', import.meta.url);

/** Runs loadConfig expecting SH_CONFIG_INVALID; returns the message. */
function configError(
  t: Asserts,
  inputs: ConfigInputs,
  mustMention: (string | RegExp)[],
  what?: string,
): string {
  try {
    loadConfig(inputs);
  } catch (err) {
    t.ok(err instanceof StreamhouseError, 'a StreamhouseError');
    t.equal((err as StreamhouseError).code, 'SH_CONFIG_INVALID', 'code SH_CONFIG_INVALID');
    const message = (err as Error).message;
    t.match(message, /runbooks\/broker-errors\.md#sh_config_invalid/, 'points at the runbook');
    for (const m of mustMention) t.match(message, m, `${what ?? 'message'} mentions ${String(m)}`);
    return message;
  }
  t.fail(`expected SH_CONFIG_INVALID for ${JSON.stringify(inputs)}`);
  return '';
}

const flag = (key: string, value: string, f = '--set') => ({ key, value, flag: f });

t.test('the table covers every BrokerConfig field exactly once', async (t) => {
  const fields = CONFIG_KEYS.map((k) => k.field).sort();
  t.same(fields, Object.keys(DEFAULT_CONFIG).sort());
  const keys = CONFIG_KEYS.map((k) => k.key);
  t.equal(new Set(keys).size, keys.length, 'keys are unique');
  const flags = CONFIG_KEYS.flatMap((k) => (k.flag ? [k.flag] : []));
  t.equal(new Set(flags).size, flags.length, 'flags are unique');
  for (const k of CONFIG_KEYS) {
    t.match(k.key, /^[a-z][a-z0-9]*(\.[a-z0-9]+)*$/, `${k.key} is a dotted lower-case name`);
    t.equal(k.env, envNameOf(k.key));
    t.match(k.env, /^STREAMHOUSE_[A-Z0-9_]+$/);
    if (k.flag) t.match(k.flag, /^--[a-z][a-z-]*$/);
    t.ok(k.doc.length > 5 && k.expected.length > 3, `${k.key} is described`);
    t.equal(configKey(k.key), k);
  }
  t.same(flags.sort(), [
    '--admin',
    '--advertised',
    '--data-dir',
    '--listen',
    '--log-level',
    '--metadata',
    '--object-store',
  ]);
  t.equal(envNameOf('data.dir'), 'STREAMHOUSE_DATA_DIR');
  t.equal(envNameOf('object.store'), 'STREAMHOUSE_OBJECT_STORE');
  t.equal(envNameOf('metadata'), 'STREAMHOUSE_METADATA');
});

t.test('every default survives format → parse unchanged', async (t) => {
  for (const k of CONFIG_KEYS) {
    const value = DEFAULT_CONFIG[k.field];
    t.same(k.parse(k.format(value as never)), value, `${k.key}: ${k.format(value as never)}`);
  }
});

t.test('no inputs: DEFAULT_CONFIG, everything from default', async (t) => {
  const loaded = loadConfig({});
  t.same(loaded.config, DEFAULT_CONFIG);
  t.not(loaded.config, DEFAULT_CONFIG, 'a copy, not the frozen default');
  t.equal(loaded.configFile, null);
  for (const origin of Object.values(loaded.origins)) t.same(origin, { kind: 'default' });
  t.same(loadConfig().config, DEFAULT_CONFIG);
});

t.test('precedence: file < env < flags', async (t) => {
  const dir = t.testdir({
    'broker.properties': ['listen=127.0.0.1:1001', 'num.partitions=2', 'log.level=warn', 'node.id=7'].join(
      '\n',
    ),
  });
  const file = join(dir, 'broker.properties');
  const env = { STREAMHOUSE_LISTEN: '127.0.0.1:1002', STREAMHOUSE_NUM_PARTITIONS: '4', PATH: '/bin' };
  const flags = [flag('listen', '127.0.0.1:1003', '--listen')];

  const fileOnly = loadConfig({ configFile: file });
  t.same(fileOnly.config.listen, { host: '127.0.0.1', port: 1001 });
  t.equal(fileOnly.config.numPartitions, 2);
  t.equal(fileOnly.configFile, file);
  t.same(fileOnly.origins.listen, { kind: 'file', path: file, line: 1 });

  const withEnv = loadConfig({ configFile: file, env });
  t.same(withEnv.config.listen, { host: '127.0.0.1', port: 1002 });
  t.equal(withEnv.config.numPartitions, 4);
  t.same(withEnv.origins.listen, { kind: 'env', name: 'STREAMHOUSE_LISTEN' });

  const all = loadConfig({ configFile: file, env, flags });
  t.same(all.config.listen, { host: '127.0.0.1', port: 1003 }, 'flag wins');
  t.same(all.origins.listen, { kind: 'flag', flag: '--listen' });
  t.equal(all.config.numPartitions, 4, 'env wins over file where no flag');
  t.equal(all.config.logLevel, 'warn', 'file wins over default');
  t.equal(all.config.nodeId, 7);
  t.same(all.config.admin, DEFAULT_CONFIG.admin, 'untouched keys keep their defaults');
  t.same(all.origins.admin, { kind: 'default' });

  const repeated = loadConfig({
    flags: [flag('listen', '127.0.0.1:1', '--listen'), flag('listen', '127.0.0.1:2', '--set')],
  });
  t.same(repeated.config.listen, { host: '127.0.0.1', port: 2 }, 'the last flag wins');
});

t.test('STREAMHOUSE_CONFIG names the file unless --config does', async (t) => {
  const dir = t.testdir({ 'a.properties': 'node.id=1\n', 'b.properties': 'node.id=2\n' });
  const env = { STREAMHOUSE_CONFIG: join(dir, 'a.properties') };
  t.equal(loadConfig({ env }).config.nodeId, 1);
  t.equal(loadConfig({ env, configFile: join(dir, 'b.properties') }).config.nodeId, 2);
  configError(t, { env: { STREAMHOUSE_CONFIG: join(dir, 'missing.json') } }, [
    'missing.json',
    'env STREAMHOUSE_CONFIG',
    'ENOENT',
    'expected',
  ]);
  configError(t, { configFile: join(dir, 'missing.properties') }, [
    'missing.properties',
    '--config',
    'ENOENT',
  ]);
});

t.test('properties files', async (t) => {
  const dir = t.testdir({
    'ok.properties': [
      '\uFEFF# a comment',
      '! another comment',
      '',
      '  listen = 0.0.0.0:9092  ',
      'advertised: broker.example.com:19092',
      'metadata=sqlite:///var/lib/sh/meta.db',
      'wal.fsync=false\r',
      'admin=off',
      'log.retention.ms=-1',
    ].join('\n'),
    'bad.properties': ['node.id=1', 'just some words', 'node.id=2', '=value', 'num.partitions=zero'].join(
      '\n',
    ),
  });
  const c = loadConfig({ configFile: join(dir, 'ok.properties') }).config;
  t.same(c.listen, { host: '0.0.0.0', port: 9092 });
  t.same(c.advertised, { host: 'broker.example.com', port: 19092 });
  t.equal(c.metadataUrl, 'sqlite:///var/lib/sh/meta.db', 'only the first = or : separates');
  t.equal(c.walFsync, false, 'CRLF line endings');
  t.equal(c.admin, null);
  t.equal(c.logRetentionMs, -1);

  const bad = join(dir, 'bad.properties');
  const message = configError(t, { configFile: bad }, [
    '4 configuration problems',
    `"just some words" (from config file ${bad}:2)`,
    `node.id (from config file ${bad}:3) is already set on line 1`,
    `(from config file ${bad}:4)`,
    `num.partitions=zero (from config file ${bad}:5): expected an integer`,
    'expected key=value',
  ]);
  t.notMatch(message, /node\.id=1 \(/, 'good lines are not reported');
});

t.test('JSON files', async (t) => {
  const dir = t.testdir({
    'ok.json': JSON.stringify({
      listen: '127.0.0.1:0',
      admin: null,
      'wal.fsync': false,
      'num.partitions': 3,
      'log.retention.ms': '86400000',
      'data.dir': '/var/lib/streamhouse',
    }),
    'detected.conf': '  {"node.id": 5}',
    'nested.json': JSON.stringify({ log: { retention: { ms: 1 } }, 'num.partitions': [1] }),
    'broken.json': '{"listen": ',
    'array.json': '[]',
    'types.json': JSON.stringify({
      'num.partitions': 1.5,
      listen: 9092,
      'wal.fsync': 'yes',
      'auto.create.topics.enable': null,
    }),
  });
  const c = loadConfig({ configFile: join(dir, 'ok.json') }).config;
  t.same(c.listen, { host: '127.0.0.1', port: 0 });
  t.equal(c.admin, null, 'null turns admin off');
  t.equal(c.walFsync, false);
  t.equal(c.numPartitions, 3);
  t.equal(c.logRetentionMs, 86400000, 'numbers may be strings');
  t.equal(c.dataDir, '/var/lib/streamhouse');
  t.equal(loadConfig({ configFile: join(dir, 'detected.conf') }).config.nodeId, 5, 'a leading { means JSON');

  const nested = join(dir, 'nested.json');
  configError(t, { configFile: nested }, [
    `log (from config file ${nested}) holds an object`,
    '"log.retention.ms": 604800000',
    'num.partitions (from config file',
    'holds an array',
  ]);
  configError(t, { configFile: join(dir, 'broken.json') }, [
    'broken.json is not valid JSON',
    'expected one flat object',
  ]);
  configError(t, { configFile: join(dir, 'array.json') }, ['holds an array', 'expected one flat object']);
  const types = join(dir, 'types.json');
  configError(t, { configFile: types }, [
    `num.partitions=1.5 (from config file ${types}): expected an integer`,
    'listen=9092 (from config file',
    'got number 9092; expected HOST:PORT',
    'wal.fsync=yes (from config file',
    'expected true or false',
    'auto.create.topics.enable=null',
    'null is not allowed here',
  ]);
});

t.test('environment variables', async (t) => {
  const c = loadConfig({
    env: {
      STREAMHOUSE_DATA_DIR: '/srv/sh',
      STREAMHOUSE_METADATA: 'memory://',
      STREAMHOUSE_OBJECT_STORE: 'file:///srv/objects',
      STREAMHOUSE_AUTO_CREATE_TOPICS_ENABLE: 'FALSE',
      STREAMHOUSE_ADMIN: '', // empty = unset
      STREAMHOUSE_TEST_PG_URL: 'postgres://x', // belongs to the tests, not the broker
      STREAMHOUSE_BENCH_SECONDS: '5',
      HOME: '/root',
    },
  }).config;
  t.equal(c.dataDir, '/srv/sh');
  t.equal(c.metadataUrl, 'memory://');
  t.equal(c.objectStoreUrl, 'file:///srv/objects');
  t.equal(c.autoCreateTopicsEnable, false);
  t.same(c.admin, DEFAULT_CONFIG.admin);

  configError(t, { env: { STREAMHOUSE_DATADIR: '/x' } }, [
    'unknown environment variable STREAMHOUSE_DATADIR',
    'did you mean STREAMHOUSE_DATA_DIR?',
  ]);
  configError(t, { env: { STREAMHOUSE_WHATEVER_ELSE: '1' } }, [
    'unknown environment variable STREAMHOUSE_WHATEVER_ELSE',
    'docs/configuration.md',
  ]);
  configError(t, { env: { STREAMHOUSE_LISTEN: 'localhost' } }, [
    'listen=localhost (from env STREAMHOUSE_LISTEN): expected HOST:PORT, e.g. 127.0.0.1:9092',
  ]);
});

t.test('unknown keys get a suggestion', async (t) => {
  configError(t, { flags: [flag('num.partition', '3')] }, [
    'unknown key num.partition (from --set)',
    'did you mean num.partitions?',
  ]);
  configError(t, { flags: [flag('log.retention', '3')] }, ['did you mean log.retention.ms?']);
  configError(t, { flags: [flag('zookeeper.connect', 'x')] }, [
    'unknown key zookeeper.connect',
    'docs/configuration.md',
  ]);
  configError(t, { flags: [flag('log.dirs', '/x')] }, [
    'unknown key log.dirs',
    'StreamHouse calls it data.dir',
  ]);
  configError(t, { flags: [flag('listeners', 'PLAINTEXT://:9092')] }, ['StreamHouse calls it listen']);
  // Names as DescribeConfigs reports them.
  configError(t, { flags: [flag('streamhouse.upload.target.bytes', '1')] }, [
    'without the prefix, as upload.target.bytes',
  ]);
  configError(t, { flags: [flag('streamhouse.metadata.url', 'memory://')] }, [
    'StreamHouse calls it metadata',
  ]);
  const dir = t.testdir({ 'k.properties': 'lissten=1.2.3.4:5\n' });
  configError(t, { configFile: join(dir, 'k.properties') }, [
    /unknown key lissten \(from config file .*k\.properties:1\): did you mean listen\?/,
  ]);
  t.equal(
    suggest(
      'num.partitons',
      CONFIG_KEYS.map((k) => k.key),
    ),
    'num.partitions',
  );
  t.equal(
    suggest(
      'completely.different.words',
      CONFIG_KEYS.map((k) => k.key),
    ),
    null,
  );
});

/**
 * Per key: values that parse (and to what), values that fail (and a phrase the error must contain
 * besides key, value, source and "expected").
 */
const CASES: { key: string; good: [string, unknown][]; bad: [string, string?][] }[] = [
  {
    key: 'node.id',
    good: [
      ['0', 0],
      ['42', 42],
      ['+3', 3],
    ],
    bad: [['-1', 'out of range'], ['1.5'], ['x'], ['2147483648', 'out of range'], ['']],
  },
  {
    key: 'listen',
    good: [
      ['127.0.0.1:9092', { host: '127.0.0.1', port: 9092 }],
      ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
      ['localhost:19092', { host: 'localhost', port: 19092 }],
      ['[::1]:9092', { host: '::1', port: 9092 }],
      [' broker-1.internal:1 ', { host: 'broker-1.internal', port: 1 }],
    ],
    bad: [
      ['abc'],
      ['127.0.0.1'],
      ['127.0.0.1:', 'the port is missing'],
      [':9092', 'the host is empty'],
      ['127.0.0.1:65536', 'port 65536 is out of range'],
      ['127.0.0.1:http', 'port http is not a number'],
      ['::1:9092', 'IPv6 address in brackets'],
      ['[::zz]:9092', 'not an IPv6 address'],
      ['PLAINTEXT://127.0.0.1:9092', 'drop the PLAINTEXT:// prefix'],
      ['a b:1', 'not a host name'],
    ],
  },
  {
    key: 'advertised',
    good: [
      ['kafka.example.com:9092', { host: 'kafka.example.com', port: 9092 }],
      ['', null],
    ],
    bad: [
      ['0.0.0.0:9092', 'clients cannot connect to 0.0.0.0'],
      ['host:0', 'out of range 1-65535'],
      ['host'],
    ],
  },
  {
    key: 'admin',
    good: [
      ['off', null],
      ['OFF', null],
      ['0.0.0.0:9644', { host: '0.0.0.0', port: 9644 }],
    ],
    bad: [['on'], ['9644'], ['']],
  },
  {
    key: 'data.dir',
    good: [
      ['/var/lib/streamhouse', '/var/lib/streamhouse'],
      ['./data', './data'],
    ],
    bad: [['', 'the path is empty']],
  },
  {
    key: 'metadata',
    good: [
      ['sqlite:///var/lib/sh/meta.db', 'sqlite:///var/lib/sh/meta.db'],
      ['sqlite://relative.db', 'sqlite://relative.db'],
      ['memory://', 'memory://'],
      ['postgres://db/sh', 'postgres://db/sh'],
      ['postgresql://u@db:5432/sh?schema=s1', 'postgresql://u@db:5432/sh?schema=s1'],
      ['', null],
    ],
    bad: [
      ['postgres://', 'postgres:// needs a path'],
      ['mysql://db', 'unknown scheme mysql://'],
      ['sqlite://', 'sqlite:// needs a path'],
      ['/var/lib/meta.db', 'not a URL'],
    ],
  },
  {
    key: 'object.store',
    good: [
      ['file:///var/lib/sh/objects', 'file:///var/lib/sh/objects'],
      ['memory://', 'memory://'],
      ['s3://bucket/prefix', 's3://bucket/prefix'],
      ['', null],
    ],
    bad: [
      ['s3://', 's3:// needs a path'],
      ['file://', 'file:// needs a path'],
      ['http://x', 'unknown scheme http://'],
    ],
  },
  {
    key: 'wal.fsync',
    good: [
      ['true', true],
      ['False', false],
    ],
    bad: [['yes'], ['1'], ['']],
  },
  { key: 'wal.segment.bytes', good: [['1048576', 1048576]], bad: [['1024', 'out of range'], ['64MiB']] },
  {
    key: 'socket.request.max.bytes',
    good: [['104857600', 104857600]],
    bad: [
      ['10', 'out of range'],
      ['2147483648', 'out of range'],
    ],
  },
  {
    key: 'connections.max.idle.ms',
    good: [
      ['0', 0],
      ['600000', 600000],
    ],
    bad: [
      ['-1', 'out of range'],
      ['2147483648', 'out of range'],
    ],
  },
  { key: 'max.in.flight.requests.per.connection', good: [['1', 1]], bad: [['0', 'out of range']] },
  {
    key: 'auto.create.topics.enable',
    good: [
      ['true', true],
      ['false', false],
    ],
    bad: [['no']],
  },
  { key: 'num.partitions', good: [['3', 3]], bad: [['0', 'out of range'], ['three']] },
  {
    key: 'default.replication.factor',
    good: [['1', 1]],
    bad: [
      ['0', 'out of range'],
      ['40000', 'out of range'],
    ],
  },
  {
    key: 'log.retention.ms',
    good: [
      ['-1', -1],
      ['604800000', 604800000],
    ],
    bad: [['-2', 'out of range'], ['7d']],
  },
  {
    key: 'log.retention.bytes',
    good: [
      ['-1', -1],
      ['1073741824', 1073741824],
    ],
    bad: [['-5', 'out of range']],
  },
  { key: 'message.max.bytes', good: [['1048588', 1048588]], bad: [['0', 'out of range']] },
  { key: 'log.segment.bytes', good: [['14', 14]], bad: [['13', 'out of range']] },
  {
    key: 'log.message.timestamp.type',
    good: [
      ['CreateTime', 'CreateTime'],
      ['logappendtime', 'LogAppendTime'],
    ],
    bad: [['Create']],
  },
  {
    key: 'log.cleanup.policy',
    good: [
      ['delete', 'delete'],
      ['compact', 'compact'],
      ['delete, compact', 'compact,delete'],
    ],
    bad: [['remove'], ['compact,remove']],
  },
  { key: 'upload.target.bytes', good: [['8388608', 8388608]], bad: [['0', 'out of range']] },
  {
    key: 'upload.max.age.ms',
    good: [
      ['0', 0],
      ['250', 250],
    ],
    bad: [['-1', 'out of range']],
  },
  { key: 'max.unuploaded.bytes', good: [['536870912', 536870912]], bad: [['0', 'out of range']] },
  { key: 'backpressure.timeout.ms', good: [['30000', 30000]], bad: [['99999999999', 'out of range']] },
  { key: 'hot.tail.max.bytes', good: [['0', 0]], bad: [['-1', 'out of range']] },
  { key: 'object.cache.bytes', good: [['0', 0]], bad: [['1e9']] },
  { key: 'object.disk.cache.bytes', good: [['0', 0]], bad: [['-1', 'out of range']] },
  { key: 'log.retention.check.interval.ms', good: [['1', 1]], bad: [['0', 'out of range']] },
  {
    key: 'log.cleaner.enable',
    good: [
      ['false', false],
      ['true', true],
    ],
    bad: [['maybe']],
  },
  { key: 'log.cleaner.backoff.ms', good: [['50', 50]], bad: [['0', 'out of range']] },
  {
    key: 'log.cleaner.dedupe.buffer.size',
    good: [['1048576', 1048576]],
    bad: [['1', 'out of range'], ['lots']],
  },
  { key: 'shutdown.grace.ms', good: [['0', 0]], bad: [['-1', 'out of range']] },
  { key: 'group.initial.rebalance.delay.ms', good: [['0', 0]], bad: [['-1', 'out of range']] },
  { key: 'group.min.session.timeout.ms', good: [['1000', 1000]], bad: [['0', 'out of range']] },
  { key: 'group.max.session.timeout.ms', good: [['300000', 300000]], bad: [['3000000000', 'out of range']] },
  { key: 'offsets.retention.minutes', good: [['1440', 1440]], bad: [['0', 'out of range']] },
  { key: 'producer.id.expiration.ms', good: [['60000', 60000]], bad: [['0', 'out of range']] },
  { key: 'transaction.max.timeout.ms', good: [['60000', 60000]], bad: [['0', 'out of range']] },
  {
    key: 'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    good: [['1000', 1000]],
    bad: [['0', 'out of range']],
  },
  {
    key: 'log.level',
    good: [
      ['debug', 'debug'],
      ['SILENT', 'silent'],
    ],
    bad: [['verbose']],
  },
  {
    key: 'security.protocol',
    good: [
      ['PLAINTEXT', 'PLAINTEXT'],
      ['sasl_plaintext', 'SASL_PLAINTEXT'],
    ],
    bad: [['TLS'], ['SASL']],
  },
  {
    key: 'ssl.certificate.location',
    good: [
      ['/etc/sh/server.pem', '/etc/sh/server.pem'],
      ['', null],
    ],
    bad: [],
  },
  {
    key: 'ssl.key.location',
    good: [
      ['./server.key', './server.key'],
      ['', null],
    ],
    bad: [],
  },
  {
    key: 'ssl.key.password',
    good: [
      [' s3cret with spaces ', ' s3cret with spaces '],
      ['', null],
    ],
    bad: [],
  },
  {
    key: 'ssl.ca.location',
    good: [
      ['/etc/sh/ca.pem', '/etc/sh/ca.pem'],
      ['', null],
    ],
    bad: [],
  },
  {
    key: 'ssl.client.auth',
    good: [
      // requested/required need ssl.ca.location too: see 'security keys' below.
      ['none', 'none'],
      ['None', 'none'],
    ],
    bad: [['true'], ['want']],
  },
  {
    key: 'sasl.enabled.mechanisms',
    good: [
      ['PLAIN', ['PLAIN']],
      [' scram-sha-512 , PLAIN,SCRAM-SHA-512', ['SCRAM-SHA-512', 'PLAIN']],
    ],
    bad: [
      ['GSSAPI', 'GSSAPI is not supported'],
      ['PLAIN,SCRAM-SHA-1', 'unknown mechanism SCRAM-SHA-1'],
      [',', 'the list is empty'],
    ],
  },
  {
    key: 'sasl.users.file',
    good: [
      ['/etc/sh/users.txt', '/etc/sh/users.txt'],
      ['', null],
    ],
    bad: [],
  },
  {
    key: 'connection.failed.authentication.delay.ms',
    good: [
      ['0', 0],
      ['500', 500],
    ],
    bad: [
      ['-1', 'out of range'],
      ['10001', 'out of range'],
    ],
  },
];

t.test('every parser: good values, and errors that name key, source, value and fix', async (t) => {
  t.same(CASES.map((c) => c.key).sort(), CONFIG_KEYS.map((k) => k.key).sort(), 'a case for every key');
  for (const c of CASES) {
    const spec = configKey(c.key)!;
    for (const [raw, expected] of c.good) {
      // Through a flag (string), and through the environment.
      const viaFlag = loadConfig({ flags: [flag(c.key, raw)], env: {} });
      t.same(viaFlag.config[spec.field], expected, `${c.key}=${raw}`);
      if (raw !== '')
        t.same(loadConfig({ env: { [spec.env]: raw } }).config[spec.field], expected, `${spec.env}=${raw}`);
    }
    for (const [raw, detail] of c.bad) {
      const via = spec.flag ?? '--set';
      const shown = raw === '' || /\s/.test(raw) ? JSON.stringify(raw) : raw;
      configError(
        t,
        { flags: [flag(c.key, raw, via)] },
        [`${c.key}=${shown} (from ${via}): `, `expected ${spec.expected}`, ...(detail ? [detail] : [])],
        `${c.key}=${raw}`,
      );
    }
  }
});

t.test('the message from the brief', async (t) => {
  configError(t, { flags: [flag('listen', 'abc', '--listen')] }, [
    /^SH_CONFIG_INVALID: listen=abc \(from --listen\): expected HOST:PORT, e\.g\. 127\.0\.0\.1:9092/,
  ]);
});

t.test('credentials in store URLs are not echoed', async (t) => {
  const message = configError(
    t,
    { flags: [flag('metadata', 'mysql://admin:hunter2@db:5432/sh', '--metadata')] },
    ['metadata=mysql://admin:***@db:5432/sh (from --metadata)'],
  );
  t.notMatch(message, /hunter2/);
});

t.test('checks across keys', async (t) => {
  configError(t, { flags: [flag('data.dir', 'none', '--data-dir')] }, [
    'data.dir=none (from --data-dir) leaves metadata and object.store without a place',
    'e.g. memory://',
  ]);
  configError(
    t,
    { flags: [flag('data.dir', 'none', '--data-dir'), flag('metadata', 'memory://', '--metadata')] },
    ['leaves object.store without'],
  );
  const noDisk = loadConfig({
    flags: [
      flag('data.dir', 'NONE', '--data-dir'),
      flag('metadata', 'memory://', '--metadata'),
      flag('object.store', 'memory://', '--object-store'),
    ],
  }).config;
  t.equal(noDisk.dataDir, null);

  configError(t, { env: { STREAMHOUSE_ADMIN: '127.0.0.1:9092' } }, [
    'admin=127.0.0.1:9092 (from env STREAMHOUSE_ADMIN) collides with listen=127.0.0.1:9092 (from default)',
    'expected a different port',
  ]);
  configError(
    t,
    { flags: [flag('listen', '0.0.0.0:7000', '--listen'), flag('admin', '127.0.0.1:7000', '--admin')] },
    ['collides'],
  );
  configError(t, { env: { STREAMHOUSE_GROUP_MIN_SESSION_TIMEOUT_MS: '2000000' } }, [
    'group.min.session.timeout.ms=2000000 (from env STREAMHOUSE_GROUP_MIN_SESSION_TIMEOUT_MS) is above group.max.session.timeout.ms=1800000 (from default)',
    'expected min <= max',
  ]);
  const zero = loadConfig({
    flags: [flag('listen', '127.0.0.1:0', '--listen'), flag('admin', '127.0.0.1:0', '--admin')],
  }).config;
  t.equal(zero.admin?.port, 0, 'port 0 twice is fine: each gets its own free port');
});

t.test('security keys: TLS needs a certificate and key, client auth needs a CA', async (t) => {
  configError(t, { env: { STREAMHOUSE_SECURITY_PROTOCOL: 'SSL' } }, [
    'security.protocol=SSL (from env STREAMHOUSE_SECURITY_PROTOCOL) needs ssl.certificate.location and ssl.key.location',
  ]);
  configError(
    t,
    { flags: [flag('security.protocol', 'SASL_SSL'), flag('ssl.certificate.location', '/c.pem')] },
    ['security.protocol=SASL_SSL (from --set) needs ssl.key.location'],
  );
  configError(t, { flags: [flag('ssl.client.auth', 'required')] }, [
    'ssl.client.auth=required (from --set) needs ssl.ca.location',
  ]);
  const ok = loadConfig({
    flags: [
      flag('security.protocol', 'SASL_SSL'),
      flag('ssl.certificate.location', '/c.pem'),
      flag('ssl.key.location', '/k.pem'),
      flag('sasl.enabled.mechanisms', 'SCRAM-SHA-512'),
    ],
  }).config;
  t.equal(ok.securityProtocol, 'SASL_SSL');
  t.same(ok.saslEnabledMechanisms, ['SCRAM-SHA-512']);
  t.equal(
    loadConfig({ flags: [flag('security.protocol', 'SASL_PLAINTEXT')] }).config.securityProtocol,
    'SASL_PLAINTEXT',
  );
  const mtls = loadConfig({
    flags: [flag('ssl.client.auth', 'REQUIRED'), flag('ssl.ca.location', '/ca.pem')],
  }).config;
  t.equal(mtls.sslClientAuth, 'required');
  t.equal(mtls.sslCaLocation, '/ca.pem');
  configError(t, { flags: [flag('ssl.keystore.location', '/x.jks')] }, [
    'StreamHouse calls it ssl.certificate.location and ssl.key.location (PEM files)',
  ]);
});

t.test('the key password is never echoed', async (t) => {
  const message = configError(
    t,
    { flags: [flag('ssl.key.password', 'hunter2'), flag('security.protocol', 'nope')] },
    ['security.protocol=nope'],
  );
  t.notMatch(message, /hunter2/);
  t.equal(configKey('ssl.key.password')!.format('hunter2' as never), '***');
});

t.test('all problems are reported at once', async (t) => {
  const message = configError(
    t,
    { env: { STREAMHOUSE_NUM_PARTITIONS: '0' }, flags: [flag('listen', 'x', '--listen'), flag('nope', '1')] },
    [
      '3 configuration problems',
      'num.partitions=0 (from env STREAMHOUSE_NUM_PARTITIONS)',
      'listen=x (from --listen)',
      'unknown key nope (from --set)',
    ],
  );
  t.equal(message.split('\n  - ').length, 4, 'one line per problem');
});

t.test('the result is a plain BrokerConfig that startBroker accepts', async (t) => {
  const c: BrokerConfig = loadConfig({ flags: [flag('log.level', 'silent', '--log-level')] }).config;
  t.equal(c.logLevel, 'silent');
  t.notOk(Object.isFrozen(c));
});

t.test('docs/configuration.md lists every key with its env name, flag and default', async (t) => {
  const doc = readFileSync(new URL('docs/configuration.md', ROOT), 'utf8');
  for (const k of CONFIG_KEYS) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${k.key}\` |`));
    if (row === undefined) {
      t.fail(`docs/configuration.md has no table row for ${k.key}`);
      continue;
    }
    t.ok(row.includes(`\`${k.env}\``), `${k.key} row names ${k.env}`);
    if (k.flag) t.ok(row.includes(`\`${k.flag}\``), `${k.key} row names ${k.flag}`);
    const def = k.format(DEFAULT_CONFIG[k.field] as never);
    if (def !== '') t.ok(row.includes(`\`${def}\``), `${k.key} row shows the default ${def}`);
  }
});
