/**
 * Object-store benchmark (a script, not a test): the local-directory store vs the S3 store in one run.
 *   npm run build && node dist/bench/s3-produce.js [--seconds 10] [--warmup 2] [--max-warmup 5]
 *     [--consume-seconds 5] [--record-bytes 100,1024] [--batch-bytes 262144] [--connections 4]
 *     [--in-flight 8] [--partitions 4] [--upload-target-bytes 8388608] [--stores local,s3] [--rate R]
 *     [--broker-json '{...}'] [--dir DATA_ROOT] [--json FILE]
 *
 * For each record size, the same load twice, each on a fresh broker child (bench/loadgen/harness.ts:
 * WAL fsync on, acks=-1): once with object.store=file://<dir>, once with object.store=s3:// against
 * s3rver on loopback. Uploads are off the produce path (a produce is acknowledged once it is in the
 * WAL), so the goal is S3 produce throughput within 10% of local. Per store it reports:
 * - produce records/s and MB/s in the measured window, and the S3/local ratio;
 * - once uploads have drained: objects and bytes stored per byte ingested (ingested = every byte the
 *   broker wrote to its WAL, warm-up included), mean object size, S3 requests per GiB ingested;
 * - a consume pass (replay from offset 0) over cold data: the hot tail is 1 MiB, so reads go to the
 *   store through the object cache (256 MiB, the default: it caches whole per-partition ranges of an
 *   object, so a smaller cache than one range re-reads the range on every fetch); GETs per GiB read.
 *   The replay rereads what was produced, so when that fits the cache the GET count is a lower bound
 *   for first reads (one GET per partition per object).
 * At full speed the S3 run is bounded by how fast s3rver takes uploads (the backlog reaches
 * max.unuploaded.bytes and produce waits, by design); --rate compares the stores at a load below it.
 *
 * A third store, `s3-null` (in --stores), is the S3 store pointed at a discard endpoint: an HTTP
 * server (this script with --s3-null-child) that answers PutObject and the multipart calls like S3
 * and throws the bytes away. It has no reads, so it gets no consume pass. It is not a model of S3:
 * it measures the broker's side of uploading over the S3 protocol (SDK, signing, checksums, HTTP)
 * when the server costs almost nothing, which on this 2-vCPU machine s3rver does not (on AWS, S3's
 * CPU is not the broker host's).
 *
 * s3rver runs in its own process (this script with --s3rver-child), reniced to 19 so that on a small
 * machine it takes CPU from neither the broker nor the generator (on AWS, S3's CPU is not the broker
 * host's). Requests are counted at s3rver's HTTP server, by S3 operation. Two s3rver limits that S3
 * does not have are worked around as in test/src/tiering/s3-object-store.test.ts: objects are written
 * to a temp file and renamed (atomic PUT). s3rver is slower than S3 per request and serves from the
 * local disk that also holds the WAL, so its latencies are no model of S3's; the request counts are.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSUME_DEFAULTS, runConsume } from './loadgen/consume.js';
import {
  brokerOverridesText,
  brokerWindow,
  flag,
  listFlag,
  machine,
  numFlag,
  printHeader,
  printRow,
  type ScenarioResult,
  withBroker,
  writeJson,
} from './loadgen/harness.js';
import { PRODUCE_DEFAULTS, runProduce } from './loadgen/produce.js';
import { fmt, type RunStats } from './loadgen/stats.js';

const GiB = 1024 ** 3;
const BUCKET = 'streamhouse-bench';
/** S3 operations as billed: PUT class (PUT, POST, LIST) and GET class (GET, HEAD). */
type S3Op = 'PutObject' | 'UploadPart' | 'Multipart' | 'DeleteObjects' | 'List' | 'GetObject' | 'HeadObject';
type Counts = Record<S3Op, number>;

interface StoreUsage {
  objects: number;
  bytes: number;
}

type ToChild = { type: 'counts' } | { type: 'usage'; prefix: string } | { type: 'stop' };
type FromChild =
  | { type: 'ready'; port: number }
  | { type: 'counts'; counts: Counts }
  | { type: 'usage'; usage: StoreUsage };

