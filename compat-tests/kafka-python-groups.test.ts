// kafka-python 2.0 KafkaConsumer(group_id=...) against a StreamHouse broker process
// (compat-tests/python/kafka_python_group.py under /usr/bin/python3): consume part of a topic,
// commit exactly what was processed, close; a second run of the same group resumes from the
// committed offsets — it reads the rest and nothing twice — and a third run finds nothing new.
// The broker's OffsetFetch agrees with what kafka-python's committed() reported.
import t from 'tap';
import { ErrorCode } from '../protocol/error-codes.js';
import { CreateTopics, OffsetFetch } from '../protocol/messages/index.js';
import { buildRecordBatch } from '../protocol/records/index.js';
import { spawnBroker, teardownBroker } from './support/broker-process.js';
import {
  describeRun,
  pythonModuleMissing,
  pythonScript,
  run,
  SYSTEM_PYTHON,
  skipFile,
} from './support/tools.js';
import { produceRaw, WireClient } from './support/wire-client.js';

t.setTimeout(180_000);

const missing = pythonModuleMissing('kafka');
if (missing !== null) skipFile(t, `${missing} (Debian package python3-kafka)`);

const TOPIC = 'kafka-python-groups';
const GROUP = 'kafka-python-group';
const PARTITIONS = 2;
const PER_PARTITION = 25;

const broker = await spawnBroker({
  config: { groupInitialRebalanceDelayMs: 300, groupMinSessionTimeoutMs: 1000 },
});
t.teardown(teardownBroker(broker));
const wire = await WireClient.connect(broker.bootstrap);
t.teardown(() => wire.destroy());

const created = await wire.request(CreateTopics, 7, {
  topics: [{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }],
  timeoutMs: 10_000,
  validateOnly: false,
});
if (created.topics[0]!.errorCode !== 0) throw new Error(`CreateTopics: ${created.topics[0]!.errorCode}`);
const produced: string[] = [];
for (let p = 0; p < PARTITIONS; p++) {
  const values = Array.from({ length: PER_PARTITION }, (_, i) => `kp-${p}-${i}`);
  const r = await produceRaw(
    wire,
    TOPIC,
    p,
    buildRecordBatch({
      baseTimestamp: Date.now(),
      records: values.map((value, i) => ({ value, timestampDelta: i })),
    }),
  );
  if (r.errorCode !== ErrorCode.NONE) throw new Error(`produce: ${r.errorCode}`);
  produced.push(...values);
}

interface Report {
  consumed: { p: number; o: number; v: string }[];
  committed: Record<string, number>;
  assignment: number[];
  errors: string[];
}

async function consume(maxRecords: number, idleS: number): Promise<Report> {
  const opts = {
    bootstrap: broker.bootstrap,
    topic: TOPIC,
    group: GROUP,
    max_records: maxRecords,
    idle_s: idleS,
  };
  const r = await run(SYSTEM_PYTHON, [pythonScript('kafka_python_group.py'), JSON.stringify(opts)], {
    timeoutMs: 90_000,
  });
  if (r.code !== 0) throw new Error(`kafka_python_group.py: ${describeRun(r)}`);
  return JSON.parse(r.stdout.toString('utf8')) as Report;
}

async function brokerCommitted(): Promise<number[]> {
  const res = await wire.request(OffsetFetch, 5, {
    groupId: GROUP,
    topics: [{ name: TOPIC, partitionIndexes: [0, 1] }],
    requireStable: false,
  });
  return res.topics[0]!.partitions.map((p) => Number(p.committedOffset));
}

t.test('consume, commit, close; a restarted consumer resumes from the committed offsets', async (t) => {
  const first = await consume(30, 10);
  t.same(first.errors, [], 'first run: no errors');
  t.equal(first.consumed.length, 30, 'first run processed 30 records');
  t.same(first.assignment, [0, 1], 'the only member owns both partitions');
  const positions = [0, 1].map((p) =>
    Math.max(0, ...first.consumed.filter((c) => c.p === p).map((c) => c.o + 1)),
  );
  t.same(Object.values(first.committed), positions, 'committed() reports what was committed');
  t.same(await brokerCommitted(), positions, 'the broker has the same committed offsets');
  for (const p of [0, 1]) {
    const offsets = first.consumed.filter((c) => c.p === p).map((c) => c.o);
    t.same(
      offsets,
      offsets.map((_, i) => i),
      `partition ${p}: read from offset 0 in order`,
    );
  }

  const second = await consume(1000, 4);
  t.same(second.errors, [], 'second run: no errors');
  const firstValues = new Set(first.consumed.map((c) => c.v));
  t.same(
    second.consumed.filter((c) => firstValues.has(c.v)).map((c) => c.v),
    [],
    'nothing processed twice',
  );
  t.same(
    [...firstValues, ...second.consumed.map((c) => c.v)].sort(),
    [...produced].sort(),
    'together: every record',
  );
  for (const p of [0, 1]) {
    const first = second.consumed.find((c) => c.p === p);
    if (first !== undefined)
      t.equal(first.o, positions[p], `partition ${p}: resumed at the committed offset`);
  }
  t.same(await brokerCommitted(), [PER_PARTITION, PER_PARTITION], 'committed at the end of both partitions');

  const third = await consume(1000, 3);
  t.same(third.errors, []);
  t.same(third.consumed, [], 'a third run finds nothing new');
});

t.test('the broker stops cleanly; the API versions kafka-python used', async (t) => {
  wire.destroy();
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  for (const r of (exit.requests ?? []).filter((x) => x.clientId === 'kafka-python-group')) {
    t.comment(`kafka-python ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
  }
});
