/**
 * The catalogue of topic-level configs StreamHouse knows, and what the admin APIs (CreateTopics,
 * DescribeConfigs, AlterConfigs, IncrementalAlterConfigs) need around it: validation, canonical
 * values, effective values with their source and synonyms.
 *
 * Invariants:
 * - A name not in the catalogue is INVALID_CONFIG ("Unknown topic config name"), as in Kafka.
 * - Every stored override went through `parse`, so it is valid and canonical (trimmed; lists
 *   comma-joined without spaces; booleans lower-case; integers without sign or leading zeros).
 * - `honoured` says whether StreamHouse acts on the value. The others are accepted and stored so
 *   that clients and tools which set them keep working; they change nothing.
 * - An effective value is the topic's override, else the broker-level default (BrokerConfig, via
 *   broker/topic-defaults.ts, for the configs that have one), else Kafka's default.
 *
 * The names, types, ranges and broker synonyms follow Kafka 3.9's LogConfig (plus the 3.x-only
 * message.format.version, message.downconversion.enable and message.timestamp.difference.max.ms,
 * which 3.x clients may still send); the doc strings are StreamHouse's own.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { topicConfigDefaults } from '../broker/topic-defaults.js';
import { type BrokerConfig, DEFAULT_CONFIG } from './broker-config.js';

/** Kafka's ConfigDef types (the subset topic and broker configs use). */
export type ConfigType =
  | 'boolean'
  | 'string'
  | 'int'
  | 'short'
  | 'long'
  | 'double'
  | 'list'
  | 'class'
  | 'password';

/** DescribeConfigs `configType` (v3+, KIP-569). */
export const CONFIG_TYPE_ID: Readonly<Record<ConfigType, number>> = Object.freeze({
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  class: 8,
  password: 9,
});

/** DescribeConfigs `configSource` (v1+). */
export const ConfigSource = Object.freeze({
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const);

/** Config resource types on the wire (DescribeConfigs, AlterConfigs, IncrementalAlterConfigs). */
export const ConfigResourceType = Object.freeze({
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
  GROUP: 32,
} as const);

export type ParseResult = { ok: true; value: string } | { ok: false; reason: string };

export interface TopicConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** Kafka's default, used when the broker config has no default for it (null = no value). */
  readonly kafkaDefault: string | null;
  /** The broker-level config that supplies the default (e.g. log.retention.ms), if Kafka has one. */
  readonly brokerSynonym: string | null;
  /** True when StreamHouse acts on the value; false when it is only stored. */
  readonly honoured: boolean;
  readonly doc: string;
  /** Validate a value and return its canonical form. */
  readonly parse: (value: string) => ParseResult;
}

/** What DescribeConfigs (and CreateTopics v5+) report for one config. */
export interface ConfigSynonym {
  readonly name: string;
  readonly value: string | null;
  readonly source: number;
}

export interface ConfigView {
  readonly name: string;
  /** Null when unset, or when the config is sensitive (never sent to clients). */
  readonly value: string | null;
  readonly source: number;
  readonly readOnly: boolean;
  readonly sensitive: boolean;
  readonly type: ConfigType;
  readonly doc: string;
  /** Most specific first; the first one's source is `source`. */
  readonly synonyms: readonly ConfigSynonym[];
}

export interface ConfigError {
  readonly errorCode: number;
  readonly message: string;
}

// ---- value parsers ----------------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const INTEGER = /^[+-]?\d+$/;

function ok(value: string): ParseResult {
  return { ok: true, value };
}

function bad(reason: string): ParseResult {
  return { ok: false, reason };
}

function integer(type: 'int' | 'long', min?: bigint, max?: bigint) {
  const lo = type === 'int' ? INT32_MIN : INT64_MIN;
  const hi = type === 'int' ? INT32_MAX : INT64_MAX;
  return (raw: string): ParseResult => {
    const s = raw.trim();
    if (!INTEGER.test(s)) return bad(`expected a${type === 'int' ? 'n int' : ' long'} value`);
    const n = BigInt(s);
    if (n < lo || n > hi) return bad(`out of range for ${type}`);
    if (min !== undefined && n < min) return bad(`value must be at least ${min}`);
    if (max !== undefined && n > max) return bad(`value must be no more than ${max}`);
    return ok(n.toString());
  };
}

