/**
 * loadConfig: the BrokerConfig a `streamhouse start` runs with, built from (later wins)
 *
 *   DEFAULT_CONFIG  <  config file (--config FILE or STREAMHOUSE_CONFIG)  <  STREAMHOUSE_* env  <  flags
 *
 * CONFIG_KEYS is the one table of external names: per BrokerConfig field its key (Kafka's dotted name
 * where Kafka has one), its environment variable (STREAMHOUSE_ + key upper-cased, dots → `_`), its
 * dedicated CLI flag if any (every key also takes `--set KEY=VALUE`), its parser and what a valid value
 * looks like. docs/configuration.md documents the same table; a test keeps the two in step.
 *
 * Invariants: every BrokerConfig field has exactly one entry; defaults come only from DEFAULT_CONFIG;
 * every problem (bad value, unknown key or variable, unreadable file) is collected and reported at once
 * as one StreamhouseError('SH_CONFIG_INVALID') whose lines each name the key, where the value came from,
 * the value, and what would be valid. Nothing here touches the network or the data directory.
 *
 * File formats: `*.json` (or any file whose first non-blank character is `{`) is one flat JSON object
 * keyed by the dotted names; anything else is Java-properties style: `key=value` or `key: value` lines,
 * `#`/`!` comments, values taken literally (no escapes or line continuations). Relative paths are
 * relative to the working directory, wherever they are written, as in Kafka.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { extname, resolve } from 'node:path';
import { StreamhouseError } from '../errors.js';
import {
  type BrokerConfig,
  DEFAULT_CONFIG,
  type HostPort,
  SASL_MECHANISMS,
  type SaslMechanism,
  SECURITY_PROTOCOLS,
} from './broker-config.js';

/** A value as written: strings from properties files, env and flags; any JSON scalar from JSON files. */
export type RawValue = string | number | boolean | null;

/** Where a setting came from, for error messages. */
export type ConfigOrigin =
  | { kind: 'default' }
  | { kind: 'file'; path: string; line: number | null }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; flag: string };

/** One setting from the command line: `--listen X` → {key: 'listen', value: 'X', flag: '--listen'}. */
export interface FlagSetting {
  key: string;
  value: string;
  flag: string;
}

export interface ConfigInputs {
  /** Config file path; when absent, STREAMHOUSE_CONFIG from env; when both are absent, no file. */
  configFile?: string | null;
  env?: Readonly<Record<string, string | undefined>>;
  flags?: readonly FlagSetting[];
}

export interface LoadedConfig {
  config: BrokerConfig;
  /** Where each field's value came from. */
  origins: Record<keyof BrokerConfig, ConfigOrigin>;
  /** The config file read, resolved, or null. */
  configFile: string | null;
}

/** A parser's complaint; `detail` says what is wrong beyond "not what was expected". */
class BadValue extends Error {
  constructor(readonly detail: string | null = null) {
    super(detail ?? 'bad value');
  }
}

export interface ConfigKey<F extends keyof BrokerConfig = keyof BrokerConfig> {
  /** External name, used in files and --set. */
  readonly key: string;
  readonly field: F;
  /** Environment variable. */
  readonly env: string;
  /** Dedicated CLI flag (`--data-dir`), or null: set it with `--set key=value`. */
  readonly flag: string | null;
  /** What a valid value looks like, with an example; every error about this key ends with it. */
  readonly expected: string;
  /** One line for --help and docs. */
  readonly doc: string;
  /** Hide credentials (user:password@) when echoing the value in errors. */
  readonly redact: boolean;
  parse(raw: RawValue): BrokerConfig[F];
  /** The value as it would be written in a properties file ('' for "unset"). */
  format(value: BrokerConfig[F]): string;
}

interface Parser<T> {
  expected: string;
  parse(raw: RawValue): T;
  format(value: T): string;
}

function defineKey<F extends keyof BrokerConfig>(
  field: F,
  key: string,
  parser: Parser<BrokerConfig[F]>,
  doc: string,
  extra: { flag?: string; redact?: boolean } = {},
): ConfigKey<F> {
  return Object.freeze({
    key,
    field,
    env: envNameOf(key),
    flag: extra.flag ?? null,
    expected: parser.expected,
    doc,
    redact: extra.redact ?? false,
    parse: parser.parse,
    format: parser.format,
  });
}

export function envNameOf(key: string): string {
  return `STREAMHOUSE_${key.toUpperCase().replace(/\./g, '_')}`;
}

// ---- parsers ---------------------------------------------------------------------------------

