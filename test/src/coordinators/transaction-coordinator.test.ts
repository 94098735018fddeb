// TransactionCoordinator without a broker: a real SQLite metadata store, the real group coordinator
// and producer id allocation, and a recording fake of the log's two transaction methods
// (writeTxnMarkers / setTxnProduceGuard; the broker end-to-end test uses the real log). Covers the
// state machine and Kafka's error answers, fencing (InitProducerId, KIP-360 resume, timeouts), the
// produce guard, pending offsets applied only on commit, durability across a coordinator restart on
// the same store, and recovery of transactions left Ongoing / PrepareCommit by a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { GROUP_DEFAULTS, GroupCoordinator } from '../../../src/coordinators/groups/group-coordinator.js';
import { ProducerIdManager } from '../../../src/coordinators/producer-ids.js';
import {
  type ProduceGuard,
  TransactionCoordinator,
  type TxnLog,
} from '../../../src/coordinators/transactions/transaction-coordinator.js';
import { txnKey } from '../../../src/coordinators/transactions/transaction-state.js';
import type { OffsetCommitEntry } from '../../../src/metadata/metadata-store.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite-metadata-store.js';

const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'streamhouse-txn-coord-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Marker {
  topic: string;
  partition: number;
  producerId: number;
  producerEpoch: number;
  commit: boolean;
}

class FakeLog implements TxnLog {
  guard: ProduceGuard | null = null;
  markers: Marker[] = [];
  /** Partitions whose marker writes fail with KAFKA_STORAGE_ERROR. */
  failing = new Set<string>();
  setTxnProduceGuard(guard: ProduceGuard | null): void {
    this.guard = guard;
  }
  async writeTxnMarkers(
    markers: readonly { topic: string; partition: number }[],
    producerId: number,
    producerEpoch: number,
    commit: boolean,
  ) {
    return markers.map((m) => {
      const fail = this.failing.has(`${m.topic}-${m.partition}`);
      if (!fail) this.markers.push({ ...m, producerId, producerEpoch, commit });
      return { ...m, errorCode: fail ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE };
    });
  }
}

let storeCount = 0;
interface Env {
  store: SqliteMetadataStore;
  log: FakeLog;
  groups: GroupCoordinator;
  txn: TransactionCoordinator;
  clock: { now: number };
  path: string;
}

/** A coordinator on a SQLite file (`path` given: reopen that store, as after a restart). */
async function open(tt: Tap, path?: string, maxTimeoutMs = 60_000): Promise<Env> {
  const file = path ?? join(dir, `meta-${storeCount++}.db`);
  const store = SqliteMetadataStore.open(file);
  const log = new FakeLog();
  const groups = new GroupCoordinator(store, { ...GROUP_DEFAULTS, sessionCheckIntervalMs: 60_000 }, silent);
  const clock = { now: 1_000_000 };
  const txn = new TransactionCoordinator(
    store,
    log,
    groups,
    new ProducerIdManager(store),
    { maxTimeoutMs, abortCheckIntervalMs: 3_600_000, now: () => clock.now },
    silent,
  );
  await txn.start();
  let closed = false;
  const env: Env = { store, log, groups, txn, clock, path: file };
  (env as Env & { close: () => Promise<void> }).close = async () => {
    if (closed) return;
    closed = true;
    await txn.close();
    groups.close();
    await store.close();
  };
  tt.teardown(() => (env as Env & { close: () => Promise<void> }).close());
  return env;
}
const closeEnv = (e: Env) => (e as Env & { close: () => Promise<void> }).close();

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

function offset(topic: string, partition: number, value: number): OffsetCommitEntry {
  return { topic, partition, offset: value, leaderEpoch: -1, metadata: 'm', commitTimestampMs: 1 };
}

