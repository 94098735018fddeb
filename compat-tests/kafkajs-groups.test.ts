// kafkajs 2.2.4 consumer groups against a StreamHouse broker process (real WAL, SQLite, objects on a
// data dir): three consumers share a 6-partition topic while a producer writes; one leaves and a
// new one joins mid-stream. Every record is consumed at least once; a record is consumed twice only
// by a consumer that rebalanced since, and only if its commit had not been acknowledged before that
// rebalance (support/group-ledger.ts). Then the broker is SIGKILLed and restarted on the same data
// dir: the committed offsets are still there, and a new consumer of the group resumes from them
// (it reads only what was produced after the restart).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import t from 'tap';
import { type BrokerProcess, spawnBroker, teardownBroker } from './support/broker-process.js';
import { type Commit, type Consumption, checkGroupRun, type Rebalance } from './support/group-ledger.js';

const { Kafka, logLevel } = kafkajs;

t.setTimeout(240_000);

const TOPIC = 'kafkajs-groups';
const GROUP = 'kafkajs-group';
const PARTITIONS = 6;
const TOTAL = 3000;
const dataDir = mkdtempSync(join(tmpdir(), 'streamhouse-kafkajs-groups-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
const brokerConfig = {
  groupInitialRebalanceDelayMs: 300,
  groupMinSessionTimeoutMs: 1000,
  autoCreateTopicsEnable: false,
};

let broker: BrokerProcess = await spawnBroker({ dataDir, config: brokerConfig });
t.teardown(() => teardownBroker(broker)());

function client(b: BrokerProcess, clientId: string) {
  return new Kafka({
    clientId,
    brokers: [b.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

const consumptions: Consumption[] = [];
const rebalances: Rebalance[] = [];
const commits: Commit[] = [];
const assignments = new Map<string, number[]>();

function startConsumer(kafka: kafkajs.Kafka, name: string) {
  const consumer = kafka.consumer({
    groupId: GROUP,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 100,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    rebalances.push({ consumer: name, timeMs: Date.now() });
    assignments.set(name, e.payload.memberAssignment[TOPIC] ?? []);
  });
  consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
    const timeMs = Date.now();
    for (const tp of e.payload.topics) {
      for (const p of tp.partitions)
        commits.push({ partition: p.partition, offset: Number(p.offset), timeMs });
    }
  });
  const running = (async () => {
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      // Commit after every batch (kafkajs' default with eachMessage), so duplicates stay few.
      autoCommit: true,
      eachMessage: async ({ partition, message }) => {
        consumptions.push({
          consumer: name,
          partition,
          offset: Number(message.offset),
          value: message.value!.toString(),
          timeMs: Date.now(),
        });
      },
    });
  })();
  return { consumer, running, name };
}

const kafka = client(broker, 'compat-kafkajs-groups');
const admin = kafka.admin();
await admin.connect();
t.teardown(() => admin.disconnect().catch(() => undefined));
await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });

const produced: string[] = [];
const consumers = ['c1', 'c2', 'c3'].map((name) => startConsumer(kafka, name));
t.teardown(async () => {
  for (const c of consumers) await c.consumer.disconnect().catch(() => undefined);
});

