/**
 * Produce load: pre-built Produce requests written over several connections with many requests in
 * flight on each, as fast as the broker answers (or at a fixed rate).
 *
 * Per-request work in the generator is constant and per-record work is zero: every connection's
 * request frame (one record batch of `recordBytes` records, uncompressed, per partition) is encoded
 * once with the project's codec (encodeRequest + buildRecordBatch); a request is a fresh 12-byte head
 * carrying its correlation id plus that shared, never-modified body. The broker assigns offsets to
 * its own copy, so sending the same batch again is a valid produce (non-idempotent producer).
 *
 * Rate-limited mode schedules requests at fixed intervals per connection and measures latency from
 * the scheduled time, so a broker stall counts against latency instead of silently lowering load.
 */
import { randomBytes } from 'node:crypto';
import { decodeResponse, encodeRequest } from '../../protocol/codec.js';
import { buildRecordBatch, type RecordInput } from '../../protocol/records/record.js';
import { FRAME_HEAD_BYTES, LoadConnection } from './connection.js';
import { Recorder, type RunStats, scheduleWindow, type WindowOptions } from './stats.js';
import { ensureTopic } from './topics.js';

const PRODUCE_KEY = 0;
const DRAIN_TIMEOUT_MS = 30_000;

export interface ProduceOptions extends WindowOptions {
  host: string;
  port: number;
  topic: string;
  /** Partitions the topic is created with (an existing topic keeps its own count). */
  partitions: number;
  /** Value bytes per record (no key, no headers). */
  recordBytes: number;
  /** Target size of one record batch (the batch is at most this big). */
  batchBytes: number;
  /** Partitions (one batch each) per Produce request. */
  partitionsPerRequest: number;
  connections: number;
  /** Requests in flight per connection. */
  inFlight: number;
  acks: -1 | 1;
  /** Records per second over all connections; null = as fast as the broker answers. */
  rate: number | null;
  /** Stop once this many records are answered (to fill a log; no warm-up, `seconds` caps it); null = run for `seconds`. */
  maxRecords: number | null;
  apiVersion: number;
}

export const PRODUCE_DEFAULTS: Omit<ProduceOptions, 'host' | 'port'> = {
  topic: 'loadgen',
  partitions: 4,
  recordBytes: 100,
  batchBytes: 64 * 1024,
  partitionsPerRequest: 1,
  connections: 4,
  inFlight: 8,
  acks: -1,
  seconds: 10,
  warmupSeconds: 2,
  rate: null,
  maxRecords: null,
  apiVersion: 9,
};

export interface ProduceResult extends RunStats {
  recordsPerBatch: number;
  batchBytes: number;
}

/** A batch of as many `valueBytes` records as fit in `maxBatchBytes`. */
export function buildBatch(valueBytes: number, maxBatchBytes: number): { batch: Buffer; records: number } {
  const value = randomBytes(valueBytes);
  const make = (n: number) => {
    const records: RecordInput[] = [];
    for (let i = 0; i < n; i++) records.push({ key: null, value, timestampDelta: 0 });
    return buildRecordBatch({ baseTimestamp: Date.now(), records });
  };
  let n = Math.max(1, Math.floor((maxBatchBytes - 61) / (valueBytes + 8)));
  let batch = make(n);
  while (batch.length > maxBatchBytes && n > 1) {
    n = Math.max(1, Math.floor((n * maxBatchBytes) / batch.length) - 1);
    batch = make(n);
  }
  return { batch, records: n };
}

interface ConnState {
  conn: LoadConnection;
  /** The request frame after its 12-byte head; shared by every request of this connection. */
  body: Buffer;
  headTemplate: Buffer;
  /** Rate-limited mode: when the next request is due (performance.now() clock). */
  nextDueMs: number;
}