function zeroCounts(): Counts {
  return {
    PutObject: 0,
    UploadPart: 0,
    Multipart: 0,
    DeleteObjects: 0,
    List: 0,
    GetObject: 0,
    HeadObject: 0,
  };
}

/** Which S3 operation an HTTP request to s3rver (path-style: /bucket/key?query) is. */
function classify(method: string, url: string): S3Op | null {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const isBucket = path.replace(/^\/+|\/+$/g, '').split('/').length === 1;
  if (method === 'PUT') return query.has('partNumber') ? 'UploadPart' : 'PutObject';
  if (method === 'POST') return query.has('delete') ? 'DeleteObjects' : 'Multipart';
  if (method === 'GET') return isBucket ? 'List' : 'GetObject';
  if (method === 'HEAD') return isBucket ? null : 'HeadObject';
  return null;
}

/** Files under `dir` whose name passes `keep`: how many, how many bytes. */
function usageOf(dir: string, keep: (name: string) => boolean): StoreUsage {
  const usage: StoreUsage = { objects: 0, bytes: 0 };
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return usage;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = usageOf(path, keep);
      usage.objects += sub.objects;
      usage.bytes += sub.bytes;
    } else if (keep(e.name)) {
      usage.objects++;
      usage.bytes += statSync(path).size;
    }
  }
  return usage;
}

// ---- s3rver child ------------------------------------------------------------------------------

