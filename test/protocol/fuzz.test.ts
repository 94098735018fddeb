// Fuzzing the frame decoders: decodeRequest and decodeResponse must either succeed or throw a
// ProtocolError for ANY input — never a RangeError/TypeError, never hang, never take long or
// allocate in proportion to a hostile length field.
//
// Cases (all derived from one seed; case i is rebuilt from (seed, i) alone, so any failure is
// reproducible with FUZZ_SEED=<seed> and is printed with the hex of its input):
//   - random byte frames, often behind a valid (api key, version) so decoding gets past the header;
//   - valid requests and responses (random bodies from support/random-values.ts, for a random API
//     of the registry and a random version), then mutated: byte flips, truncation, inserted or
//     deleted bytes, 2/4-byte fields overwritten with huge or negative sizes (0x7fffffff, -2, ...),
//     bytes replaced by maximal or over-long varints.
// A successfully decoded request or response is re-encoded too: that may throw ProtocolError (e.g.
// a string that became longer than INT16 after UTF-8 replacement) but nothing else.
//
// The cases run in a worker thread with a capped heap; the main thread watches a shared progress
// counter, so a hang is caught and reported with the case that caused it.
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  allApiCodecs,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../protocol/codec.js';
import { isProtocolError } from '../../protocol/primitives/errors.js';
import { makeRng, type Rng, randomStruct } from './support/random-values.js';

const CASES = Number(process.env.FUZZ_CASES ?? 150_000);
const MAX_DECODE_MS = 50;
const HANG_MS = 15_000;
const MAX_REPORTED_FAILURES = 25;

type Direction = 'request' | 'response';

interface FuzzCase {
  kind: string;
  direction: Direction;
  apiKey: number;
  apiVersion: number;
  frame: Buffer;
}

interface Failure {
  index: number;
  kind: string;
  direction: Direction;
  apiKey: number;
  apiVersion: number;
  hex: string;
  error: string;
}

interface Summary {
  cases: number;
  ok: number;
  protocolErrors: number;
  byCode: Record<string, number>;
  maxDecodeMs: number;
  /** The slowest case, for a look when the figure creeps towards the limit. */
  slowest: string;
  elapsedMs: number;
  failures: Failure[];
  failureCount: number;
}

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

const HUGE_INT32 = [0x7fffffff, -1, -2, -0x80000000, 0x7ffffffe, 0x00ffffff, 0x10000];
const HUGE_INT16 = [0x7fff, -1, -2, -0x8000, 0x7ffe];
const HUGE_VARINTS = [
  [0xff, 0xff, 0xff, 0xff, 0x07], // 0x7fffffff
  [0xff, 0xff, 0xff, 0xff, 0x0f], // 0xffffffff
  [0xfe, 0xff, 0xff, 0xff, 0x0f], // 0xfffffffe
  [0xff, 0xff, 0xff, 0xff, 0x1f], // does not fit 32 bits
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // over-long
  [0x80, 0x80, 0x80, 0x80], // unterminated
  [0x81, 0x80, 0x80, 0x80, 0x00], // 1, over-long but valid in 5 bytes
];

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(rng, 0, 255);
  return b;
}

/** Apply 1-3 random mutations to a valid frame (bytes after the size prefix). */
function mutate(rng: Rng, input: Buffer): { frame: Buffer; ops: string[] } {
  let frame = Buffer.from(input);
  const ops: string[] = [];
  const count = int(rng, 1, 3);
  for (let m = 0; m < count; m++) {
    const len = frame.length;
    // Most mutations avoid the first 4 bytes (api key and version) so decoding gets deep.
    const at = (lo = 4) => (len > lo ? int(rng, lo, len - 1) : 0);
    const op = int(rng, 0, 9);
    switch (op) {
      case 0: {
        const i = at();
        if (len > 0) frame[i] = frame[i]! ^ (1 << int(rng, 0, 7));
        ops.push(`bitflip@${i}`);
        break;
      }
      case 1: {
        const i = at();
        if (len > 0) frame[i] = int(rng, 0, 255);
        ops.push(`byte@${i}`);
        break;
      }
      case 2: {
        const n = int(rng, 0, len);
        frame = frame.subarray(0, n);
        ops.push(`truncate@${n}`);
        break;
      }
      case 3: {
        const i = at(0);
        const extra = randomBytes(rng, int(rng, 1, 8));
        frame = Buffer.concat([frame.subarray(0, i), extra, frame.subarray(i)]);
        ops.push(`insert${extra.length}@${i}`);
        break;
      }
      case 4: {
        const i = at();
        const n = int(rng, 1, 8);
        frame = Buffer.concat([frame.subarray(0, i), frame.subarray(i + n)]);
        ops.push(`delete${n}@${i}`);
        break;
      }
      case 5:
      case 6: {
        if (len < 4) break;
        const i = int(rng, 0, len - 4);
        const v = pick(rng, HUGE_INT32);
        frame.writeInt32BE(v, i);
        ops.push(`int32=${v}@${i}`);
        break;
      }
      case 7: {
        if (len < 2) break;
        const i = int(rng, 0, len - 2);
        const v = pick(rng, HUGE_INT16);
        frame.writeInt16BE(v, i);
        ops.push(`int16=${v}@${i}`);
        break;
      }
      case 8: {
        const i = at();
        const v = pick(rng, HUGE_VARINTS);
        frame = Buffer.concat([frame.subarray(0, i), Buffer.from(v), frame.subarray(i + 1)]);
        ops.push(`varint@${i}`);
        break;
      }
      default: {
        // api version out of range, or another api key
        if (len < 4) break;
        if (rng() < 0.5) frame.writeInt16BE(pick(rng, [-1, 99, 0x7fff, int(rng, 0, 20)]), 2);
        else frame.writeInt16BE(int(rng, -2, 100), 0);
        ops.push('header');
      }
    }
  }
  return { frame, ops };
}

