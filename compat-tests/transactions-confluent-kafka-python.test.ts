// Kafka transactions through confluent-kafka-python 1.7 (librdkafka 2.0) against a StreamHouse broker
// process, driven by python/transactions.py: init_transactions; a transaction that produces to 3
// partitions and sends a consumer's offsets (send_offsets_to_transaction), committed; a second one,
// flushed (so its records are in the log) and aborted; a third, committed. Then:
//   - every record was acknowledged (delivery report without error);
//   - a read_committed consumer (librdkafka's default isolation.level) reads exactly the committed
//     records, per partition in send order at their acknowledged offsets, none of the aborted ones;
//   - a read_uncommitted consumer reads all three transactions' records, in log order;
//   - each transaction marker takes an offset (the next transaction starts one past the last record);
//   - the group's committed offset is the first transaction's, and the aborted one's never applies;
//   - two producers' transactions interleaved in one partition with plain records (one committed,
//     one aborted): read_committed reads exactly the committed and plain ones, also from an offset
//     inside the aborted transaction with one small fetch at a time;
//   - a second producer instance with the same transactional.id fences the first: the first's next
//     transaction fails with a fatal fenced error and none of its records is in the log;
//   - the broker's own view agrees (markers COMMIT / ABORT / COMMIT, LSO = HW at the end).
import t from 'tap';
import { CreateTopics } from '../protocol/messages/index.js';
import { spawnBroker, teardownBroker } from './support/broker-process.js';
import {
  describeRun,
  pythonModuleMissing,
  pythonScript,
  run,
  SYSTEM_PYTHON,
  skipFile,
} from './support/tools.js';
import { describeLog, highWatermark, partitionLog, sorted, stableOffset } from './support/txn-tools.js';
import { ensureTopic, WireClient } from './support/wire-client.js';

t.setTimeout(120_000);

const missing = pythonModuleMissing('confluent_kafka');
if (missing !== null) skipFile(t, `${missing} (Debian package python3-confluent-kafka)`);

const PARTITIONS = 3;
const TOPIC = 'txn-librdkafka';
const INPUT = 'txn-librdkafka-input';
const INTERLEAVED = 'txn-librdkafka-interleaved';
const TXN_ID = 'compat-confluent-txn';
const COUNTS = { c1: 12, a2: 9, c3: 6 };

interface Report {
  client: string;
  delivered: { value: string; partition: number; offset: number | null; error: string | null }[];
  positions?: { txn1: number; txn2: number };
  committed?: { after_txn1: number; after_txn2: number };
  interleaved?: {
    produced: { value: string; offset: number | null; error: string | null }[];
    read_committed: { partition: number; offset: number; value: string }[];
    read_uncommitted: { partition: number; offset: number; value: string }[];
    read_committed_from_4: { partition: number; offset: number; value: string }[];
  };
  fenced?: { error: string | null; fatal: boolean | null; stage: string | null; client_errors: string[] };
  read_committed?: { partition: number; offset: number; value: string }[];
  read_uncommitted?: { partition: number; offset: number; value: string }[];
  steps: [string, number][];
  errors: string[];
}