export async function runProduce(options: ProduceOptions): Promise<ProduceResult> {
  const o = options;
  if (o.acks !== -1 && o.acks !== 1)
    throw new Error('acks must be -1 or 1 (acks=0 has no responses to time)');
  const setup = await LoadConnection.open(o.host, o.port);
  const topic = await ensureTopic(setup, o.topic, o.partitions);
  setup.close();

  const { batch, records: recordsPerBatch } = buildBatch(o.recordBytes, o.batchBytes);
  const perRequest = Math.min(o.partitionsPerRequest, topic.partitions);
  const recordsPerRequest = recordsPerBatch * perRequest;
  const bytesPerRequest = batch.length * perRequest;

  const recorder = new Recorder();
  const conns: ConnState[] = [];
  for (let i = 0; i < o.connections; i++) {
    const partitionData = [];
    for (let k = 0; k < perRequest; k++) {
      partitionData.push({ index: (i * perRequest + k) % topic.partitions, records: batch });
    }
    const frame = Buffer.concat(
      encodeRequest(
        { apiKey: PRODUCE_KEY, apiVersion: o.apiVersion, correlationId: 0, clientId: 'streamhouse-loadgen' },
        {
          transactionalId: null,
          acks: o.acks,
          timeoutMs: 30_000,
          topicData: [{ name: o.topic, partitionData }],
        },
      ),
    );
    conns.push({
      conn: await LoadConnection.open(o.host, o.port),
      headTemplate: frame.subarray(0, FRAME_HEAD_BYTES),
      body: frame.subarray(FRAME_HEAD_BYTES),
      nextDueMs: 0,
    });
  }

  let sending = true;
  let answeredRecords = 0;
  let failure: Error | null = null;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let drainTimer: NodeJS.Timeout | null = null;
  const stopSending = () => {
    if (!sending) return;
    sending = false;
    if (recorder.measuring) o.onWindow?.('end');
    recorder.stop();
    if (conns.every((c) => c.conn.inFlight === 0)) finish();
    // Requests still unanswered after this long are abandoned (they are not counted anyway).
    else drainTimer = setTimeout(finish, DRAIN_TIMEOUT_MS);
  };

  const onResponse = (state: ConnState, sentAtMs: number) => (frame: Buffer) => {
    let ok = true;
    try {
      const body = decodeResponse(PRODUCE_KEY, o.apiVersion, frame).body as {
        responses: { partitionResponses: { errorCode: number }[] }[];
      };
      for (const t of body.responses) {
        for (const p of t.partitionResponses) {
          if (p.errorCode !== 0) {
            ok = false;
            recorder.error(`produce error code ${p.errorCode}`);
          }
        }
      }
    } catch (err) {
      ok = false;
      recorder.error(`undecodable produce response: ${(err as Error).message}`);
    }
    if (ok) {
      recorder.answered(sentAtMs, recordsPerRequest, bytesPerRequest);
      answeredRecords += recordsPerRequest;
      if (o.maxRecords !== null && answeredRecords >= o.maxRecords) stopSending();
    }
    if (sending) pump(state);
    else if (conns.every((c) => c.conn.inFlight === 0)) finish();
  };

  const send = (state: ConnState, sentAtMs: number) => {
    const head = Buffer.allocUnsafe(FRAME_HEAD_BYTES);
    state.headTemplate.copy(head);
    state.conn.send(head, state.body, onResponse(state, sentAtMs));
  };

  const intervalMs = o.rate === null ? 0 : (1000 * o.connections * recordsPerRequest) / o.rate;
  const pump = (state: ConnState) => {
    if (!sending) return;
    if (o.rate === null) {
      while (state.conn.inFlight < o.inFlight) send(state, performance.now());
      return;
    }
    const now = performance.now();
    while (state.nextDueMs <= now && state.conn.inFlight < o.inFlight) {
      send(state, state.nextDueMs);
      state.nextDueMs += intervalMs;
    }
  };

  for (const c of conns) {
    c.conn.setFailureHandler((err) => {
      if (!sending && c.conn.inFlight === 0) return;
      failure ??= err;
      stopSending();
      finish();
    });
  }

  const t0 = performance.now();
  conns.forEach((c, i) => {
    c.nextDueMs = t0 + (intervalMs * i) / o.connections;
  });
  let ticker: NodeJS.Timeout | null = null;
  if (o.rate !== null) {
    ticker = setInterval(() => {
      for (const c of conns) pump(c);
    }, 1);
  }
  // Filling a log (maxRecords) measures from the first request, `seconds` capping it.
  const cancelTimers = scheduleWindow(o, recorder, stopSending, o.maxRecords !== null);
  for (const c of conns) pump(c);
  await finished;
  cancelTimers();
  if (drainTimer !== null) clearTimeout(drainTimer);
  if (ticker !== null) clearInterval(ticker);
  for (const c of conns) c.conn.close();
  if (failure !== null) throw failure;
  return { ...recorder.result(), recordsPerBatch, batchBytes: batch.length };
}
