// A broker crash (SIGKILL) while a kafkajs transaction is open, then a restart on the same data
// directory (real WAL, SQLite metadata, objects on disk). Two rounds, each with its own broker and
// data dir: one uploads every 50 ms and waits 300 ms before the kill, so the open transaction's
// records sit in an uploaded object (recovery from the producer-state snapshot); one never uploads
// and kills right after the last acknowledged send (recovery from WAL replay alone).
//
// Before the kill: transaction 1 committed (visible), transaction 2 produced and acknowledged on
// both partitions but neither committed nor aborted; its producer has a 5 s transaction timeout.
// After the restart, with no client touching the transactional id:
//   - every acknowledged record is still there, in order;
//   - the open transaction is aborted by the broker (recovery, or at the latest its timeout): an
//     ABORT marker follows its records in both partitions and the LSO reaches the high watermark;
// then:
//   - a read_committed kafkajs consumer reads transaction 1 and never a record of transaction 2;
//   - a new producer with the same transactionalId initialises and commits transaction 3, which the
//     read_committed consumer reads, after transaction 1, in order;
//   - a read_uncommitted consumer reads all three;
//   - the broker stops cleanly.
//
// Then the broker (support/txn-crash-broker.ts) kills itself in the middle of a kafkajs commit of a
// transaction with records and group offsets (sendOffsets): once with PrepareCommit persisted and no
// marker written, once with the COMMIT markers durable but neither the offsets nor CompleteCommit.
// It restarts on the same port. kafkajs's commit() has failed with a connection error (it does not
// retry EndTxn), but the broker completes the commit on its own: the records are committed (COMMIT
// markers only, LSO = HW), the group offsets are applied, and the same transactional id commits a
// next transaction; read_committed reads each record once, in order.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import t from 'tap';
import { type BrokerProcess, spawnBroker } from './support/broker-process.js';
import type { TapTest } from './support/tools.js';
import {
  Collector,
  describeKafkajsError,
  describeLog,
  highWatermark,
  partitionLog,
  sleep,
  sorted,
  stableOffset,
  waitUntil,
} from './support/txn-tools.js';
import { WireClient } from './support/wire-client.js';

const { Kafka, logLevel } = kafkajs;

t.setTimeout(120_000);

const TXN_CRASH_BROKER = join(dirname(fileURLToPath(import.meta.url)), 'support', 'txn-crash-broker.js');
const TOPIC = 'txn-crash';
const PARTITIONS = 2;
const TXN_ID = 'compat-txn-crash';
const TXN_TIMEOUT_MS = 5_000;
const started = Date.now();
const baseConfig = {
  numPartitions: PARTITIONS,
  groupInitialRebalanceDelayMs: 0,
  groupMinSessionTimeoutMs: 1000,
  transactionAbortCheckIntervalMs: 500,
};

const client = (b: BrokerProcess) =>
  new Kafka({
    clientId: 'compat-txn-crash',
    brokers: [b.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 10_000,
  });
const txProducer = (kafka: kafkajs.Kafka) =>
  kafka.producer({
    transactionalId: TXN_ID,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: TXN_TIMEOUT_MS,
    allowAutoTopicCreation: false,
  });
const batch = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ partition: i % PARTITIONS, value: `${prefix}-${i}` }));
const onPartition = (values: readonly { partition: number; value: string }[], p: number) =>
  values.filter((v) => v.partition === p).map((v) => v.value);

const committed1 = batch('committed-before-crash', 6);
const open2 = batch('open-at-crash', 8);
const committed3 = batch('committed-after-restart', 6);

