// Crash recovery with real clients: a broker process (support/crash-broker.ts) is SIGKILLed while
// kafkajs (acks -1) and librdkafka (confluent-kafka-python, acks=all, per-message delivery reports)
// produce into it, then restarted on the same data directory, several times. Kill moments: a random
// one; and, through hooks inside the broker, the instants after an object PUT (index not committed),
// after the index commit (WAL checkpoint not moved) and after a whole upload; one round also tears
// the WAL tail (garbage after the last entry) while the broker is down.
//
// After every restart, and once more at the end: every acknowledged (partition, offset, value) is
// read back at exactly that offset with that value; each partition's offsets run 0..HW-1 with no gap
// and one record each; no value appears twice (clients do not retry, so none was appended twice); and
// a torn tail is reported by the broker's truncation log line. The counts go to the test output.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import t from 'tap';
import { WriteAheadLog } from '../src/log/wal/index.js';
import { findKcat, pythonModuleMissing, run, SYSTEM_PYTHON } from './support/tools.js';
import { ensureTopic, readPartition, WireClient } from './support/wire-client.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

t.setTimeout(150_000);

const HERE = dirname(fileURLToPath(import.meta.url)); // …/dist/compat-tests
const CRASH_BROKER = join(HERE, 'support', 'crash-broker.js');
const CRASH_PRODUCER = join(HERE, '..', '..', 'compat-tests', 'support', 'crash-producer.py');
const PARTITIONS = 3; // crash-broker.ts creates topics with 3 partitions
const WAL_SEGMENT_BYTES = 1024 * 1024; // as crash-broker.ts configures it
const TOPIC_KAFKAJS = 'crash-kafkajs';
const TOPIC_RDKAFKA = 'crash-rdkafka';

const pythonMissing = pythonModuleMissing('confluent_kafka');
const topics = pythonMissing === null ? [TOPIC_KAFKAJS, TOPIC_RDKAFKA] : [TOPIC_KAFKAJS];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

// ---- the broker child ------------------------------------------------------------------------------

