// What librdkafka really sends, captured: a tiny TCP server in this test frames requests (INT32
// size), decodes each with our decodeRequest, records it, and answers just enough for kcat to
// proceed, with our encodeResponse — ApiVersions (see advertised()), Metadata (one
// broker = this server, one topic with one partition led by node 0) and Produce (no error, base
// offset 0). Then `kcat -L` and `kcat -P -z <codec> -K: -H k=v` run against it, and we check that
// every request decoded with no byte left over and that the Produce requests' record batches
// (parsed with protocol/records) carry exactly the keys, values and headers that were typed in.
//
// Skipped when kcat is not on PATH. Every kcat run is bounded by a timeout and killed after.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import t from 'tap';
import { allApiCodecs, type DecodedRequest, decodeRequest, encodeResponse } from '../../protocol/codec.js';
import {
  CompressionCodec,
  type CompressionName,
  decodeMessageSet,
  detectMagic,
  iterateRecords,
  splitBatches,
  validateBatch,
} from '../../protocol/records/index.js';

const KCAT_TIMEOUT_MS = 20_000;
const TOPIC = 't1';
const PRODUCE = 0;
const METADATA = 3;
const API_VERSIONS = 18;

const kcatAvailable = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;

/**
 * What ApiVersions advertises: every API in the registry with its versions. Not just the three this server answers: librdkafka derives features from the whole
 * list, e.g. it sends magic-1 MessageSets (no headers, no zstd) unless Fetch v4+ is advertised too
 * (rdkafka_feature.c). -L and -P never send the others; they would get an all-defaults answer.
 */
function advertised(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return allApiCodecs().map((c) => ({
    apiKey: c.def.apiKey,
    minVersion: c.minVersion,
    maxVersion: c.maxVersion,
  }));
}

// ---- the capture server ---------------------------------------------------------------------------

interface Captured {
  apiKey: number;
  apiVersion: number;
  frameBytes: number;
  request?: DecodedRequest;
  error?: string;
  hex?: string;
}

class CaptureServer {
  readonly captured: Captured[] = [];
  port = 0;
  private readonly server = net.createServer((socket) => this.serve(socket));
  private readonly sockets = new Set<net.Socket>();

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (pending.length < 4 + size) break;
        const frame = pending.subarray(4, 4 + size);
        pending = pending.subarray(4 + size);
        for (const c of this.handle(frame)) socket.write(c);
      }
    });
  }

  /** Record one request and return the response chunks to send (none for acks=0 Produce). */
  private handle(frame: Buffer): Buffer[] {
    const apiKey = frame.length >= 4 ? frame.readInt16BE(0) : -1;
    const apiVersion = frame.length >= 4 ? frame.readInt16BE(2) : -1;
    const correlationId = frame.length >= 8 ? frame.readInt32BE(4) : 0;
    const entry: Captured = { apiKey, apiVersion, frameBytes: frame.length };
    this.captured.push(entry);
    let request: DecodedRequest;
    try {
      request = decodeRequest(frame);
      entry.request = request;
    } catch (err) {
      entry.error = String(err);
      entry.hex = frame.toString('hex');
      // An ApiVersions version we do not know: answer v0 with UNSUPPORTED_VERSION, as brokers do.
      if (apiKey === API_VERSIONS) {
        return encodeResponse(
          { apiKey: API_VERSIONS, apiVersion: 0, correlationId },
          { errorCode: 35, apiKeys: advertised() },
        );
      }
      return [];
    }
    const body = request.body;
    switch (apiKey) {
      case API_VERSIONS:
        return encodeResponse(
          { apiKey, apiVersion, correlationId },
          {
            errorCode: 0,
            apiKeys: advertised(),
            throttleTimeMs: 0,
          },
        );
      case METADATA: {
        const asked = body.topics as { name: string | null }[] | null;
        const names = asked === null || asked.length === 0 ? [TOPIC] : asked.map((x) => x.name ?? TOPIC);
        return encodeResponse(
          { apiKey, apiVersion, correlationId },
          {
            throttleTimeMs: 0,
            brokers: [{ nodeId: 0, host: '127.0.0.1', port: this.port, rack: null }],
            clusterId: 'streamhouse-capture',
            controllerId: 0,
            topics: names.map((name) => ({
              errorCode: 0,
              name,
              isInternal: false,
              partitions: [
                {
                  errorCode: 0,
                  partitionIndex: 0,
                  leaderId: 0,
                  leaderEpoch: 0,
                  replicaNodes: [0],
                  isrNodes: [0],
                  offlineReplicas: [],
                },
              ],
            })),
          },
        );
      }
      case PRODUCE: {
        if (body.acks === 0) return [];
        const topicData = body.topicData as { name: string; partitionData: { index: number }[] }[];
        return encodeResponse(
          { apiKey, apiVersion, correlationId },
          {
            responses: topicData.map((td) => ({
              name: td.name,
              partitionResponses: td.partitionData.map((p) => ({
                index: p.index,
                errorCode: 0,
                baseOffset: 0n,
                logAppendTimeMs: -1n,
                logStartOffset: 0n,
              })),
            })),
            throttleTimeMs: 0,
          },
        );
      }
      default:
        // Not needed by -L / -P; answer all-defaults so the client is not left waiting.
        return encodeResponse({ apiKey, apiVersion, correlationId }, {});
    }
  }
}

