// kafkajs 2.2.4 against a StreamHouse broker process: Produce with every compression codec (snappy,
// lz4 and zstd through codec plugins over protocol/records/compression.ts), acks -1/1/0, keys,
// values and headers read back byte for byte at contiguous offsets; a multi-topic sendBatch; and the
// admin calls that need no groups (Metadata, ListOffsets by latest/earliest/timestamp).
// Records are read back by offset (wire-client.ts); group consumption is in kafkajs-groups.test.ts.
import kafkajs from 'kafkajs';
import t from 'tap';
import { CompressionCodec, type CompressionName } from '../protocol/records/compression.js';
import { spawnBroker, teardownBroker } from './support/broker-process.js';
import { registerKafkajsCodecs } from './support/kafkajs-codecs.js';
import {
  firstDifference,
  offsetGap,
  sampleRecords,
  type TestHeader,
  type TestRecord,
} from './support/records.js';
import type { TapTest } from './support/tools.js';
import { listOffset, readPartition, WireClient } from './support/wire-client.js';

const { Kafka, CompressionTypes, logLevel } = kafkajs;
type IHeaders = kafkajs.IHeaders;

t.setTimeout(180_000);

const PARTITIONS = 3;
const CLIENT_ID = 'compat-kafkajs';
const CODEC_TYPES: Record<CompressionName, kafkajs.CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

const broker = await spawnBroker({ config: { numPartitions: PARTITIONS } });
t.teardown(teardownBroker(broker));
const usableCodecs = registerKafkajsCodecs();
const kafka = new Kafka({
  clientId: CLIENT_ID,
  brokers: [broker.bootstrap],
  logLevel: logLevel.NOTHING,
  retry: { retries: 3, initialRetryTime: 100 },
  // Loaded CI machines: kafkajs's 1 s connect timeout is too tight.
  connectionTimeout: 10_000,
});
const producer = kafka.producer({ allowAutoTopicCreation: true });
await producer.connect();
const wire = await WireClient.connect(broker.bootstrap);
t.teardown(async () => {
  wire.destroy();
  await producer.disconnect().catch(() => undefined);
});

/** kafkajs takes headers as an object: repeated keys become an array, so they come out grouped. */
function toKafkajsHeaders(headers: readonly TestHeader[]): IHeaders {
  const out: Record<string, Buffer[]> = {};
  for (const h of headers) {
    out[h.key] ??= [];
    out[h.key]!.push(h.value);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.length === 1 ? v[0]! : v]));
}

function asKafkajsSends(records: readonly TestRecord[]): TestRecord[] {
  return records.map((r) => {
    const grouped: TestHeader[] = [];
    for (const [key, v] of Object.entries(toKafkajsHeaders(r.headers))) {
      for (const value of Array.isArray(v) ? v : [v]) grouped.push({ key, value: value as Buffer });
    }
    return { ...r, headers: grouped };
  });
}

interface Sent {
  /** What each partition should hold, in order. */
  byPartition: TestRecord[][];
  timestamps: bigint[][];
}

/**
 * Send `records` to `topic` in `chunks` send() calls, record i to partition i % PARTITIONS with
 * timestamp baseTimestamp + i. With acks ≠ 0, check each reply's base offset against what that
 * partition already held.
 */
