/**
 * Consume load: pipelined Fetch requests over several connections, records counted from record-batch
 * headers (baseOffset, lastOffsetDelta, batchLength) without decoding a single record.
 *
 * Pipelining a fetch means guessing where the previous one ends. Each connection reads one partition
 * and plans offset ranges of `stride` records ([lo, hi)), `stride` being what one response carries
 * (records per batch × batches per partitionMaxBytes, learned from the first response). A response
 * counts only the records of its planned range, so overlapping responses never count twice; a short
 * response puts the rest of its range back in the queue. With the uniform batches the produce
 * generator writes, ranges line up with batches and nothing is fetched twice.
 *
 * Modes
 * - replay: read [startOffset, high watermark at start) over and over (wrapping around) — the read
 *   path of the hot tail at full speed, independent of produce speed;
 * - follow: read from startOffset up to the moving high watermark while something else produces,
 *   with one long poll (maxWaitMs) once caught up — end-to-end tailing.
 *
 * Per-request work: one small frame copied from a template with the correlation id and fetchOffset
 * patched in place, one response decode (one partition), one header read per batch.
 */
import { decodeResponse, encodeRequest } from '../../protocol/codec.js';
import { FRAME_HEAD_BYTES, LoadConnection } from './connection.js';
import { Recorder, type RunStats, scheduleWindow, type WindowOptions } from './stats.js';
import { ensureTopic } from './topics.js';

const FETCH_KEY = 1;
const DRAIN_TIMEOUT_MS = 30_000;
/** fetchOffset placeholder in the request template; its position is found by search. */
const OFFSET_SENTINEL = 0x5eed_5eed_5eed_5een;

export interface ConsumeOptions extends WindowOptions {
  host: string;
  port: number;
  topic: string;
  partitions: number;
  mode: 'replay' | 'follow';
  startOffset: number;
  connections: number;
  inFlight: number;
  partitionMaxBytes: number;
  maxWaitMs: number;
  apiVersion: number;
}

export const CONSUME_DEFAULTS: Omit<ConsumeOptions, 'host' | 'port'> = {
  topic: 'loadgen',
  partitions: 4,
  mode: 'replay',
  startOffset: 0,
  connections: 4,
  inFlight: 8,
  partitionMaxBytes: 1024 * 1024,
  maxWaitMs: 500,
  seconds: 10,
  warmupSeconds: 2,
  apiVersion: 12,
};

interface Range {
  lo: number;
  /** Exclusive; Infinity = whatever the response brings (a long poll at the high watermark). */
  hi: number;
}

interface ConnState {
  conn: LoadConnection;
  partition: number;
  template: Buffer;
  offsetPos: number;
  cursor: number;
  /** Replay: where reading wraps back to startOffset. Follow: the last high watermark seen. */
  end: number;
  stride: number;
  gaps: Range[];
  longPolling: boolean;
}

interface FetchPartition {
  errorCode: number;
  highWatermark: bigint;
  records: Buffer | null;
}

/** Records of the batches in `records` whose offsets fall in [lo, hi), their bytes, and where they end. */
export function countRecords(
  records: Buffer,
  lo: number,
  hi: number,
): { records: number; bytes: number; end: number; recordsPerBatch: number; batchBytes: number } {
  let pos = 0;
  let count = 0;
  let bytes = 0;
  let end = lo;
  let recordsPerBatch = 0;
  let batchBytes = 0;
  while (pos + 61 <= records.length) {
    const size = records.readInt32BE(pos + 8) + 12;
    if (pos + size > records.length) break; // a partial batch at the end of a response
    const base = records.readInt32BE(pos) * 4294967296 + records.readUInt32BE(pos + 4);
    const last = base + records.readInt32BE(pos + 23);
    if (recordsPerBatch === 0) {
      recordsPerBatch = last - base + 1;
      batchBytes = size;
    }
    const from = Math.max(base, lo);
    const to = Math.min(last + 1, hi);
    if (to > from) {
      count += to - from;
      bytes += size;
      if (to > end) end = to;
    }
    pos += size;
  }
  return { records: count, bytes, end, recordsPerBatch, batchBytes };
}