interface BrokerChild {
  proc: ChildProcess;
  bootstrap: string;
  stderr(): string;
  stdout(): string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startBroker(dataDir: string, killAt: string | null): Promise<BrokerChild> {
  const env = { ...process.env };
  if (killAt === null) delete env.CRASH_KILL_AT;
  else env.CRASH_KILL_AT = killAt;
  const proc = spawn(process.execPath, [CRASH_BROKER, dataDir, '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start: ${err.slice(-2000)}`)), 30_000);
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
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
  return { proc, bootstrap, stderr: () => err, stdout: () => out.split('\n').filter(Boolean), exited };
}

function logLines(b: BrokerChild): { level: number; msg: string; [k: string]: unknown }[] {
  const lines = [];
  for (const l of b.stderr().split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(l) as { level: number; msg: string });
    } catch {
      // a partial last line of a killed process
    }
  }
  return lines;
}

// ---- what the clients were told ------------------------------------------------------------------------

interface Ledger {
  /** `${topic}/${partition}/${offset}` → value, for every acknowledged record. */
  acked: Map<string, string>;
  /** Two acks for one offset: the broker handed an offset out twice. */
  doubleAcks: string[];
  produced: number;
  failed: number;
}

function recordAck(ledger: Ledger, topic: string, partition: number, offset: number, value: string): void {
  const key = `${topic}/${partition}/${offset}`;
  const previous = ledger.acked.get(key);
  if (previous !== undefined) ledger.doubleAcks.push(`${key}: ${previous} and ${value}`);
  ledger.acked.set(key, value);
}

/** kafkajs, acks -1, no retries: several sends in flight; every send goes to one partition. */
function runKafkajs(bootstrap: string, prefix: string, ledger: Ledger): { stop(): Promise<void> } {
  const kafka = new Kafka({
    clientId: 'crash-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
    requestTimeout: 5000,
  });
  const producer = kafka.producer({
    createPartitioner: Partitioners.LegacyPartitioner,
    retry: { retries: 0 },
    idempotent: false,
  });
  let stopped = false;
  let seq = 0;
  const worker = async () => {
    while (!stopped) {
      const partition = rand(0, PARTITIONS - 1);
      const values = Array.from({ length: rand(1, 8) }, () => `${prefix}-${seq++}`);
      ledger.produced += values.length;
      try {
        const meta = await producer.send({
          topic: TOPIC_KAFKAJS,
          acks: -1,
          messages: values.map((value) => ({ value, partition })),
        });
        const m = meta.find((x) => x.partition === partition);
        if (m === undefined || m.errorCode !== 0 || m.baseOffset === undefined)
          throw new Error(`bad metadata ${JSON.stringify(meta)}`);
        const base = Number(m.baseOffset);
        for (const [i, v] of values.entries()) recordAck(ledger, TOPIC_KAFKAJS, partition, base + i, v);
      } catch {
        ledger.failed += values.length;
        await sleep(50);
      }
    }
  };
  const running = producer.connect().then(() => Promise.all([worker(), worker(), worker(), worker()]));
  return {
    async stop() {
      stopped = true;
      await running.catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    },
  };
}

/** librdkafka via confluent-kafka-python: per-message delivery reports on stdout. */
function runRdkafka(bootstrap: string, prefix: string, ledger: Ledger): { stop(): Promise<void> } {
  const proc = spawn(SYSTEM_PYTHON, [CRASH_PRODUCER, bootstrap, TOPIC_RDKAFKA, prefix, String(PARTITIONS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let rest = '';
  let stderr = '';
  let done = false;
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    rest += s;
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'ACK') recordAck(ledger, TOPIC_RDKAFKA, Number(a), Number(b), c!);
      else if (kind === 'ERR') ledger.failed++;
      else if (kind === 'DONE') {
        ledger.produced += Number(a);
        done = true;
      }
    }
  });
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  return {
    async stop() {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      if (!done) throw new Error(`crash-producer.py did not finish cleanly: ${stderr}`);
    },
  };
}

// ---- checking the log against the ledger ----------------------------------------------------------------

interface Check {
  readBack: number;
  ackedChecked: number;
  lost: string[];
  gaps: string[];
  duplicateValues: string[];
  unackedPersisted: number;
  /** `${topic}/${partition}` → records read. */
  counts: Map<string, number>;
}

async function check(bootstrap: string, ledger: Ledger): Promise<Check> {
  const client = await WireClient.connect(bootstrap, 'crash-check');
  const result: Check = {
    readBack: 0,
    ackedChecked: 0,
    lost: [],
    gaps: [],
    duplicateValues: [],
    unackedPersisted: 0,
    counts: new Map(),
  };
  const ackedValues = new Set(ledger.acked.values());
  try {
    for (const topic of topics) {
      const seen = new Set<string>();
      for (let p = 0; p < PARTITIONS; p++) {
        const records = await readPartition(client, topic, p, 0n, { allowGaps: true });
        const byOffset = new Map<number, string>();
        records.forEach((r, i) => {
          const offset = Number(r.offset);
          if (offset !== i) result.gaps.push(`${topic}/${p}: record ${i} has offset ${offset}`);
          const value = r.value?.toString() ?? '';
          byOffset.set(offset, value);
          if (seen.has(value)) result.duplicateValues.push(`${topic}: ${value}`);
          seen.add(value);
          if (!ackedValues.has(value)) result.unackedPersisted++;
        });
        result.readBack += records.length;
        result.counts.set(`${topic}/${p}`, records.length);
        for (const [key, value] of ledger.acked) {
          const [ackTopic, ackPartition, ackOffset] = key.split('/');
          if (ackTopic !== topic || Number(ackPartition) !== p) continue;
          result.ackedChecked++;
          const got = byOffset.get(Number(ackOffset));
          if (got !== value) result.lost.push(`${key}: acknowledged ${value}, found ${got ?? 'nothing'}`);
        }
      }
    }
  } finally {
    client.destroy();
  }
  return result;
}