t.test('three consumers, one leaves, one joins, while a producer writes', async (t) => {
  await Promise.all(consumers.map((c) => c.running));
  await waitFor(
    'three consumers with 2 partitions each',
    () => ['c1', 'c2', 'c3'].every((n) => assignments.get(n)?.length === 2),
    30_000,
  );
  const allAssigned = ['c1', 'c2', 'c3'].flatMap((n) => assignments.get(n)!).sort();
  t.same(allAssigned, [0, 1, 2, 3, 4, 5], 'the 6 partitions split over the three consumers');

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect().catch(() => undefined));
  let c4: ReturnType<typeof startConsumer> | null = null;
  for (let n = 0; n < TOTAL; n += 20) {
    const messages = Array.from({ length: 20 }, (_, i) => ({
      value: `kj-${n + i}`,
      partition: (n + i) % PARTITIONS,
    }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
    produced.push(...messages.map((m) => m.value));
    if (n === 1000) {
      // c2 leaves (LeaveGroup) mid-stream.
      await consumers[1]!.consumer.disconnect();
    }
    if (n === 1800) {
      c4 = startConsumer(kafka, 'c4');
      consumers.push(c4);
    }
    await sleep(5);
  }
  await producer.disconnect();
  await c4!.running;

  const consumedValues = () => new Set(consumptions.map((c) => c.value));
  await waitFor('every record consumed', () => consumedValues().size >= produced.length, 60_000);
  const survivors = ['c1', 'c3', 'c4'];
  await waitFor(
    'the three remaining consumers to own all partitions',
    () =>
      survivors
        .flatMap((n) => assignments.get(n) ?? [])
        .sort()
        .join() === '0,1,2,3,4,5',
    30_000,
  );

  const report = checkGroupRun(produced, consumptions, rebalances, commits);
  t.same(report.missing.slice(0, 10), [], `all ${produced.length} records consumed at least once`);
  t.same(report.violations.slice(0, 10), [], 'duplicates only around a rebalance, before their commit');
  t.ok(rebalances.filter((r) => r.consumer === 'c4').length >= 1, 'c4 joined the group');
  t.ok(
    consumptions.some((c) => c.consumer === 'c4'),
    'c4 consumed records',
  );
  t.comment(
    `consumed ${report.consumed} records for ${produced.length} produced, ${report.duplicates} duplicates, ${rebalances.length} rebalance events`,
  );

  // Commits catch up with the log end on every partition.
  await waitFor(
    'commits at the log end',
    async () => {
      const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
      return offsets[0]!.partitions.every((p) => Number(p.offset) === TOTAL / PARTITIONS);
    },
    30_000,
  );
  const described = await admin.describeGroups([GROUP]);
  t.equal(described.groups[0]!.state, 'Stable');
  t.equal(described.groups[0]!.members.length, 3);
});

t.test('commits survive a broker crash and restart; a new consumer resumes from them', async (t) => {
  for (const c of consumers) await c.consumer.disconnect().catch(() => undefined);
  await admin.disconnect();
  const before = await (async () => {
    const a = kafka.admin();
    await a.connect();
    const o = await a.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    await a.disconnect();
    return o[0]!.partitions.map((p) => [p.partition, Number(p.offset)]).sort((x, y) => x[0]! - y[0]!);
  })();
  t.same(
    before.map((p) => p[1]),
    new Array(PARTITIONS).fill(TOTAL / PARTITIONS),
    'everything committed',
  );

  broker.kill('SIGKILL');
  await broker.wait();
  broker = await spawnBroker({ dataDir, config: brokerConfig });
  const kafka2 = client(broker, 'compat-kafkajs-groups-2');
  const admin2 = kafka2.admin();
  await admin2.connect();
  t.teardown(() => admin2.disconnect().catch(() => undefined));
  const after = (await admin2.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions
    .map((p) => [p.partition, Number(p.offset)])
    .sort((x, y) => x[0]! - y[0]!);
  t.same(after, before, 'committed offsets after the restart');
  const listed = await admin2.listGroups();
  t.ok(
    listed.groups.some((g) => g.groupId === GROUP),
    'the group is listed after the restart',
  );

  const producer = kafka2.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const fresh = Array.from({ length: 60 }, (_, i) => ({
    value: `after-restart-${i}`,
    partition: i % PARTITIONS,
  }));
  await producer.send({ topic: TOPIC, acks: -1, messages: fresh });
  await producer.disconnect();

  const start = consumptions.length;
  const resumed = startConsumer(kafka2, 'c5');
  t.teardown(() => resumed.consumer.disconnect().catch(() => undefined));
  await resumed.running;
  await waitFor('the new records', () => consumptions.slice(start).length >= fresh.length, 30_000);
  await sleep(500); // anything older would arrive with them
  const got = consumptions.slice(start).map((c) => c.value);
  t.same(
    got.filter((v) => !v.startsWith('after-restart-')),
    [],
    'nothing before the committed offsets is read again',
  );
  t.same(
    [...new Set(got)].sort(),
    fresh.map((m) => m.value).sort(),
    'exactly the records produced after the restart',
  );
});

t.test('the broker stops cleanly; the API versions kafkajs used', async (t) => {
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  for (const r of exit.requests ?? []) {
    if (r.clientId?.startsWith('compat-kafkajs-groups'))
      t.comment(`kafkajs ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
  }
});
