/**
 * Transactional vs idempotent produce benchmark (a script, not a test):
 *   npm run build && node dist/bench/transactions.js [--seconds 8] [--warmup 2] [--record-bytes 100]
 *     [--batch-bytes 16384] [--batches-per-txn 1,10,100] [--connections 4]
 *     [--broker-json '{...}'] [--dir DATA_ROOT]
 *
 * Each connection is one producer writing to its own partition, raw protocol (bench/loadgen), acks=-1,
 * WAL fsync on. A unit of work is N record batches:
 * - idempotent: the N produce requests, pipelined (at most 5 in flight, as a Kafka producer does);
 * - transactional: AddPartitionsToTxn, the same N produce requests (transactional batches), then
 *   EndTxn(commit), which the broker answers once the commit marker is durable (ADR 0008).
 * Units run back to back per connection; latency is per unit (first request sent → last answer), so
 * for transactions it is the commit latency a client sees. The difference between the modes is
 * what a transaction costs: two extra round trips, two metadata-store writes (AddPartitionsToTxn and
 * the Prepare/Complete states) and one marker per partition, paid once per transaction, so it shrinks
 * as transactions grow.
 */
import { decodeResponse, encodeRequest } from '../protocol/codec.js';
import {
  ATTRIBUTES_POS,
  BASE_SEQUENCE_POS,
  CRC_POS,
  PRODUCER_EPOCH_POS,
  PRODUCER_ID_POS,
  TRANSACTIONAL_BIT,
} from '../protocol/records/batch.js';
import { crc32c } from '../protocol/records/crc32c.js';
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
const ADD_PARTITIONS_KEY = 24;
const END_TXN_KEY = 26;
const INT32_MAX = 2147483647;
const MAX_IN_FLIGHT = 5;

const seconds = numFlag('seconds', 8);
const warmupSeconds = numFlag('warmup', 2);
const recordBytes = numFlag('record-bytes', 100);
const batchBytes = numFlag('batch-bytes', 16 * 1024);
const batchesPerTxn = listFlag('batches-per-txn', [1, 10, 100]);
const connections = numFlag('connections', 4);

type Mode = 'idempotent' | 'transactional';

interface Producer {
  conn: LoadConnection;
  partition: number;
  transactionalId: string | null;
  producerId: bigint;
  producerEpoch: number;
  head: Buffer;
  body: Buffer;
  batchAt: number;
  nextSequence: number;
}

function expectOk(what: string, code: number | undefined): void {
  if (code !== 0) throw new Error(`${what}: error code ${code}`);
}

async function openProducer(
  broker: { host: string; port: number },
  topic: string,
  partition: number,
  mode: Mode,
  template: Buffer,
): Promise<Producer> {
  const conn = await LoadConnection.open(broker.host, broker.port);
  const transactionalId = mode === 'transactional' ? `txn-bench-${partition}-${Date.now()}` : null;
  const init = (await conn.request(INIT_PRODUCER_ID_KEY, 4, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  })) as { errorCode: number; producerId: bigint; producerEpoch: number };
  expectOk('InitProducerId', init.errorCode);
  const batch = Buffer.from(template);
  batch.writeBigInt64BE(init.producerId, PRODUCER_ID_POS);
  batch.writeInt16BE(init.producerEpoch, PRODUCER_EPOCH_POS);
  if (mode === 'transactional')
    batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_POS) | TRANSACTIONAL_BIT, ATTRIBUTES_POS);
  const frame = Buffer.concat(
    encodeRequest(
      { apiKey: PRODUCE_KEY, apiVersion: PRODUCE_VERSION, correlationId: 0, clientId: 'txn-bench' },
      {
        transactionalId,
        acks: -1,
        timeoutMs: 30_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
      },
    ),
  );
  const body = frame.subarray(FRAME_HEAD_BYTES);
  return {
    conn,
    partition,
    transactionalId,
    producerId: init.producerId,
    producerEpoch: init.producerEpoch,
    head: frame.subarray(0, FRAME_HEAD_BYTES),
    body,
    batchAt: body.indexOf(batch),
    nextSequence: 0,
  };
}