const long = (min?: bigint, max?: bigint) => integer('long', min, max);
const int = (min?: bigint, max?: bigint) => integer('int', min, max);

function double(min: number, max: number) {
  return (raw: string): ParseResult => {
    const s = raw.trim();
    const n = s === '' ? Number.NaN : Number(s);
    if (!Number.isFinite(n)) return bad('expected a double value');
    if (n < min || n > max) return bad(`value must be between ${min} and ${max}`);
    return ok(String(n));
  };
}

function boolean(raw: string): ParseResult {
  const s = raw.trim().toLowerCase();
  return s === 'true' || s === 'false' ? ok(s) : bad('expected true or false');
}

function oneOf(...allowed: string[]) {
  return (raw: string): ParseResult => {
    const s = raw.trim();
    return allowed.includes(s) ? ok(s) : bad(`value must be one of ${allowed.join(', ')}`);
  };
}

function splitList(raw: string): string[] {
  const s = raw.trim();
  return s === '' ? [] : s.split(',').map((part) => part.trim());
}

/** A list whose items come from `allowed`; duplicates are dropped, order kept. */
function listOf(allowed: readonly string[], options: { nonEmpty: boolean }) {
  return (raw: string): ParseResult => {
    const items = splitList(raw);
    if (options.nonEmpty && items.length === 0)
      return bad(`value must list at least one of ${allowed.join(', ')}`);
    for (const item of items) {
      if (!allowed.includes(item)) return bad(`list items must be among ${allowed.join(', ')}`);
    }
    return ok([...new Set(items)].join(','));
  };
}

/** leader/follower.replication.throttled.replicas: "*" or "partition:broker" pairs. */
function throttledReplicas(raw: string): ParseResult {
  const items = splitList(raw);
  if (items.length === 1 && items[0] === '*') return ok('*');
  for (const item of items) {
    if (!/^\d+:\d+$/.test(item)) return bad('value must be "*" or a list of partitionId:brokerId');
  }
  return ok(items.join(','));
}

/** message.format.version (3.x, deprecated): any Kafka release or metadata version label. */
function releaseVersion(raw: string): ParseResult {
  const s = raw.trim();
  return /^\d+\.\d+(\.\d+)?(-IV\d+)?$/.test(s) ? ok(s) : bad('expected a Kafka version such as 3.0-IV1');
}

function gzipLevel(raw: string): ParseResult {
  const r = int(-1n, 9n)(raw);
  return r.ok && r.value === '0' ? bad('value must be -1 or between 1 and 9') : r;
}

// ---- the catalogue ----------------------------------------------------------------------------

const LONG_MAX = INT64_MAX.toString();

function def(
  name: string,
  type: ConfigType,
  kafkaDefault: string | null,
  brokerSynonym: string | null,
  honoured: boolean,
  parse: (value: string) => ParseResult,
  doc: string,
): TopicConfigDef {
  return Object.freeze({ name, type, kafkaDefault, brokerSynonym, honoured, parse, doc });
}

const STORED = 'Stored for compatibility; StreamHouse does not act on it.';

