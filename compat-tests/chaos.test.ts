// Chaos with real parts: a broker child process (support/run-broker.ts) on a real S3-compatible
// server (s3rver, behind test/support/s3-fault-proxy.ts) and, in one case, real PostgreSQL
// metadata, driven by kafkajs (acks -1, no client retries, so nothing is appended twice).
//   1. S3 throttled to 100 requests/s (503 SlowDown beyond): produce keeps going, nothing
//      acknowledged is lost, broker RSS stays bounded.
//   2. kill -9 while uploads are in flight (proxy latency), PostgreSQL metadata: a restart on the
//      same data dir serves every acknowledged record; a sweep with no grace leaves no object under
//      data/ that the metadata does not reference.
//   3. A 10x burst against a slow store (1.5 s per request, serial: ≤ 0.67 MiB/s) with an 8 MiB unuploaded cap:
//      backpressure engages (slow or REQUEST_TIMED_OUT produces), memory bounded, no crash, every
//      acknowledged record readable.
// Every case prints "produced N, acknowledged N, read back N, lost N".
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import t, { type Test } from 'tap';
import { startBroker } from '../src/broker/broker.js';
import { openObjectStore } from '../src/tiering/open-object-store.js';
import {
  dropSchema,
  getTestPostgresUrl,
  newSchemaName,
  stopTestPostgres,
  withSchema,
} from '../test/support/postgres.js';
import { S3FaultProxy } from '../test/support/s3-fault-proxy.js';
import { S3RVER_CREDS, startS3rver } from '../test/support/s3rver-server.js';
import { type BrokerProcess, spawnBroker, teardownBroker } from './support/broker-process.js';
import { readPartition, WireClient } from './support/wire-client.js';

const { Kafka, logLevel } = kafkajs;

t.setTimeout(300_000);

const MiB = 1024 * 1024;
const BUCKET = 'streamhouse-chaos';
const PARTITIONS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const s3 = await startS3rver(BUCKET);
t.teardown(() => s3.stop());
t.teardown(() => stopTestPostgres());

let prefixSeq = 0;
/** A fresh prefix of the bucket at `endpoint`; retries generous so throttling is ridden out. */
function s3Url(endpoint: string, prefix: string, extra = ''): string {
  return `s3://${BUCKET}/${prefix}?endpoint=${endpoint}&region=us-east-1&path_style=true&${S3RVER_CREDS}&max_attempts=20&retry_base_ms=20&retry_cap_ms=500${extra}`;
}
function newPrefix(name: string): string {
  prefixSeq++;
  return `chaos-${process.pid}-${prefixSeq}-${name}`;
}

// ---- RSS of the broker child ------------------------------------------------------------------------

function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // the process is gone
  }
}

function sampleRss(pid: number): { max(): number; stop(): void } {
  let max = rssBytes(pid);
  const timer = setInterval(() => {
    max = Math.max(max, rssBytes(pid));
  }, 100);
  return { max: () => max, stop: () => clearInterval(timer) };
}

// ---- producing and checking ---------------------------------------------------------------------------

interface Ledger {
  produced: number;
  /** `${partition}/${offset}` → value, for every acknowledged record. */
  acked: Map<string, string>;
  /** The keys of `acked`, for picking one at random. */
  ackedKeys: string[];
  failed: number;
  /** kafkajs error type → count. */
  errors: Map<string, number>;
  maxSendMs: number;
}

function newLedger(): Ledger {
  return { produced: 0, acked: new Map(), ackedKeys: [], failed: 0, errors: new Map(), maxSendMs: 0 };
}

interface ProduceOptions {
  workers: number;
  messagesPerSend: number;
  valueBytes: number;
  requestTimeoutMs: number;
}

