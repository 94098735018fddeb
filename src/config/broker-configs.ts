/**
 * The broker configs DescribeConfigs reports for the BROKER resource: every BrokerConfig field under
 * its Kafka name where Kafka has one (num.partitions, log.retention.ms, socket.request.max.bytes, ...)
 * or under `streamhouse.*` where it is StreamHouse's own, plus the broker-level synonym of every
 * topic config the BrokerConfig does not carry (min.insync.replicas, compression.type, ...) at its
 * Kafka default, so tools that read either side see the same numbers.
 *
 * Invariants:
 * - All entries are read-only: StreamHouse has no dynamic broker configs. AlterConfigs and
 *   IncrementalAlterConfigs on the broker answer INVALID_REQUEST, as Kafka does for configs it cannot
 *   update dynamically (see handlers/33-alter-configs.ts).
 * - Source is STATIC_BROKER_CONFIG when the running value differs from DEFAULT_CONFIG, else
 *   DEFAULT_CONFIG (a BrokerConfig does not remember which fields were set explicitly).
 * - URLs that may carry credentials are sensitive: their value is never sent.
 */
import { type BrokerConfig, DEFAULT_CONFIG, type HostPort } from './broker-config.js';
import {
  ConfigSource,
  type ConfigSynonym,
  type ConfigType,
  type ConfigView,
  TOPIC_CONFIGS,
} from './topic-configs.js';

interface BrokerConfigDef {
  /** The BrokerConfig field reported (a test checks every field is). */
  readonly field: keyof BrokerConfig;
  readonly name: string;
  readonly type: ConfigType;
  readonly doc: string;
  readonly sensitive?: boolean;
  /** The value as a string (null = unset); `advertised` is the resolved advertised address. */
  readonly value: (config: BrokerConfig, advertised: HostPort | null) => string | null;
}

const listenerOf = (c: BrokerConfig, hp: HostPort | null) =>
  hp === null ? null : `${c.securityProtocol}://${hp.host}:${hp.port}`;
const hostPort = (hp: HostPort | null) => (hp === null ? null : `${hp.host}:${hp.port}`);

