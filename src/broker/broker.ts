/**
 * Broker: wires the stores, the WAL, the log, the handlers and the listeners together, and takes
 * them apart again in the right order.
 *
 * Start: lock the data dir → open metadata + object store → open WAL (recovery) → LogStore.open
 * (load index, replay WAL) → group and transaction coordinators (transaction recovery) → bind the
 * Kafka listener → admin HTTP. Ready once all of that is done.
 * Stop: stop accepting and let in-flight requests finish (grace) → stop the log (uploads finish)
 * → close the WAL (flush + fsync) → close stores → release the lock.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { type BrokerConfig, DEFAULT_CONFIG, type HostPort } from '../config/broker-config.js';
import { GroupCoordinator } from '../coordinators/groups/group-coordinator.js';
import { ProducerIdManager } from '../coordinators/producer-ids.js';
import { TransactionCoordinator } from '../coordinators/transactions/transaction-coordinator.js';
import { StreamhouseError } from '../errors.js';
import { HANDLERS } from '../handlers/index.js';
import { LogStore } from '../log/log-store.js';
import { WriteAheadLog } from '../log/wal/wal.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import { openMetadataStore } from '../metadata/open-metadata-store.js';
import { type AdminServer, startAdminServer } from '../metrics/admin-server.js';
import { BrokerMetrics } from '../metrics/broker-metrics.js';
import { authMetrics } from '../security/auth-metrics.js';
import { CredentialStore } from '../security/credentials.js';
import type { SaslConfig } from '../security/sasl-session.js';
import { buildTlsOptions, usesSasl, usesTls } from '../security/tls.js';
import { Dispatcher } from '../server/dispatcher.js';
import { KafkaListener, type ListenerSecurity } from '../server/server.js';
import type { ObjectStore } from '../tiering/object-store.js';
import { openObjectStore } from '../tiering/open-object-store.js';
import { S3ObjectStore } from '../tiering/s3-object-store.js';
import type { ApiVersionRange, BrokerContext } from './context.js';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';
import { topicConfigDefaults } from './topic-defaults.js';

export interface StartBrokerOptions extends Partial<BrokerConfig> {
  /** A pino logger to use (default: JSON lines on stdout at config.logLevel). */
  logger?: Logger;
}

export interface RunningBroker {
  /** The Kafka listener's bound address. */
  readonly host: string;
  readonly port: number;
  /** "host:port", ready for a client's bootstrap servers. */
  readonly bootstrap: string;
  readonly admin: HostPort | null;
  readonly config: BrokerConfig;
  readonly context: BrokerContext;
  readonly metrics: BrokerMetrics;
  /** Graceful shutdown; idempotent. */
  close(): Promise<void>;
}