/** Largest delay Node timers accept; beyond it setTimeout fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const INT32_MAX = 2 ** 31 - 1;

function text(raw: RawValue): string {
  if (typeof raw !== 'string')
    throw new BadValue(
      raw === null ? 'null is not allowed here' : `got ${typeof raw} ${JSON.stringify(raw)}`,
    );
  return raw.trim();
}

function integer(opts: {
  min: number;
  max: number;
  unit?: string;
  example: number;
  note?: string;
}): Parser<number> {
  const range = opts.max === Number.MAX_SAFE_INTEGER ? `>= ${opts.min}` : `from ${opts.min} to ${opts.max}`;
  const notes = [opts.unit, opts.note].filter((x) => x).join('; ');
  return {
    expected: `an integer ${range}${notes ? ` (${notes})` : ''}, e.g. ${opts.example}`,
    parse(raw) {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else {
        const s = text(raw);
        if (!/^[-+]?\d+$/.test(s)) throw new BadValue();
        n = Number(s);
      }
      if (!Number.isSafeInteger(n)) throw new BadValue();
      if (n < opts.min || n > opts.max) throw new BadValue(`${n} is out of range`);
      return n;
    },
    format: (v) => String(v),
  };
}

const bool: Parser<boolean> = {
  expected: 'true or false',
  parse(raw) {
    if (typeof raw === 'boolean') return raw;
    const s = text(raw).toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
    throw new BadValue();
  },
  format: (v) => String(v),
};

function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return {
    expected: `one of ${values.join(', ')}`,
    parse(raw) {
      const s = text(raw);
      // Case-insensitive: `INFO` and `createtime` mean the obvious thing.
      const found = values.find((v) => v.toLowerCase() === s.toLowerCase());
      if (found === undefined) throw new BadValue();
      return found;
    },
    format: (v) => v,
  };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

function parseHostPort(s: string, minPort: number): HostPort {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s)) {
    throw new BadValue(
      `drop the ${s.slice(0, s.indexOf('://') + 3)} prefix (StreamHouse has one listener; set its security with security.protocol)`,
    );
  }
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') throw new BadValue();
    host = s.slice(1, end);
    if (isIP(host) !== 6) throw new BadValue(`${host} is not an IPv6 address`);
    portText = s.slice(end + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new BadValue();
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) throw new BadValue('write an IPv6 address in brackets, e.g. [::1]:9092');
    if (host === '') throw new BadValue('the host is empty (0.0.0.0 listens on all interfaces)');
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(host))
      throw new BadValue(`${host} is not a host name or IP address`);
  }
  if (!/^\d+$/.test(portText))
    throw new BadValue(portText === '' ? 'the port is missing' : `port ${portText} is not a number`);
  const port = Number(portText);
  if (port < minPort || port > 65535) throw new BadValue(`port ${port} is out of range ${minPort}-65535`);
  return { host, port };
}

const listenParser: Parser<HostPort> = {
  expected: 'HOST:PORT, e.g. 127.0.0.1:9092 (port 0 picks a free port; 0.0.0.0 binds all interfaces)',
  parse: (raw) => parseHostPort(text(raw), 0),
  format: formatHostPort,
};

const advertisedParser: Parser<HostPort | null> = {
  expected:
    'HOST:PORT that clients can reach, e.g. broker1.example.com:9092, or empty for the bound listen address',
  parse(raw) {
    if (raw === null) return null;
    const s = text(raw);
    if (s === '') return null;
    const hp = parseHostPort(s, 1);
    if (hp.host === '0.0.0.0' || hp.host === '::') throw new BadValue(`clients cannot connect to ${hp.host}`);
    return hp;
  },
  format: (v) => (v === null ? '' : formatHostPort(v)),
};

const adminParser: Parser<HostPort | null> = {
  expected: 'HOST:PORT, e.g. 127.0.0.1:9644, or off',
  parse(raw) {
    if (raw === null) return null;
    const s = text(raw);
    if (s.toLowerCase() === 'off') return null;
    return parseHostPort(s, 0);
  },
  format: (v) => (v === null ? 'off' : formatHostPort(v)),
};

const dataDirParser: Parser<string | null> = {
  expected:
    'a directory path, e.g. ./streamhouse-data, or none (no local files; needs explicit metadata and object.store URLs)',
  parse(raw) {
    if (raw === null) return null;
    const s = text(raw);
    if (s === '') throw new BadValue('the path is empty');
    return s.toLowerCase() === 'none' ? null : s;
  },
  format: (v) => v ?? 'none',
};

function storeUrl(opts: {
  expected: string;
  schemes: Record<string, 'path' | 'any'>;
  later: Record<string, string>;
}): Parser<string | null> {
  return {
    expected: opts.expected,
    parse(raw) {
      if (raw === null) return null;
      const s = text(raw);
      if (s === '') return null;
      const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(s);
      if (m === null) throw new BadValue('not a URL (scheme://...)');
      const scheme = m[1]!.toLowerCase();
      const kind = opts.schemes[scheme];
      if (kind === undefined) {
        const later = opts.later[scheme];
        throw new BadValue(later ? `${later} is not supported yet` : `unknown scheme ${scheme}://`);
      }
      if (kind === 'path' && m[2] === '') throw new BadValue(`${scheme}:// needs a path`);
      return s;
    },
    format: (v) => v ?? '',
  };
}

const metadataParser = storeUrl({
  expected:
    'sqlite://PATH, postgres://USER@HOST:PORT/DB[?schema=NAME] or memory://, e.g. sqlite:///var/lib/streamhouse/metadata.db (empty: sqlite://<data.dir>/metadata.db)',
  schemes: { sqlite: 'path', memory: 'any', postgres: 'path', postgresql: 'path' },
  later: {},
});

const objectStoreParser = storeUrl({
  expected:
    'file://DIR, s3://BUCKET/PREFIX?region=R or memory://, e.g. file:///var/lib/streamhouse/objects (empty: file://<data.dir>/objects)',
  schemes: { file: 'path', memory: 'any', s3: 'path' },
  later: {},
});

const cleanupPolicyParser: Parser<string> = {
  expected: 'delete, compact or compact,delete',
  parse(raw) {
    const s = text(raw).toLowerCase();
    const parts = [...new Set(s.split(',').map((p) => p.trim()))].sort();
    if (parts.length > 0 && parts.every((p) => p === 'compact' || p === 'delete')) return parts.join(',');
    throw new BadValue();
  },
  format: (v) => v,
};

/** A file path, or empty for unset. */
function optionalPath(example: string): Parser<string | null> {
  return {
    expected: `a file path, e.g. ${example}, or empty for none`,
    parse(raw) {
      if (raw === null) return null;
      const s = text(raw);
      return s === '' ? null : s;
    },
    format: (v) => v ?? '',
  };
}

