// librdkafka 2.0 consumer groups and the idempotent producer against StreamHouse broker processes,
// through confluent-kafka-python (compat-tests/python/*.py under /usr/bin/python3) and kcat:
// - cooperative-sticky (KIP-429): three consumers, one leaves and one joins while records are
//   produced; everything is consumed, duplicates only around rebalances (support/group-ledger.ts),
//   and the survivors' rebalances are incremental (they never give up all their partitions).
// - static membership (KIP-345): a consumer killed and restarted with the same group.instance.id
//   within session.timeout.ms gets its partitions back with no rebalance of the other member.
// - enable.idempotence=true while the broker is SIGKILLed and restarted on the same port and data
//   dir: every message is in the log exactly once, per-partition order kept, no gaps.
// - kcat -G: a balanced consumer with a group, resuming from the group's commits.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../protocol/error-codes.js';
import { CreateTopics, DescribeGroups, OffsetFetch } from '../protocol/messages/index.js';
import { buildRecordBatch } from '../protocol/records/index.js';
import { type BrokerProcess, spawnBroker, teardownBroker } from './support/broker-process.js';
import { checkGroupRun } from './support/group-ledger.js';
import { ledgerOf, type PythonConsumer, spawnConsumer } from './support/group-python.js';
import {
  describeRun,
  findKcat,
  pythonModuleMissing,
  pythonScript,
  run,
  SYSTEM_PYTHON,
  skipFile,
} from './support/tools.js';
import { produceRaw, readPartition, WireClient } from './support/wire-client.js';

t.setTimeout(300_000);

const missing = pythonModuleMissing('confluent_kafka');
if (missing !== null) skipFile(t, `${missing} (Debian package python3-confluent-kafka)`);

const BROKER_CONFIG = {
  groupInitialRebalanceDelayMs: 300,
  groupMinSessionTimeoutMs: 1000,
  autoCreateTopicsEnable: false,
};
const broker = await spawnBroker({ config: BROKER_CONFIG });
t.teardown(teardownBroker(broker));
const wire = await WireClient.connect(broker.bootstrap);
t.teardown(() => wire.destroy());

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