// ---- running kcat -----------------------------------------------------------------------------------

interface KcatRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

async function runKcat(args: string[], input?: string): Promise<KcatRun> {
  const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdin.on('error', () => {});
  child.stdin.end(input ?? '');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, KCAT_TIMEOUT_MS);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  return { code, signal, stdout, stderr, timedOut };
}

/** The assertions the helpers below use (satisfied by any tap Test). */
interface Tap {
  ok(value: unknown, message: string): unknown;
  equal(found: unknown, wanted: unknown, message: string): unknown;
  pass(message: string): unknown;
  fail(message: string): unknown;
  comment(...args: unknown[]): unknown;
}

function checkAllDecoded(t: Tap, server: CaptureServer): void {
  t.ok(server.captured.length > 0, 'kcat sent requests');
  for (const c of server.captured) {
    if (c.error)
      t.fail(
        `api ${c.apiKey} v${c.apiVersion} (${c.frameBytes} bytes) did not decode: ${c.error}\n  hex: ${c.hex}`,
      );
  }
  const seen = server.captured.map((c) => `${c.apiKey}v${c.apiVersion}`);
  t.comment(`requests (apiKey v version): ${seen.join(' ')}`);
  if (server.captured.every((c) => !c.error))
    t.pass(`all ${server.captured.length} requests decoded, every byte consumed`);
}