async function crashRound(
  t: TapTest,
  opts: { config: Record<string, number>; waitBeforeKillMs: number },
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'streamhouse-txn-crash-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = { ...baseConfig, ...opts.config };
  let broker: BrokerProcess = await spawnBroker({ dataDir, config });
  t.teardown(async () => {
    if (broker.alive()) broker.kill('SIGKILL');
    await broker.wait();
  });

  // ---- before the crash
  let kafka = client(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  const first = txProducer(kafka);
  await first.connect();
  const txn1 = await first.transaction();
  await txn1.send({ topic: TOPIC, messages: committed1 });
  await txn1.commit();
  const txn2 = await first.transaction();
  await txn2.send({ topic: TOPIC, messages: open2.slice(0, 4) });
  await txn2.send({ topic: TOPIC, messages: open2.slice(4) });
  if (opts.waitBeforeKillMs > 0) await sleep(opts.waitBeforeKillMs);

  let wire = await WireClient.connect(broker.bootstrap, 'compat-txn-crash-wire');
  const before: { hw: number; lso: number }[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    before.push({ hw: await highWatermark(wire, TOPIC, p), lso: await stableOffset(wire, TOPIC, p) });
    const firstOpen = committed1.filter((v) => v.partition === p).length + 1; // after the COMMIT marker
    t.equal(
      before[p]!.lso,
      firstOpen,
      `before the kill, partition ${p}: LSO ${firstOpen} = first offset of the open transaction`,
    );
    t.equal(
      before[p]!.hw,
      firstOpen + onPartition(open2, p).length,
      `before the kill, partition ${p}: HW ${before[p]!.hw}`,
    );
  }
  wire.destroy();

  // ---- the crash
  broker.kill('SIGKILL');
  const exit = await broker.wait();
  t.equal(exit.signal, 'SIGKILL', 'the broker died of SIGKILL with the transaction open');
  await first.disconnect().catch(() => undefined);

  // ---- restart on the same data directory; nobody touches the transactional id yet
  const restartAt = Date.now();
  broker = await spawnBroker({ dataDir, config });
  t.comment(`restarted in ${Date.now() - restartAt} ms`);
  wire = await WireClient.connect(broker.bootstrap, 'compat-txn-crash-wire');
  t.teardown(() => wire.destroy());
  for (let p = 0; p < PARTITIONS; p++) {
    const hw = await highWatermark(wire, TOPIC, p);
    t.ok(
      hw >= before[p]!.hw,
      `partition ${p}: every acknowledged record survived (HW ${hw} ≥ ${before[p]!.hw})`,
    );
  }
  const abortedAfter = await waitUntil(
    'the open transaction to be aborted (LSO = HW on every partition)',
    async () => {
      for (let p = 0; p < PARTITIONS; p++)
        if ((await stableOffset(wire, TOPIC, p)) !== (await highWatermark(wire, TOPIC, p))) return false;
      return true;
    },
    TXN_TIMEOUT_MS + 15_000,
  );
  t.comment(
    `the open transaction was ended ${abortedAfter} ms after the restart (its timeout: ${TXN_TIMEOUT_MS} ms)`,
  );
  for (let p = 0; p < PARTITIONS; p++) {
    const log = await partitionLog(wire, TOPIC, p);
    const shape = log.map((e) => (e.kind === 'data' ? (e.value ?? '').replace(/-\d+$/, '') : `[${e.kind}]`));
    t.same(
      shape.filter((k, i) => k !== shape[i - 1]),
      ['committed-before-crash', '[COMMIT]', 'open-at-crash', '[ABORT]'],
      `partition ${p}: the open transaction's records are followed by an ABORT marker (${describeLog(log)})`,
    );
    t.same(
      log.filter((e) => e.kind === 'data').map((e) => e.value),
      [...onPartition(committed1, p), ...onPartition(open2, p)],
      `partition ${p}: every acknowledged record kept, in order`,
    );
  }

  // ---- readers, and a new producer with the same transactional id
  kafka = client(broker);
  const rc = await Collector.start(kafka, 'crash-read-committed', {
    readUncommitted: false,
    topics: [TOPIC],
  });
  const ru = await Collector.start(kafka, 'crash-read-uncommitted', {
    readUncommitted: true,
    topics: [TOPIC],
  });
  t.teardown(async () => {
    await rc.stop();
    await ru.stop();
  });
  await rc.waitForAll(committed1.map((v) => v.value));
  const second = txProducer(kafka);
  await second.connect();
  const txn3 = await second.transaction(); // kafkajs: the transactional InitProducerId happens here
  t.pass('a new producer with the same transactionalId initialised (InitProducerId) and began');
  await txn3.send({ topic: TOPIC, messages: committed3 });
  await txn3.commit();
  t.pass('… and committed a transaction');
  await second.disconnect();

  await rc.waitForAll(committed3.map((v) => v.value));
  await ru.waitForAll([...committed1, ...open2, ...committed3].map((v) => v.value));
  await sleep(300);
  const visible = [...committed1, ...committed3];
  t.same(
    sorted(rc.values(TOPIC)),
    sorted(visible.map((v) => v.value)),
    `read_committed: exactly the ${visible.length} committed values`,
  );
  t.same(
    rc.values(TOPIC).filter((v) => v.startsWith('open-at-crash')),
    [],
    'read_committed: none of the crashed transaction',
  );
  for (let p = 0; p < PARTITIONS; p++) {
    t.same(rc.values(TOPIC, p), onPartition(visible, p), `read_committed, partition ${p}: in order`);
    t.same(
      ru.values(TOPIC, p),
      [...onPartition(committed1, p), ...onPartition(open2, p), ...onPartition(committed3, p)],
      `read_uncommitted, partition ${p}: all three transactions in order`,
    );
  }
  t.same(rc.duplicates(), [], 'read_committed: no value twice');
  await rc.stop();
  await ru.stop();

  const stop = await broker.stop();
  t.equal(stop.code, 0, 'the restarted broker stops cleanly');
  t.comment(
    `produced ${committed1.length} committed before the crash, ${open2.length} open at the crash (aborted), ` +
      `${committed3.length} committed after; read back read_committed ${rc.values(TOPIC).length}, ` +
      `read_uncommitted ${ru.values(TOPIC).length}`,
  );
}

t.test('SIGKILL with a transaction open, its records uploaded: aborted on restart', (t) =>
  crashRound(t, { config: { uploadMaxAgeMs: 50, uploadTargetBytes: 16 * 1024 }, waitBeforeKillMs: 300 }),
);

t.test('SIGKILL right after the sends, records only in the WAL: aborted on restart', (t) =>
  crashRound(t, { config: { uploadMaxAgeMs: 600_000, uploadTargetBytes: 64 << 20 }, waitBeforeKillMs: 0 }),
);

// ---- a crash in the middle of a commit (support/txn-crash-broker.ts kills itself) -----------------

interface CrashChild {
  bootstrap: string;
  port: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

async function startCrashChild(dataDir: string, port: number, killAt: string | null): Promise<CrashChild> {
  const env: NodeJS.ProcessEnv = { ...process.env, STREAMHOUSE_COMPAT_CONFIG: JSON.stringify(baseConfig) };
  if (killAt === null) delete env.TXN_KILL_AT;
  else env.TXN_KILL_AT = killAt;
  const proc = spawn(process.execPath, [TXN_CRASH_BROKER, dataDir, String(port)], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (x: string) => {
    err = (err + x).slice(-64 * 1024);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${err.slice(-2000)}`)), 60_000);
    proc.stdout!.setEncoding('utf8').on('data', (x: string) => {
      out += x;
      const m = /^READY (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`broker exited (${code ?? signal}) before READY: ${err.slice(-2000)}`));
    });
  });
  return {
    bootstrap,
    port: Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1)),
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}

for (const stage of ['before-markers', 'after-markers'] as const) {
  const what =
    stage === 'before-markers'
      ? 'PrepareCommit persisted, no marker written'
      : 'every COMMIT marker durable, offsets and CompleteCommit not';
  t.test(`SIGKILL during commit (${what}): the commit completes on restart`, async (t) => {
    const OUT = `txn-crash-commit-${stage}`;
    const IN = `txn-crash-commit-in-${stage}`;
    const GROUP = `compat-txn-crash-${stage}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'streamhouse-txn-crash-commit-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    let child = await startCrashChild(dataDir, 0, stage);
    t.teardown(async () => {
      child.kill('SIGKILL');
      await child.exited;
    });
    // Same port after the restart, so that the clients reconnect by themselves.
    const kafka = new Kafka({
      clientId: 'compat-txn-crash-commit',
      brokers: [child.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 2000 },
      connectionTimeout: 3000,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [OUT, IN].map((topic) => ({ topic, numPartitions: PARTITIONS })),
    });
    const producer = kafka.producer({
      transactionalId: `compat-txn-crash-${stage}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 30_000,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    const txn = await producer.transaction();
    const values = batch(`commit-crash-${stage}`, 6);
    await txn.send({ topic: OUT, messages: values });
    await txn.sendOffsets({
      consumerGroupId: GROUP,
      topics: [
        {
          topic: IN,
          partitions: [
            { partition: 0, offset: '7' },
            { partition: 1, offset: '9' },
          ],
        },
      ],
    });
    const commitStarted = Date.now();
    const commitOutcome = txn.commit().then(
      () => ({ ok: true, ms: Date.now() - commitStarted, error: '' }),
      (e: unknown) => ({ ok: false, ms: Date.now() - commitStarted, error: describeKafkajsError(e) }),
    );
    const died = await child.exited;
    t.equal(died.signal, 'SIGKILL', 'the broker died of SIGKILL');
    t.match(child.stdout(), `KILLING ${stage}`, `… at ${stage}`);

    child = await startCrashChild(dataDir, child.port, null);
    const outcome = await commitOutcome;
    t.comment(
      `kafkajs commit() ${outcome.ok ? 'succeeded' : `failed (${outcome.error})`} after ${outcome.ms} ms, across the restart`,
    );
    // kafkajs 2.2.4 sends EndTxn once, without its retrier: a connection lost mid-commit surfaces as
    // an error (an unknown outcome, as with any client) — what matters is what the broker did with it.

    const wire = await WireClient.connect(child.bootstrap, 'compat-txn-crash-wire');
    t.teardown(() => wire.destroy());
    await waitUntil('LSO = HW on both partitions', async () => {
      for (let p = 0; p < PARTITIONS; p++)
        if ((await stableOffset(wire, OUT, p)) !== (await highWatermark(wire, OUT, p))) return false;
      return true;
    });
    for (let p = 0; p < PARTITIONS; p++) {
      const log = await partitionLog(wire, OUT, p);
      t.same(
        log.filter((e) => e.kind === 'data').map((e) => e.value),
        onPartition(values, p),
        `${OUT}/${p}: the transaction's records (${describeLog(log)})`,
      );
      const markers = log.filter((e) => e.kind !== 'data').map((e) => e.kind);
      t.ok(
        markers.length >= 1 && markers.every((k) => k === 'COMMIT'),
        `${OUT}/${p}: COMMIT marker(s) only (${markers.join(', ')}): a repeated COMMIT is harmless`,
      );
    }
    const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [IN] });
    t.same(
      (offsets[0]?.partitions ?? []).map((x) => `${x.partition}:${x.offset}`).sort(),
      ['0:7', '1:9'],
      "the transaction's group offsets were applied",
    );

    const rc = await Collector.start(kafka, `crash-commit-rc-${stage}`, {
      readUncommitted: false,
      topics: [OUT],
    });
    t.teardown(() => rc.stop());
    const after = batch(`after-commit-crash-${stage}`, 4);
    const again = kafka.producer({
      transactionalId: `compat-txn-crash-${stage}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await again.connect();
    const txn2 = await again.transaction();
    await txn2.send({ topic: OUT, messages: after });
    await txn2.commit();
    await rc.waitForAll([...values, ...after].map((v) => v.value));
    await sleep(200);
    for (let p = 0; p < PARTITIONS; p++)
      t.same(
        rc.values(OUT, p),
        [...onPartition(values, p), ...onPartition(after, p)],
        `read_committed, ${OUT}/${p}: the crashed commit's records, then the next transaction's, once each`,
      );
    await rc.stop();
    await again.disconnect();
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect();
    wire.destroy();
    child.kill('SIGTERM');
    const stopped = await child.exited;
    t.equal(stopped.code, 0, 'the restarted broker stops cleanly');
    t.comment(
      `${stage}: produced ${values.length} + offsets for 2 partitions in the crashed commit, ${after.length} after; read_committed read ${rc.values(OUT).length}`,
    );
  });
}

t.test('timing', async (t) => {
  t.comment(`file ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