// ---- tearing the WAL tail --------------------------------------------------------------------------------

/** Write garbage right after the last whole WAL entry (as a torn write leaves it); returns its LSN. */
async function tearWalTail(dataDir: string): Promise<number> {
  const dir = join(dataDir, 'wal');
  const wal = await WriteAheadLog.open(dir, { segmentBytes: WAL_SEGMENT_BYTES });
  const end = wal.endLsn;
  await wal.close();
  const segments = (await readdir(dir)).filter((n) => n.endsWith('.wal')).sort();
  const name = segments.findLast((n) => Number(n.slice(0, 20)) <= end)!;
  const garbage = Buffer.from(Array.from({ length: 300 }, (_, i) => ((i * 151 + 7) & 0xff) | 1));
  const fh = await open(join(dir, name), 'r+');
  try {
    await fh.write(garbage, 0, garbage.length, end - Number(name.slice(0, 20)));
  } finally {
    await fh.close();
  }
  return end;
}

// ---- the test -----------------------------------------------------------------------------------------

interface Round {
  name: string;
  /** 'random', or a CRASH_KILL_AT stage of crash-broker.ts. */
  kill: 'random' | 'put' | 'commit' | 'upload';
  tear?: boolean;
}

const ROUNDS: Round[] = [
  { name: 'at a random moment', kill: 'random' },
  { name: 'after an object PUT, before its index commit', kill: 'put' },
  { name: 'after the index commit, before the WAL checkpoint', kill: 'commit' },
  { name: 'right after an upload completed', kill: 'upload' },
  { name: 'at a random moment, then the WAL tail is torn', kill: 'random', tear: true },
];

