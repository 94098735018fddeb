/**
 * What handlers see of the broker: configuration, identity, the log, the metadata store, and the
 * coordinators. Handlers never reach past this (no sockets, no files).
 */
import type { Logger } from 'pino';
import type { BrokerConfig, HostPort } from '../config/broker-config.js';
import type { GroupCoordinator } from '../coordinators/groups/group-coordinator.js';
import type { ProducerIdManager } from '../coordinators/producer-ids.js';
import type { TransactionCoordinator } from '../coordinators/transactions/transaction-coordinator.js';
import type { LogStore } from '../log/log-store.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import type { CredentialStore } from '../security/credentials.js';

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface BrokerContext {
  readonly config: BrokerConfig;
  readonly clusterId: string;
  readonly nodeId: number;
  /** Where clients should connect (advertised listener, resolved after bind). */
  readonly advertised: HostPort;
  readonly log: LogStore;
  readonly metadata: MetadataStore;
  readonly logger: Logger;
  /** Producer id allocation (InitProducerId without a transactional id). */
  readonly producerIds: ProducerIdManager;
  /** Consumer groups and committed offsets. */
  readonly groups: GroupCoordinator;
  /** Transactional ids: epochs, transaction state, markers (InitProducerId with one, *Txn APIs). */
  readonly transactions: TransactionCoordinator;
  /** SASL users and SCRAM credentials (users file + metadata store). */
  readonly credentials: CredentialStore;
  /** The advertised API ranges, derived from the handler registry. */
  apiVersions(): ApiVersionRange[];
}