/** Send `n` produce requests, at most MAX_IN_FLIGHT at once; resolves when all are answered. */
function produceBatches(p: Producer, n: number, records: number, batchLength: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    const sendOne = () => {
      const body = Buffer.from(p.body);
      const at = p.batchAt;
      body.writeInt32BE(p.nextSequence, at + BASE_SEQUENCE_POS);
      p.nextSequence = (p.nextSequence + records) % (INT32_MAX + 1);
      body.writeUInt32BE(crc32c(body.subarray(at + ATTRIBUTES_POS, at + batchLength)) >>> 0, at + CRC_POS);
      sent++;
      p.conn.send(Buffer.from(p.head), body, (frame) => {
        const res = decodeResponse(PRODUCE_KEY, PRODUCE_VERSION, frame).body as {
          responses: { partitionResponses: { errorCode: number }[] }[];
        };
        const code = res.responses[0]?.partitionResponses[0]?.errorCode ?? -1;
        if (code !== 0) return reject(new Error(`produce error ${code}`));
        answered++;
        if (answered === n) resolve();
        else if (sent < n) sendOne();
      });
    };
    for (let k = 0; k < Math.min(MAX_IN_FLIGHT, n); k++) sendOne();
  });
}

async function runUnit(
  p: Producer,
  topic: string,
  n: number,
  records: number,
  batchLength: number,
): Promise<void> {
  if (p.transactionalId === null) return produceBatches(p, n, records, batchLength);
  const txn = {
    transactionalId: p.transactionalId,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
  };
  const added = (await p.conn.request(ADD_PARTITIONS_KEY, 3, {
    v3AndBelowTransactionalId: txn.transactionalId,
    v3AndBelowProducerId: txn.producerId,
    v3AndBelowProducerEpoch: txn.producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions: [p.partition] }],
  })) as { resultsByTopicV3AndBelow: { resultsByPartition: { partitionErrorCode: number }[] }[] };
  expectOk(
    'AddPartitionsToTxn',
    added.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode,
  );
  await produceBatches(p, n, records, batchLength);
  const ended = (await p.conn.request(END_TXN_KEY, 3, { ...txn, committed: true })) as { errorCode: number };
  expectOk('EndTxn', ended.errorCode);
}

async function runMode(
  broker: { host: string; port: number },
  mode: Mode,
  n: number,
  window: ReturnType<typeof brokerWindow>,
): Promise<RunStats & { recordsPerBatch: number; batchLength: number }> {
  const topic = 'txn-bench';
  const setup = await LoadConnection.open(broker.host, broker.port);
  await ensureTopic(setup, topic, connections);
  setup.close();
  const { batch, records } = buildBatch(recordBytes, batchBytes);
  const producers: Producer[] = [];
  for (let i = 0; i < connections; i++) producers.push(await openProducer(broker, topic, i, mode, batch));

  const recorder = new Recorder();
  let running = true;
  const loops = producers.map(async (p) => {
    while (running) {
      const startedAt = performance.now();
      await runUnit(p, topic, n, records, batch.length);
      recorder.answered(startedAt, n * records, n * batch.length);
    }
  });
  await new Promise<void>((resolve) => {
    scheduleWindow(
      { seconds, warmupSeconds, onWindow: (e) => window.onWindow(e), warmedUp: window.warmedUp },
      recorder,
      () => {
        running = false;
        window.onWindow('end');
        recorder.stop();
        resolve();
      },
    );
  });
  await Promise.all(loops);
  for (const p of producers) p.conn.close();
  return { ...recorder.result(), recordsPerBatch: records, batchLength: batch.length };
}

async function main(): Promise<void> {
  printHeader('Transactional vs idempotent produce (acks=-1, WAL fsync on, one partition per producer)', [
    machine(),
    `${connections} producers, ${recordBytes}-byte records in ${batchBytes}-byte batches, ≤ ${MAX_IN_FLIGHT} produce requests in flight per producer; a unit = N batches (+ AddPartitionsToTxn and EndTxn commit when transactional); latency per unit; ${seconds} s measured after ≥ ${warmupSeconds} s warm-up`,
    `broker options: ${brokerOverridesText()}`,
  ]);
  const results: ScenarioResult[] = [];
  const rates = new Map<string, number>();
  for (const n of batchesPerTxn) {
    for (const mode of ['idempotent', 'transactional'] as const) {
      const name = `${mode}, ${n} batch${n === 1 ? '' : 'es'} per unit`;
      const result = await withBroker(async (broker) => {
        const window = brokerWindow(broker, name);
        const stats = await runMode(broker, mode, n, window);
        return {
          name,
          stats,
          broker: await window.figures(),
          notes: `${stats.recordsPerBatch} records per ${stats.batchLength}-byte batch; "req/s" = units/s (transactions/s when transactional)`,
        } satisfies ScenarioResult;
      });
      printRow(result);
      results.push(result);
      rates.set(`${mode}/${n}`, result.stats.records / result.stats.seconds);
    }
    const ratio = (rates.get(`transactional/${n}`) ?? 0) / Math.max(1, rates.get(`idempotent/${n}`) ?? 0);
    console.log(`  ${n} batches per transaction: transactional/idempotent records/s ${fmt(ratio, 2)}`);
  }
  writeJson(results);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