t.test('commit: markers to every partition, pending offsets applied, state walk', async (t) => {
  const { txn, log, groups } = await open(t);
  const init = await txn.initProducerId('app', 30_000, null);
  t.equal(init.errorCode, ErrorCode.NONE);
  t.equal(init.producerEpoch, 0);
  const { producerId: pid, producerEpoch: epoch } = init;
  t.equal(txn.describe('app')?.state, 'Empty');

  t.equal(
    log.guard?.(pid, epoch, 'a', 0)?.errorCode,
    ErrorCode.INVALID_TXN_STATE,
    'no produce before AddPartitions',
  );
  t.equal(
    await txn.addPartitions('app', pid, epoch, [
      { topic: 'a', partition: 0 },
      { topic: 'b', partition: 1 },
    ]),
    0,
  );
  t.equal(txn.describe('app')?.state, 'Ongoing');
  t.equal(txn.describe('app')?.startTimeMs, 1_000_000);
  t.equal(log.guard?.(pid, epoch, 'a', 0), null, 'produce allowed to an added partition');
  t.equal(log.guard?.(pid, epoch, 'a', 1)?.errorCode, ErrorCode.INVALID_TXN_STATE, 'not to another one');
  t.equal(log.guard?.(999_999, 0, 'a', 0)?.errorCode, ErrorCode.INVALID_TXN_STATE, 'unknown producer');

  t.equal(
    await txn.commitOffsets('app', pid, epoch, 'g1', [offset('in', 0, 5)]),
    ErrorCode.INVALID_TXN_STATE,
    'offsets need AddOffsetsToTxn first',
  );
  t.equal(await txn.addOffsets('app', pid, epoch, 'g1'), 0);
  t.equal(await txn.commitOffsets('app', pid, epoch, 'g1', [offset('in', 0, 5), offset('in', 1, 7)]), 0);
  t.equal(
    await txn.commitOffsets('app', pid, epoch, 'g1', [offset('in', 0, 6)]),
    0,
    'a later offset replaces',
  );
  t.ok(txn.hasPendingOffsets('g1', 'in', 0));
  t.notOk(txn.hasPendingOffsets('g1', 'in', 2));
  t.equal((await groups.fetchOffsets('g1')).size, 0, 'nothing visible before commit');

  t.equal(await txn.endTxn('app', pid, epoch, true), 0);
  t.same(
    log.markers.map((m) => [m.topic, m.partition, m.producerId, m.producerEpoch, m.commit]),
    [
      ['a', 0, pid, epoch, true],
      ['b', 1, pid, epoch, true],
    ],
  );
  const committed = await groups.fetchOffsets('g1');
  t.equal(committed.get('in\u00000')?.offset, 6);
  t.equal(committed.get('in\u00001')?.offset, 7);
  t.notOk(txn.hasPendingOffsets('g1', 'in', 0));
  t.equal(txn.describe('app')?.state, 'CompleteCommit');
  t.same(txn.describe('app')?.partitions, []);
  t.equal(log.guard?.(pid, epoch, 'a', 0)?.errorCode, ErrorCode.INVALID_TXN_STATE, 'no produce after EndTxn');

  t.equal(await txn.endTxn('app', pid, epoch, true), 0, 'a retried commit answers NONE');
  t.equal(await txn.endTxn('app', pid, epoch, false), ErrorCode.INVALID_TXN_STATE, 'abort after commit');
  t.equal(log.markers.length, 2, 'the retry wrote nothing');

  // Next transaction with the same epoch (no InitProducerId in between).
  t.equal(await txn.addPartitions('app', pid, epoch, [{ topic: 'c', partition: 0 }]), 0);
  t.same(txn.describe('app')?.partitions, [{ topic: 'c', partition: 0 }], 'a new transaction starts empty');
});

t.test('abort: ABORT markers, pending offsets dropped', async (t) => {
  const { txn, log, groups } = await open(t);
  const { producerId: pid, producerEpoch: epoch } = await txn.initProducerId('app', 30_000, null);
  await txn.addPartitions('app', pid, epoch, [{ topic: 'a', partition: 0 }]);
  await txn.addOffsets('app', pid, epoch, 'g');
  await txn.commitOffsets('app', pid, epoch, 'g', [offset('in', 0, 9)]);
  t.equal(await txn.endTxn('app', pid, epoch, false), 0);
  t.same(log.markers, [{ topic: 'a', partition: 0, producerId: pid, producerEpoch: epoch, commit: false }]);
  t.equal((await groups.fetchOffsets('g')).size, 0);
  t.equal(txn.describe('app')?.state, 'CompleteAbort');
  t.equal(await txn.endTxn('app', pid, epoch, true), ErrorCode.INVALID_TXN_STATE);
  t.equal(await txn.endTxn('app', pid, epoch, false), 0);
});

