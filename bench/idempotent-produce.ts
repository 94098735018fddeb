/**
 * Idempotent vs plain produce benchmark (a script, not a test):
 *   npm run build && node dist/bench/idempotent-produce.js [--seconds 8] [--warmup 2]
 *     [--record-bytes 100] [--batch-bytes 1024,16384,262144] [--connections 4] [--in-flight 5]
 *     [--broker-json '{...}'] [--dir DATA_ROOT]
 *
 * The same batches both ways: each connection produces to its own partition, acks=-1, WAL fsync
 * on, Produce v9, raw protocol (bench/loadgen/connection.ts), as fast as the broker answers with
 * --in-flight requests pipelined per connection (5 = the most an idempotent Kafka producer keeps in
 * flight). Every request carries a fresh copy of the connection's batch with its CRC-32C recomputed;
 * the idempotent mode also stamps the connection's producer id and epoch (from InitProducerId) and the
 * next base sequence — so both modes do the same client work and differ only in what the broker
 * checks (per-producer sequence and epoch, duplicate cache). A fresh broker per scenario.
 * Last, in-process: the cost of that check alone (ProducerStateTable.check + record per batch), to
 * read the end-to-end figures against (they are dominated by fsync and scheduling on a busy VM).
 */
import { decodeResponse, encodeRequest } from '../protocol/codec.js';
import {
  ATTRIBUTES_POS,
  BASE_SEQUENCE_POS,
  CRC_POS,
  PRODUCER_EPOCH_POS,
  PRODUCER_ID_POS,
} from '../protocol/records/batch.js';
import { crc32c } from '../protocol/records/crc32c.js';
import { ProducerStateTable } from '../src/log/producer-state.js';
import { FRAME_HEAD_BYTES, LoadConnection } from './loadgen/connection.js';
import {
  brokerOverridesText,
  brokerWindow,
  listFlag,
  machine,
  numFlag,
  printHeader,
  printRow,
  type ScenarioResult,
  withBroker,
  writeJson,
} from './loadgen/harness.js';
import { buildBatch } from './loadgen/produce.js';
import { fmt, Recorder, type RunStats, scheduleWindow } from './loadgen/stats.js';
import { ensureTopic } from './loadgen/topics.js';

const PRODUCE_KEY = 0;
const PRODUCE_VERSION = 9;
const INIT_PRODUCER_ID_KEY = 22;
const INT32_MAX = 2147483647;

const seconds = numFlag('seconds', 8);
const warmupSeconds = numFlag('warmup', 2);
const recordBytes = numFlag('record-bytes', 100);
const batchSizes = listFlag('batch-bytes', [1024, 16 * 1024, 256 * 1024]);
const connections = numFlag('connections', 4);
const inFlight = numFlag('in-flight', 5);

interface Conn {
  conn: LoadConnection;
  head: Buffer;
  body: Buffer;
  /** Where the record batch starts inside `body`. */
  batchAt: number;
  nextSequence: number;
}