/** A secret: any text, never echoed (parsing cannot fail, so no error message shows it). */
const secretParser: Parser<string | null> = {
  expected: 'the private key passphrase, or empty for an unencrypted key',
  parse(raw) {
    if (raw === null) return null;
    if (typeof raw !== 'string') return String(raw);
    return raw === '' ? null : raw;
  },
  format: (v) => (v === null ? '' : '***'),
};

const mechanismsParser: Parser<readonly SaslMechanism[]> = {
  expected: `a comma-separated list of ${SASL_MECHANISMS.join(', ')}, e.g. SCRAM-SHA-512,PLAIN`,
  parse(raw) {
    const parts = text(raw)
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    if (parts.length === 0) throw new BadValue('the list is empty');
    const out: SaslMechanism[] = [];
    for (const p of parts) {
      const found = SASL_MECHANISMS.find((m) => m === p.toUpperCase());
      if (found === undefined) {
        const later = ['GSSAPI', 'OAUTHBEARER'].includes(p.toUpperCase());
        throw new BadValue(later ? `${p} is not supported` : `unknown mechanism ${p}`);
      }
      if (!out.includes(found)) out.push(found);
    }
    return out;
  },
  format: (v) => v.join(','),
};

const bytes = (min: number, example: number, max = Number.MAX_SAFE_INTEGER, note?: string) =>
  integer({ min, max, unit: 'bytes', example, ...(note ? { note } : {}) });
const millis = (min: number, example: number, max = MAX_TIMER_MS, note?: string) =>
  integer({ min, max, unit: 'milliseconds', example, ...(note ? { note } : {}) });

// ---- the table ---------------------------------------------------------------------------------