const DEFINITIONS: readonly TopicConfigDef[] = [
  def(
    'cleanup.policy',
    'list',
    'delete',
    'log.cleanup.policy',
    true,
    listOf(['delete', 'compact'], { nonEmpty: true }),
    'How old data goes away: "delete" drops it by retention.ms/retention.bytes; "compact" keeps the last ' +
      'record of each key (the log cleaner rewrites uploaded, stable data) and, alone, disables time and size retention.',
  ),
  def(
    'compression.type',
    'string',
    'producer',
    'compression.type',
    false,
    oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'),
    `Codec the broker would recompress batches with. StreamHouse always keeps the producer's batches as sent ("producer"). ${STORED}`,
  ),
  def(
    'compression.gzip.level',
    'int',
    '-1',
    'compression.gzip.level',
    false,
    gzipLevel,
    `Gzip level for broker-side recompression. ${STORED}`,
  ),
  def(
    'compression.lz4.level',
    'int',
    '9',
    'compression.lz4.level',
    false,
    int(1n, 17n),
    `LZ4 level for broker-side recompression. ${STORED}`,
  ),
  def(
    'compression.zstd.level',
    'int',
    '3',
    'compression.zstd.level',
    false,
    int(-131072n, 22n),
    `Zstandard level for broker-side recompression. ${STORED}`,
  ),
  def(
    'delete.retention.ms',
    'long',
    '86400000',
    'log.cleaner.delete.retention.ms',
    true,
    long(0n),
    'How long tombstones (null values) of compacted topics survive: compaction drops one once its batch max timestamp is older.',
  ),
  def(
    'file.delete.delay.ms',
    'long',
    '60000',
    'log.segment.delete.delay.ms',
    false,
    long(0n),
    `Grace before a deleted segment file is removed. ${STORED}`,
  ),
  def(
    'flush.messages',
    'long',
    LONG_MAX,
    'log.flush.interval.messages',
    false,
    long(1n),
    `Force an fsync every this many messages. StreamHouse fsyncs every acknowledged write. ${STORED}`,
  ),
  def(
    'flush.ms',
    'long',
    LONG_MAX,
    'log.flush.interval.ms',
    false,
    long(0n),
    `Force an fsync at this interval. StreamHouse fsyncs every acknowledged write. ${STORED}`,
  ),
  def(
    'follower.replication.throttled.replicas',
    'list',
    '',
    null,
    false,
    throttledReplicas,
    `Replicas whose follower fetches are throttled. ${STORED}`,
  ),
  def(
    'index.interval.bytes',
    'int',
    '4096',
    'log.index.interval.bytes',
    false,
    int(0n),
    `Bytes between offset index entries. ${STORED}`,
  ),
  def(
    'leader.replication.throttled.replicas',
    'list',
    '',
    null,
    false,
    throttledReplicas,
    `Replicas whose leader-side reads are throttled. ${STORED}`,
  ),
  def(
    'local.retention.bytes',
    'long',
    '-2',
    'log.local.retention.bytes',
    false,
    long(-2n),
    `Size kept on local disk under tiered storage. ${STORED}`,
  ),
  def(
    'local.retention.ms',
    'long',
    '-2',
    'log.local.retention.ms',
    false,
    long(-2n),
    `Time kept on local disk under tiered storage. ${STORED}`,
  ),
  def(
    'max.compaction.lag.ms',
    'long',
    LONG_MAX,
    'log.cleaner.max.compaction.lag.ms',
    false,
    long(1n),
    `Longest a record may stay uncompacted. ${STORED}`,
  ),
  def(
    'max.message.bytes',
    'int',
    '1048588',
    'message.max.bytes',
    true,
    int(0n),
    'Largest record batch a producer may append, in bytes; larger ones fail with MESSAGE_TOO_LARGE.',
  ),
  def(
    'message.downconversion.enable',
    'boolean',
    'true',
    'log.message.downconversion.enable',
    false,
    boolean,
    `Kafka 3.x: down-convert batches for old fetchers. ${STORED}`,
  ),
  def(
    'message.format.version',
    'string',
    '3.0-IV1',
    'log.message.format.version',
    false,
    releaseVersion,
    `Kafka 3.x (deprecated): on-disk record format. StreamHouse stores magic 2 only. ${STORED}`,
  ),
  def(
    'message.timestamp.after.max.ms',
    'long',
    LONG_MAX,
    'log.message.timestamp.after.max.ms',
    false,
    long(0n),
    `How far in the future a record timestamp may be. ${STORED}`,
  ),
  def(
    'message.timestamp.before.max.ms',
    'long',
    LONG_MAX,
    'log.message.timestamp.before.max.ms',
    false,
    long(0n),
    `How far in the past a record timestamp may be. ${STORED}`,
  ),
  def(
    'message.timestamp.difference.max.ms',
    'long',
    LONG_MAX,
    'log.message.timestamp.difference.max.ms',
    false,
    long(0n),
    `Kafka 3.x (deprecated): largest timestamp skew allowed. ${STORED}`,
  ),
  def(
    'message.timestamp.type',
    'string',
    'CreateTime',
    'log.message.timestamp.type',
    true,
    oneOf('CreateTime', 'LogAppendTime'),
    "Whether record timestamps are the producer's (CreateTime) or the broker's append time (LogAppendTime).",
  ),
  def(
    'min.cleanable.dirty.ratio',
    'double',
    '0.5',
    'log.cleaner.min.cleanable.ratio',
    true,
    double(0, 1),
    'Share of the cleanable log not yet compacted (by bytes) that makes the cleaner compact a partition.',
  ),
  def(
    'min.compaction.lag.ms',
    'long',
    '0',
    'log.cleaner.min.compaction.lag.ms',
    true,
    long(0n),
    'Shortest time a record stays uncompacted (compaction takes index entries whose newest batch is older).',
  ),
  def(
    'min.insync.replicas',
    'int',
    '1',
    'min.insync.replicas',
    false,
    int(1n),
    `Replicas that must acknowledge acks=all writes. One broker, one replica: always satisfied. ${STORED}`,
  ),
  def(
    'preallocate',
    'boolean',
    'false',
    'log.preallocate',
    false,
    boolean,
    `Preallocate segment files. ${STORED}`,
  ),
  def(
    'remote.log.copy.disable',
    'boolean',
    'false',
    null,
    false,
    boolean,
    `Stop copying to tiered storage. StreamHouse always stores data in object storage. ${STORED}`,
  ),
  def(
    'remote.log.delete.on.disable',
    'boolean',
    'false',
    null,
    false,
    boolean,
    `Delete tiered data when tiering is disabled. ${STORED}`,
  ),
  def(
    'remote.storage.enable',
    'boolean',
    'false',
    null,
    false,
    boolean,
    `Kafka tiered storage switch. StreamHouse always stores data in object storage. ${STORED}`,
  ),
  def(
    'retention.bytes',
    'long',
    '-1',
    'log.retention.bytes',
    true,
    long(),
    'Per-partition size above which the oldest uploaded data is deleted (-1 = no size limit). Only with cleanup.policy containing "delete".',
  ),
  def(
    'retention.ms',
    'long',
    '604800000',
    'log.retention.ms',
    true,
    long(-1n),
    'Age after which uploaded data is deleted, by record timestamp (-1 = keep forever). Only with cleanup.policy containing "delete".',
  ),
  def(
    'segment.bytes',
    'int',
    '1073741824',
    'log.segment.bytes',
    true,
    int(14n),
    'Largest record batch the log accepts (RECORD_LIST_TOO_LARGE beyond). StreamHouse has no segment files: ' +
      'object sizes follow the broker upload settings.',
  ),
  def(
    'segment.index.bytes',
    'int',
    '10485760',
    'log.index.size.max.bytes',
    false,
    int(4n),
    `Size of a segment's offset index. ${STORED}`,
  ),
  def(
    'segment.jitter.ms',
    'long',
    '0',
    'log.roll.jitter.ms',
    false,
    long(0n),
    `Random jitter on segment rolls. ${STORED}`,
  ),
  def(
    'segment.ms',
    'long',
    '604800000',
    'log.roll.ms',
    false,
    long(1n),
    `Roll a segment after this long. StreamHouse uploads by size and age instead. ${STORED}`,
  ),
  def(
    'unclean.leader.election.enable',
    'boolean',
    'false',
    'unclean.leader.election.enable',
    false,
    boolean,
    `Allow out-of-sync replicas to lead. ${STORED}`,
  ),
];