interface SentRecord {
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

/** Keys/values/headers of every record in the Produce requests to TOPIC, plus the batches' codecs. */
function producedRecords(
  t: Tap,
  server: CaptureServer,
): { records: SentRecord[]; codecs: Set<number>; magics: Set<number> } {
  const records: SentRecord[] = [];
  const codecs = new Set<number>();
  const magics = new Set<number>();
  const str = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
  for (const c of server.captured) {
    if (c.apiKey !== PRODUCE || !c.request) continue;
    const topicData = c.request.body.topicData as {
      name: string;
      partitionData: { index: number; records: Buffer | null }[];
    }[];
    for (const td of topicData) {
      t.equal(td.name, TOPIC, 'produce goes to the topic');
      for (const pd of td.partitionData) {
        t.equal(pd.index, 0, 'produce goes to partition 0');
        if (!Buffer.isBuffer(pd.records) || pd.records.length === 0) {
          t.fail('produce partition without records');
          continue;
        }
        const magic = detectMagic(pd.records);
        magics.add(magic ?? -1);
        if (magic !== 2) {
          const { messages } = decodeMessageSet(pd.records, { maxDecompressedBytes: 1 << 26 });
          for (const m of messages) {
            codecs.add(m.compression);
            records.push({ key: str(m.key), value: str(m.value), headers: [] });
          }
          continue;
        }
        const { batches, partial } = splitBatches(pd.records);
        t.equal(partial, null, 'no partial batch in a produce request');
        for (const batch of batches) {
          const v = validateBatch(batch);
          t.ok(v.ok, `batch validates${v.ok ? '' : `: ${v.errorCode} ${v.reason}`}`);
          if (v.ok) codecs.add(v.header.compression);
          for (const r of iterateRecords(batch, { maxDecompressedBytes: 1 << 26, verifyCrc: true })) {
            records.push({
              key: str(r.key),
              value: str(r.value),
              headers: r.headers.map((h) => ({ key: h.key, value: str(h.value) })),
            });
          }
        }
      }
    }
  }
  return { records, codecs, magics };
}

// ---- tests --------------------------------------------------------------------------------------------

t.test(
  'kcat against a capture server',
  { skip: kcatAvailable ? false : 'kcat is not on PATH' },
  async (t) => {
    const server = new CaptureServer();
    await server.start();
    t.teardown(() => server.close());
    const broker = `127.0.0.1:${server.port}`;
    const common = ['-b', broker, '-X', 'socket.timeout.ms=10000', '-X', 'message.timeout.ms=15000'];
    // one batch per run, most of the time: kcat reads all of stdin well within the linger time
    const produceOptions = ['-X', 'linger.ms=200'];

    t.test('kcat -L (ApiVersions, Metadata)', async (t) => {
      server.captured.length = 0;
      const run = await runKcat([...common, '-L', '-m', '10']);
      t.notOk(run.timedOut, 'kcat finished before the timeout');
      t.equal(run.code, 0, `kcat -L exits 0${run.code === 0 ? '' : `; stderr: ${run.stderr}`}`);
      t.match(run.stdout, /1 brokers:/, 'one broker listed');
      t.match(
        run.stdout,
        new RegExp(`broker 0 at 127\\.0\\.0\\.1:${server.port}`),
        'the broker is this server',
      );
      t.match(run.stdout, new RegExp(`topic "${TOPIC}" with 1 partitions`), 'the topic is listed');
      t.match(run.stdout, /partition 0, leader 0, replicas: 0, isrs: 0/, 'its partition is led by node 0');
      checkAllDecoded(t, server);
      t.ok(
        server.captured.some((c) => c.apiKey === API_VERSIONS) &&
          server.captured.some((c) => c.apiKey === METADATA),
        'ApiVersions and Metadata were sent',
      );
    });

    // The last line makes each batch compressible: librdkafka sends a batch uncompressed when the
    // codec would not make it smaller.
    const lines = [
      'alpha:one',
      'beta:two',
      'gamma:three with spaces',
      'delta:{"json":true}',
      'epsilon:',
      `zeta:${'streamhouse '.repeat(40)}`,
    ];
    const headers = [
      { key: 'k', value: 'v' },
      { key: 'trace-id', value: 'abc-123' },
    ];
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
      t.test(`kcat -P -z ${codec} -K: -H ...`, async (t) => {
        server.captured.length = 0;
        const args = [
          ...common,
          ...produceOptions,
          '-P',
          '-t',
          TOPIC,
          '-K:',
          ...headers.flatMap((h) => ['-H', `${h.key}=${h.value}`]),
        ];
        if (codec !== 'none') args.push('-z', codec);
        const run = await runKcat(args, `${lines.join('\n')}\n`);
        t.notOk(run.timedOut, 'kcat finished before the timeout');
        t.equal(run.code, 0, `kcat -P exits 0${run.code === 0 ? '' : `; stderr: ${run.stderr}`}`);
        checkAllDecoded(t, server);
        t.ok(
          server.captured.some((c) => c.apiKey === PRODUCE),
          'a Produce request was sent',
        );
        const { records, codecs, magics } = producedRecords(t, server);
        t.same([...magics], [2], 'record batches of magic 2');
        // librdkafka falls back to no compression for a batch the codec would not shrink
        t.ok(codecs.has(CompressionCodec[codec]), `batches use ${codec}`);
        t.ok(
          [...codecs].every((c) => c === CompressionCodec[codec] || c === 0),
          `no other codec is used (${[...codecs].join(', ')})`,
        );
        t.same(
          records,
          lines.map((l) => {
            const i = l.indexOf(':');
            // an empty value stays an empty (not null) value: kcat only sends null with -Z
            return { key: l.slice(0, i), value: l.slice(i + 1), headers };
          }),
          'exactly the keys, values and headers sent',
        );
      });
    }
  },
);