async function sendAll(
  t: TapTest,
  topic: string,
  records: readonly TestRecord[],
  opts: { compression: CompressionName; acks: number; chunks: number; baseTimestamp: number },
): Promise<Sent> {
  const sent: Sent = {
    byPartition: Array.from({ length: PARTITIONS }, () => []),
    timestamps: Array.from({ length: PARTITIONS }, () => []),
  };
  const chunkSize = Math.ceil(records.length / opts.chunks);
  for (let start = 0; start < records.length; start += chunkSize) {
    const chunk = records.slice(start, start + chunkSize);
    const before = sent.byPartition.map((p) => p.length);
    const reply = await producer.send({
      topic,
      acks: opts.acks,
      compression: CODEC_TYPES[opts.compression],
      messages: chunk.map((r, j) => ({
        partition: (start + j) % PARTITIONS,
        key: r.key,
        value: r.value,
        headers: toKafkajsHeaders(r.headers),
        timestamp: String(opts.baseTimestamp + start + j),
      })),
    });
    chunk.forEach((r, j) => {
      const p = (start + j) % PARTITIONS;
      sent.byPartition[p]!.push(r);
      sent.timestamps[p]!.push(BigInt(opts.baseTimestamp + start + j));
    });
    if (opts.acks === 0) {
      t.same(reply, [], 'acks=0: kafkajs expects (and gets) no response');
      continue;
    }
    t.equal(reply.length, Math.min(PARTITIONS, chunk.length), 'one result per partition written');
    for (const m of reply) {
      t.equal(m.errorCode, 0, `partition ${m.partition}: no error`);
      t.equal(
        m.baseOffset,
        String(before[m.partition]),
        `partition ${m.partition}: base offset follows the previous send`,
      );
    }
  }
  return sent;
}

/** Wait (bounded) until the partition's high watermark reaches `offset`. */
async function awaitHighWatermark(
  topic: string,
  partition: number,
  offset: number,
  timeoutMs = 30_000,
): Promise<bigint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hw = await listOffset(wire, topic, partition, -1n);
    if (hw >= BigInt(offset) || Date.now() > deadline) return hw;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function verifyTopic(
  t: TapTest,
  topic: string,
  sent: Sent,
  compression: CompressionName,
): Promise<void> {
  for (let p = 0; p < PARTITIONS; p++) {
    const want = sent.byPartition[p]!;
    const hw = await awaitHighWatermark(topic, p, want.length);
    t.equal(hw, BigInt(want.length), `${topic}/${p}: high watermark = records sent`);
    const got = await readPartition(wire, topic, p, 0n);
    t.equal(offsetGap(got), null, `${topic}/${p}: offsets contiguous from 0`);
    t.equal(
      firstDifference(got, asKafkajsSends(want)),
      null,
      `${topic}/${p}: ${want.length} keys, values and headers identical`,
    );
    t.same(
      got.map((r) => r.timestamp),
      sent.timestamps[p],
      `${topic}/${p}: timestamps as sent (CreateTime)`,
    );
    const codecs = new Set(got.map((r) => r.batchAttributes & 0x07));
    t.same(
      [...codecs],
      [CompressionCodec[compression]],
      `${topic}/${p}: batches stored as sent (${compression})`,
    );
  }
}

const BASE_TS = Date.now() - 60_000;