const KEY_LIST = [
  defineKey(
    'nodeId',
    'node.id',
    integer({ min: 0, max: INT32_MAX, example: 1 }),
    "This broker's node id in Metadata responses.",
  ),
  defineKey('listen', 'listen', listenParser, 'Address the Kafka listener binds.', { flag: '--listen' }),
  defineKey(
    'advertised',
    'advertised',
    advertisedParser,
    'Address clients are told to connect to (Metadata); empty = the bound listen address.',
    {
      flag: '--advertised',
    },
  ),
  defineKey('admin', 'admin', adminParser, 'Admin HTTP address (/metrics, /healthz, /readyz), or off.', {
    flag: '--admin',
  }),
  defineKey(
    'dataDir',
    'data.dir',
    dataDirParser,
    'Directory for the WAL and the default SQLite file and object directory.',
    {
      flag: '--data-dir',
    },
  ),
  defineKey('metadataUrl', 'metadata', metadataParser, 'Metadata store URL.', {
    flag: '--metadata',
    redact: true,
  }),
  defineKey('objectStoreUrl', 'object.store', objectStoreParser, 'Object store URL.', {
    flag: '--object-store',
    redact: true,
  }),
  defineKey(
    'walFsync',
    'wal.fsync',
    bool,
    'fdatasync the WAL before acknowledging produce (false breaks the durability contract).',
  ),
  defineKey(
    'walSegmentBytes',
    'wal.segment.bytes',
    bytes(1024 * 1024, 67108864, INT32_MAX),
    'Size of one WAL segment file.',
  ),
  defineKey(
    'maxRequestBytes',
    'socket.request.max.bytes',
    bytes(1024, 104857600, INT32_MAX),
    'Largest request frame accepted; a bigger one closes the connection.',
  ),
  defineKey(
    'connectionsMaxIdleMs',
    'connections.max.idle.ms',
    millis(0, 600000, MAX_TIMER_MS, '0 = never'),
    'Close connections idle this long.',
  ),
  defineKey(
    'maxInFlightRequestsPerConnection',
    'max.in.flight.requests.per.connection',
    integer({ min: 1, max: 100000, unit: 'requests', example: 100 }),
    'Requests read ahead per connection before the broker stops reading from it.',
  ),
  defineKey(
    'autoCreateTopicsEnable',
    'auto.create.topics.enable',
    bool,
    'Create a topic when a client asks for metadata of one that does not exist.',
  ),
  defineKey(
    'numPartitions',
    'num.partitions',
    integer({ min: 1, max: INT32_MAX, unit: 'partitions', example: 3 }),
    'Partitions of auto-created topics and of topics created with -1 partitions.',
  ),
  defineKey(
    'defaultReplicationFactor',
    'default.replication.factor',
    integer({ min: 1, max: 1, unit: 'replicas', note: 'a single broker serves only 1', example: 1 }),
    'Replication factor of topics created with -1 (one broker; redundancy comes from the object store).',
  ),
  defineKey(
    'logRetentionMs',
    'log.retention.ms',
    millis(-1, 604800000, Number.MAX_SAFE_INTEGER, '-1 = no time limit'),
    'Default retention.ms of topics.',
  ),
  defineKey(
    'logRetentionBytes',
    'log.retention.bytes',
    bytes(-1, 1073741824, Number.MAX_SAFE_INTEGER, '-1 = no size limit'),
    'Default retention.bytes of topics (per partition).',
  ),
  defineKey(
    'messageMaxBytes',
    'message.max.bytes',
    bytes(1, 1048588, INT32_MAX),
    'Default max.message.bytes of topics: largest record batch accepted.',
  ),
  defineKey(
    'logSegmentBytes',
    'log.segment.bytes',
    bytes(14, 1073741824, INT32_MAX),
    'Default segment.bytes of topics.',
  ),
  defineKey(
    'logMessageTimestampType',
    'log.message.timestamp.type',
    oneOf(['CreateTime', 'LogAppendTime'] as const),
    'Default message.timestamp.type of topics.',
  ),
  defineKey(
    'logCleanupPolicy',
    'log.cleanup.policy',
    cleanupPolicyParser,
    'Default cleanup.policy of topics.',
  ),
  defineKey(
    'uploadTargetBytes',
    'upload.target.bytes',
    bytes(1, 8388608, INT32_MAX),
    'Upload an object once this many bytes are pending...',
  ),
  defineKey(
    'uploadMaxAgeMs',
    'upload.max.age.ms',
    millis(0, 250),
    '...or once the oldest pending batch is this old.',
  ),
  defineKey(
    'maxUnuploadedBytes',
    'max.unuploaded.bytes',
    bytes(1, 536870912),
    'Past this many bytes not yet uploaded, produce requests wait.',
  ),
  defineKey(
    'backpressureTimeoutMs',
    'backpressure.timeout.ms',
    millis(0, 30000),
    'How long a waiting produce request waits before failing (retriable).',
  ),
  defineKey(
    'hotTailMaxBytes',
    'hot.tail.max.bytes',
    bytes(0, 268435456),
    'Memory for recently uploaded batches kept for tail readers.',
  ),
  defineKey(
    'objectCacheBytes',
    'object.cache.bytes',
    bytes(0, 268435456),
    'Memory for cached object ranges (cold reads).',
  ),
  defineKey(
    'objectDiskCacheBytes',
    'object.disk.cache.bytes',
    bytes(0, 1073741824),
    'Local disk (<dataDir>/cache) for cached object ranges, under the memory tier; 0 disables.',
  ),
  defineKey(
    'retentionCheckIntervalMs',
    'log.retention.check.interval.ms',
    millis(1, 30000),
    'How often retention runs.',
  ),
  defineKey('logCleanerEnable', 'log.cleaner.enable', bool, 'Compact topics with cleanup.policy=compact.'),
  defineKey(
    'logCleanerBackoffMs',
    'log.cleaner.backoff.ms',
    millis(1, 15000),
    'Pause between compaction passes when no partition needs cleaning.',
  ),
  defineKey(
    'logCleanerDedupeBufferSize',
    'log.cleaner.dedupe.buffer.size',
    bytes(1024, 134217728),
    'Largest key map one compaction pass builds.',
  ),
  defineKey(
    'shutdownGraceMs',
    'shutdown.grace.ms',
    millis(0, 5000),
    'On shutdown, how long in-flight requests may take to finish.',
  ),
  defineKey(
    'groupInitialRebalanceDelayMs',
    'group.initial.rebalance.delay.ms',
    millis(0, 3000),
    'How long an empty consumer group waits for more members before its first rebalance.',
  ),
  defineKey(
    'groupMinSessionTimeoutMs',
    'group.min.session.timeout.ms',
    millis(1, 6000),
    'Smallest session.timeout.ms a consumer group member may ask for.',
  ),
  defineKey(
    'groupMaxSessionTimeoutMs',
    'group.max.session.timeout.ms',
    millis(1, 1800000),
    'Largest session.timeout.ms a consumer group member may ask for.',
  ),
  defineKey(
    'offsetsRetentionMinutes',
    'offsets.retention.minutes',
    integer({ min: 1, max: INT32_MAX, unit: 'minutes', example: 10080 }),
    'Committed offsets of a group that has been empty this long expire.',
  ),
  defineKey(
    'producerIdExpirationMs',
    'producer.id.expiration.ms',
    millis(1, 86400000),
    'Idempotent producer state expires after this long without writes.',
  ),
  defineKey(
    'transactionMaxTimeoutMs',
    'transaction.max.timeout.ms',
    millis(1, 900000),
    'Largest transaction timeout a transactional producer may ask for.',
  ),
  defineKey(
    'transactionAbortCheckIntervalMs',
    'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    millis(1, 10000),
    'How often timed-out transactions are looked for and aborted.',
  ),
  defineKey(
    'logLevel',
    'log.level',
    oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const),
    'Broker log level (JSON lines on stdout).',
    {
      flag: '--log-level',
    },
  ),
  defineKey(
    'securityProtocol',
    'security.protocol',
    oneOf(SECURITY_PROTOCOLS),
    'Security of the Kafka listener: plaintext, TLS, SASL, or SASL over TLS (docs/security.md).',
  ),
  defineKey(
    'sslCertificateLocation',
    'ssl.certificate.location',
    optionalPath('/etc/streamhouse/server.pem'),
    'PEM server certificate (with intermediates); required for SSL and SASL_SSL.',
  ),
  defineKey(
    'sslKeyLocation',
    'ssl.key.location',
    optionalPath('/etc/streamhouse/server.key'),
    'PEM private key of the server certificate; required for SSL and SASL_SSL.',
  ),
  defineKey('sslKeyPassword', 'ssl.key.password', secretParser, 'Passphrase of an encrypted private key.', {
    redact: true,
  }),
  defineKey(
    'sslCaLocation',
    'ssl.ca.location',
    optionalPath('/etc/streamhouse/ca.pem'),
    'PEM CA bundle client certificates are verified against (with ssl.client.auth).',
  ),
  defineKey(
    'sslClientAuth',
    'ssl.client.auth',
    oneOf(['none', 'requested', 'required'] as const),
    'Client certificates (mTLS): none, requested (verified when sent) or required.',
  ),
  defineKey(
    'saslEnabledMechanisms',
    'sasl.enabled.mechanisms',
    mechanismsParser,
    'SASL mechanisms offered on SASL_PLAINTEXT and SASL_SSL listeners.',
  ),
  defineKey(
    'saslUsersFile',
    'sasl.users.file',
    optionalPath('/etc/streamhouse/users.txt'),
    'File of user:password lines for PLAIN (SCRAM credentials are derived from it at start).',
  ),
  defineKey(
    'saslFailureDelayMs',
    'connection.failed.authentication.delay.ms',
    millis(0, 100, 10000),
    'Delay before answering a failed authentication (slows down password guessing).',
  ),
];