const started = Date.now();
// Info-level broker log: the coordinator's epoch decisions, printed below if the client reports an error.
const broker = await spawnBroker({ config: { numPartitions: PARTITIONS, logLevel: 'info' } });
t.teardown(teardownBroker(broker));
const wire = await WireClient.connect(broker.bootstrap, 'compat-txn-wire');
t.teardown(() => wire.destroy());
for (const topic of [TOPIC, INPUT]) await ensureTopic(wire, topic);
// One partition, so that two producers' transactions interleave in it.
await wire.request(CreateTopics, 2, {
  topics: [{ name: INTERLEAVED, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
  timeoutMs: 10_000,
  validateOnly: false,
});

const values = (prefix: keyof typeof COUNTS) =>
  Array.from({ length: COUNTS[prefix] }, (_, i) => `${prefix}-${i}`);
const partitionOf = (value: string) => Number(value.split('-')[1]) % PARTITIONS;

t.test('commit, abort, commit; read_committed and read_uncommitted read back', async (t) => {
  const job = {
    bootstrap: broker.bootstrap,
    topic: TOPIC,
    partitions: PARTITIONS,
    input_topic: INPUT,
    topic2: INTERLEAVED,
    group: 'compat-confluent-txn-group',
    transactional_id: TXN_ID,
    timeout_s: 20,
  };
  const r = await run(SYSTEM_PYTHON, [pythonScript('transactions.py')], {
    input: JSON.stringify(job),
    timeoutMs: 90_000,
  });
  t.equal(r.code, 0, `transactions.py exits 0${r.code === 0 ? '' : `: ${describeRun(r)}`}`);
  let report: Report;
  try {
    report = JSON.parse(r.stdout.toString('utf8')) as Report;
  } catch {
    t.fail(`no JSON report: ${describeRun(r)}`);
    return;
  }
  t.comment(report.client);
  t.comment(`steps (ms since start): ${report.steps.map(([s, ms]) => `${s} ${ms}`).join(', ')}`);
  if (report.errors.length > 0) {
    t.comment('broker log (tail):');
    for (const line of broker.stderr().split('\n').slice(-60)) t.comment(line);
  }
  t.same(report.errors, [], 'no client errors');

  const committedValues = [...values('c1'), ...values('c3')];
  const abortedValues = values('a2');
  const acked = new Map(report.delivered.filter((d) => d.error === null).map((d) => [d.value, d]));
  t.same(
    report.delivered.filter((d) => d.error !== null).map((d) => `${d.value}: ${d.error}`),
    [],
    'no delivery errors',
  );
  t.same(
    sorted(acked.keys()),
    sorted([...committedValues, ...abortedValues]),
    `every one of ${committedValues.length + abortedValues.length} records acknowledged`,
  );
  for (const [value, d] of acked)
    if (d.partition !== partitionOf(value)) t.fail(`${value} acknowledged on partition ${d.partition}`);

  // Offsets: per partition c1 records, COMMIT marker, a2 records, ABORT marker, c3 records, COMMIT marker.
  for (let p = 0; p < PARTITIONS; p++) {
    const offsetsOf = (prefix: keyof typeof COUNTS) =>
      values(prefix)
        .filter((v) => partitionOf(v) === p)
        .map((v) => acked.get(v)?.offset ?? -1);
    const [c1, a2, c3] = [offsetsOf('c1'), offsetsOf('a2'), offsetsOf('c3')];
    const run = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    t.same(c1, run(0, c1.length), `partition ${p}: transaction 1 at offsets 0..${c1.length - 1}`);
    t.same(
      a2,
      run(c1.length + 1, a2.length),
      `partition ${p}: transaction 2 starts one past the COMMIT marker`,
    );
    t.same(
      c3,
      run(c1.length + a2.length + 2, c3.length),
      `partition ${p}: transaction 3 starts one past the ABORT marker`,
    );
  }

  const rc = report.read_committed ?? [];
  const ru = report.read_uncommitted ?? [];
  t.same(
    sorted(rc.map((m) => m.value)),
    sorted(committedValues),
    `read_committed: exactly the ${committedValues.length} committed values`,
  );
  t.same(
    rc.filter((m) => abortedValues.includes(m.value)).map((m) => m.value),
    [],
    'read_committed: none of the aborted values',
  );
  t.same(
    sorted(ru.map((m) => m.value)),
    sorted([...committedValues, ...abortedValues]),
    `read_uncommitted: all ${committedValues.length + abortedValues.length} values, aborted ones included`,
  );
  for (let p = 0; p < PARTITIONS; p++) {
    const inOrder = (prefixes: (keyof typeof COUNTS)[]) =>
      prefixes
        .flatMap((x) => values(x).filter((v) => partitionOf(v) === p))
        .map((v) => ({
          offset: acked.get(v)?.offset ?? -1,
          value: v,
        }));
    const strip = (ms: typeof rc) =>
      ms.filter((m) => m.partition === p).map(({ offset, value }) => ({ offset, value }));
    t.same(
      strip(rc),
      inOrder(['c1', 'c3']),
      `read_committed: partition ${p} in order, at the acknowledged offsets`,
    );
    t.same(
      strip(ru),
      inOrder(['c1', 'a2', 'c3']),
      `read_uncommitted: partition ${p} in order, at the acknowledged offsets`,
    );
  }

  t.equal(report.positions?.txn1, 5, 'the input consumer was at offset 5 for transaction 1');
  t.equal(report.positions?.txn2, 9, '… and at 9 for the aborted transaction 2');
  t.equal(report.committed?.after_txn1, 5, "OffsetFetch after commit: the group's offset is 5");
  t.equal(report.committed?.after_txn2, 5, 'OffsetFetch after the abort: still 5 (9 never applied)');

  // Two producers' transactions interleaved in one partition.
  const il = report.interleaved;
  const order = ['a-0', 'p-0', 'b-0', 'a-1', 'p-1', 'b-1', 'a-2', 'p-2'];
  t.same(
    il?.produced.map((d) => `${d.offset}:${d.value}`),
    ['0:a-0', '1:p-0', '2:b-0', '3:a-1', '4:p-1', '5:b-1', '7:a-2', '9:p-2'],
    `interleaved: acknowledged in produce order, the COMMIT of b at 6 and the ABORT of a at 8 (${order.join(' ')})`,
  );
  const pairs = (ms: { offset: number; value: string }[] | undefined) =>
    (ms ?? []).map((m) => `${m.offset}:${m.value}`);
  t.same(
    pairs(il?.read_committed),
    ['1:p-0', '2:b-0', '4:p-1', '5:b-1', '9:p-2'],
    "interleaved, read_committed: b's and the plain records, none of a's",
  );
  t.same(
    pairs(il?.read_uncommitted),
    ['0:a-0', '1:p-0', '2:b-0', '3:a-1', '4:p-1', '5:b-1', '7:a-2', '9:p-2'],
    'interleaved, read_uncommitted: everything',
  );
  t.same(
    pairs(il?.read_committed_from_4),
    ['4:p-1', '5:b-1', '9:p-2'],
    "interleaved, read_committed from offset 4 (inside a's aborted range), small fetches: not a-2",
  );
  const ilLog = await partitionLog(wire, INTERLEAVED, 0);
  t.equal(
    describeLog(ilLog),
    '0:a-0 1:p-0 2:b-0 3:a-1 4:p-1 5:b-1 6:[COMMIT] 7:a-2 8:[ABORT] 9:p-2',
    "interleaved: the broker's log",
  );

  // Zombie fencing: the older instance cannot commit once a newer one initialised the same id.
  t.comment(`older instance: ${JSON.stringify(report.fenced)}`);
  t.ok(report.fenced?.error, 'the older producer instance cannot commit after a newer one initialised');
  t.equal(report.fenced?.fatal, true, '… and librdkafka treats it as fatal (fenced)');
  t.match(report.fenced?.error ?? '', /fenc|epoch/i, '… a fenced / invalid epoch error');

  for (let p = 0; p < PARTITIONS; p++) {
    const log = await partitionLog(wire, TOPIC, p);
    t.same(
      log.filter((e) => e.kind !== 'data').map((e) => e.kind),
      ['COMMIT', 'ABORT', 'COMMIT'],
      `broker's log, partition ${p}: COMMIT, ABORT, COMMIT markers (${describeLog(log)})`,
    );
    t.equal(
      await stableOffset(wire, TOPIC, p),
      await highWatermark(wire, TOPIC, p),
      `partition ${p}: LSO = HW`,
    );
  }
  t.comment(
    `produced ${acked.size} (committed ${committedValues.length}, aborted ${abortedValues.length}); ` +
      `read back read_committed ${rc.length}, read_uncommitted ${ru.length}; group offset ${report.committed?.after_txn1} → ${report.committed?.after_txn2}`,
  );
});

t.test('broker stops cleanly; versions librdkafka used', async (t) => {
  wire.destroy();
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  const ours = (exit.requests ?? []).filter((r) => r.clientId === TXN_ID || r.clientId?.startsWith('txn-'));
  for (const r of ours) t.comment(`${r.clientId} ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
  t.comment(`whole file: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