/** Records one response carries: whole batches of the size seen, as many as partitionMaxBytes holds. */
function strideOf(got: { recordsPerBatch: number; batchBytes: number }, partitionMaxBytes: number): number {
  return got.recordsPerBatch * Math.max(1, Math.floor(partitionMaxBytes / got.batchBytes));
}

function findSentinel(frame: Buffer): number {
  const needle = Buffer.alloc(8);
  needle.writeBigInt64BE(OFFSET_SENTINEL);
  const at = frame.indexOf(needle);
  if (at < 0 || frame.indexOf(needle, at + 1) >= 0)
    throw new Error('fetch template: offset sentinel not unique');
  return at;
}

export async function runConsume(options: ConsumeOptions): Promise<RunStats> {
  const o = options;
  const setup = await LoadConnection.open(o.host, o.port);
  const topic = await ensureTopic(setup, o.topic, o.partitions);
  setup.close();
  const recorder = new Recorder();

  const byId = o.apiVersion >= 13;
  const makeTemplate = (partition: number) => {
    const frame = Buffer.concat(
      encodeRequest(
        { apiKey: FETCH_KEY, apiVersion: o.apiVersion, correlationId: 0, clientId: 'streamhouse-loadgen' },
        {
          clusterId: null,
          replicaId: -1,
          maxWaitMs: o.maxWaitMs,
          minBytes: 1,
          maxBytes: o.partitionMaxBytes,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [
            {
              topic: byId ? '' : o.topic,
              topicId: topic.topicId,
              partitions: [
                {
                  partition,
                  currentLeaderEpoch: -1,
                  fetchOffset: OFFSET_SENTINEL,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1n,
                  partitionMaxBytes: o.partitionMaxBytes,
                },
              ],
            },
          ],
          forgottenTopicsData: [],
          rackId: '',
        },
      ),
    );
    return { template: frame, offsetPos: findSentinel(frame) };
  };

  const conns: ConnState[] = [];
  for (let i = 0; i < o.connections; i++) {
    const partition = i % topic.partitions;
    conns.push({
      conn: await LoadConnection.open(o.host, o.port),
      partition,
      ...makeTemplate(partition),
      cursor: o.startOffset,
      end: 0,
      stride: 0,
      gaps: [],
      longPolling: false,
    });
  }

  let sending = true;
  let failure: Error | null = null;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let drainTimer: NodeJS.Timeout | null = null;
  const idle = () => conns.every((c) => c.conn.inFlight === 0);
  const stopSending = () => {
    if (!sending) return;
    sending = false;
    if (recorder.measuring) o.onWindow?.('end');
    recorder.stop();
    if (idle()) finish();
    else drainTimer = setTimeout(finish, DRAIN_TIMEOUT_MS);
  };

  const fetch = (s: ConnState, range: Range, onDone: (p: FetchPartition | null) => void) => {
    const frame = Buffer.allocUnsafe(s.template.length);
    s.template.copy(frame);
    frame.writeUInt32BE(Math.floor(range.lo / 4294967296), s.offsetPos);
    frame.writeUInt32BE(range.lo >>> 0, s.offsetPos + 4);
    s.conn.send(frame.subarray(0, FRAME_HEAD_BYTES), frame.subarray(FRAME_HEAD_BYTES), (response) => {
      let part: FetchPartition | null = null;
      try {
        const body = decodeResponse(FETCH_KEY, o.apiVersion, response).body as {
          errorCode: number;
          responses: { partitions: FetchPartition[] }[];
        };
        part = body.responses[0]?.partitions[0] ?? null;
        if (body.errorCode !== 0) recorder.error(`fetch error code ${body.errorCode}`);
      } catch (err) {
        recorder.error(`undecodable fetch response: ${(err as Error).message}`);
      }
      onDone(part);
    });
  };

  /** Send what the window allows: gaps first, then new ranges from the cursor. */
  const pump = (s: ConnState) => {
    while (sending && s.conn.inFlight < o.inFlight && !s.longPolling) {
      let range = s.gaps.shift();
      if (range === undefined) {
        if (o.mode === 'replay' && s.cursor >= s.end) s.cursor = o.startOffset;
        if (s.cursor < s.end && s.stride > 0) {
          range = { lo: s.cursor, hi: Math.min(s.cursor + s.stride, s.end) };
          s.cursor = range.hi;
        } else if (s.conn.inFlight === 0) {
          // Caught up (follow mode), or the stride is still unknown: one open-ended fetch, which long
          // polls at the high watermark; nothing else is sent until it returns.
          range = { lo: s.cursor, hi: Number.POSITIVE_INFINITY };
          s.longPolling = true;
        } else return;
      }
      send(s, range);
    }
  };

  const send = (s: ConnState, range: Range) => {
    const sentAt = performance.now();
    fetch(s, range, (p) => {
      s.longPolling = false;
      if (p === null) {
        recorder.error('fetch response without the partition');
      } else if (p.errorCode !== 0) {
        recorder.error(`fetch partition error code ${p.errorCode}`);
      } else {
        const hw = Number(p.highWatermark);
        const got = p.records === null ? null : countRecords(p.records, range.lo, range.hi);
        recorder.answered(sentAt, got?.records ?? 0, got?.bytes ?? 0);
        if (o.mode === 'follow' && hw > s.end) s.end = hw;
        if (s.stride === 0 && got !== null && got.recordsPerBatch > 0)
          s.stride = strideOf(got, o.partitionMaxBytes);
        if (range.hi === Number.POSITIVE_INFINITY) {
          if (got !== null && got.end > s.cursor) s.cursor = got.end;
        } else {
          const reached = got === null || got.records === 0 ? range.lo : got.end;
          if (reached < range.hi) s.gaps.push({ lo: reached, hi: range.hi });
        }
      }
      if (sending) pump(s);
      else if (idle()) finish();
    });
  };

  // Prime each connection with one unpipelined fetch: learn the stride and where the data ends.
  await Promise.all(
    conns.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          fetch(s, { lo: o.startOffset, hi: Number.POSITIVE_INFINITY }, (p) => {
            if (p === null || p.errorCode !== 0) {
              reject(
                new Error(
                  `priming fetch of partition ${s.partition}: error ${p?.errorCode ?? 'no partition'}`,
                ),
              );
              return;
            }
            const hw = Number(p.highWatermark);
            const got =
              p.records === null ? null : countRecords(p.records, o.startOffset, Number.POSITIVE_INFINITY);
            if (o.mode === 'replay' && (got === null || got.records === 0)) {
              reject(
                new Error(
                  `replay needs data: partition ${s.partition} has none from offset ${o.startOffset}`,
                ),
              );
              return;
            }
            // Unknown until a batch has been seen (follow mode on an empty partition).
            s.stride = got !== null && got.recordsPerBatch > 0 ? strideOf(got, o.partitionMaxBytes) : 0;
            s.end = hw;
            resolve();
          });
        }),
    ),
  );

  for (const c of conns) {
    c.conn.setFailureHandler((err) => {
      if (!sending && c.conn.inFlight === 0) return;
      failure ??= err;
      stopSending();
      finish();
    });
  }
  const cancelTimers = scheduleWindow(o, recorder, stopSending);
  for (const c of conns) pump(c);
  await finished;
  cancelTimers();
  if (drainTimer !== null) clearTimeout(drainTimer);
  for (const c of conns) c.conn.close();
  if (failure !== null) throw failure;
  return recorder.result();
}