/** Every topic config StreamHouse knows, by name (alphabetical). */
export const TOPIC_CONFIGS: ReadonlyMap<string, TopicConfigDef> = new Map(
  [...DEFINITIONS].sort((a, b) => (a.name < b.name ? -1 : 1)).map((d) => [d.name, d]),
);

export function isListConfig(name: string): boolean {
  return TOPIC_CONFIGS.get(name)?.type === 'list';
}

// ---- validation -------------------------------------------------------------------------------

/** Check one name/value pair: the canonical value, or INVALID_CONFIG. */
export function checkTopicConfig(name: string, value: string): { value: string } | ConfigError {
  const d = TOPIC_CONFIGS.get(name);
  if (d === undefined)
    return { errorCode: ErrorCode.INVALID_CONFIG, message: `Unknown topic config name: ${name}` };
  const parsed = d.parse(value);
  if (!parsed.ok) {
    return {
      errorCode: ErrorCode.INVALID_CONFIG,
      message: `Invalid value ${value} for configuration ${name}: ${parsed.reason}`,
    };
  }
  return { value: parsed.value };
}

/**
 * Validate a topic's complete override set (each value, then the rules that span configs) and
 * return it canonical. `brokerConfig` supplies defaults for the cross-config rules.
 */
export function validateTopicConfigs(
  overrides: Readonly<Record<string, string>>,
  brokerConfig: BrokerConfig,
): { configs: Record<string, string> } | ConfigError {
  const configs: Record<string, string> = {};
  for (const [name, value] of Object.entries(overrides)) {
    const checked = checkTopicConfig(name, value);
    if ('errorCode' in checked) return checked;
    configs[name] = checked.value;
  }
  const effective = (name: string) => configs[name] ?? topicConfigDefault(name, brokerConfig).value;
  const minLag = BigInt(effective('min.compaction.lag.ms') ?? '0');
  const maxLag = BigInt(effective('max.compaction.lag.ms') ?? LONG_MAX);
  if (minLag > maxLag) {
    return {
      errorCode: ErrorCode.INVALID_CONFIG,
      message: `conflicting topic configs: min.compaction.lag.ms (${minLag}) > max.compaction.lag.ms (${maxLag})`,
    };
  }
  return { configs };
}