async function s3rverChild(directory: string): Promise<void> {
  const require = createRequire(import.meta.url);
  interface S3rverObject {
    bucket: string;
    key: string;
    metadata: unknown;
    content: Buffer | AsyncIterable<Buffer>;
  }
  interface FilesystemStoreShape {
    prototype: {
      getResourcePath(bucket: string, key: string, kind: string): string;
      putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
      putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
    };
  }
  // s3rver answers a PUT before its in-place write is done: write a temp file and rename, so a GET
  // right after an upload (the hot tail is tiny here) sees the whole object, as on S3.
  const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as FilesystemStoreShape;
  let tempSeq = 0;
  FilesystemStore.prototype.putObject = async function putObject(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    let content: Buffer;
    if (Buffer.isBuffer(object.content)) content = object.content;
    else {
      const chunks: Buffer[] = [];
      for await (const chunk of object.content) chunks.push(chunk);
      content = Buffer.concat(chunks);
    }
    const md5 = createHash('md5').update(content).digest('hex');
    const temp = `${objectPath}.tmp-${tempSeq++}`;
    await writeFile(temp, content);
    await rename(temp, objectPath);
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  };
  const { default: S3rver } = await import('s3rver');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  const address = await server.run();
  const counts = zeroCounts();
  server.httpServer.on('request', (req: import('node:http').IncomingMessage) => {
    const op = classify(req.method ?? '', req.url ?? '');
    if (op !== null) counts[op]++;
  });
  process.on('message', (m: ToChild) => {
    if (m.type === 'counts') process.send?.({ type: 'counts', counts: { ...counts } } satisfies FromChild);
    else if (m.type === 'usage') {
      const usage = usageOf(join(directory, BUCKET, m.prefix), (n) => n.endsWith('._S3rver_object'));
      process.send?.({ type: 'usage', usage } satisfies FromChild);
    } else if (m.type === 'stop') {
      server.httpServer.closeAllConnections();
      void server.close().then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', port: address.port } satisfies FromChild);
}

// ---- S3 discard endpoint child (s3-null) ------------------------------------------------------------

/** Answers the upload side of S3 and discards the bytes; counts requests and bytes per prefix. */
async function s3NullChild(): Promise<void> {
  const { createServer } = await import('node:http');
  const counts = zeroCounts();
  const usage = new Map<string, StoreUsage>();
  let uploadSeq = 0;
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const op = classify(req.method ?? '', req.url ?? '');
      if (op !== null) counts[op]++;
      // Path-style: /bucket/prefix/key; usage is kept per first key segment (the run's prefix).
      const prefix = url.pathname.split('/')[2] ?? '';
      const xml = (body: string) => {
        res.setHeader('content-type', 'application/xml');
        res.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
      };
      const u = usage.get(prefix) ?? { objects: 0, bytes: 0 };
      usage.set(prefix, u);
      if (op === 'PutObject' || op === 'UploadPart') {
        u.bytes += bytes;
        if (op === 'PutObject') u.objects++;
        res.setHeader('ETag', `"${(uploadSeq++).toString(16).padStart(32, '0')}"`);
        res.end();
      } else if (op === 'Multipart' && url.searchParams.has('uploads')) {
        xml(
          `<InitiateMultipartUploadResult><UploadId>u${uploadSeq++}</UploadId></InitiateMultipartUploadResult>`,
        );
      } else if (op === 'Multipart' && req.method === 'POST') {
        u.objects++;
        xml('<CompleteMultipartUploadResult><ETag>"0"</ETag></CompleteMultipartUploadResult>');
      } else if (op === 'DeleteObjects') xml('<DeleteResult></DeleteResult>');
      else if (op === 'List')
        xml('<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>');
      else if (req.method === 'DELETE') {
        res.statusCode = 204;
        res.end();
      } else {
        res.statusCode = 404;
        xml('<Error><Code>NoSuchKey</Code><Message>discard endpoint: nothing is kept</Message></Error>');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.on('message', (m: ToChild) => {
    if (m.type === 'counts') process.send?.({ type: 'counts', counts: { ...counts } } satisfies FromChild);
    else if (m.type === 'usage') {
      const u = usage.get(m.prefix) ?? { objects: 0, bytes: 0 };
      process.send?.({ type: 'usage', usage: { ...u } } satisfies FromChild);
    } else if (m.type === 'stop') {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    }
  });
  const address = server.address();
  process.send?.({
    type: 'ready',
    port: typeof address === 'object' && address ? address.port : 0,
  } satisfies FromChild);
}

class S3rverProcess {
  private readonly waiters: ((m: FromChild) => void)[] = [];
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (m: FromChild) => this.waiters.shift()?.(m));
  }

  /** s3rver on `directory`, or (directory null) the discard endpoint. */
  static start(directory: string | null): Promise<S3rverProcess> {
    const args = directory === null ? ['--s3-null-child'] : ['--s3rver-child', directory];
    const child = fork(fileURLToPath(import.meta.url), args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
      child.once('message', (m: FromChild) => {
        if (m.type !== 'ready') return reject(new Error(`unexpected ${m.type}`));
        child.removeAllListeners('exit');
        try {
          os.setPriority(child.pid!, 19);
        } catch {
          // not permitted: leave it at the default priority
        }
        resolve(new S3rverProcess(child, m.port));
      });
    });
  }

  private ask(m: ToChild): Promise<FromChild> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.child.send(m);
    });
  }

  async counts(): Promise<Counts> {
    const m = await this.ask({ type: 'counts' });
    if (m.type !== 'counts') throw new Error(`unexpected ${m.type}`);
    return m.counts;
  }

  async usage(prefix: string): Promise<StoreUsage> {
    const m = await this.ask({ type: 'usage', prefix });
    if (m.type !== 'usage') throw new Error(`unexpected ${m.type}`);
    return m.usage;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'stop' } satisfies ToChild);
    });
  }
}

// ---- the benchmark -----------------------------------------------------------------------------