const BROKER_CONFIGS: readonly BrokerConfigDef[] = [
  {
    field: 'nodeId',
    name: 'broker.id',
    type: 'int',
    doc: "This broker's id (same as node.id).",
    value: (c) => String(c.nodeId),
  },
  {
    field: 'nodeId',
    name: 'node.id',
    type: 'int',
    doc: "This broker's id in Metadata responses.",
    value: (c) => String(c.nodeId),
  },
  {
    field: 'listen',
    name: 'listeners',
    type: 'list',
    doc: 'Address the Kafka listener binds (port 0 = any free port).',
    value: (c) => listenerOf(c, c.listen),
  },
  {
    field: 'advertised',
    name: 'advertised.listeners',
    type: 'list',
    doc: 'Address clients are told to connect to; defaults to the bound listener.',
    value: (c, advertised) => listenerOf(c, c.advertised ?? advertised),
  },
  {
    field: 'autoCreateTopicsEnable',
    name: 'auto.create.topics.enable',
    type: 'boolean',
    doc: 'Create unknown topics on Metadata requests that allow it.',
    value: (c) => String(c.autoCreateTopicsEnable),
  },
  {
    field: 'numPartitions',
    name: 'num.partitions',
    type: 'int',
    doc: 'Partition count of auto-created topics and of CreateTopics with -1.',
    value: (c) => String(c.numPartitions),
  },
  {
    field: 'defaultReplicationFactor',
    name: 'default.replication.factor',
    type: 'int',
    doc: 'Replication factor for CreateTopics with -1; a single broker serves only 1.',
    value: (c) => String(c.defaultReplicationFactor),
  },
  {
    field: 'logRetentionMs',
    name: 'log.retention.ms',
    type: 'long',
    doc: 'Default retention.ms of topics.',
    value: (c) => String(c.logRetentionMs),
  },
  {
    field: 'logRetentionBytes',
    name: 'log.retention.bytes',
    type: 'long',
    doc: 'Default retention.bytes of topics.',
    value: (c) => String(c.logRetentionBytes),
  },
  {
    field: 'retentionCheckIntervalMs',
    name: 'log.retention.check.interval.ms',
    type: 'long',
    doc: 'How often retention runs.',
    value: (c) => String(c.retentionCheckIntervalMs),
  },
  {
    field: 'logCleanerEnable',
    name: 'log.cleaner.enable',
    type: 'boolean',
    doc: 'Compact topics with cleanup.policy=compact.',
    value: (c) => String(c.logCleanerEnable),
  },
  {
    field: 'logCleanerBackoffMs',
    name: 'log.cleaner.backoff.ms',
    type: 'long',
    doc: 'Pause between compaction passes when no partition needs cleaning.',
    value: (c) => String(c.logCleanerBackoffMs),
  },
  {
    field: 'logCleanerDedupeBufferSize',
    name: 'log.cleaner.dedupe.buffer.size',
    type: 'long',
    doc: 'Largest key map one compaction pass builds.',
    value: (c) => String(c.logCleanerDedupeBufferSize),
  },
  {
    field: 'logSegmentBytes',
    name: 'log.segment.bytes',
    type: 'int',
    doc: 'Default segment.bytes of topics.',
    value: (c) => String(c.logSegmentBytes),
  },
  {
    field: 'logCleanupPolicy',
    name: 'log.cleanup.policy',
    type: 'list',
    doc: 'Default cleanup.policy of topics.',
    value: (c) => c.logCleanupPolicy,
  },
  {
    field: 'logMessageTimestampType',
    name: 'log.message.timestamp.type',
    type: 'string',
    doc: 'Default message.timestamp.type of topics.',
    value: (c) => c.logMessageTimestampType,
  },
  {
    field: 'messageMaxBytes',
    name: 'message.max.bytes',
    type: 'int',
    doc: 'Default max.message.bytes of topics.',
    value: (c) => String(c.messageMaxBytes),
  },
  {
    field: 'maxRequestBytes',
    name: 'socket.request.max.bytes',
    type: 'int',
    doc: 'Largest request frame accepted; larger ones close the connection.',
    value: (c) => String(c.maxRequestBytes),
  },
  {
    field: 'connectionsMaxIdleMs',
    name: 'connections.max.idle.ms',
    type: 'long',
    doc: 'Idle connections are closed after this long.',
    value: (c) => String(c.connectionsMaxIdleMs),
  },
  {
    field: 'admin',
    name: 'streamhouse.admin.listener',
    type: 'string',
    doc: 'Address of the admin HTTP server (/metrics, /healthz, /readyz); unset = disabled.',
    value: (c) => hostPort(c.admin),
  },
  {
    field: 'dataDir',
    name: 'streamhouse.data.dir',
    type: 'string',
    doc: 'Directory of the write-ahead log and the default local stores; unset = memory only.',
    value: (c) => c.dataDir,
  },
  {
    field: 'metadataUrl',
    name: 'streamhouse.metadata.url',
    type: 'string',
    sensitive: true,
    doc: 'Metadata store URL (sqlite://, postgres://, memory://); unset = SQLite under the data dir.',
    value: (c) => c.metadataUrl,
  },
  {
    field: 'objectStoreUrl',
    name: 'streamhouse.object.store.url',
    type: 'string',
    sensitive: true,
    doc: 'Object store URL (file://, s3://, memory://); unset = a directory under the data dir.',
    value: (c) => c.objectStoreUrl,
  },
  {
    field: 'walFsync',
    name: 'streamhouse.wal.fsync',
    type: 'boolean',
    doc: 'fsync the write-ahead log before acknowledging writes.',
    value: (c) => String(c.walFsync),
  },
  {
    field: 'walSegmentBytes',
    name: 'streamhouse.wal.segment.bytes',
    type: 'long',
    doc: 'Size of a write-ahead log segment file.',
    value: (c) => String(c.walSegmentBytes),
  },
  {
    field: 'maxInFlightRequestsPerConnection',
    name: 'streamhouse.max.in.flight.requests.per.connection',
    type: 'int',
    doc: 'Requests in flight per connection before the broker stops reading from it.',
    value: (c) => String(c.maxInFlightRequestsPerConnection),
  },
  {
    field: 'uploadTargetBytes',
    name: 'streamhouse.upload.target.bytes',
    type: 'long',
    doc: 'Upload an object once this many bytes are pending.',
    value: (c) => String(c.uploadTargetBytes),
  },
  {
    field: 'uploadMaxAgeMs',
    name: 'streamhouse.upload.max.age.ms',
    type: 'long',
    doc: 'Upload an object once the oldest pending batch is this old.',
    value: (c) => String(c.uploadMaxAgeMs),
  },
  {
    field: 'maxUnuploadedBytes',
    name: 'streamhouse.max.unuploaded.bytes',
    type: 'long',
    doc: 'Produce waits, then fails with a retriable error, past this many bytes not yet uploaded.',
    value: (c) => String(c.maxUnuploadedBytes),
  },
  {
    field: 'backpressureTimeoutMs',
    name: 'streamhouse.backpressure.timeout.ms',
    type: 'long',
    doc: 'How long a produce may wait for the upload backlog to clear.',
    value: (c) => String(c.backpressureTimeoutMs),
  },
  {
    field: 'hotTailMaxBytes',
    name: 'streamhouse.hot.tail.max.bytes',
    type: 'long',
    doc: 'Memory for recently uploaded batches kept for tail readers.',
    value: (c) => String(c.hotTailMaxBytes),
  },
  {
    field: 'objectCacheBytes',
    name: 'streamhouse.object.cache.bytes',
    type: 'long',
    doc: 'Memory for cached object ranges (cold reads).',
    value: (c) => String(c.objectCacheBytes),
  },
  {
    field: 'objectDiskCacheBytes',
    name: 'streamhouse.object.disk.cache.bytes',
    type: 'long',
    doc: 'Local disk for cached object ranges, under the memory cache; 0 disables.',
    value: (c) => String(c.objectDiskCacheBytes),
  },
  {
    field: 'shutdownGraceMs',
    name: 'streamhouse.shutdown.grace.ms',
    type: 'long',
    doc: 'Grace period for in-flight requests on shutdown.',
    value: (c) => String(c.shutdownGraceMs),
  },
  {
    field: 'groupInitialRebalanceDelayMs',
    name: 'group.initial.rebalance.delay.ms',
    type: 'int',
    doc: 'How long a new group waits for more members before its first rebalance.',
    value: (c) => String(c.groupInitialRebalanceDelayMs),
  },
  {
    field: 'groupMinSessionTimeoutMs',
    name: 'group.min.session.timeout.ms',
    type: 'int',
    doc: 'Smallest session timeout a group member may ask for.',
    value: (c) => String(c.groupMinSessionTimeoutMs),
  },
  {
    field: 'groupMaxSessionTimeoutMs',
    name: 'group.max.session.timeout.ms',
    type: 'int',
    doc: 'Largest session timeout a group member may ask for.',
    value: (c) => String(c.groupMaxSessionTimeoutMs),
  },
  {
    field: 'offsetsRetentionMinutes',
    name: 'offsets.retention.minutes',
    type: 'int',
    doc: 'Committed offsets of a group empty this long expire.',
    value: (c) => String(c.offsetsRetentionMinutes),
  },
  {
    field: 'producerIdExpirationMs',
    name: 'producer.id.expiration.ms',
    type: 'int',
    doc: 'Idempotent producer state expires after this long without writes.',
    value: (c) => String(c.producerIdExpirationMs),
  },
  {
    field: 'transactionMaxTimeoutMs',
    name: 'transaction.max.timeout.ms',
    type: 'int',
    doc: 'Largest transaction timeout a transactional producer may ask for.',
    value: (c) => String(c.transactionMaxTimeoutMs),
  },
  {
    field: 'transactionAbortCheckIntervalMs',
    name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms',
    type: 'int',
    doc: 'How often timed-out transactions are looked for and aborted.',
    value: (c) => String(c.transactionAbortCheckIntervalMs),
  },
  {
    field: 'securityProtocol',
    name: 'security.inter.broker.protocol',
    type: 'string',
    doc: 'Security protocol of the (one) listener: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.',
    value: (c) => c.securityProtocol,
  },
  {
    field: 'securityProtocol',
    name: 'listener.security.protocol.map',
    type: 'list',
    doc: 'The one listener and its security protocol.',
    value: (c) => `${c.securityProtocol}:${c.securityProtocol}`,
  },
  {
    field: 'sslCertificateLocation',
    name: 'streamhouse.ssl.certificate.location',
    type: 'string',
    doc: 'PEM server certificate of SSL and SASL_SSL listeners.',
    value: (c) => c.sslCertificateLocation,
  },
  {
    field: 'sslKeyLocation',
    name: 'streamhouse.ssl.key.location',
    type: 'string',
    doc: 'PEM private key of SSL and SASL_SSL listeners.',
    value: (c) => c.sslKeyLocation,
  },
  {
    field: 'sslKeyPassword',
    name: 'ssl.key.password',
    type: 'password',
    sensitive: true,
    doc: 'Passphrase of the private key.',
    value: (c) => c.sslKeyPassword,
  },
  {
    field: 'sslCaLocation',
    name: 'streamhouse.ssl.ca.location',
    type: 'string',
    doc: 'PEM CA bundle client certificates are verified against.',
    value: (c) => c.sslCaLocation,
  },
  {
    field: 'sslClientAuth',
    name: 'ssl.client.auth',
    type: 'string',
    doc: 'Client certificates: none, requested or required.',
    value: (c) => c.sslClientAuth,
  },
  {
    field: 'saslEnabledMechanisms',
    name: 'sasl.enabled.mechanisms',
    type: 'list',
    doc: 'SASL mechanisms offered on SASL listeners.',
    value: (c) => c.saslEnabledMechanisms.join(','),
  },
  {
    field: 'saslUsersFile',
    name: 'streamhouse.sasl.users.file',
    type: 'string',
    doc: 'File of user:password lines for PLAIN (and derived SCRAM credentials).',
    value: (c) => c.saslUsersFile,
  },
  {
    field: 'saslFailureDelayMs',
    name: 'connection.failed.authentication.delay.ms',
    type: 'int',
    doc: 'Delay before answering a failed authentication.',
    value: (c) => String(c.saslFailureDelayMs),
  },
  {
    field: 'logLevel',
    name: 'streamhouse.log.level',
    type: 'string',
    doc: 'Broker log level.',
    value: (c) => c.logLevel,
  },
];