/** kafkajs producers (acks -1, no retries) until stop(); every send goes to one partition. */
function produce(bootstrap: string, topic: string, tag: string, ledger: Ledger, o: ProduceOptions) {
  const kafka = new Kafka({
    clientId: `chaos-${tag}`,
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 2000,
    requestTimeout: o.requestTimeoutMs,
  });
  const producer = kafka.producer({ retry: { retries: 0 }, idempotent: false });
  const filler = 'x'.repeat(o.valueBytes);
  let stopped = false;
  let seq = 0;
  const worker = async (w: number) => {
    while (!stopped) {
      const partition = (w + seq) % PARTITIONS;
      const values = Array.from({ length: o.messagesPerSend }, () => `${tag}-${seq++}-${filler}`);
      ledger.produced += values.length;
      const started = performance.now();
      try {
        const meta = await producer.send({
          topic,
          acks: -1,
          timeout: o.requestTimeoutMs,
          messages: values.map((value) => ({ value, partition })),
        });
        const m = meta.find((x) => x.partition === partition);
        if (m === undefined || m.errorCode !== 0 || m.baseOffset === undefined)
          throw new Error(`bad metadata ${JSON.stringify(meta)}`);
        const base = Number(m.baseOffset);
        for (const [i, v] of values.entries()) {
          ledger.acked.set(`${partition}/${base + i}`, v);
          ledger.ackedKeys.push(`${partition}/${base + i}`);
        }
      } catch (err) {
        ledger.failed += values.length;
        // kafkajs wraps the broker's error (e.g. REQUEST_TIMED_OUT) in a retries-exceeded error.
        const e = err as { type?: string; name?: string; cause?: { type?: string; name?: string } };
        const type = e.cause?.type ?? e.type ?? e.cause?.name ?? e.name ?? 'unknown';
        ledger.errors.set(type, (ledger.errors.get(type) ?? 0) + 1);
        await sleep(20);
      }
      ledger.maxSendMs = Math.max(ledger.maxSendMs, performance.now() - started);
    }
  };
  const running = producer
    .connect()
    .then(() => Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w))));
  return {
    async stop() {
      stopped = true;
      await running.catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    },
  };
}

async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'chaos-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Consumers reading random acknowledged offsets (one Fetch each) while producing goes on: with tiny
 * caches these become S3 GETs.
 */
function coldReaders(bootstrap: string, topic: string, ledger: Ledger, count: number) {
  const result = { fetches: 0, errors: 0 };
  let stopped = false;
  const reader = async () => {
    const client = await WireClient.connect(bootstrap, 'chaos-reader');
    try {
      while (!stopped) {
        const key = ledger.ackedKeys[Math.floor(Math.random() * ledger.ackedKeys.length)];
        if (key === undefined) {
          await sleep(50);
          continue;
        }
        const [p, offset] = key.split('/').map(Number) as [number, number];
        try {
          await readPartition(client, topic, p, BigInt(offset), {
            allowGaps: true,
            untilOffset: BigInt(offset) + 1n,
          });
          result.fetches++;
        } catch {
          result.errors++;
          await sleep(20);
        }
      }
    } finally {
      client.close();
    }
  };
  const running = Promise.all(Array.from({ length: count }, () => reader()));
  return {
    async stop() {
      stopped = true;
      await running;
      return result;
    },
  };
}

interface Check {
  readBack: number;
  lost: string[];
}

/**
 * Read every partition back and compare with what was acknowledged. Fetch errors are retried for
 * a while: right after a fault heals the store's circuit breaker may still be open.
 */
async function check(bootstrap: string, topic: string, ledger: Ledger): Promise<Check> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      return await checkOnce(bootstrap, topic, ledger);
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await sleep(500);
    }
  }
}

async function checkOnce(bootstrap: string, topic: string, ledger: Ledger): Promise<Check> {
  const client = await WireClient.connect(bootstrap, 'chaos-check');
  const byKey = new Map<string, string>();
  let readBack = 0;
  try {
    for (let p = 0; p < PARTITIONS; p++) {
      const records = await readPartition(client, topic, p, 0n, { allowGaps: true });
      readBack += records.length;
      for (const r of records) byKey.set(`${p}/${r.offset}`, r.value?.toString() ?? '');
    }
  } finally {
    client.close();
  }
  const lost: string[] = [];
  for (const [key, value] of ledger.acked) {
    if (byKey.get(key) !== value) lost.push(key);
  }
  return { readBack, lost };
}