for (const [i, compression] of (['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const).entries()) {
  const skip = usableCodecs.includes(compression)
    ? false
    : `${compression} codec module does not load on this machine`;
  t.test(`Produce acks=-1 with ${compression}`, { skip }, async (t) => {
    const topic = `kafkajs-${compression}`;
    const records = sampleRecords(100 + i, 120);
    const sent = await sendAll(t, topic, records, {
      compression,
      acks: -1,
      chunks: 4,
      baseTimestamp: BASE_TS,
    });
    await verifyTopic(t, topic, sent, compression);
  });
}

t.test('Produce acks=1 (gzip) and acks=0 (none, lz4)', async (t) => {
  const cases: [string, CompressionName, number][] = [
    ['kafkajs-acks1', 'gzip', 1],
    ['kafkajs-acks0', 'none', 0],
    ['kafkajs-acks0-lz4', 'lz4', 0],
  ];
  for (const [k, [topic, compression, acks]] of cases.entries()) {
    if (!usableCodecs.includes(compression)) continue;
    const records = sampleRecords(200 + k, 60);
    const sent = await sendAll(t, topic, records, { compression, acks, chunks: 6, baseTimestamp: BASE_TS });
    await verifyTopic(t, topic, sent, compression);
  }
});

t.test('sendBatch: one request, two topics', async (t) => {
  const a = sampleRecords(300, 20);
  const b = sampleRecords(301, 20);
  const reply = await producer.sendBatch({
    acks: -1,
    compression: CompressionTypes.GZIP,
    topicMessages: [
      {
        topic: 'kafkajs-batch-a',
        messages: a.map((r) => ({
          partition: 0,
          key: r.key,
          value: r.value,
          headers: toKafkajsHeaders(r.headers),
        })),
      },
      {
        topic: 'kafkajs-batch-b',
        messages: b.map((r) => ({
          partition: 1,
          key: r.key,
          value: r.value,
          headers: toKafkajsHeaders(r.headers),
        })),
      },
    ],
  });
  t.same(
    reply.map((m) => [m.topicName, m.partition, m.errorCode, m.baseOffset]).sort(),
    [
      ['kafkajs-batch-a', 0, 0, '0'],
      ['kafkajs-batch-b', 1, 0, '0'],
    ],
    'both topics acknowledged at offset 0',
  );
  t.equal(
    firstDifference(await readPartition(wire, 'kafkajs-batch-a', 0), asKafkajsSends(a)),
    null,
    'topic a read back',
  );
  t.equal(
    firstDifference(await readPartition(wire, 'kafkajs-batch-b', 1), asKafkajsSends(b)),
    null,
    'topic b read back',
  );
});

t.test('admin: cluster, topic metadata, offsets (latest, earliest, by timestamp)', async (t) => {
  const admin = kafka.admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  const cluster = await admin.describeCluster();
  t.equal(cluster.brokers.length, 1, 'one broker');
  t.equal(
    `${cluster.brokers[0]!.host}:${cluster.brokers[0]!.port}`,
    broker.bootstrap,
    'advertised address = bootstrap',
  );
  t.equal(cluster.controller, cluster.brokers[0]!.nodeId, 'the broker is the controller');
  t.ok(cluster.clusterId, 'cluster id present');

  const topics = await admin.listTopics();
  for (const c of usableCodecs) t.ok(topics.includes(`kafkajs-${c}`), `listTopics has kafkajs-${c}`);
  const md = await admin.fetchTopicMetadata({ topics: ['kafkajs-none'] });
  const parts = md.topics[0]!.partitions;
  t.equal(parts.length, PARTITIONS, 'partition count');
  for (const p of parts) {
    t.equal(p.leader, cluster.brokers[0]!.nodeId, `partition ${p.partitionId} led by the broker`);
    t.same(p.isr, [p.leader], `partition ${p.partitionId} ISR`);
  }

  const offsets = await admin.fetchTopicOffsets('kafkajs-none');
  t.same(
    offsets.map((o) => [o.partition, o.low, o.high, o.offset]).sort(),
    [
      [0, '0', '40', '40'],
      [1, '0', '40', '40'],
      [2, '0', '40', '40'],
    ],
    'earliest/latest per partition (120 records over 3 partitions)',
  );
  // Record i went to partition i % 3 with timestamp BASE_TS + i: in partition p the first record
  // at or after BASE_TS + 30 is offset ceil((30 - p) / 3).
  const byTs = await admin.fetchTopicOffsetsByTimestamp('kafkajs-none', BASE_TS + 30);
  t.same(
    byTs.map((o) => [o.partition, o.offset]).sort(),
    [
      [0, '10'],
      [1, '10'],
      [2, '10'],
    ],
    'offsets by timestamp',
  );
  const future = await admin.fetchTopicOffsetsByTimestamp('kafkajs-none', Date.now() + 3_600_000);
  t.same(
    future.map((o) => o.offset),
    ['40', '40', '40'],
    'a timestamp after every record → the log end (kafkajs maps -1 to the high watermark)',
  );
});

t.test('broker stops cleanly; versions kafkajs used', async (t) => {
  await producer.disconnect();
  wire.destroy();
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  const ours = (exit.requests ?? []).filter((r) => r.clientId === CLIENT_ID);
  t.ok(ours.length > 0, 'the broker recorded kafkajs requests');
  for (const r of ours) t.comment(`kafkajs ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
});
