/**
 * The transaction coordinator (Kafka's TransactionCoordinator, KIP-98, on one broker): the state
 * machine of each transactional id, its durable record in the metadata store, the produce guard
 * the log consults for every transactional batch, and EndTxn writing COMMIT/ABORT markers through
 * the log.
 *
 * States: Empty → Ongoing (AddPartitionsToTxn / AddOffsetsToTxn) → PrepareCommit | PrepareAbort
 * (EndTxn; durable before any marker is written, so the decision survives a crash) → CompleteCommit
 * | CompleteAbort (markers durable, pending offsets applied or dropped). InitProducerId bumps the
 * epoch (fencing older instances), aborting an Ongoing transaction first.
 *
 * Every change is persisted before the request is answered (one exception: CompleteX is written
 * behind EndTxn's answer, since PrepareX already makes the outcome durable); the in-memory copy is
 * otherwise only replaced after the write succeeded. Operations on one transactional id are serialised (one promise chain
 * per id), so EndTxn, InitProducerId and the timeout sweep never interleave.
 *
 * Markers are written synchronously (the request waits for them), unlike Kafka which answers EndTxn
 * once PrepareX is durable: a single broker can do it cheaply, and a client that reads right after
 * commit sees its data. If markers fail (storage error), the transaction stays in PrepareX (the
 * outcome is already decided and durable), EndTxn still answers NONE as Kafka would, other requests
 * for that id get CONCURRENT_TRANSACTIONS, and the periodic sweep retries until it completes.
 *
 * Start (before clients connect): load every record; Ongoing → abort with a bumped epoch (the old
 * producer is fenced); PrepareCommit / PrepareAbort → write the markers again (harmless) and complete.
 */
import type { Logger } from 'pino';
import { ErrorCode } from '../../../protocol/error-codes.js';
import type { MetadataStore, OffsetCommitEntry } from '../../metadata/metadata-store.js';
import type { ProducerIdAndEpoch } from '../producer-ids.js';
import { StateWriter } from './state-writer.js';
import {
  decodeTxn,
  encodeTxn,
  type PendingOffset,
  samePartition,
  type TopicPartition,
  TXN_META_PREFIX,
  TXN_STATES,
  type TxnRecord,
  type TxnState,
  txnKey,
} from './transaction-state.js';

export const MAX_PRODUCER_EPOCH = 32767;

/** Same shape as LogStore's TxnProduceGuard (src/log/log-store.ts). */
export type ProduceGuard = (
  producerId: number,
  producerEpoch: number,
  topic: string,
  partition: number,
) => { errorCode: number; message: string } | null;

/** What the coordinator needs of the log (LogStore implements it). */
export interface TxnLog {
  setTxnProduceGuard(guard: ProduceGuard | null): void;
  writeTxnMarkers(
    markers: readonly { topic: string; partition: number }[],
    producerId: number,
    producerEpoch: number,
    commit: boolean,
  ): Promise<{ topic: string; partition: number; errorCode: number }[]>;
}

/** What the coordinator needs of the group coordinator (applying committed transactional offsets). */
export interface TxnGroups {
  commitOffsets(groupId: string, entries: OffsetCommitEntry[]): Promise<void>;
}

export interface TxnProducerIds {
  newProducerId(): Promise<ProducerIdAndEpoch>;
}

export interface TransactionCoordinatorOptions {
  /** transaction.max.timeout.ms */
  maxTimeoutMs: number;
  /** How often timed-out transactions are aborted and stuck PrepareX ones retried. */
  abortCheckIntervalMs: number;
  now?: () => number;
}

export interface InitResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface TxnDescription {
  transactionalId: string;
  state: TxnState;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  startTimeMs: number;
  partitions: readonly TopicPartition[];
}

const partitionKey = (topic: string, partition: number) => `${topic}\0${partition}`;