t.test('acknowledged records survive SIGKILL at any moment, at their offsets', async (t) => {
  if (pythonMissing !== null) t.comment(`librdkafka producer skipped: ${pythonMissing}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'streamhouse-crash-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const ledger: Ledger = { acked: new Map(), doubleAcks: [], produced: 0, failed: 0 };
  const started = Date.now();
  let expectTruncation = false;
  let live: BrokerChild | null = null;
  t.teardown(() => {
    if (live !== null && live.proc.exitCode === null) live.proc.kill('SIGKILL');
  });

  for (const [i, round] of ROUNDS.entries()) {
    const killAt = round.kill === 'random' ? null : `${round.kill}:${rand(3, 12)}`;
    const broker = await startBroker(dataDir, killAt);
    live = broker;
    const label = `round ${i + 1} (kill ${round.name})`;
    const replayed = logLines(broker).find((l) => l.msg === 'WAL replayed');
    const truncation = logLines(broker).find((l) => /torn or corrupt tail/.test(l.msg));
    if (i > 0) {
      t.comment(
        `restart ${i}: WAL replayed ${JSON.stringify({ entries: replayed?.entries, batches: replayed?.batches, pendingBytes: replayed?.pendingBytes })}`,
      );
      if (expectTruncation)
        t.ok(truncation, `restart ${i}: the broker logged the truncation of the torn tail`);
      else if (truncation)
        t.comment(`restart ${i}: the kill itself left a torn tail, truncated: ${JSON.stringify(truncation)}`);
      const c = await check(broker.bootstrap, ledger);
      t.same(c.lost, [], `restart ${i}: all ${c.ackedChecked} acknowledged records at their offsets`);
      t.same(c.gaps, [], `restart ${i}: offsets contiguous (${c.readBack} records)`);
      t.same(c.duplicateValues, [], `restart ${i}: no record appended twice`);
    } else {
      const client = await WireClient.connect(broker.bootstrap, 'crash-setup');
      for (const topic of topics) t.equal(await ensureTopic(client, topic), PARTITIONS, `${topic} created`);
      client.destroy();
    }
    expectTruncation = false;

    const ackedBefore = ledger.acked.size;
    const producers = [runKafkajs(broker.bootstrap, `r${i}-kjs`, ledger)];
    if (pythonMissing === null) producers.push(runRdkafka(broker.bootstrap, `r${i}-rdk`, ledger));
    if (round.kill === 'random') {
      await sleep(rand(600, 1400));
      broker.proc.kill('SIGKILL');
    } else {
      const fallback = setTimeout(() => broker.proc.kill('SIGKILL'), 8_000);
      await broker.exited;
      clearTimeout(fallback);
    }
    const exit = await broker.exited;
    t.equal(exit.signal, 'SIGKILL', `${label}: the broker died of SIGKILL`);
    if (killAt !== null) {
      t.ok(
        broker.stdout().some((l) => l.startsWith('KILLING')),
        `${label}: killed itself at ${killAt}`,
      );
    }
    for (const p of producers) await p.stop();
    t.comment(`${label}: ${ledger.acked.size - ackedBefore} acknowledged this round`);
    if (round.tear) {
      const at = await tearWalTail(dataDir);
      t.comment(`${label}: wrote 300 bytes of garbage at WAL LSN ${at}`);
      expectTruncation = true;
    }
  }

  // The last restart: a clean run that must find everything, then stop gracefully.
  const final = await startBroker(dataDir, null);
  live = final;
  if (expectTruncation) {
    t.ok(
      logLines(final).some((l) => /torn or corrupt tail/.test(l.msg)),
      'final restart: the broker logged the truncation of the torn tail',
    );
  }
  const c = await check(final.bootstrap, ledger);
  const kcat = findKcat();
  if (kcat !== null) {
    // An independent reader: librdkafka's simple consumer, by offset.
    const r = await run(
      kcat,
      [
        '-C',
        '-b',
        final.bootstrap,
        '-t',
        TOPIC_KAFKAJS,
        '-p',
        '0',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%o %s\\n',
      ],
      {
        timeoutMs: 30_000,
      },
    );
    const lines = r.stdout.toString().split('\n').filter(Boolean);
    let mismatches = 0;
    let checked = 0;
    for (const line of lines) {
      const [offset, value] = line.split(' ');
      const acked = ledger.acked.get(`${TOPIC_KAFKAJS}/0/${offset}`);
      if (acked !== undefined) {
        checked++;
        if (acked !== value) mismatches++;
      }
    }
    const acked0 = [...ledger.acked.keys()].filter((k) => k.startsWith(`${TOPIC_KAFKAJS}/0/`)).length;
    t.equal(
      lines.length,
      c.counts.get(`${TOPIC_KAFKAJS}/0`),
      `kcat reads all ${lines.length} records of ${TOPIC_KAFKAJS}/0`,
    );
    t.equal(checked, acked0, 'among them every acknowledged one');
    t.equal(mismatches, 0, `kcat agrees: ${checked} acknowledged records at their offsets with their values`);
  }
  final.proc.kill('SIGTERM');
  const finalExit = await final.exited;
  t.equal(finalExit.code, 0, 'the final broker stops cleanly');

  t.same(ledger.doubleAcks, [], 'no offset was acknowledged twice');
  t.same(c.lost, [], 'no acknowledged record lost or changed');
  t.same(c.gaps, [], 'offsets contiguous in every partition: one record per offset');
  t.same(c.duplicateValues, [], 'no record appended twice');
  t.ok(ledger.acked.size > 500, `a meaningful number of acknowledged records (${ledger.acked.size})`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  t.comment(
    `${ROUNDS.length} kill/restart cycles in ${seconds} s: produced ${ledger.produced}, acknowledged ${ledger.acked.size}, ` +
      `failed/unacknowledged ${ledger.failed}, read back ${c.readBack} ` +
      `(${c.unackedPersisted} persisted without an acknowledgement), lost ${c.lost.length}`,
  );
});