/** Build case `index` of the run with seed `seed`: a pure function of its arguments. */
function makeCase(seed: number, index: number): FuzzCase {
  const rng = makeRng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const codecs = allApiCodecs();
  const codec = pick(rng, codecs);
  const apiKey = codec.def.apiKey;
  const apiVersion = int(rng, codec.minVersion, codec.maxVersion);
  const roll = rng();
  if (roll < 0.15) {
    const direction: Direction = rng() < 0.5 ? 'request' : 'response';
    const body = randomBytes(rng, int(rng, 0, 64));
    let frame = body;
    if (direction === 'request' && rng() < 0.7) {
      const head = Buffer.alloc(4);
      head.writeInt16BE(apiKey, 0);
      head.writeInt16BE(apiVersion, 2);
      frame = Buffer.concat([head, body]);
    }
    return { kind: 'random', direction, apiKey, apiVersion, frame };
  }
  const direction: Direction = roll < 0.58 ? 'request' : 'response';
  const header = { apiKey, apiVersion, correlationId: index, clientId: rng() < 0.2 ? null : 'fuzz' };
  const fields = direction === 'request' ? codec.def.request : codec.def.response;
  const body = randomStruct(fields, apiVersion, rng);
  const chunks = direction === 'request' ? encodeRequest(header, body) : encodeResponse(header, body);
  const valid = Buffer.concat(chunks).subarray(4);
  const { frame, ops } = mutate(rng, valid);
  return { kind: `mutated(${ops.join(',')})`, direction, apiKey, apiVersion, frame };
}

/** Decode (and re-encode what decodes). Returns null when fine, else the unexpected error. */
function runCase(c: FuzzCase): unknown {
  try {
    if (c.direction === 'request') {
      const { header, body } = decodeRequest(c.frame);
      encodeRequest(header, body);
    } else {
      const { correlationId, body } = decodeResponse(c.apiKey, c.apiVersion, c.frame);
      encodeResponse({ apiKey: c.apiKey, apiVersion: c.apiVersion, correlationId }, body);
    }
    return null;
  } catch (err) {
    return err;
  }
}

function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

function toFailure(index: number, c: FuzzCase, error: string): Failure {
  return {
    index,
    kind: c.kind,
    direction: c.direction,
    apiKey: c.apiKey,
    apiVersion: c.apiVersion,
    hex: c.frame.toString('hex'),
    error,
  };
}

function workerMain(): void {
  const { seed, cases, progress } = workerData as {
    seed: number;
    cases: number;
    progress: SharedArrayBuffer;
  };
  const counter = new Int32Array(progress);
  // Compile every codec first, so that compilation time is not counted against a decode.
  for (const codec of allApiCodecs()) {
    for (let v = codec.minVersion; v <= codec.maxVersion; v++) {
      const h = { apiKey: codec.def.apiKey, apiVersion: v, correlationId: 0, clientId: null };
      decodeRequest(Buffer.concat(encodeRequest(h, {})).subarray(4));
      decodeResponse(h.apiKey, v, Buffer.concat(encodeResponse(h, {})).subarray(4));
      Atomics.add(counter, 1, 1); // heartbeat: compiling is progress too
    }
  }
  const summary: Summary = {
    cases: 0,
    ok: 0,
    protocolErrors: 0,
    byCode: {},
    maxDecodeMs: 0,
    slowest: '',
    elapsedMs: 0,
    failures: [],
    failureCount: 0,
  };
  const fail = (f: Failure) => {
    summary.failureCount++;
    if (summary.failures.length < MAX_REPORTED_FAILURES) summary.failures.push(f);
  };
  const started = performance.now();
  for (let i = 0; i < cases; i++) {
    Atomics.store(counter, 0, i);
    Atomics.add(counter, 1, 1);
    const c = makeCase(seed, i);
    let t0 = performance.now();
    let err = runCase(c);
    let ms = performance.now() - t0;
    if (ms > MAX_DECODE_MS) {
      // Retry a few times: a GC pause or a descheduled thread (busy CI box) is not a slow decode;
      // a decoder that does too much work is slow every time.
      for (let retry = 0; retry < 5 && ms > MAX_DECODE_MS; retry++) {
        t0 = performance.now();
        err = runCase(c);
        ms = Math.min(ms, performance.now() - t0);
      }
      if (ms > MAX_DECODE_MS)
        fail(toFailure(i, c, `decode took ${ms.toFixed(1)} ms (> ${MAX_DECODE_MS} ms)`));
    }
    if (ms > summary.maxDecodeMs) {
      summary.maxDecodeMs = ms;
      summary.slowest = `case ${i}: ${c.direction} api ${c.apiKey} v${c.apiVersion} ${c.kind}, ${c.frame.length} bytes`;
    }
    summary.cases++;
    if (err === null) summary.ok++;
    else if (isProtocolError(err)) {
      summary.protocolErrors++;
      summary.byCode[err.code] = (summary.byCode[err.code] ?? 0) + 1;
    } else fail(toFailure(i, c, describeError(err)));
    if ((i & 1023) === 0 && process.memoryUsage().arrayBuffers > 512 * 1024 * 1024) {
      fail(toFailure(i, c, `external memory above 512 MiB after case ${i}`));
      break;
    }
  }
  summary.elapsedMs = performance.now() - started;
  parentPort!.postMessage(summary);
}