/** The build fails, naming the field, when a BrokerConfig field has no entry in KEY_LIST. */
type KeyedFields = (typeof KEY_LIST)[number]['field'];
const everyFieldHasAKey: [Exclude<keyof BrokerConfig, KeyedFields>] extends [never]
  ? true
  : { missingKeysFor: Exclude<keyof BrokerConfig, KeyedFields> } = true;
void everyFieldHasAKey;

export const CONFIG_KEYS: readonly ConfigKey[] = Object.freeze(KEY_LIST as ConfigKey[]);

const BY_KEY = new Map(CONFIG_KEYS.map((k) => [k.key, k]));
const BY_ENV = new Map(CONFIG_KEYS.map((k) => [k.env, k]));

/** The environment variable naming the config file (the same as --config). */
export const CONFIG_FILE_ENV = 'STREAMHOUSE_CONFIG';
/** STREAMHOUSE_* variables with these prefixes belong to tests, benchmarks and CI, not the broker. */
const FOREIGN_ENV_PREFIXES = ['STREAMHOUSE_TEST_', 'STREAMHOUSE_BENCH_', 'STREAMHOUSE_CI_'];

/**
 * Names people will try whose StreamHouse key differs: Kafka's broker settings, and the names
 * DescribeConfigs reports (src/config/broker-configs.ts). A pointer beats a did-you-mean.
 */