// ---- effective values -------------------------------------------------------------------------

const SH_DEFAULTS = topicConfigDefaults(DEFAULT_CONFIG);

/**
 * The value a topic without an override gets, and where it comes from: the broker's config when it
 * sets one (STATIC_BROKER_CONFIG if it differs from StreamHouse's default, DEFAULT_CONFIG if not),
 * else Kafka's default.
 */
export function topicConfigDefault(
  name: string,
  brokerConfig: BrokerConfig,
): { value: string | null; source: number } {
  const fromBroker = topicConfigDefaults(brokerConfig)[name];
  if (fromBroker !== undefined) {
    const source =
      fromBroker === SH_DEFAULTS[name] ? ConfigSource.DEFAULT_CONFIG : ConfigSource.STATIC_BROKER_CONFIG;
    return { value: fromBroker, source };
  }
  return { value: TOPIC_CONFIGS.get(name)?.kafkaDefault ?? null, source: ConfigSource.DEFAULT_CONFIG };
}

/** Every catalogue config as a topic with these overrides sees it, alphabetically. */
export function describeTopicConfigs(
  overrides: Readonly<Record<string, string>>,
  brokerConfig: BrokerConfig,
): ConfigView[] {
  const brokerValues = topicConfigDefaults(brokerConfig);
  const views: ConfigView[] = [];
  for (const d of TOPIC_CONFIGS.values()) {
    const synonyms: ConfigSynonym[] = [];
    const override = overrides[d.name];
    if (override !== undefined)
      synonyms.push({ name: d.name, value: override, source: ConfigSource.TOPIC_CONFIG });
    if (d.brokerSynonym !== null) {
      const configured = brokerValues[d.name];
      const shippedDefault = SH_DEFAULTS[d.name] ?? d.kafkaDefault;
      if (configured !== undefined && configured !== shippedDefault) {
        synonyms.push({
          name: d.brokerSynonym,
          value: configured,
          source: ConfigSource.STATIC_BROKER_CONFIG,
        });
      }
      if (shippedDefault !== null) {
        synonyms.push({ name: d.brokerSynonym, value: shippedDefault, source: ConfigSource.DEFAULT_CONFIG });
      }
    }
    const effective = synonyms[0];
    views.push({
      name: d.name,
      value: effective?.value ?? d.kafkaDefault,
      source: effective?.source ?? ConfigSource.DEFAULT_CONFIG,
      readOnly: false,
      sensitive: false,
      type: d.type,
      doc: d.doc,
      synonyms,
    });
  }
  return views;
}