export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const { logger: givenLogger, ...overrides } = options;
  const config: BrokerConfig = { ...DEFAULT_CONFIG, ...overrides };
  const logger = givenLogger ?? pino({ level: config.logLevel, base: { svc: 'streamhouse' } });
  const cleanups: (() => Promise<void>)[] = [];
  const undo = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };

  try {
    // Before anything is opened: a bad certificate or key stops the start with nothing to undo.
    const tlsOptions = usesTls(config) ? buildTlsOptions(config) : null;
    let lock: DataDirLock | null = null;
    let dataDir: string | null = null;
    if (config.dataDir !== null) {
      dataDir = resolve(config.dataDir);
      try {
        mkdirSync(dataDir, { recursive: true });
      } catch (err) {
        throw new StreamhouseError('SH_DATA_DIR_UNUSABLE', `data dir ${dataDir}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      lock = acquireDataDirLock(dataDir);
      const held = lock;
      cleanups.push(async () => held.release());
    }
    const metadataUrl = config.metadataUrl ?? (dataDir ? `sqlite://${join(dataDir, 'metadata.db')}` : null);
    const objectStoreUrl = config.objectStoreUrl ?? (dataDir ? `file://${join(dataDir, 'objects')}` : null);
    if (metadataUrl === null || objectStoreUrl === null) {
      throw new StreamhouseError(
        'SH_CONFIG_INVALID',
        'data.dir is unset: set it, or use memory:// for metadata and object store',
      );
    }

    let metadata: MetadataStore;
    let objects: ObjectStore;
    try {
      metadata = await openMetadataStore(metadataUrl);
      cleanups.push(() => metadata.close());
      objects = await openObjectStore(objectStoreUrl);
      cleanups.push(() => objects.close());
    } catch (err) {
      throw new StreamhouseError('SH_STORE_OPEN_FAILED', (err as Error).message, { cause: err });
    }
    const clusterId = await metadata.getOrCreateClusterId();

    let connectionsOpen = 0;
    let bytesInClosed = 0;
    let bytesOutClosed = 0;
    let listener: KafkaListener | null = null;
    let wal: WriteAheadLog | null = null;
    let log: LogStore | null = null;
    const metrics = new BrokerMetrics({
      connections: () => connectionsOpen,
      bytesIn: () => bytesInClosed + (listener?.liveTraffic().bytesIn ?? 0),
      bytesOut: () => bytesOutClosed + (listener?.liveTraffic().bytesOut ?? 0),
      log: () =>
        log?.statsSnapshot ?? {
          unuploadedBytes: 0,
          hotBytes: 0,
          uploadLagMs: 0,
          objectsUploaded: 0,
          bytesUploaded: 0,
          uploadFailures: 0,
          walBytes: 0,
          compactionPasses: 0,
          compactionBytesBefore: 0,
          compactionBytesAfter: 0,
          compactionFailures: 0,
        },
      wal: () => wal?.stats ?? null,
      objectStore: () => (objects instanceof S3ObjectStore ? objects.stats : null),
    });

    if (dataDir !== null) {
      try {
        wal = await WriteAheadLog.open(join(dataDir, 'wal'), {
          fsync: config.walFsync,
          segmentBytes: config.walSegmentBytes,
          fileOps: metrics.timedWalFileOps(),
        });
      } catch (err) {
        throw new StreamhouseError('SH_WAL_OPEN_FAILED', (err as Error).message, { cause: err });
      }
      const w = wal;
      cleanups.push(() => w.close());
    }

    let opened: LogStore;
    try {
      opened = await LogStore.open(
        metadata,
        objects,
        wal,
        {
          maxUnuploadedBytes: config.maxUnuploadedBytes,
          backpressureTimeoutMs: config.backpressureTimeoutMs,
          hotTailMaxBytes: config.hotTailMaxBytes,
          uploadTargetBytes: config.uploadTargetBytes,
          uploadMaxAgeMs: config.uploadMaxAgeMs,
          objectCacheBytes: config.objectCacheBytes,
          objectDiskCache:
            dataDir !== null && config.objectDiskCacheBytes > 0
              ? { dir: join(dataDir, 'cache'), maxBytes: config.objectDiskCacheBytes }
              : null,
          retentionCheckIntervalMs: config.retentionCheckIntervalMs,
          producerIdExpirationMs: config.producerIdExpirationMs,
          topicDefaults: () => topicConfigDefaults(config),
          compaction: {
            enabled: config.logCleanerEnable,
            backoffMs: config.logCleanerBackoffMs,
            dedupeBufferBytes: config.logCleanerDedupeBufferSize,
          },
        },
        logger,
        metrics,
      );
    } catch (err) {
      throw new StreamhouseError('SH_RECOVERY_FAILED', (err as Error).message, { cause: err });
    }
    const openedLog = opened;
    log = openedLog;
    cleanups.push(() => openedLog.close());

    const groups = new GroupCoordinator(
      metadata,
      {
        initialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
        minSessionTimeoutMs: config.groupMinSessionTimeoutMs,
        maxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
        offsetMetadataMaxBytes: 4096,
        offsetsRetentionMs: config.offsetsRetentionMinutes * 60_000,
        sessionCheckIntervalMs: 500,
      },
      logger,
    );
    cleanups.push(async () => groups.close());

    // After the log and the groups (markers, committed offsets), before the listener: recovery
    // finishes or aborts what the last run left open before any client can act on it.
    const producerIds = new ProducerIdManager(metadata);
    const transactions = new TransactionCoordinator(
      metadata,
      openedLog,
      groups,
      producerIds,
      {
        maxTimeoutMs: config.transactionMaxTimeoutMs,
        abortCheckIntervalMs: config.transactionAbortCheckIntervalMs,
      },
      logger,
    );
    cleanups.push(() => transactions.close());
    try {
      await transactions.start();
    } catch (err) {
      throw new StreamhouseError('SH_RECOVERY_FAILED', `transactions: ${(err as Error).message}`, {
        cause: err,
      });
    }

    const credentials = await CredentialStore.open(metadata, config.saslUsersFile);
    let sasl: SaslConfig | null = null;
    if (usesSasl(config)) {
      sasl = {
        mechanisms: config.saslEnabledMechanisms,
        credentials,
        failureDelayMs: config.saslFailureDelayMs,
        logger,
        observer: authMetrics(metrics.registry),
      };
      if (!(await credentials.hasAnyUser()))
        logger.warn(
          { code: 'SH_SASL_NO_USERS', securityProtocol: config.securityProtocol },
          'SH_SASL_NO_USERS: SASL is required but there is no sasl.users.file and no SCRAM credential: every login will fail (see runbooks/broker-errors.md#sh_sasl_no_users)',
        );
    }
    const security: ListenerSecurity = { tls: tlsOptions, sasl };

    let advertised: HostPort = config.advertised ?? config.listen;
    let dispatcher: Dispatcher | null = null;
    const context: BrokerContext = {
      config,
      clusterId,
      nodeId: config.nodeId,
      get advertised() {
        return advertised;
      },
      log: openedLog,
      metadata,
      logger,
      producerIds,
      groups,
      transactions,
      credentials,
      apiVersions: (): ApiVersionRange[] => dispatcher?.apiVersionsList() ?? [],
    };
    dispatcher = new Dispatcher(HANDLERS, context, logger, metrics);
    listener = new KafkaListener(
      dispatcher,
      {
        maxRequestBytes: config.maxRequestBytes,
        idleTimeoutMs: config.connectionsMaxIdleMs,
        maxInFlightRequests: config.maxInFlightRequestsPerConnection,
      },
      logger,
      {
        onConnectionOpened: () => connectionsOpen++,
        onConnectionClosed: (c) => {
          connectionsOpen--;
          bytesInClosed += c.bytesIn;
          bytesOutClosed += c.bytesOut;
        },
      },
      security,
    );
    let bound: { host: string; port: number };
    try {
      bound = await listener.listen(config.listen.host, config.listen.port);
    } catch (err) {
      throw new StreamhouseError(
        'SH_LISTEN_FAILED',
        `Kafka listener ${config.listen.host}:${config.listen.port}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const kafkaListener = listener;
    cleanups.push(() => kafkaListener.close(config.shutdownGraceMs));
    if (config.advertised === null)
      advertised = { host: config.listen.host === '0.0.0.0' ? '127.0.0.1' : bound.host, port: bound.port };

    let admin: AdminServer | null = null;
    let ready = false;
    if (config.admin !== null) {
      try {
        admin = await startAdminServer(config.admin.host, config.admin.port, metrics.registry, () => ready);
      } catch (err) {
        throw new StreamhouseError(
          'SH_LISTEN_FAILED',
          `admin listener ${config.admin.host}:${config.admin.port}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const a = admin;
      cleanups.push(() => a.close());
    }
    ready = true;
    logger.info(
      {
        listen: `${bound.host}:${bound.port}`,
        securityProtocol: config.securityProtocol,
        ...(sasl !== null ? { saslMechanisms: sasl.mechanisms } : {}),
        advertised: `${advertised.host}:${advertised.port}`,
        admin: admin ? `${admin.host}:${admin.port}` : null,
        clusterId,
        dataDir,
        metadata: redactUrl(metadataUrl),
        objectStore: redactUrl(objectStoreUrl),
      },
      'StreamHouse broker started',
    );

    let closing: Promise<void> | null = null;
    return {
      host: bound.host,
      port: bound.port,
      bootstrap: `${advertised.host}:${advertised.port}`,
      admin: admin ? { host: admin.host, port: admin.port } : null,
      config,
      context,
      metrics,
      close() {
        closing ??= (async () => {
          ready = false;
          logger.info('StreamHouse broker shutting down');
          await undo();
          logger.info('StreamHouse broker stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** A store URL fit for a log line: passwords and secret query parameters masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    for (const key of [...u.searchParams.keys()]) {
      if (/secret|password|token/i.test(key)) u.searchParams.set(key, '***');
    }
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