async function runMode(
  broker: { host: string; port: number },
  idempotent: boolean,
  batchBytes: number,
  window: ReturnType<typeof brokerWindow>,
): Promise<RunStats & { recordsPerBatch: number; batchLength: number }> {
  const topic = 'idempotence-bench';
  const setup = await LoadConnection.open(broker.host, broker.port);
  await ensureTopic(setup, topic, connections);
  const { batch, records } = buildBatch(recordBytes, batchBytes);
  const conns: Conn[] = [];
  for (let i = 0; i < connections; i++) {
    const template = Buffer.from(batch);
    if (idempotent) {
      const r = (await setup.request(INIT_PRODUCER_ID_KEY, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60_000,
        producerId: -1n,
        producerEpoch: -1,
      })) as { errorCode: number; producerId: bigint; producerEpoch: number };
      if (r.errorCode !== 0) throw new Error(`InitProducerId: ${r.errorCode}`);
      template.writeBigInt64BE(r.producerId, PRODUCER_ID_POS);
      template.writeInt16BE(r.producerEpoch, PRODUCER_EPOCH_POS);
      template.writeInt32BE(0, BASE_SEQUENCE_POS);
    }
    const frame = Buffer.concat(
      encodeRequest(
        { apiKey: PRODUCE_KEY, apiVersion: PRODUCE_VERSION, correlationId: 0, clientId: 'idempotence-bench' },
        {
          transactionalId: null,
          acks: -1,
          timeoutMs: 30_000,
          topicData: [{ name: topic, partitionData: [{ index: i, records: template }] }],
        },
      ),
    );
    const body = frame.subarray(FRAME_HEAD_BYTES);
    conns.push({
      conn: await LoadConnection.open(broker.host, broker.port),
      head: frame.subarray(0, FRAME_HEAD_BYTES),
      body,
      batchAt: body.indexOf(template),
      nextSequence: 0,
    });
  }
  setup.close();

  const recorder = new Recorder();
  let sending = true;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const stop = () => {
    sending = false;
    window.onWindow('end');
    recorder.stop();
    if (conns.every((c) => c.conn.inFlight === 0)) finish();
  };
  const send = (c: Conn) => {
    // A fresh copy per request: a buffer queued in the socket must never change.
    const body = Buffer.from(c.body);
    const at = c.batchAt;
    if (idempotent) {
      body.writeInt32BE(c.nextSequence, at + BASE_SEQUENCE_POS);
      c.nextSequence = (c.nextSequence + records) % (INT32_MAX + 1);
    }
    body.writeUInt32BE(crc32c(body.subarray(at + ATTRIBUTES_POS, at + batch.length)) >>> 0, at + CRC_POS);
    const head = Buffer.from(c.head);
    const sentAt = performance.now();
    c.conn.send(head, body, (frame) => {
      const res = decodeResponse(PRODUCE_KEY, PRODUCE_VERSION, frame).body as {
        responses: { partitionResponses: { errorCode: number }[] }[];
      };
      const code = res.responses[0]?.partitionResponses[0]?.errorCode ?? -1;
      if (code === 0) recorder.answered(sentAt, records, batch.length);
      else recorder.error(`produce error ${code}`);
      if (sending) send(c);
      else if (conns.every((x) => x.conn.inFlight === 0)) finish();
    });
  };
  const cancel = scheduleWindow(
    { seconds, warmupSeconds, onWindow: (e) => window.onWindow(e), warmedUp: window.warmedUp },
    recorder,
    stop,
  );
  for (const c of conns) for (let k = 0; k < inFlight; k++) send(c);
  await finished;
  cancel();
  for (const c of conns) c.conn.close();
  return { ...recorder.result(), recordsPerBatch: records, batchLength: batch.length };
}

async function main(): Promise<void> {
  printHeader(
    'Idempotent vs plain produce (acks=-1, WAL fsync on, same batches, one partition per connection)',
    [
      machine(),
      `${connections} connections × ${inFlight} requests in flight, ${recordBytes}-byte records, ${seconds} s measured after ≥ ${warmupSeconds} s warm-up; client: raw protocol (bench/loadgen)`,
      `broker options: ${brokerOverridesText()}`,
    ],
  );
  const results: ScenarioResult[] = [];
  for (const batchBytes of batchSizes) {
    for (const idempotent of [false, true]) {
      const name = `${idempotent ? 'idempotent' : 'plain'}, ${batchBytes >= 1024 ? `${batchBytes / 1024} KiB` : `${batchBytes} B`} batches`;
      const result = await withBroker(async (broker) => {
        const window = brokerWindow(broker, name);
        const stats = await runMode(broker, idempotent, batchBytes, window);
        return {
          name,
          stats,
          broker: await window.figures(),
          notes: `${stats.recordsPerBatch} records per ${stats.batchLength}-byte batch`,
        } satisfies ScenarioResult;
      });
      printRow(result);
      results.push(result);
    }
  }
  writeJson(results);
  console.log(
    `  broker-side idempotence check alone: ${fmt(sequenceCheckNs(), 0)} ns per batch (in-process, 100 producers)`,
  );
}

/** Nanoseconds per batch for the sequence check and state update a partition does per idempotent batch. */
function sequenceCheckNs(): number {
  const table = new ProducerStateTable();
  const producers = 100;
  const perBatch = 100;
  const seq = new Array<number>(producers).fill(0);
  let offset = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const producerId = i % producers;
      const b = {
        producerId,
        producerEpoch: 0,
        baseSequence: seq[producerId]!,
        lastOffsetDelta: perBatch - 1,
      };
      const decision = table.check(b);
      if (decision.kind !== 'append') throw new Error(`unexpected ${decision.kind}`);
      table.record(b, offset, offset + perBatch - 1, 0);
      offset += perBatch;
      seq[producerId] = (seq[producerId]! + perBatch) % (INT32_MAX + 1);
    }
  };
  run(200_000); // warm up
  const n = 2_000_000;
  const t0 = process.hrtime.bigint();
  run(n);
  return Number(process.hrtime.bigint() - t0) / n;
}

await main();