/** The broker's configs as DescribeConfigs reports them, alphabetically. */
export function describeBrokerConfigs(config: BrokerConfig, advertised: HostPort | null): ConfigView[] {
  const views: ConfigView[] = [];
  const seen = new Set<string>();
  for (const d of BROKER_CONFIGS) {
    seen.add(d.name);
    const value = d.value(config, advertised);
    const shipped = d.value(DEFAULT_CONFIG, null);
    const sensitive = d.sensitive === true;
    const synonyms: ConfigSynonym[] = [];
    if (value !== shipped) {
      synonyms.push({
        name: d.name,
        value: sensitive ? null : value,
        source: ConfigSource.STATIC_BROKER_CONFIG,
      });
    }
    if (shipped !== null)
      synonyms.push({ name: d.name, value: sensitive ? null : shipped, source: ConfigSource.DEFAULT_CONFIG });
    views.push({
      name: d.name,
      value: sensitive ? null : value,
      source: value !== shipped ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG,
      readOnly: true,
      sensitive,
      type: d.type,
      doc: d.doc,
      synonyms,
    });
  }
  // Broker-level names of the topic configs the BrokerConfig does not carry: Kafka's defaults.
  for (const t of TOPIC_CONFIGS.values()) {
    if (t.brokerSynonym === null || seen.has(t.brokerSynonym) || t.kafkaDefault === null) continue;
    seen.add(t.brokerSynonym);
    views.push({
      name: t.brokerSynonym,
      value: t.kafkaDefault,
      source: ConfigSource.DEFAULT_CONFIG,
      readOnly: true,
      sensitive: false,
      type: t.type,
      doc: `Default ${t.name} of topics. ${t.honoured ? '' : 'Stored for compatibility; StreamHouse does not act on it.'}`.trim(),
      synonyms: [{ name: t.brokerSynonym, value: t.kafkaDefault, source: ConfigSource.DEFAULT_CONFIG }],
    });
  }
  return views.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The BrokerConfig fields the catalogue reports (for a test that keeps it complete). */
export function reportedBrokerConfigFields(): Set<keyof BrokerConfig> {
  return new Set(BROKER_CONFIGS.map((d) => d.field));
}