const OTHER_NAMES: Readonly<Record<string, string>> = {
  listeners: 'listen (HOST:PORT, without a PLAINTEXT:// prefix)',
  'advertised.listeners': 'advertised (HOST:PORT)',
  'log.dirs': 'data.dir',
  'log.dir': 'data.dir',
  'broker.id': 'node.id',
  'log.retention.hours': 'log.retention.ms (in milliseconds)',
  'log.retention.minutes': 'log.retention.ms (in milliseconds)',
  'log.flush.interval.messages': 'wal.fsync (StreamHouse syncs every group commit)',
  'streamhouse.admin.listener': 'admin',
  'streamhouse.metadata.url': 'metadata',
  'streamhouse.object.store.url': 'object.store',
  'listener.security.protocol.map': 'security.protocol (one listener)',
  'ssl.keystore.location': 'ssl.certificate.location and ssl.key.location (PEM files)',
  'ssl.truststore.location': 'ssl.ca.location (a PEM file)',
  'sasl.mechanism.inter.broker.protocol': 'sasl.enabled.mechanisms (there is no inter-broker traffic)',
};

export function configKey(key: string): ConfigKey | undefined {
  return BY_KEY.get(key);
}

// ---- loading -----------------------------------------------------------------------------------

/** One key=value as read from a file, the environment or a flag, before parsing. */
export interface Setting {
  key: string;
  raw: RawValue;
  origin: ConfigOrigin;
}

export function describeOrigin(origin: ConfigOrigin): string {
  switch (origin.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `config file ${origin.path}${origin.line === null ? '' : `:${origin.line}`}`;
    case 'env':
      return `env ${origin.name}`;
    case 'flag':
      return origin.flag;
  }
}

function show(raw: RawValue, redact: boolean): string {
  if (typeof raw !== 'string') return JSON.stringify(raw);
  const s = redact ? raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/:@]*):[^/@]*@/, '$1:***@') : raw;
  return s === '' || /[\s"]/.test(s) ? JSON.stringify(s) : s;
}

