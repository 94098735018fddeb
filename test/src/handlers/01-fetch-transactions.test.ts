// Fetch / ListOffsets / DescribeProducers over the wire with transactions in the log: read_committed
// stops at the LSO and lists aborted transactions, read_uncommitted reads to the HW but reports the
// LSO, a read_committed long poll wakes when a marker moves the LSO. Markers are written through the
// log's writeTxnMarkers (what the transaction coordinator calls); the produce guard is switched off so
// raw transactional batches can be produced without a coordinator.
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import {
  CreateTopics,
  DescribeProducers,
  Fetch,
  ListOffsets,
  Produce,
} from '../../../protocol/messages/index.js';
import { buildRecordBatch, splitBatches } from '../../../protocol/records/index.js';
import type { KafkaTestClient } from '../../support/kafka-client.js';
import { produce, startHarness } from './helpers.js';

async function createTopic(client: KafkaTestClient, name: string) {
  const res = await client.send(CreateTopics, 4, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
  });
  if (res.topics[0]!.errorCode !== 0) throw new Error(`create ${name}: ${res.topics[0]!.errorCode}`);
}

async function produceTxn(
  client: KafkaTestClient,
  topic: string,
  producerId: number,
  count: number,
  seq = 0,
) {
  const batch = buildRecordBatch({
    baseTimestamp: Date.now(),
    records: Array.from({ length: count }, (_, i) => ({ value: `t${i}` })),
    producerId,
    producerEpoch: 0,
    baseSequence: seq,
    isTransactional: true,
  });
  const res = await client.send(Produce, 7, {
    transactionalId: 'tx',
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  if (p.errorCode !== 0) throw new Error(`transactional produce failed with ${p.errorCode}`);
  return Number(p.baseOffset);
}

function fetch(
  client: KafkaTestClient,
  topic: string,
  offset: number,
  isolationLevel: number,
  maxWaitMs = 0,
) {
  return client.send(Fetch, 11, {
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      { topic, partitions: [{ partition: 0, fetchOffset: BigInt(offset), partitionMaxBytes: 1 << 20 }] },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
}

function baseOffsets(records: unknown): number[] {
  const buf = Buffer.isBuffer(records)
    ? records
    : Array.isArray(records)
      ? Buffer.concat(records as Buffer[])
      : Buffer.alloc(0);
  return splitBatches(buf).batches.map((b) => Number(b.readBigInt64BE(0)));
}

async function latest(client: KafkaTestClient, topic: string, isolationLevel: number): Promise<bigint> {
  const res = await client.send(ListOffsets, 5, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
  });
  return res.topics[0]!.partitions[0]!.offset;
}

t.test('read_committed vs read_uncommitted, ListOffsets LATEST, DescribeProducers', async (t) => {
  const { broker, client } = await startHarness(t);
  const log = broker.context.log;
  log.setTxnProduceGuard(null);
  await createTopic(client, 'tx');
  await produce(client, 'tx', 0, 2); // 0-1
  t.equal(await produceTxn(client, 'tx', 41, 2), 2); // 2-3 open
  await produce(client, 'tx', 0, 1); // 4

  const rc = (await fetch(client, 'tx', 0, 1)).responses[0]!.partitions[0]!;
  t.equal(rc.errorCode, ErrorCode.NONE);
  t.equal(rc.highWatermark, 5n);
  t.equal(rc.lastStableOffset, 2n);
  t.same(baseOffsets(rc.records), [0], 'read_committed: only below the LSO');
  t.same(rc.abortedTransactions, []);
  const ru = (await fetch(client, 'tx', 0, 0)).responses[0]!.partitions[0]!;
  t.same(baseOffsets(ru.records), [0, 2, 4], 'read_uncommitted: up to the HW');
  t.equal(ru.lastStableOffset, 2n, 'the LSO is reported at both isolation levels');
  t.equal(ru.abortedTransactions, null);
  t.equal(await latest(client, 'tx', 1), 2n, 'ListOffsets LATEST read_committed = LSO');
  t.equal(await latest(client, 'tx', 0), 5n, 'ListOffsets LATEST read_uncommitted = HW');

  const described = await client.send(DescribeProducers, 0, {
    topics: [{ name: 'tx', partitionIndexes: [0] }],
  });
  const producer = described.topics[0]!.partitions[0]!.activeProducers.find((a) => a.producerId === 41n);
  t.equal(producer?.currentTxnStartOffset, 2n);

  // A read_committed long poll at the LSO wakes when the abort marker makes the transaction stable.
  const started = Date.now();
  const polling = fetch(client, 'tx', 2, 1, 5000);
  setTimeout(() => void log.writeTxnMarkers([{ topic: 'tx', partition: 0 }], 41, 0, false), 100);
  const woke = (await polling).responses[0]!.partitions[0]!;
  t.ok(Date.now() - started < 3000, 'woken by the marker, not by the timeout');
  t.equal(woke.lastStableOffset, 6n);
  t.same(baseOffsets(woke.records), [2, 4, 5]);
  t.same(woke.abortedTransactions, [{ producerId: 41n, firstOffset: 2n }]);

  const after = await client.send(DescribeProducers, 0, { topics: [{ name: 'tx', partitionIndexes: [0] }] });
  const closed = after.topics[0]!.partitions[0]!.activeProducers.find((a) => a.producerId === 41n);
  t.equal(closed?.currentTxnStartOffset, -1n);
  t.equal(await latest(client, 'tx', 1), 6n);
});