async function main(): Promise<void> {
  const { default: t } = await import('tap');
  const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 0x7fffffff));

  t.test(`fuzz decodeRequest/decodeResponse: ${CASES} cases, seed ${seed}`, async (t) => {
    t.comment(`reproduce with FUZZ_SEED=${seed}; APIs in the registry: ${allApiCodecs().length}`);
    // [0] = index of the case being run, [1] = heartbeat (bumped per case and per codec compiled)
    const progress = new SharedArrayBuffer(8);
    const counter = new Int32Array(progress);
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { seed, cases: CASES, progress },
      resourceLimits: { maxOldGenerationSizeMb: 512 },
    });
    const outcome = await new Promise<{ summary?: Summary; error?: string; hungAt?: number }>((resolve) => {
      let last = -1;
      let lastChange = Date.now();
      const watchdog = setInterval(() => {
        const beat = Atomics.load(counter, 1);
        if (beat !== last) {
          last = beat;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > HANG_MS) {
          clearInterval(watchdog);
          void worker.terminate();
          resolve({ hungAt: Atomics.load(counter, 0) });
        }
      }, 250);
      worker.once('message', (summary: Summary) => {
        clearInterval(watchdog);
        resolve({ summary });
      });
      worker.once('error', (err) => {
        clearInterval(watchdog);
        resolve({ error: `${describeError(err)} (last case started: ${Atomics.load(counter, 0)})` });
      });
      worker.once('exit', (code) => {
        clearInterval(watchdog);
        resolve({
          error: `worker exited with code ${code} (last case started: ${Atomics.load(counter, 0)})`,
        });
      });
    });

    if (outcome.hungAt !== undefined) {
      const c = makeCase(seed, outcome.hungAt);
      t.fail(
        `case ${outcome.hungAt} (seed ${seed}) made no progress for ${HANG_MS} ms: ${c.direction} api ${c.apiKey} v${c.apiVersion} ${c.kind}\n  hex: ${c.frame.toString('hex')}`,
      );
      return;
    }
    if (outcome.error !== undefined) {
      const at = Atomics.load(counter, 0);
      const c = makeCase(seed, at);
      t.fail(
        `worker died (seed ${seed}): ${outcome.error}\n  last case ${at}: ${c.direction} api ${c.apiKey} v${c.apiVersion} ${c.kind}\n  hex: ${c.frame.toString('hex')}`,
      );
      return;
    }
    const s = outcome.summary!;
    t.comment(
      `${s.cases} cases in ${(s.elapsedMs / 1000).toFixed(1)} s: ${s.ok} decoded, ${s.protocolErrors} ProtocolError ${JSON.stringify(s.byCode)}; slowest decode ${s.maxDecodeMs.toFixed(2)} ms (${s.slowest})`,
    );
    t.ok(s.cases >= 100_000 || CASES < 100_000, `at least 100,000 cases ran (${s.cases})`);
    t.ok(s.ok > 0 && s.protocolErrors > 0, 'both outcomes occur (the corpus reaches past the header)');
    for (const f of s.failures) {
      t.fail(
        `case ${f.index} (seed ${seed}) ${f.direction} api ${f.apiKey} v${f.apiVersion} ${f.kind}: ${f.error}\n  hex: ${f.hex}`,
      );
    }
    if (s.failureCount > s.failures.length)
      t.fail(`${s.failureCount - s.failures.length} more failing cases not shown`);
    if (s.failureCount === 0) t.pass('every case decoded or threw ProtocolError, each within the time limit');
  });

  t.test('the case generator is deterministic', async (t) => {
    const a = makeCase(seed, 12345);
    const b = makeCase(seed, 12345);
    t.equal(a.frame.toString('hex'), b.frame.toString('hex'));
    t.equal(a.kind, b.kind);
  });
}

if (isMainThread) await main();
else workerMain();