export function loadConfig(inputs: ConfigInputs = {}): LoadedConfig {
  const env = inputs.env ?? {};
  const problems: string[] = [];
  const settings: Setting[] = [];

  const fileArg = inputs.configFile ?? nonEmpty(env[CONFIG_FILE_ENV]);
  const configFile = fileArg ? resolve(fileArg) : null;
  if (configFile !== null) {
    const via = inputs.configFile ? '--config' : `env ${CONFIG_FILE_ENV}`;
    settings.push(...readConfigFile(configFile, via, problems));
  }

  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('STREAMHOUSE_') || name === CONFIG_FILE_ENV) continue;
    if (FOREIGN_ENV_PREFIXES.some((p) => name.startsWith(p))) continue;
    const value = env[name];
    // Empty counts as unset: `STREAMHOUSE_X=${UNSET}` in compose files should not change anything.
    if (value === undefined || value === '') continue;
    const spec = BY_ENV.get(name);
    if (spec === undefined) {
      const hint = suggest(name, [...BY_ENV.keys(), CONFIG_FILE_ENV]);
      problems.push(
        `unknown environment variable ${name}${hint ? `: did you mean ${hint}?` : ''} (variables are listed in docs/configuration.md)`,
      );
      continue;
    }
    settings.push({ key: spec.key, raw: value, origin: { kind: 'env', name } });
  }

  for (const f of inputs.flags ?? [])
    settings.push({ key: f.key, raw: f.value, origin: { kind: 'flag', flag: f.flag } });

  const config = { ...DEFAULT_CONFIG } as BrokerConfig;
  const origins = Object.fromEntries(
    Object.keys(DEFAULT_CONFIG).map((f) => [f, { kind: 'default' }]),
  ) as Record<keyof BrokerConfig, ConfigOrigin>;
  for (const s of settings) {
    const spec = BY_KEY.get(s.key);
    if (spec === undefined) {
      problems.push(unknownKey(s.key, s.origin));
      continue;
    }
    try {
      (config as unknown as Record<string, unknown>)[spec.field] = spec.parse(s.raw);
      origins[spec.field] = s.origin;
    } catch (err) {
      if (!(err instanceof BadValue)) throw err;
      problems.push(badValue(spec, s.raw, s.origin, err.detail));
    }
  }

  if (problems.length === 0) crossCheck(config, origins, problems);
  if (problems.length > 0) {
    const message =
      problems.length === 1
        ? problems[0]!
        : `${problems.length} configuration problems:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`;
    throw new StreamhouseError('SH_CONFIG_INVALID', message);
  }
  return { config, origins, configFile };
}

function badValue(spec: ConfigKey, raw: RawValue, origin: ConfigOrigin, detail: string | null): string {
  return `${spec.key}=${show(raw, spec.redact)} (from ${describeOrigin(origin)}): ${detail ? `${detail}; ` : ''}expected ${spec.expected}`;
}

function unknownKey(key: string, origin: ConfigOrigin): string {
  const where = `(from ${describeOrigin(origin)})`;
  const other = OTHER_NAMES[key];
  if (other !== undefined) return `unknown key ${key} ${where}: StreamHouse calls it ${other}`;
  const unprefixed = key.startsWith('streamhouse.')
    ? BY_KEY.get(key.slice('streamhouse.'.length))
    : undefined;
  if (unprefixed !== undefined)
    return `unknown key ${key} ${where}: write it without the prefix, as ${unprefixed.key}`;
  const hint = suggest(key, [...BY_KEY.keys()]);
  return `unknown key ${key} ${where}: ${hint ? `did you mean ${hint}? ` : ''}(keys are listed in docs/configuration.md)`;
}

/** Checks that involve more than one key; run only when every value parsed. */
function crossCheck(
  config: BrokerConfig,
  origins: Record<keyof BrokerConfig, ConfigOrigin>,
  problems: string[],
): void {
  if (config.dataDir === null && (config.metadataUrl === null || config.objectStoreUrl === null)) {
    const missing = [
      config.metadataUrl === null ? 'metadata' : null,
      config.objectStoreUrl === null ? 'object.store' : null,
    ]
      .filter((x) => x !== null)
      .join(' and ');
    problems.push(
      `data.dir=none (from ${describeOrigin(origins.dataDir)}) leaves ${missing} without a place: set ${missing} (e.g. memory://), or set data.dir to a directory`,
    );
  }
  if (config.groupMinSessionTimeoutMs > config.groupMaxSessionTimeoutMs) {
    problems.push(
      `group.min.session.timeout.ms=${config.groupMinSessionTimeoutMs} (from ${describeOrigin(origins.groupMinSessionTimeoutMs)}) is above group.max.session.timeout.ms=${config.groupMaxSessionTimeoutMs} (from ${describeOrigin(origins.groupMaxSessionTimeoutMs)}); expected min <= max`,
    );
  }
  const tls = config.securityProtocol === 'SSL' || config.securityProtocol === 'SASL_SSL';
  if (tls) {
    const missing = [
      config.sslCertificateLocation === null ? 'ssl.certificate.location' : null,
      config.sslKeyLocation === null ? 'ssl.key.location' : null,
    ].filter((x) => x !== null);
    if (missing.length > 0)
      problems.push(
        `security.protocol=${config.securityProtocol} (from ${describeOrigin(origins.securityProtocol)}) needs ${missing.join(' and ')}; expected PEM files, e.g. ssl.certificate.location=/etc/streamhouse/server.pem and ssl.key.location=/etc/streamhouse/server.key`,
      );
  }
  if (config.sslClientAuth !== 'none' && config.sslCaLocation === null) {
    problems.push(
      `ssl.client.auth=${config.sslClientAuth} (from ${describeOrigin(origins.sslClientAuth)}) needs ssl.ca.location; expected the PEM CA bundle client certificates are signed by, e.g. ssl.ca.location=/etc/streamhouse/ca.pem`,
    );
  }
  const { admin, listen } = config;
  if (
    admin !== null &&
    admin.port !== 0 &&
    admin.port === listen.port &&
    sameHostGroup(admin.host, listen.host)
  ) {
    problems.push(
      `admin=${formatHostPort(admin)} (from ${describeOrigin(origins.admin)}) collides with listen=${formatHostPort(listen)} (from ${describeOrigin(origins.listen)}); expected a different port for the admin server, e.g. 127.0.0.1:9644`,
    );
  }
}