function report(t: Test, name: string, ledger: Ledger, c: Check): void {
  const errors = [...ledger.errors].map(([k, v]) => `${k}×${v}`).join(', ') || 'none';
  t.comment(
    `${name}: produced ${ledger.produced}, acknowledged ${ledger.acked.size}, read back ${c.readBack}, lost ${c.lost.length} (send errors: ${errors}; slowest send ${Math.round(ledger.maxSendMs)} ms)`,
  );
  t.equal(
    c.lost.length,
    0,
    `no acknowledged record lost${c.lost.length ? `: ${c.lost.slice(0, 5).join(', ')}` : ''}`,
  );
  t.ok(c.readBack >= ledger.acked.size, 'read back at least every acknowledged record');
}

async function withProxy(t: Test): Promise<S3FaultProxy> {
  const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3.port });
  t.teardown(() => proxy.close());
  return proxy;
}

function tempDir(t: Test, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `streamhouse-chaos-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function spawn(t: Test, dataDir: string, config: object): Promise<BrokerProcess> {
  const b = await spawnBroker({ dataDir, config });
  t.teardown(teardownBroker(b));
  return b;
}

// ---- 1. throttled S3 ----------------------------------------------------------------------------------

t.test('S3 throttled to 100 requests/s: produce continues, nothing lost, RSS bounded', async (t) => {
  const proxy = await withProxy(t);
  proxy.faults.rateLimitPerSec = 100;
  const dataDir = tempDir(t, 'throttle');
  const broker = await spawn(t, dataDir, {
    objectStoreUrl: s3Url(proxy.endpoint, newPrefix('throttle')),
    numPartitions: PARTITIONS,
    uploadTargetBytes: 256 * 1024,
    uploadMaxAgeMs: 20,
    maxUnuploadedBytes: 64 * MiB,
    // Tiny caches: consumer reads go to S3 as GETs, so uploads and reads share the throttled budget.
    hotTailMaxBytes: 64 * 1024,
    objectCacheBytes: 64 * 1024,
    objectDiskCacheBytes: 0,
  });
  const topic = 'chaos-throttle';
  await createTopic(broker.bootstrap, topic);
  const rss = sampleRss(broker.pid);
  t.teardown(() => rss.stop());
  const ledger = newLedger();
  const producer = produce(broker.bootstrap, topic, 'throttle', ledger, {
    workers: 6,
    messagesPerSend: 20,
    valueBytes: 200,
    requestTimeoutMs: 30_000,
  });
  const readers = coldReaders(broker.bootstrap, topic, ledger, 16);
  const startedMs = performance.now();
  await sleep(10_000);
  const ackedAt10s = ledger.acked.size;
  await producer.stop();
  const reads = await readers.stop();
  t.comment(`cold readers: ${reads.fetches} fetches, ${reads.errors} failed`);
  const elapsedS = (performance.now() - startedMs) / 1000;
  t.comment(
    `proxy: ${proxy.counts.requests} requests, ${proxy.counts.slowDowns} SlowDown, busiest second ${proxy.maxInWindow(1000)}; ${Math.round(ackedAt10s / elapsedS)} acked records/s`,
  );
  // Whether demand passes 100 req/s depends on how fast this machine runs the readers; when it
  // does, the proxy must have answered SlowDown (and nothing below may be lost either way).
  if (proxy.counts.slowDowns === 0) {
    t.comment(
      `demand never passed the limit on this machine (busiest second ${proxy.maxInWindow(1000)} requests)`,
    );
  }
  t.ok(
    proxy.counts.slowDowns > 0 || proxy.maxInWindow(1000) <= 110,
    'requests beyond the limit were throttled',
  );
  t.ok(ackedAt10s > 1000, `produce continued under throttling (${ackedAt10s} acknowledged)`);
  proxy.heal();
  const c = await check(broker.bootstrap, topic, ledger);
  rss.stop();
  t.comment(`broker max RSS ${(rss.max() / MiB).toFixed(1)} MiB`);
  t.ok(rss.max() < 600 * MiB, 'broker RSS bounded (< 600 MiB)');
  t.ok(broker.alive(), 'broker still running');
  report(t, 'throttled S3', ledger, c);
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'clean stop');
});

// ---- 2. kill -9 with uploads in flight, PostgreSQL metadata ---------------------------------------------

t.test(
  'kill -9 with uploads in flight (S3 + PostgreSQL): restart serves every ack, no orphans',
  async (t) => {
    const pgUrl = await getTestPostgresUrl();
    const schema = newSchemaName('sh_chaos');
    t.teardown(() => dropSchema(pgUrl, schema));
    const metadataUrl = withSchema(pgUrl, schema);
    const proxy = await withProxy(t);
    proxy.faults.latencyMs = 300; // every upload spends ≥ 300 ms in flight
    const prefix = newPrefix('kill');
    const dataDir = tempDir(t, 'kill');
    const config = {
      metadataUrl,
      objectStoreUrl: s3Url(proxy.endpoint, prefix),
      numPartitions: PARTITIONS,
      uploadTargetBytes: 64 * 1024,
      uploadMaxAgeMs: 25,
    };
    const topic = 'chaos-kill';
    const ledger = newLedger();
    let orphansSeen = 0;
    for (let round = 1; round <= 2; round++) {
      const broker = await spawn(t, dataDir, config);
      if (round === 1) await createTopic(broker.bootstrap, topic);
      const producer = produce(broker.bootstrap, topic, `kill${round}`, ledger, {
        workers: 4,
        messagesPerSend: 10,
        valueBytes: 300,
        requestTimeoutMs: 10_000,
      });
      await sleep(3000);
      // Kill at a moment a PUT is in flight (sent within the proxy's latency window).
      const deadline = performance.now() + 5000;
      const putsBefore = proxy.requestLog.filter((r) => r.startsWith('PUT ')).length;
      while (performance.now() < deadline) {
        const puts = proxy.requestLog.filter((r) => r.startsWith('PUT ')).length;
        if (puts > putsBefore) break;
        await sleep(5);
      }
      await sleep(50);
      broker.kill('SIGKILL');
      const exit = await broker.wait();
      await producer.stop();
      t.equal(exit.signal, 'SIGKILL', `round ${round}: killed with uploads in flight`);
    }
    proxy.heal();

    // Restart on the same data dir (as a child process): every acknowledged record is there.
    const restarted = await spawn(t, dataDir, config);
    const c = await check(restarted.bootstrap, topic, ledger);
    report(t, 'kill -9 restart', ledger, c);
    const exit = await restarted.stop();
    t.equal(exit.code, 0, 'restarted broker stopped cleanly');

    // Orphans: objects whose PUT finished but whose commit never happened. Sweep them with no grace
    // in a broker in this process, then every object under data/ must be referenced.
    const inProcess = await startBroker({
      listen: { host: '127.0.0.1', port: 0 },
      admin: null,
      dataDir,
      metadataUrl,
      objectStoreUrl: s3Url(s3.endpoint, prefix),
      numPartitions: PARTITIONS,
      logLevel: 'silent',
    });
    t.teardown(() => inProcess.close().catch(() => undefined));
    await inProcess.context.log.flush();
    const objects = await openObjectStore(s3Url(s3.endpoint, prefix));
    t.teardown(() => objects.close?.());
    const unreferenced = async () => {
      const keys: string[] = [];
      let total = 0;
      for await (const o of objects.list('data/')) {
        total++;
        if ((await inProcess.context.metadata.getObjectRecord(o.key)) === null) keys.push(o.key);
      }
      return { keys, total };
    };
    const before = await unreferenced();
    orphansSeen = before.keys.length;
    const swept = await inProcess.context.log.sweepOrphans(Date.now() + 1000, 0);
    const after = await unreferenced();
    t.comment(
      `objects under data/: ${before.total}, orphans before sweep ${orphansSeen}, swept ${swept}, unreferenced after ${after.keys.length}`,
    );
    t.equal(swept, orphansSeen, 'the sweep removed every orphan');
    t.same(after.keys, [], 'every object under data/ is referenced by the metadata');
    t.ok(after.total > 0, 'objects were uploaded');
    const c2 = await check(inProcess.bootstrap, topic, ledger);
    report(t, 'after the orphan sweep', ledger, c2);
    await inProcess.close();
  },
);

// ---- 3. burst against a slow object store -----------------------------------------------------------

t.test('10x burst against a slow store: backpressure, bounded memory, nothing lost', async (t) => {
  const proxy = await withProxy(t);
  const dataDir = tempDir(t, 'burst');
  const maxUnuploadedBytes = 8 * MiB;
  // The slow store: every request waits SLOW_MS, and uploads are strictly serial (one upload at a
  // time in the broker, multipart in 1 MiB parts one at a time, objects over 1 MiB multipart), so it
  // can never take more than 1 MiB per SLOW_MS: that bound is its sustainable rate.
  const SLOW_MS = 1500;
  const sustainableMiBps = 1000 / SLOW_MS;
  const broker = await spawn(t, dataDir, {
    objectStoreUrl: s3Url(
      proxy.endpoint,
      newPrefix('burst'),
      `&multipart_threshold_bytes=${MiB}&part_size_bytes=${MiB}&multipart_concurrency=1`,
    ),
    numPartitions: PARTITIONS,
    uploadTargetBytes: 512 * 1024,
    uploadMaxAgeMs: 50,
    maxUnuploadedBytes,
    backpressureTimeoutMs: 2000,
  });
  const topic = 'chaos-burst';
  await createTopic(broker.bootstrap, topic);
  const rss = sampleRss(broker.pid);
  t.teardown(() => rss.stop());
  const ledger = newLedger();
  const producer = produce(broker.bootstrap, topic, 'burst', ledger, {
    workers: 16,
    messagesPerSend: 20,
    valueBytes: 10_000,
    requestTimeoutMs: 15_000,
  });
  // Two seconds with a fast store measure what these producers push; then the store turns slow.
  await sleep(2000);
  const fastAcked = ledger.acked.size;
  proxy.faults.latencyMs = SLOW_MS;
  const slowFrom = proxy.requestLog.length;
  await sleep(10_000);
  await producer.stop();
  const slowAcked = ledger.acked.size - fastAcked;
  const slowRequests = proxy.requestLog.length - slowFrom;
  const timedOut = ledger.errors.get('REQUEST_TIMED_OUT') ?? 0;
  const offeredMiBps = (fastAcked * 10_000) / MiB / 2;
  const mibPerSec = (records: number, seconds: number) => ((records * 10_000) / MiB / seconds).toFixed(1);
  t.comment(
    `burst: producers push ${offeredMiBps.toFixed(1)} MiB/s against a fast store = ${(offeredMiBps / sustainableMiBps).toFixed(1)}x what the slow store sustains (≤ ${sustainableMiBps.toFixed(2)} MiB/s); ${mibPerSec(slowAcked, 10)} MiB/s acknowledged against the slow one`,
  );
  t.comment(
    `burst: ${timedOut} sends REQUEST_TIMED_OUT, slowest send ${Math.round(ledger.maxSendMs)} ms, ${slowRequests} S3 requests in the slow 10 s`,
  );
  t.ok(
    offeredMiBps >= 10 * sustainableMiBps,
    `the burst is at least 10x the sustainable rate (${(offeredMiBps / sustainableMiBps).toFixed(1)}x)`,
  );
  t.ok(timedOut > 0 || ledger.maxSendMs > 1000, 'backpressure engaged (sends waited or timed out)');
  t.ok(broker.alive(), 'no crash');
  proxy.heal();
  const c = await check(broker.bootstrap, topic, ledger);
  rss.stop();
  t.comment(`broker max RSS ${(rss.max() / MiB).toFixed(1)} MiB`);
  t.ok(rss.max() < 600 * MiB, 'broker RSS bounded (< 600 MiB)');
  report(t, '10x burst', ledger, c);
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'clean stop');
});