const seconds = numFlag('seconds', 10);
const warmupSeconds = numFlag('warmup', 2);
const maxWarmupSeconds = numFlag('max-warmup', 5);
const consumeSeconds = numFlag('consume-seconds', 5);
const recordSizes = listFlag('record-bytes', [100, 1024]);
const batchBytes = numFlag('batch-bytes', 256 * 1024);
const connections = numFlag('connections', 4);
const inFlight = numFlag('in-flight', 8);
const partitions = numFlag('partitions', 4);
/** The broker default (8 MiB), not BENCH_BROKER_DEFAULTS' 64 MiB: object size is what is measured. */
const uploadTargetBytes = numFlag('upload-target-bytes', 8 * 1024 * 1024);
/** Records/s per run (rate-limited, same load for both stores); 0 = as fast as the broker answers. */
const rate = numFlag('rate', 0);
/** payload_integrity for the S3 stores (crc32c|sha256); the store's default when absent. */
const payloadIntegrity = flag('payload-integrity');
type StoreKind = 'local' | 's3' | 's3-null';
const stores = (flag('stores') ?? 'local,s3,s3-null').split(',') as StoreKind[];
const HOT_TAIL_BYTES = 1024 * 1024;
const OBJECT_CACHE_BYTES = 256 * 1024 * 1024;

interface StoreResult {
  store: StoreKind;
  recordBytes: number;
  produce: ScenarioResult;
  /** null for s3-null (it keeps nothing to read). */
  consume: RunStats | null;
  ingestedBytes: number;
  stored: StoreUsage;
  /** Upload backlog when the produce window closed, and bytes uploaded per second during it. */
  upload: { backlogBytesAtEnd: number; uploadedMBps: number };
  /** S3 requests (null for the local store): after the produce pass, and during the consume window. */
  produceRequests: Counts | null;
  consumeRequests: Counts | null;
}

function diff(a: Counts, b: Counts): Counts {
  const d = zeroCounts();
  for (const k of Object.keys(d) as S3Op[]) d[k] = b[k] - a[k];
  return d;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Wait until the broker's upload backlog is empty and `usage` has not changed for 1 s (every upload
 * finished, multipart ones included), at most 120 s.
 */
async function settled(
  usage: () => Promise<StoreUsage>,
  backlogBytes: () => Promise<number>,
): Promise<StoreUsage> {
  let last = await usage();
  let stableSince = Date.now();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await sleep(250);
    const now = await usage();
    const backlog = await backlogBytes();
    if (now.bytes !== last.bytes || now.objects !== last.objects || backlog > 0) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 1000) break;
  }
  return last;
}