/** Two binds on the same port conflict when the hosts are equal or either is a wildcard. */
function sameHostGroup(a: string, b: string): boolean {
  const wild = (h: string) => h === '0.0.0.0' || h === '::';
  return a === b || wild(a) || wild(b);
}

function nonEmpty(s: string | undefined): string | null {
  return s === undefined || s === '' ? null : s;
}

// ---- files -----------------------------------------------------------------------------------

function readConfigFile(path: string, via: string, problems: string[]): Setting[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    problems.push(
      `config file ${path} (from ${via}) cannot be read (${reason}); expected a readable .json or key=value properties file`,
    );
    return [];
  }
  content = content.replace(/^\uFEFF/, '');
  const isJson = extname(path).toLowerCase() === '.json' || content.trimStart().startsWith('{');
  return isJson ? parseJsonConfig(path, content, problems) : parsePropertiesConfig(path, content, problems);
}

export function parseJsonConfig(path: string, content: string, problems: string[]): Setting[] {
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch (err) {
    problems.push(
      `config file ${path} is not valid JSON (${(err as Error).message}); expected one flat object, e.g. {"listen": "127.0.0.1:9092"}`,
    );
    return [];
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.push(
      `config file ${path} holds ${Array.isArray(doc) ? 'an array' : typeof doc}; expected one flat object, e.g. {"listen": "127.0.0.1:9092"}`,
    );
    return [];
  }
  const out: Setting[] = [];
  for (const [key, value] of Object.entries(doc)) {
    const origin: ConfigOrigin = { kind: 'file', path, line: null };
    if (typeof value === 'object' && value !== null) {
      problems.push(
        `${key} (from ${describeOrigin(origin)}) holds ${Array.isArray(value) ? 'an array' : 'an object'}; expected a single value: write keys flat with dots, e.g. "log.retention.ms": 604800000`,
      );
      continue;
    }
    out.push({ key, raw: value as RawValue, origin });
  }
  return out;
}

export function parsePropertiesConfig(path: string, content: string, problems: string[]): Setting[] {
  const out: Setting[] = [];
  const firstLine = new Map<string, number>();
  content.split(/\r?\n/).forEach((rawLine, i) => {
    const line = i + 1;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('!')) return;
    const sep = trimmed.search(/[=:]/);
    const key = sep < 0 ? trimmed : trimmed.slice(0, sep).trim();
    const origin: ConfigOrigin = { kind: 'file', path, line };
    if (sep <= 0 || /\s/.test(key)) {
      problems.push(
        `line "${trimmed}" (from ${describeOrigin(origin)}) is not a setting; expected key=value, e.g. listen=127.0.0.1:9092`,
      );
      return;
    }
    const earlier = firstLine.get(key);
    if (earlier !== undefined) {
      problems.push(
        `${key} (from ${describeOrigin(origin)}) is already set on line ${earlier}; expected each key once`,
      );
      return;
    }
    firstLine.set(key, line);
    out.push({ key, raw: trimmed.slice(sep + 1).trim(), origin });
  });
  return out;
}

// ---- did you mean ------------------------------------------------------------------------------

/** The closest candidate within a few edits, or null. */
export function suggest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}