t.test('errors: wrong producer id, stale epoch, wrong state, timeout bounds', async (t) => {
  const { txn } = await open(t, undefined, 60_000);
  t.equal((await txn.initProducerId('app', 60_001, null)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  t.equal((await txn.initProducerId('app', 0, null)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  const { producerId: pid, producerEpoch: epoch } = await txn.initProducerId('app', 60_000, null);
  const tp = [{ topic: 'a', partition: 0 }];
  t.equal(await txn.addPartitions('nobody', pid, epoch, tp), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  t.equal(await txn.addPartitions('app', pid + 1, epoch, tp), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  t.equal(await txn.addPartitions('app', pid, epoch + 1, tp), ErrorCode.PRODUCER_FENCED);
  t.equal(await txn.addOffsets('app', pid, epoch + 1, 'g'), ErrorCode.PRODUCER_FENCED);
  t.equal(
    await txn.endTxn('app', pid, epoch, true),
    ErrorCode.INVALID_TXN_STATE,
    'EndTxn with no transaction',
  );
  t.equal(await txn.endTxn('app', pid + 1, epoch, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  t.equal(await txn.addPartitions('app', pid, epoch, tp), 0);
  t.equal(await txn.endTxn('app', pid, epoch - 1, true), ErrorCode.PRODUCER_FENCED);
  t.equal(
    await txn.commitOffsets('app', pid, epoch - 1, 'g', [offset('x', 0, 1)]),
    ErrorCode.INVALID_PRODUCER_EPOCH,
  );
});

t.test('InitProducerId fences: epoch bump, open transaction aborted, KIP-360 resume', async (t) => {
  const { txn, log } = await open(t);
  const first = await txn.initProducerId('app', 30_000, null);
  await txn.addPartitions('app', first.producerId, first.producerEpoch, [{ topic: 'a', partition: 0 }]);
  t.equal(log.guard?.(first.producerId, first.producerEpoch, 'a', 0), null);

  const second = await txn.initProducerId('app', 30_000, null);
  t.equal(second.errorCode, 0);
  t.equal(second.producerId, first.producerId);
  t.ok(second.producerEpoch > first.producerEpoch + 1, 'bumped past the fencing epoch');
  t.same(log.markers, [
    {
      topic: 'a',
      partition: 0,
      producerId: first.producerId,
      producerEpoch: first.producerEpoch + 1,
      commit: false,
    },
  ]);
  t.equal(txn.describe('app')?.state, 'Empty');
  t.equal(
    log.guard?.(first.producerId, first.producerEpoch, 'a', 0)?.errorCode,
    ErrorCode.INVALID_PRODUCER_EPOCH,
  );
  t.equal(
    await txn.endTxn('app', first.producerId, first.producerEpoch, true),
    ErrorCode.PRODUCER_FENCED,
    'the old instance is fenced',
  );

  // KIP-360: the current instance passes its id/epoch to bump; a lost answer retried gets the same.
  const resumed = await txn.initProducerId('app', 30_000, second);
  t.equal(resumed.errorCode, 0);
  t.equal(resumed.producerEpoch, second.producerEpoch + 1);
  const retried = await txn.initProducerId('app', 30_000, second);
  t.same(retried, resumed, 'retry of the same bump: same id and epoch');
  t.equal(
    (await txn.initProducerId('app', 30_000, first)).errorCode,
    ErrorCode.PRODUCER_FENCED,
    'an old epoch',
  );
  t.equal(
    (await txn.initProducerId('app', 30_000, { producerId: 424242, producerEpoch: 0 })).errorCode,
    ErrorCode.PRODUCER_FENCED,
    'a foreign producer id',
  );
});

t.test('epoch exhaustion rotates to a new producer id; the old one is fenced', async (t) => {
  const env = await open(t);
  const first = await env.txn.initProducerId('app', 30_000, null);
  // Put the stored epoch at the brink, then restart the coordinator on the same store.
  await env.store.setMeta(
    txnKey('app'),
    JSON.stringify({ producerId: first.producerId, producerEpoch: 32766, state: 'Empty' }),
  );
  await closeEnv(env);
  const again = await open(t, env.path);
  const rotated = await again.txn.initProducerId('app', 30_000, null);
  t.not(rotated.producerId, first.producerId);
  t.equal(rotated.producerEpoch, 0);
  t.equal(again.log.guard?.(first.producerId, 32766, 'a', 0)?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
});

t.test('a transaction open longer than its timeout is aborted and its producer fenced', async (t) => {
  const { txn, log, clock } = await open(t);
  const { producerId: pid, producerEpoch: epoch } = await txn.initProducerId('slow', 10_000, null);
  const other = await txn.initProducerId('fast', 60_000, null);
  await txn.addPartitions('slow', pid, epoch, [{ topic: 'a', partition: 0 }]);
  await txn.addPartitions('fast', other.producerId, other.producerEpoch, [{ topic: 'a', partition: 1 }]);
  clock.now += 10_000;
  await txn.sweep();
  t.equal(txn.describe('slow')?.state, 'Ongoing', 'not yet past the timeout');
  clock.now += 1;
  await txn.sweep();
  t.equal(txn.describe('slow')?.state, 'CompleteAbort');
  t.equal(txn.describe('slow')?.producerEpoch, epoch + 1);
  t.equal(txn.describe('fast')?.state, 'Ongoing', 'other transactions untouched');
  t.same(log.markers, [
    { topic: 'a', partition: 0, producerId: pid, producerEpoch: epoch + 1, commit: false },
  ]);
  t.equal(await txn.endTxn('slow', pid, epoch, true), ErrorCode.PRODUCER_FENCED);
  t.equal(log.guard?.(pid, epoch, 'a', 0)?.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
});

t.test('marker failure: stays PrepareCommit (CONCURRENT_TRANSACTIONS), the sweep completes it', async (t) => {
  const { txn, log, groups } = await open(t);
  const { producerId: pid, producerEpoch: epoch } = await txn.initProducerId('app', 30_000, null);
  await txn.addPartitions('app', pid, epoch, [{ topic: 'a', partition: 0 }]);
  await txn.addOffsets('app', pid, epoch, 'g');
  await txn.commitOffsets('app', pid, epoch, 'g', [offset('in', 0, 3)]);
  log.failing.add('a-0');
  t.equal(await txn.endTxn('app', pid, epoch, true), 0, 'the decision is durable: NONE, as Kafka');
  t.equal(txn.describe('app')?.state, 'PrepareCommit');
  t.ok(txn.hasPendingOffsets('g', 'in', 0), 'offsets still pending');
  t.equal(await txn.endTxn('app', pid, epoch, true), ErrorCode.CONCURRENT_TRANSACTIONS);
  t.equal(await txn.endTxn('app', pid, epoch, false), ErrorCode.INVALID_TXN_STATE);
  t.equal(
    await txn.addPartitions('app', pid, epoch, [{ topic: 'a', partition: 1 }]),
    ErrorCode.CONCURRENT_TRANSACTIONS,
  );
  t.equal((await txn.initProducerId('app', 30_000, null)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
  log.failing.clear();
  await txn.sweep();
  t.equal(txn.describe('app')?.state, 'CompleteCommit');
  t.equal((await groups.fetchOffsets('g')).get('in\u00000')?.offset, 3);
  t.same(log.markers, [{ topic: 'a', partition: 0, producerId: pid, producerEpoch: epoch, commit: true }]);
});

t.test('durable across a coordinator restart on the same SQLite store', async (t) => {
  const env = await open(t);
  const { producerId: pid, producerEpoch: epoch } = await env.txn.initProducerId('app', 30_000, null);
  const done = await env.txn.initProducerId('done', 30_000, null);
  await env.txn.addPartitions('done', done.producerId, done.producerEpoch, [{ topic: 'z', partition: 0 }]);
  await env.txn.endTxn('done', done.producerId, done.producerEpoch, true);
  await env.txn.addPartitions('app', pid, epoch, [{ topic: 'a', partition: 0 }]);
  await env.txn.addOffsets('app', pid, epoch, 'g');
  await env.txn.commitOffsets('app', pid, epoch, 'g', [offset('in', 0, 4)]);
  await closeEnv(env);

  // Ongoing at the "crash": recovery aborts it with a bumped epoch (the old producer is fenced).
  const after = await open(t, env.path);
  t.equal(after.txn.describe('app')?.state, 'CompleteAbort');
  t.equal(after.txn.describe('app')?.producerEpoch, epoch + 1);
  t.same(after.log.markers, [
    { topic: 'a', partition: 0, producerId: pid, producerEpoch: epoch + 1, commit: false },
  ]);
  t.equal((await after.groups.fetchOffsets('g')).size, 0, 'pending offsets dropped');
  t.equal(after.txn.describe('done')?.state, 'CompleteCommit', 'completed transactions stay as they were');
  t.equal(await after.txn.endTxn('app', pid, epoch, true), ErrorCode.PRODUCER_FENCED);

  const next = await after.txn.initProducerId('app', 30_000, null);
  t.equal(next.producerId, pid, 'same producer id');
  t.equal(next.producerEpoch, epoch + 2);
  const fresh = await after.txn.initProducerId('new-one', 30_000, null);
  t.not(fresh.producerId, pid, 'a new id never reuses an old one');
  t.not(fresh.producerId, done.producerId);
});

t.test('recovery finishes a PrepareCommit left by a crash: markers again, offsets applied', async (t) => {
  const env = await open(t);
  const { producerId: pid, producerEpoch: epoch } = await env.txn.initProducerId('app', 30_000, null);
  await env.txn.addPartitions('app', pid, epoch, [
    { topic: 'a', partition: 0 },
    { topic: 'a', partition: 1 },
  ]);
  await env.txn.addOffsets('app', pid, epoch, 'g');
  await env.txn.commitOffsets('app', pid, epoch, 'g', [offset('in', 0, 11)]);
  // The crash: PrepareCommit durable, one marker written, the other not.
  env.log.failing.add('a-1');
  t.equal(await env.txn.endTxn('app', pid, epoch, true), 0);
  t.equal(env.txn.describe('app')?.state, 'PrepareCommit');
  await closeEnv(env);

  const after = await open(t, env.path);
  t.equal(after.txn.describe('app')?.state, 'CompleteCommit');
  t.equal(after.txn.describe('app')?.producerEpoch, epoch, 'a commit does not bump the epoch');
  t.same(
    after.log.markers.map((m) => [m.topic, m.partition, m.producerEpoch, m.commit]),
    [
      ['a', 0, epoch, true],
      ['a', 1, epoch, true],
    ],
    'markers to every partition again',
  );
  t.equal((await after.groups.fetchOffsets('g')).get('in\u00000')?.offset, 11);
  t.equal(
    await after.txn.endTxn('app', pid, epoch, true),
    0,
    'the client retrying its commit is answered NONE',
  );
});

t.test('a pre-transactions record (producer id and epoch only) loads as Empty', async (t) => {
  const env = await open(t);
  await env.store.setMeta(txnKey('legacy'), JSON.stringify({ producerId: 5, producerEpoch: 3 }));
  await closeEnv(env);
  const after = await open(t, env.path);
  t.equal(after.txn.describe('legacy')?.state, 'Empty');
  const r = await after.txn.initProducerId('legacy', 30_000, null);
  t.same([r.producerId, r.producerEpoch], [5, 4]);
});

t.test('ListTransactions data: list() is sorted and complete', async (t) => {
  const { txn } = await open(t);
  await txn.initProducerId('b', 30_000, null);
  await txn.initProducerId('a', 30_000, null);
  t.same(
    txn.list().map((d) => [d.transactionalId, d.state]),
    [
      ['a', 'Empty'],
      ['b', 'Empty'],
    ],
  );
  t.ok(TransactionCoordinator.isStateName('Ongoing'));
  t.notOk(TransactionCoordinator.isStateName('ongoing'));
});