export class TransactionCoordinator {
  private readonly txns = new Map<string, TxnRecord>();
  /** Partitions of each transaction, for the produce guard's per-batch lookup. */
  private readonly partitionSets = new Map<string, Set<string>>();
  /** Current and previous producer ids → transactional id. */
  private readonly byProducerId = new Map<number, string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /**
   * CompleteX records still being written (see complete()): per id, so the next save of the same
   * id lands after it and a late Complete can never overwrite a newer state.
   */
  private readonly completing = new Map<string, Promise<void>>();
  /** State writes of concurrent transactional ids share one metadata transaction (state-writer.ts). */
  private readonly stateWriter: StateWriter;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private closed = false;
  private readonly now: () => number;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly log: TxnLog,
    private readonly groups: TxnGroups,
    private readonly producerIds: TxnProducerIds,
    readonly options: TransactionCoordinatorOptions,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
    this.stateWriter = new StateWriter(metadata);
  }

  // ---- Lifecycle --------------------------------------------------------------------------------

  /** Load durable state, register the produce guard, finish or abort what a crash left open. */
  async start(): Promise<void> {
    for (const { key, value } of await this.metadata.listMeta(TXN_META_PREFIX)) {
      const id = key.slice(TXN_META_PREFIX.length);
      try {
        this.remember(decodeTxn(id, value, this.options.maxTimeoutMs));
      } catch (err) {
        this.logger.error({ transactionalId: id, err }, 'unreadable transactional-id record: ignored');
      }
    }
    this.log.setTxnProduceGuard(this.guard);
    let recovered = 0;
    for (const rec of [...this.txns.values()]) {
      if (rec.state === 'Ongoing' || rec.state === 'PrepareEpochFence') {
        await this.serial(rec.transactionalId, () => this.fenceAndAbort(rec));
        recovered++;
      } else if (rec.state === 'PrepareCommit' || rec.state === 'PrepareAbort') {
        await this.serial(rec.transactionalId, () => this.complete(rec));
        recovered++;
      }
    }
    if (recovered > 0)
      this.logger.info({ recovered }, 'transactions left open by the last run were completed');
    this.timer = setInterval(() => void this.sweep(), this.options.abortCheckIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
    await Promise.all(this.completing.values());
  }

  /** Abort transactions past their timeout; retry completing stuck PrepareX ones. */
  sweep(): Promise<void> {
    if (this.sweeping !== null) return this.sweeping;
    if (this.closed) return Promise.resolve();
    const run = this.sweepOnce().finally(() => {
      if (this.sweeping === run) this.sweeping = null;
    });
    this.sweeping = run;
    return run;
  }

  private async sweepOnce(): Promise<void> {
    // Let sweep() record the running promise before any work happens.
    await Promise.resolve();
    try {
      for (const rec of [...this.txns.values()]) {
        if (this.closed) return;
        const id = rec.transactionalId;
        if (rec.state === 'Ongoing' && this.now() - rec.startTimeMs > rec.timeoutMs) {
          await this.serial(id, async () => {
            const cur = this.txns.get(id);
            if (cur?.state !== 'Ongoing' || this.now() - cur.startTimeMs <= cur.timeoutMs) return;
            this.logger.info(
              { transactionalId: id, producerId: cur.producerId, timeoutMs: cur.timeoutMs },
              'transaction timed out: aborting it and fencing its producer',
            );
            await this.fenceAndAbort(cur);
          });
        } else if (rec.state === 'PrepareCommit' || rec.state === 'PrepareAbort') {
          await this.serial(id, async () => {
            const cur = this.txns.get(id);
            if (cur?.state === 'PrepareCommit' || cur?.state === 'PrepareAbort') await this.complete(cur);
          });
        }
      }
    } catch (err) {
      this.logger.warn({ err }, 'transaction timeout sweep failed; retrying at the next interval');
    }
  }

  // ---- Requests ---------------------------------------------------------------------------------

  /**
   * InitProducerId with a transactional id. `expected` is the v3+ (KIP-360) producer id/epoch, or
   * null. PRODUCER_FENCED is returned as such: handlers map it for versions that predate it.
   */
  initProducerId(
    transactionalId: string,
    timeoutMs: number,
    expected: ProducerIdAndEpoch | null,
  ): Promise<InitResult> {
    const fail = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (timeoutMs <= 0 || timeoutMs > this.options.maxTimeoutMs)
      return Promise.resolve(fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT));
    const exp = expected !== null && expected.producerId >= 0 ? expected : null;
    return this.serial(transactionalId, async () => {
      let cur = this.txns.get(transactionalId);
      const now = this.now();
      if (cur === undefined) {
        // A new id (also when a KIP-360 client names an id/epoch we never issued: Kafka hands out a
        // fresh producer id then too).
        const { producerId } = await this.producerIds.newProducerId();
        const rec = await this.save({
          transactionalId,
          producerId,
          producerEpoch: 0,
          lastProducerEpoch: -1,
          previousProducerId: -1,
          timeoutMs,
          state: 'Empty',
          partitions: [],
          groups: [],
          pendingOffsets: [],
          startTimeMs: -1,
          updatedAtMs: now,
        });
        return { errorCode: ErrorCode.NONE, producerId: rec.producerId, producerEpoch: rec.producerEpoch };
      }
      let isRetry = false;
      if (exp !== null) {
        // A retry of a bump whose answer the producer lost: same id/epoch again, no second bump.
        isRetry =
          cur.lastProducerEpoch >= 0 &&
          exp.producerEpoch === cur.lastProducerEpoch &&
          (exp.producerId === cur.producerId || exp.producerId === cur.previousProducerId);
        const isCurrent = exp.producerId === cur.producerId && exp.producerEpoch === cur.producerEpoch;
        if (!isCurrent && !isRetry) {
          this.logger.info(
            {
              transactionalId,
              expected: exp,
              current: { producerId: cur.producerId, producerEpoch: cur.producerEpoch },
            },
            'InitProducerId refused: the producer id/epoch given is not the current one (PRODUCER_FENCED)',
          );
          return fail(ErrorCode.PRODUCER_FENCED);
        }
      }
      if (cur.state === 'PrepareCommit' || cur.state === 'PrepareAbort') {
        cur = await this.complete(cur);
        if (cur.state === 'PrepareCommit' || cur.state === 'PrepareAbort')
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      if (isRetry && cur.state !== 'Ongoing')
        return { errorCode: ErrorCode.NONE, producerId: cur.producerId, producerEpoch: cur.producerEpoch };
      if (cur.state === 'Ongoing' || cur.state === 'PrepareEpochFence') {
        cur = await this.fenceAndAbort(cur);
        if (cur.state !== 'CompleteAbort') return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      const exhausted = cur.producerEpoch >= MAX_PRODUCER_EPOCH - 1;
      const next: TxnRecord = exhausted
        ? {
            ...cur,
            producerId: (await this.producerIds.newProducerId()).producerId,
            producerEpoch: 0,
            previousProducerId: cur.producerId,
            lastProducerEpoch: exp !== null ? cur.producerEpoch : -1,
          }
        : {
            ...cur,
            producerEpoch: cur.producerEpoch + 1,
            lastProducerEpoch: exp !== null ? cur.producerEpoch : -1,
          };
      this.logger.info(
        {
          transactionalId,
          producerId: next.producerId,
          producerEpoch: next.producerEpoch,
          previousState: cur.state,
        },
        'transactional producer initialised: epoch bumped (older instances are fenced)',
      );
      const rec = await this.save({
        ...next,
        timeoutMs,
        state: 'Empty',
        partitions: [],
        groups: [],
        pendingOffsets: [],
        updatedAtMs: now,
      });
      return { errorCode: ErrorCode.NONE, producerId: rec.producerId, producerEpoch: rec.producerEpoch };
    });
  }

  /** AddPartitionsToTxn (the caller has checked that the partitions exist). */
  addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly TopicPartition[],
  ): Promise<number> {
    return this.serial(transactionalId, async () => {
      const cur = this.txns.get(transactionalId);
      const error = this.checkAddable(cur, producerId, producerEpoch);
      if (error !== ErrorCode.NONE || cur === undefined) return error;
      const added = partitions.filter(
        (p, i) =>
          !cur.partitions.some((q) => samePartition(p, q)) &&
          partitions.findIndex((q) => samePartition(p, q)) === i,
      );
      if (cur.state === 'Ongoing' && added.length === 0) return ErrorCode.NONE;
      await this.save({ ...this.toOngoing(cur), partitions: [...cur.partitions, ...added] });
      return ErrorCode.NONE;
    });
  }

  /** AddOffsetsToTxn: the group's offsets become part of the transaction. */
  addOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
  ): Promise<number> {
    return this.serial(transactionalId, async () => {
      const cur = this.txns.get(transactionalId);
      const error = this.checkAddable(cur, producerId, producerEpoch);
      if (error !== ErrorCode.NONE || cur === undefined) return error;
      if (cur.state === 'Ongoing' && cur.groups.includes(groupId)) return ErrorCode.NONE;
      const groups = cur.groups.includes(groupId) ? cur.groups : [...cur.groups, groupId];
      await this.save({ ...this.toOngoing(cur), groups });
      return ErrorCode.NONE;
    });
  }

  /**
   * TxnOffsetCommit: offsets held with the transaction until it ends. Stale epoch →
   * INVALID_PRODUCER_EPOCH (what Kafka's offsets-log append answers); the group must have been
   * added with AddOffsetsToTxn (INVALID_TXN_STATE otherwise).
   */
  commitOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
    entries: readonly OffsetCommitEntry[],
  ): Promise<number> {
    return this.serial(transactionalId, async () => {
      const cur = this.txns.get(transactionalId);
      if (cur === undefined || cur.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      if (producerEpoch !== cur.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
      if (cur.state !== 'Ongoing' || !cur.groups.includes(groupId)) return ErrorCode.INVALID_TXN_STATE;
      const replaced = (o: PendingOffset) =>
        o.groupId === groupId && entries.some((e) => e.topic === o.topic && e.partition === o.partition);
      const pendingOffsets = [
        ...cur.pendingOffsets.filter((o) => !replaced(o)),
        ...entries.map((e) => ({ ...e, groupId })),
      ];
      await this.save({ ...cur, pendingOffsets, updatedAtMs: this.now() });
      return ErrorCode.NONE;
    });
  }

  /** EndTxn: commit or abort; answers once the markers are durable (see the header). */
  endTxn(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
  ): Promise<number> {
    return this.serial(transactionalId, async () => {
      const cur = this.txns.get(transactionalId);
      if (cur === undefined || cur.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      if (producerEpoch !== cur.producerEpoch) return ErrorCode.PRODUCER_FENCED;
      switch (cur.state) {
        case 'Ongoing': {
          const prepared = await this.save({
            ...cur,
            state: commit ? 'PrepareCommit' : 'PrepareAbort',
            updatedAtMs: this.now(),
          });
          await this.complete(prepared);
          return ErrorCode.NONE;
        }
        case 'CompleteCommit':
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
        case 'CompleteAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
        case 'PrepareCommit':
          return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
        case 'PrepareAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
        default:
          return ErrorCode.INVALID_TXN_STATE;
      }
    });
  }

  // ---- Views ------------------------------------------------------------------------------------

  describe(transactionalId: string): TxnDescription | null {
    const r = this.txns.get(transactionalId);
    if (r === undefined) return null;
    return {
      transactionalId,
      state: r.state,
      producerId: r.producerId,
      producerEpoch: r.producerEpoch,
      timeoutMs: r.timeoutMs,
      startTimeMs: r.startTimeMs,
      partitions: r.partitions,
    };
  }

  list(): TxnDescription[] {
    return [...this.txns.keys()].sort().map((id) => this.describe(id)!);
  }

  static isStateName(name: string): name is TxnState {
    return (TXN_STATES as readonly string[]).includes(name);
  }

  /** Whether a transaction holds uncommitted offsets of this group for this partition (requireStable). */
  hasPendingOffsets(groupId: string, topic: string, partition: number): boolean {
    for (const r of this.txns.values()) {
      if (r.state !== 'Ongoing' && r.state !== 'PrepareCommit' && r.state !== 'PrepareAbort') continue;
      if (
        r.pendingOffsets.some((o) => o.groupId === groupId && o.topic === topic && o.partition === partition)
      )
        return true;
    }
    return false;
  }

  /** Groups with uncommitted transactional offsets (pending) for requireStable on a whole group. */
  pendingOffsetPartitions(groupId: string): TopicPartition[] {
    const out: TopicPartition[] = [];
    for (const r of this.txns.values()) {
      if (r.state !== 'Ongoing' && r.state !== 'PrepareCommit' && r.state !== 'PrepareAbort') continue;
      for (const o of r.pendingOffsets)
        if (o.groupId === groupId) out.push({ topic: o.topic, partition: o.partition });
    }
    return out;
  }

  // ---- The produce guard ------------------------------------------------------------------------

  /** Called by the log for every transactional batch: allowed only inside an Ongoing transaction. */
  readonly guard: ProduceGuard = (producerId, producerEpoch, topic, partition) => {
    const id = this.byProducerId.get(producerId);
    const cur = id === undefined ? undefined : this.txns.get(id);
    if (cur === undefined) {
      return {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `producer id ${producerId} has no transaction (InitProducerId with a transactional id first)`,
      };
    }
    if (producerId !== cur.producerId || producerEpoch < cur.producerEpoch) {
      return {
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer ${producerId} epoch ${producerEpoch} is fenced by a newer instance of transactional id ${cur.transactionalId}`,
      };
    }
    if (producerEpoch !== cur.producerEpoch || cur.state !== 'Ongoing') {
      return {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `transactional id ${cur.transactionalId} is ${cur.state}, not Ongoing`,
      };
    }
    if (this.partitionSets.get(cur.transactionalId)?.has(partitionKey(topic, partition)) !== true) {
      return {
        errorCode: ErrorCode.INVALID_TXN_STATE,
        message: `${topic}-${partition} was not added to the transaction of ${cur.transactionalId} (AddPartitionsToTxn)`,
      };
    }
    return null;
  };

  // ---- Internals --------------------------------------------------------------------------------

  private serial<T>(transactionalId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(transactionalId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(transactionalId, tail);
    void tail.then(() => {
      if (this.locks.get(transactionalId) === tail) this.locks.delete(transactionalId);
    });
    return run;
  }

  /** Shared checks of AddPartitionsToTxn / AddOffsetsToTxn (Kafka's answers). */
  private checkAddable(cur: TxnRecord | undefined, producerId: number, producerEpoch: number): number {
    if (cur === undefined || cur.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch !== cur.producerEpoch) {
      this.logger.info(
        {
          transactionalId: cur.transactionalId,
          producerId,
          producerEpoch,
          currentEpoch: cur.producerEpoch,
          state: cur.state,
        },
        'transactional request from a fenced producer epoch (PRODUCER_FENCED)',
      );
      return ErrorCode.PRODUCER_FENCED;
    }
    if (cur.state === 'PrepareCommit' || cur.state === 'PrepareAbort')
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (cur.state === 'PrepareEpochFence' || cur.state === 'Dead') return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  private toOngoing(cur: TxnRecord): TxnRecord {
    const now = this.now();
    if (cur.state === 'Ongoing') return { ...cur, updatedAtMs: now };
    return {
      ...cur,
      state: 'Ongoing',
      partitions: [],
      groups: [],
      pendingOffsets: [],
      startTimeMs: now,
      updatedAtMs: now,
    };
  }

  /** Abort an Ongoing transaction on the coordinator's own initiative: bump the epoch first (fencing). */
  private async fenceAndAbort(cur: TxnRecord): Promise<TxnRecord> {
    const prepared = await this.save({
      ...cur,
      producerEpoch: Math.min(cur.producerEpoch + 1, MAX_PRODUCER_EPOCH),
      lastProducerEpoch: -1,
      state: 'PrepareAbort',
      updatedAtMs: this.now(),
    });
    return this.complete(prepared);
  }

  /**
   * Write the markers of a PrepareX transaction, apply (commit) or drop its pending offsets, persist
   * CompleteX. On a marker failure the record stays PrepareX (returned as is) for a later retry.
   */
  private async complete(rec: TxnRecord): Promise<TxnRecord> {
    const commit = rec.state === 'PrepareCommit';
    try {
      const results = await this.log.writeTxnMarkers(
        rec.partitions,
        rec.producerId,
        rec.producerEpoch,
        commit,
      );
      // A deleted topic needs no marker (UNKNOWN_TOPIC_OR_PARTITION is fine).
      const failed = results.filter(
        (r) => r.errorCode !== ErrorCode.NONE && r.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
      if (failed.length > 0) {
        this.logger.warn(
          { transactionalId: rec.transactionalId, failed },
          'transaction markers not written; the transaction stays prepared and is retried',
        );
        return rec;
      }
      if (commit) {
        const byGroup = new Map<string, OffsetCommitEntry[]>();
        for (const { groupId, ...entry } of rec.pendingOffsets) {
          const list = byGroup.get(groupId) ?? [];
          list.push(entry);
          byGroup.set(groupId, list);
        }
        for (const [groupId, entries] of byGroup) await this.groups.commitOffsets(groupId, entries);
      }
      // The outcome is durable (PrepareX) and applied (markers, offsets): answer now and write
      // CompleteX behind the answer. Should that write be lost, recovery finds PrepareX and writes
      // the markers again (harmless) and re-applies the offsets (idempotent). The next save of
      // this id waits for it (save()), so it never lands over a newer state.
      const done: TxnRecord = {
        ...rec,
        state: commit ? 'CompleteCommit' : 'CompleteAbort',
        partitions: [],
        groups: [],
        pendingOffsets: [],
        updatedAtMs: this.now(),
      };
      this.remember(done);
      const id = rec.transactionalId;
      const write = this.stateWriter.write(txnKey(id), encodeTxn(done)).then(
        () => undefined,
        (err: unknown) =>
          this.logger.warn(
            { transactionalId: id, err },
            'recording a completed transaction failed; recovery will complete it again',
          ),
      );
      this.completing.set(id, write);
      void write.then(() => {
        if (this.completing.get(id) === write) this.completing.delete(id);
      });
      return done;
    } catch (err) {
      this.logger.warn(
        { transactionalId: rec.transactionalId, err },
        'completing the transaction failed; it stays prepared and is retried',
      );
      return rec;
    }
  }

  private async save(rec: TxnRecord): Promise<TxnRecord> {
    const completing = this.completing.get(rec.transactionalId);
    if (completing !== undefined) await completing;
    await this.stateWriter.write(txnKey(rec.transactionalId), encodeTxn(rec));
    this.remember(rec);
    return rec;
  }

  private remember(rec: TxnRecord): void {
    this.txns.set(rec.transactionalId, rec);
    this.partitionSets.set(
      rec.transactionalId,
      new Set(rec.partitions.map((p) => partitionKey(p.topic, p.partition))),
    );
    this.byProducerId.set(rec.producerId, rec.transactionalId);
    if (rec.previousProducerId >= 0) this.byProducerId.set(rec.previousProducerId, rec.transactionalId);
  }
}
