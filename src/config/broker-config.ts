/**
 * The broker's configuration: one typed object, one table of defaults. Loading (file → environment
 * → flags) and validation live in load-config.ts; everything else receives a BrokerConfig.
 *
 * Topic-level defaults (`log.retention.ms` → `retention.ms`, ...) are broker configs too, as in Kafka;
 * topics override them with their own configs (see topic-configs.ts).
 */

export interface HostPort {
  host: string;
  port: number;
}

/** How clients talk to the Kafka listener (Kafka's security.protocol). */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = [
  'PLAINTEXT',
  'SSL',
  'SASL_PLAINTEXT',
  'SASL_SSL',
];
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SASL_MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];
/** Whether TLS clients must (required), may (requested) or need not (none) present a certificate. */
export type SslClientAuth = 'none' | 'requested' | 'required';

export interface BrokerConfig {
  /** This broker's node id in Metadata responses. */
  nodeId: number;
  /** Where the Kafka listener binds. Port 0 picks a free port. */
  listen: HostPort;
  /** Host/port clients are told to connect to (Metadata). null = the bound listen address. */
  advertised: HostPort | null;
  /** Admin HTTP server (/metrics, /healthz, /readyz). null = disabled. */
  admin: HostPort | null;
  /** Root for the WAL, the default SQLite file and the default object directory. null = no disk at all
   * (only with memory:// stores; nothing survives a restart — for tests and embedding). */
  dataDir: string | null;
  /** sqlite://PATH | postgres://… | memory://. null = sqlite://<dataDir>/metadata.db */
  metadataUrl: string | null;
  /** file://DIR | s3://BUCKET/PREFIX?… | memory://. null = file://<dataDir>/objects */
  objectStoreUrl: string | null;
  /** fsync the WAL before acknowledging (turning this off breaks the durability contract). */
  walFsync: boolean;
  walSegmentBytes: number;
  /** Largest request frame accepted (socket.request.max.bytes). */
  maxRequestBytes: number;
  /** Close connections idle this long (connections.max.idle.ms). */
  connectionsMaxIdleMs: number;
  /** Requests in flight per connection before reading pauses. */
  maxInFlightRequestsPerConnection: number;
  autoCreateTopicsEnable: boolean;
  numPartitions: number;
  defaultReplicationFactor: number;
  /** Broker defaults for topic configs. */
  logRetentionMs: number;
  logRetentionBytes: number;
  messageMaxBytes: number;
  logSegmentBytes: number;
  logMessageTimestampType: 'CreateTime' | 'LogAppendTime';
  logCleanupPolicy: string;
  /** Upload when this many bytes are pending, or when the oldest is uploadMaxAgeMs old. */
  uploadTargetBytes: number;
  uploadMaxAgeMs: number;
  /** Produce waits, then fails (retriable), past this many bytes not yet uploaded. */
  maxUnuploadedBytes: number;
  backpressureTimeoutMs: number;
  /** Memory for recently uploaded batches kept for tail readers. */
  hotTailMaxBytes: number;
  /** Memory for cached object ranges (cold reads). */
  objectCacheBytes: number;
  /** Local disk (<dataDir>/cache) for cached object ranges, under the memory tier; 0 disables. */
  objectDiskCacheBytes: number;
  retentionCheckIntervalMs: number;
  /** Log compaction of cleanup.policy=compact topics (log.cleaner.enable). */
  logCleanerEnable: boolean;
  /** Pause between compaction passes when no partition needs cleaning. */
  logCleanerBackoffMs: number;
  /** Largest key map one compaction pass builds (a pass stops at an index entry boundary past it). */
  logCleanerDedupeBufferSize: number;
  /** Grace period for in-flight requests on shutdown. */
  shutdownGraceMs: number;
  /** Consumer groups: wait this long for more members before the first rebalance of an empty group. */
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  /** Committed offsets of a group that has been empty this long expire (offsets.retention.minutes). */
  offsetsRetentionMinutes: number;
  /** Idempotent producer state expires after this long without writes (producer.id.expiration.ms). */
  producerIdExpirationMs: number;
  /** Largest transaction timeout a transactional producer may ask for (transaction.max.timeout.ms). */
  transactionMaxTimeoutMs: number;
  /** How often the transaction coordinator looks for timed-out transactions to abort. */
  transactionAbortCheckIntervalMs: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Security of the Kafka listener: TLS and/or SASL (docs/security.md). */
  securityProtocol: SecurityProtocol;
  /** PEM server certificate (chain) and private key; required for SSL and SASL_SSL. */
  sslCertificateLocation: string | null;
  sslKeyLocation: string | null;
  /** Passphrase of an encrypted private key. */
  sslKeyPassword: string | null;
  /** PEM CA bundle client certificates are verified against (ssl.client.auth). */
  sslCaLocation: string | null;
  sslClientAuth: SslClientAuth;
  /** Mechanisms SaslHandshake accepts, in the order they are advertised. */
  saslEnabledMechanisms: readonly SaslMechanism[];
  /** `user:password` lines: PLAIN users, and SCRAM credentials derived at start. */
  saslUsersFile: string | null;
  /** Delay before answering a failed authentication (slows password guessing). */
  saslFailureDelayMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_CONFIG: Readonly<BrokerConfig> = Object.freeze({
  nodeId: 0,
  listen: { host: '127.0.0.1', port: 9092 },
  advertised: null,
  admin: { host: '127.0.0.1', port: 9644 },
  dataDir: './streamhouse-data',
  metadataUrl: null,
  objectStoreUrl: null,
  walFsync: true,
  walSegmentBytes: 64 * MiB,
  maxRequestBytes: 100 * MiB,
  connectionsMaxIdleMs: 600_000,
  maxInFlightRequestsPerConnection: 100,
  autoCreateTopicsEnable: true,
  numPartitions: 1,
  defaultReplicationFactor: 1,
  logRetentionMs: 7 * 24 * 3600 * 1000,
  logRetentionBytes: -1,
  messageMaxBytes: 1048588,
  logSegmentBytes: 1024 * MiB,
  logMessageTimestampType: 'CreateTime',
  logCleanupPolicy: 'delete',
  uploadTargetBytes: 8 * MiB,
  uploadMaxAgeMs: 2000,
  maxUnuploadedBytes: 512 * MiB,
  backpressureTimeoutMs: 30_000,
  hotTailMaxBytes: 256 * MiB,
  objectCacheBytes: 256 * MiB,
  objectDiskCacheBytes: 1024 * MiB,
  retentionCheckIntervalMs: 30_000,
  logCleanerEnable: true,
  logCleanerBackoffMs: 15_000,
  logCleanerDedupeBufferSize: 128 * MiB,
  shutdownGraceMs: 5_000,
  groupInitialRebalanceDelayMs: 3_000,
  groupMinSessionTimeoutMs: 6_000,
  groupMaxSessionTimeoutMs: 1_800_000,
  offsetsRetentionMinutes: 10_080,
  producerIdExpirationMs: 86_400_000,
  transactionMaxTimeoutMs: 900_000,
  transactionAbortCheckIntervalMs: 10_000,
  logLevel: 'info',
  securityProtocol: 'PLAINTEXT',
  sslCertificateLocation: null,
  sslKeyLocation: null,
  sslKeyPassword: null,
  sslCaLocation: null,
  sslClientAuth: 'none',
  saslEnabledMechanisms: SASL_MECHANISMS,
  saslUsersFile: null,
  saslFailureDelayMs: 100,
});