async function runStore(
  store: StoreKind,
  recordBytes: number,
  s3: S3rverProcess | null,
): Promise<StoreResult> {
  const root = flag('dir') ?? os.tmpdir();
  const objectsDir = mkdtempSync(join(root, 'streamhouse-bench-objects-'));
  const prefix = `run-${store}-${recordBytes}-${Date.now()}`;
  const objectStoreUrl =
    store === 'local'
      ? `file://${objectsDir}`
      : `s3://${BUCKET}/${prefix}?endpoint=http://127.0.0.1:${s3!.port}&region=us-east-1&path_style=true&checksums=when_required&access_key_id=S3RVER&secret_access_key=S3RVER${payloadIntegrity === undefined ? '' : `&payload_integrity=${payloadIntegrity}`}`;
  const usage = () =>
    store === 'local' ? Promise.resolve(usageOf(objectsDir, (n) => !n.includes('.tmp'))) : s3!.usage(prefix);
  const name = `${{ local: 'local dir', s3: 'S3 (s3rver)', 's3-null': 'S3 (discard)' }[store]}, ${recordBytes} B records`;
  try {
    return await withBroker(
      async (broker) => {
        const countsBefore = s3 ? await s3.counts() : null;
        const walBefore = (await broker.stats()).streamhouse_wal_write_bytes_sum ?? 0;
        const window = brokerWindow(broker, name);
        // Upload progress over the window: when the backlog reaches max.unuploaded.bytes, produce
        // waits for uploads, and produce throughput is the store's upload throughput.
        const marks: { start?: Promise<Record<string, number>>; end?: Promise<Record<string, number>> } = {};
        const stats = await runProduce({
          ...PRODUCE_DEFAULTS,
          host: broker.host,
          port: broker.port,
          partitions,
          connections,
          inFlight,
          seconds,
          warmupSeconds,
          maxWarmupSeconds,
          recordBytes,
          batchBytes,
          ...(rate > 0 ? { rate } : {}),
          onWindow: (e) => {
            window.onWindow(e);
            if (e === 'start') marks.start = broker.stats();
            else marks.end = broker.stats();
          },
          warmedUp: window.warmedUp,
        });
        const u0 = (await marks.start) ?? {};
        const u1 = (await marks.end) ?? {};
        const upload = {
          backlogBytesAtEnd: u1.streamhouse_upload_backlog_bytes ?? 0,
          uploadedMBps:
            ((u1.streamhouse_bytes_uploaded_total ?? 0) - (u0.streamhouse_bytes_uploaded_total ?? 0)) /
            stats.seconds /
            1e6,
        };
        const produce: ScenarioResult = {
          name: `produce, ${name}`,
          stats,
          broker: await window.figures(),
          notes: `${stats.recordsPerBatch} records per ${stats.batchBytes}-byte batch`,
        };
        printRow(produce);
        const stored = await settled(
          usage,
          async () => (await broker.stats()).streamhouse_upload_backlog_bytes ?? 0,
        );
        const ingestedBytes = ((await broker.stats()).streamhouse_wal_write_bytes_sum ?? 0) - walBefore;
        const countsAfterProduce = s3 ? await s3.counts() : null;

        let consumeStart: Promise<Counts> | null = null;
        let consumeEnd: Promise<Counts> | null = null;
        const consume =
          store === 's3-null'
            ? null
            : await runConsume({
                ...CONSUME_DEFAULTS,
                host: broker.host,
                port: broker.port,
                partitions,
                connections,
                inFlight,
                seconds: consumeSeconds,
                warmupSeconds: 1,
                maxWarmupSeconds: 1,
                onWindow: (e) => {
                  if (s3 === null) return;
                  if (e === 'start') consumeStart = s3.counts();
                  else consumeEnd = s3.counts();
                },
              });
        const consumeRequests =
          consumeStart !== null && consumeEnd !== null ? diff(await consumeStart, await consumeEnd) : null;
        return {
          store,
          recordBytes,
          produce,
          consume,
          ingestedBytes,
          stored,
          upload,
          produceRequests: countsBefore && countsAfterProduce ? diff(countsBefore, countsAfterProduce) : null,
          consumeRequests,
        };
      },
      {
        objectStoreUrl,
        uploadTargetBytes,
        hotTailMaxBytes: HOT_TAIL_BYTES,
        objectCacheBytes: OBJECT_CACHE_BYTES,
      },
    );
  } finally {
    rmSync(objectsDir, { recursive: true, force: true });
  }
}

function mbps(s: RunStats): number {
  return s.bytes / s.seconds / 1e6;
}

function report(r: StoreResult): void {
  const gib = r.ingestedBytes / GiB;
  const readGib = (r.consume?.bytes ?? 0) / GiB;
  const line = [
    `  ${r.store.padEnd(5)} ${r.recordBytes} B: produce ${fmt(r.produce.stats.records / r.produce.stats.seconds)} rec/s ${fmt(mbps(r.produce.stats), 1)} MB/s (p99 ${fmt(r.produce.stats.latencyUs.p99 / 1000, 1)} ms)`,
    `ingested ${fmt(r.ingestedBytes / 1e6)} MB, stored ${fmt(r.stored.bytes / 1e6)} MB in ${r.stored.objects} objects (${fmt(r.stored.bytes / r.ingestedBytes, 3)} B stored/B ingested, mean object ${fmt(r.stored.bytes / Math.max(1, r.stored.objects) / 2 ** 20, 2)} MiB)`,
    `uploads during the window ${fmt(r.upload.uploadedMBps, 1)} MB/s, backlog at its end ${fmt(r.upload.backlogBytesAtEnd / 2 ** 20)} MiB`,
    r.consume === null ? 'no consume pass (nothing kept)' : `consume ${fmt(mbps(r.consume), 1)} MB/s cold`,
  ];
  if (r.produceRequests) {
    const p = r.produceRequests;
    line.push(
      `S3 per GiB ingested: ${fmt(p.PutObject / gib, 1)} PutObject, ${fmt(p.UploadPart / gib, 1)} UploadPart, ${fmt(p.Multipart / gib, 1)} multipart create/complete, ${fmt(p.List / gib, 1)} LIST, ${fmt(p.GetObject / gib, 1)} GET, ${fmt(p.HeadObject / gib, 1)} HEAD, ${fmt(p.DeleteObjects / gib, 1)} DeleteObjects`,
    );
  }
  if (r.consumeRequests) {
    const c = r.consumeRequests;
    line.push(
      `S3 per GiB read back: ${fmt(c.GetObject / readGib, 1)} GET, ${fmt(c.HeadObject / readGib, 1)} HEAD, ${fmt(c.List / readGib, 1)} LIST (${fmt(readGib, 2)} GiB read, ${c.GetObject} GETs)`,
    );
  }
  console.log(line.join('\n        '));
}