async function createTopic(client: WireClient, name: string, partitions: number): Promise<void> {
  const res = await client.request(CreateTopics, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  if (res.topics[0]!.errorCode !== 0) throw new Error(`CreateTopics ${name}: ${res.topics[0]!.errorCode}`);
}

/** Produce `values` to one partition in one batch; returns the base offset. */
async function produceValues(
  client: WireClient,
  topic: string,
  partition: number,
  values: string[],
): Promise<void> {
  const batch = buildRecordBatch({
    baseTimestamp: Date.now(),
    records: values.map((value, i) => ({ value, timestampDelta: i })),
  });
  const r = await produceRaw(client, topic, partition, batch);
  if (r.errorCode !== ErrorCode.NONE) throw new Error(`produce ${topic}/${partition}: ${r.errorCode}`);
}

async function describeGroup(groupId: string) {
  const res = await wire.request(DescribeGroups, 5, {
    groups: [groupId],
    includeAuthorizedOperations: false,
  });
  return res.groups[0]!;
}

async function committed(groupId: string, topic: string, partitions: number): Promise<number[]> {
  const res = await wire.request(OffsetFetch, 7, {
    groupId,
    topics: [{ name: topic, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }],
    requireStable: false,
  });
  return res.topics[0]!.partitions.map((p) => Number(p.committedOffset));
}

const consumers: PythonConsumer[] = [];
t.teardown(async () => {
  for (const c of consumers) await c.stop('SIGKILL');
});

function consumer(
  name: string,
  group: string,
  topic: string,
  config: Record<string, string | number | boolean>,
) {
  const c = spawnConsumer({ bootstrap: broker.bootstrap, group, topics: [topic], name, config });
  consumers.push(c);
  return c;
}

/** Transient connection errors librdkafka reports while peers come and go; not failures. */
const isTransient = (e: string) => /_TRANSPORT|_ALL_BROKERS_DOWN|Disconnected/.test(e);

t.test('cooperative-sticky: one consumer leaves and one joins mid-stream, nothing is lost', async (t) => {
  const TOPIC = 'rd-coop';
  const GROUP = 'rd-coop-group';
  const PARTITIONS = 6;
  await createTopic(wire, TOPIC, PARTITIONS);
  const config = {
    'partition.assignment.strategy': 'cooperative-sticky',
    'session.timeout.ms': 6000,
    'heartbeat.interval.ms': 300,
  };
  const [c1, c2, c3] = ['coop-1', 'coop-2', 'coop-3'].map((n) => consumer(n, GROUP, TOPIC, config)) as [
    PythonConsumer,
    PythonConsumer,
    PythonConsumer,
  ];
  await waitFor(
    'three consumers with two partitions each',
    () => [c1, c2, c3].every((c) => c.assignment().length === 2),
    60_000,
  );
  t.same(
    [c1, c2, c3].flatMap((c) => c.assignment()).sort(),
    [0, 1, 2, 3, 4, 5],
    'partitions split over the three',
  );
  t.equal(
    (await describeGroup(GROUP)).protocolData,
    'cooperative-sticky',
    'the group runs cooperative-sticky',
  );

  const produced: string[] = [];
  let c4: PythonConsumer | null = null;
  const ROUNDS = 60;
  for (let round = 0; round < ROUNDS; round++) {
    for (let p = 0; p < PARTITIONS; p++) {
      const values = Array.from({ length: 10 }, (_, i) => `coop-${round}-${p}-${i}`);
      await produceValues(wire, TOPIC, p, values);
      produced.push(...values);
    }
    if (round === 20) await c2.stop('SIGTERM'); // close(): revoke, commit, LeaveGroup
    if (round === 40) c4 = consumer('coop-4', GROUP, TOPIC, config);
    await sleep(50);
  }
  const survivors = [c1, c3, c4!];
  await waitFor(
    'the three remaining consumers to own all partitions',
    () =>
      survivors
        .flatMap((c) => c.assignment())
        .sort()
        .join() === '0,1,2,3,4,5',
    60_000,
  );
  const everyone = [c1, c2, c3, c4!];
  await waitFor(
    'every record consumed',
    () => new Set(ledgerOf(everyone).consumptions.map((c) => c.value)).size >= produced.length,
    60_000,
  );
  const ledger = ledgerOf(everyone);
  const report = checkGroupRun(produced, ledger.consumptions, ledger.rebalances, ledger.commits);
  t.same(report.missing.slice(0, 10), [], `all ${produced.length} records consumed`);
  t.same(report.violations.slice(0, 10), [], 'duplicates only around a rebalance, before their commit');
  t.same(
    ledger.errors.filter((e) => !isTransient(e)),
    [],
    'no client errors',
  );
  t.comment(`consumed ${report.consumed} for ${produced.length} produced; ${report.duplicates} duplicates`);

  // Incremental rebalancing: c1 and c3 never had everything revoked while running.
  for (const c of [c1, c3]) {
    const held = new Set<number>();
    let fullRevokes = 0;
    for (const e of c.events) {
      if (e.ev === 'assign') for (const p of e.parts!) held.add(p);
      if (e.ev === 'revoke') {
        if (held.size > 0 && e.parts!.length === held.size) fullRevokes++;
        for (const p of e.parts!) held.delete(p);
      }
    }
    t.equal(fullRevokes, 0, `${c.name}: rebalances only moved some partitions`);
    t.ok(
      c.events.filter((e) => e.ev === 'assign').length >= 2,
      `${c.name}: took partitions over incrementally`,
    );
  }
  for (const c of [c1, c3, c4!]) t.equal(await c.stop('SIGTERM'), 0, `${c.name} closed cleanly`);
  t.equal(await c2.stop(), 0);
  await waitFor('group Empty', async () => (await describeGroup(GROUP)).groupState === 'Empty', 20_000);
  t.same(
    await committed(GROUP, TOPIC, PARTITIONS),
    new Array(PARTITIONS).fill(ROUNDS * 10),
    'final offsets committed',
  );
});

t.test('static membership: a restart within session.timeout.ms causes no rebalance', async (t) => {
  const TOPIC = 'rd-static';
  const GROUP = 'rd-static-group';
  await createTopic(wire, TOPIC, 4);
  const config = (instance: string) => ({
    'group.instance.id': instance,
    'session.timeout.ms': 10_000,
    'heartbeat.interval.ms': 300,
  });
  const s1 = consumer('static-1', GROUP, TOPIC, config('rd-instance-1'));
  const s2 = consumer('static-2', GROUP, TOPIC, config('rd-instance-2'));
  await waitFor('both assigned', () => s1.assignment().length === 2 && s2.assignment().length === 2, 60_000);
  await waitFor('Stable', async () => (await describeGroup(GROUP)).groupState === 'Stable', 20_000);
  const before = await describeGroup(GROUP);
  const idOf = (g: typeof before, instance: string) =>
    g.members.find((m) => m.groupInstanceId === instance)?.memberId;
  const s1Assignment = s1.assignment();
  const s2Events = s2.events.filter((e) => e.ev === 'assign' || e.ev === 'revoke').length;

  await s1.stop('SIGKILL'); // a crash: no LeaveGroup
  const s1b = consumer('static-1b', GROUP, TOPIC, config('rd-instance-1'));
  await waitFor('the restarted member assigned', () => s1b.assignment().length > 0, 30_000);
  t.same(s1b.assignment(), s1Assignment, 'the restarted consumer gets its partitions back');
  const after = await describeGroup(GROUP);
  t.equal(after.groupState, 'Stable');
  t.equal(after.members.length, 2);
  t.equal(idOf(after, 'rd-instance-2'), idOf(before, 'rd-instance-2'), 'the other member is untouched');
  t.not(idOf(after, 'rd-instance-1'), idOf(before, 'rd-instance-1'), 'the restarted one has a new member id');

  // The restarted member consumes its partitions; the other member saw no rebalance at all.
  for (let p = 0; p < 4; p++) await produceValues(wire, TOPIC, p, [`static-${p}-a`, `static-${p}-b`]);
  await waitFor('records consumed', () => ledgerOf([s1b, s2]).consumptions.length >= 8, 30_000);
  await sleep(1500); // several heartbeat intervals: a rebalance would show by now
  t.equal(
    s2.events.filter((e) => e.ev === 'assign' || e.ev === 'revoke').length,
    s2Events,
    'no assign/revoke on the other member',
  );
  const byConsumer = new Map<string, Set<number>>();
  for (const c of ledgerOf([s1b, s2]).consumptions) {
    const set = byConsumer.get(c.consumer) ?? new Set<number>();
    byConsumer.set(c.consumer, set);
    set.add(c.partition);
  }
  t.same(
    [...(byConsumer.get('static-1b') ?? [])].sort(),
    s1Assignment,
    'the restarted member reads its own partitions',
  );
  t.same(
    ledgerOf([s1b, s2]).errors.filter((e) => !isTransient(e)),
    [],
  );
  await s1b.stop('SIGTERM');
  await s2.stop('SIGTERM');
});

const kcat = findKcat();
t.test(
  'kcat -G consumes with a group and resumes from its commits',
  { skip: kcat === null ? 'kcat is not installed (Debian package kcat)' : false },
  async (t) => {
    const TOPIC = 'rd-kcat';
    await createTopic(wire, TOPIC, 3);
    for (let p = 0; p < 3; p++)
      await produceValues(
        wire,
        TOPIC,
        p,
        Array.from({ length: 10 }, (_, i) => `kcat-${p}-${i}`),
      );
    const consume = () =>
      // No -o: in -G mode kcat would start every assigned partition there, ignoring the commits.
      run(
        kcat!,
        [
          '-b',
          broker.bootstrap,
          '-G',
          'kcat-group',
          '-X',
          'auto.offset.reset=earliest',
          '-e',
          '-q',
          '-f',
          '%p %o %s\\n',
          '-X',
          'session.timeout.ms=6000',
          TOPIC,
        ],
        {
          timeoutMs: 60_000,
        },
      );
    const first = await consume();
    t.equal(first.code, 0, 'kcat -G exits at the end', { detail: describeRun(first) });
    const lines = first.stdout.toString('utf8').trim().split('\n').filter(Boolean);
    t.same(
      lines.map((l) => l.split(' ')[2]).sort(),
      Array.from({ length: 30 }, (_, i) => `kcat-${Math.floor(i / 10)}-${i % 10}`).sort(),
      'all 30 records',
    );
    t.same(await committed('kcat-group', TOPIC, 3), [10, 10, 10], 'the group committed its position');

    for (let p = 0; p < 3; p++) await produceValues(wire, TOPIC, p, [`kcat-${p}-new`]);
    const second = await consume();
    t.equal(second.code, 0, { detail: describeRun(second) });
    const again = second.stdout.toString('utf8').trim().split('\n').filter(Boolean);
    t.same(
      again.map((l) => l.split(' ')[2]).sort(),
      ['kcat-0-new', 'kcat-1-new', 'kcat-2-new'],
      'only what came after the commits',
    );
  },
);

t.test('the broker stops cleanly; the API versions librdkafka used', async (t) => {
  for (const c of consumers) await c.stop('SIGTERM');
  wire.destroy();
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  // One line per API and versions, with the librdkafka clients that sent them.
  const lines = new Map<string, string[]>();
  for (const r of exit.requests ?? []) {
    if (r.clientId === null || r.clientId === 'streamhouse-compat-wire') continue;
    const key = `${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`;
    lines.set(key, [...(lines.get(key) ?? []), r.clientId]);
  }
  for (const [key, ids] of lines) t.comment(`librdkafka ${key}: ${ids.join(' ')}`);
});

t.test(
  'idempotent producer while the broker is SIGKILLed and restarted: exactly once, in order',
  async (t) => {
    const TOPIC = 'rd-idem';
    const PARTITIONS = 3;
    const COUNT = 6000;
    const dataDir = mkdtempSync(join(tmpdir(), 'streamhouse-idem-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    let b: BrokerProcess = await spawnBroker({ dataDir, config: BROKER_CONFIG });
    t.teardown(() => teardownBroker(b)());
    const setup = await WireClient.connect(b.bootstrap);
    await createTopic(setup, TOPIC, PARTITIONS);
    setup.destroy();

    const producer = spawn(
      SYSTEM_PYTHON,
      [
        pythonScript('idempotent_producer_confluent.py'),
        b.bootstrap,
        TOPIC,
        String(PARTITIONS),
        String(COUNT),
        '1500',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.teardown(() => {
      if (producer.exitCode === null) producer.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    producer.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    producer.stderr.setEncoding('utf8').on('data', (s: string) => {
      err = (err + s).slice(-8000);
    });
    const exited = new Promise<number | null>((resolve) => producer.once('exit', resolve));

    await waitFor('the producer to be well under way', () => out.includes('SENT 1500'), 30_000);
    b.kill('SIGKILL');
    await b.wait();
    t.comment('broker SIGKILLed mid-stream');
    await sleep(1000);
    b = await spawnBroker({
      dataDir,
      config: { ...BROKER_CONFIG, listen: { host: '127.0.0.1', port: b.port } },
    });
    t.comment('broker restarted on the same port and data dir');

    const timer = setTimeout(() => producer.kill('SIGKILL'), 200_000);
    const code = await exited;
    clearTimeout(timer);
    t.equal(code, 0, 'producer exited 0', { detail: err });
    const summary = JSON.parse(out.trim().split('\n').pop()!) as {
      delivered: number;
      errors: Record<string, number>;
      first_errors: string[];
      unflushed: number;
    };
    t.same(summary.errors, {}, 'no delivery errors', { detail: summary.first_errors });
    t.equal(summary.delivered, COUNT, 'every message acknowledged');
    t.equal(summary.unflushed, 0);

    const reader = await WireClient.connect(b.bootstrap);
    t.teardown(() => reader.destroy());
    for (let p = 0; p < PARTITIONS; p++) {
      const records = await readPartition(reader, TOPIC, p);
      const seqs = records.map((r) => Number(r.value!.toString('utf8')));
      const expected = Array.from(
        { length: Math.ceil((COUNT - p) / PARTITIONS) },
        (_, i) => p + i * PARTITIONS,
      );
      const dupes = seqs.length - new Set(seqs).size;
      t.equal(dupes, 0, `partition ${p}: no duplicates`);
      const firstOutOfPlace = seqs.findIndex((s, i) => s !== expected[i]);
      t.equal(firstOutOfPlace, -1, `partition ${p}: ${expected.length} messages, no gaps, in order`, {
        detail:
          firstOutOfPlace >= 0
            ? {
                at: firstOutOfPlace,
                got: seqs.slice(firstOutOfPlace, firstOutOfPlace + 5),
                want: expected.slice(firstOutOfPlace, firstOutOfPlace + 5),
              }
            : undefined,
      });
      t.equal(seqs.length, expected.length);
    }
  },
);