async function main(): Promise<void> {
  printHeader('Object storage: local directory vs S3 (s3rver on loopback)', [
    machine(),
    `${rate > 0 ? `rate-limited to ${rate} records/s` : 'as fast as the broker answers'}, ${connections} connections × ${inFlight} requests in flight, ${partitions} partitions, ${batchBytes}-byte batches, ${seconds} s produce window after ≥ ${warmupSeconds} s warm-up (≤ ${maxWarmupSeconds} s), then ${consumeSeconds} s cold consume`,
    `upload.target.bytes ${uploadTargetBytes}, hot.tail.max.bytes ${HOT_TAIL_BYTES}, object.cache.bytes ${OBJECT_CACHE_BYTES}; other broker options: ${brokerOverridesText()} (upload.target.bytes as above)`,
  ]);
  const root = flag('dir') ?? os.tmpdir();
  mkdirSync(root, { recursive: true });
  const s3Dir = mkdtempSync(join(root, 'streamhouse-bench-s3rver-'));
  const s3 = stores.includes('s3') ? await S3rverProcess.start(s3Dir) : null;
  const s3Null = stores.includes('s3-null') ? await S3rverProcess.start(null) : null;
  const results: StoreResult[] = [];
  try {
    for (const recordBytes of recordSizes) {
      const byStore = new Map<string, StoreResult>();
      for (const store of stores) {
        const r = await runStore(
          store,
          recordBytes,
          store === 's3' ? s3 : store === 's3-null' ? s3Null : null,
        );
        byStore.set(store, r);
        results.push(r);
      }
      for (const r of byStore.values()) report(r);
      const local = byStore.get('local');
      for (const remote of [byStore.get('s3'), byStore.get('s3-null')]) {
        if (!local || !remote) continue;
        const ratio =
          remote.produce.stats.records /
          remote.produce.stats.seconds /
          (local.produce.stats.records / local.produce.stats.seconds);
        // Broker CPU-ms per MB produced (user + system, the whole process).
        const cpu = (x: StoreResult) =>
          (x.produce.broker.cores * x.produce.stats.seconds * 1000) / (x.produce.stats.bytes / 1e6);
        const cpuRatio = cpu(local) > 0 ? cpu(remote) / cpu(local) : undefined;
        console.log(
          `  ${recordBytes} B: ${remote.store}/local produce throughput ${fmt(ratio, 3)} (goal ≥ 0.9: ${ratio >= 0.9 ? 'met' : 'NOT met'})${cpuRatio === undefined ? '' : `, broker CPU per MB ${fmt(cpuRatio, 2)}× local`}`,
        );
      }
    }
  } finally {
    await s3?.stop();
    await s3Null?.stop();
    rmSync(s3Dir, { recursive: true, force: true });
  }
  writeJson(results.map((r) => ({ ...r.produce, notes: JSON.stringify({ ...r, produce: undefined }) })));
}

if (process.argv[2] === '--s3-null-child') {
  s3NullChild().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else if (process.argv[2] === '--s3rver-child') {
  s3rverChild(process.argv[3]!).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  });
}
