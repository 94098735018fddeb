// Transactions over the wire against a real broker (raw protocol, KafkaTestClient): InitProducerId →
// AddPartitionsToTxn → transactional Produce → EndTxn; a read_committed Fetch sees committed data
// and its COMMIT marker, and aborted data listed in abortedTransactions; TxnOffsetCommit offsets are
// unstable (requireStable) until the commit; the produce guard; fencing and the per-version error
// codes; DescribeTransactions / ListTransactions; the advertised versions.
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import {
  AddOffsetsToTxn,
  AddPartitionsToTxn,
  ApiVersions,
  DescribeTransactions,
  EndTxn,
  Fetch,
  InitProducerId,
  ListTransactions,
  OffsetFetch,
  Produce,
  TxnOffsetCommit,
} from '../../../protocol/messages/index.js';
import { buildRecordBatch, readBatchHeader, splitBatches } from '../../../protocol/records/index.js';
import type { KafkaTestClient } from '../../support/kafka-client.js';
import { startHarness } from './helpers.js';

const { broker, client } = await startHarness(t);
await broker.context.log.createTopic('tx', 2, {});

interface Producer {
  producerId: bigint;
  producerEpoch: number;
  /** Next sequence per partition. */
  seq: Map<number, number>;
}

async function initProducer(transactionalId: string, version = 4): Promise<Producer> {
  const res = await client.send(InitProducerId, version, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  if (res.errorCode !== 0) throw new Error(`InitProducerId failed: ${res.errorCode}`);
  return { producerId: res.producerId, producerEpoch: res.producerEpoch, seq: new Map() };
}

async function produceTxn(c: KafkaTestClient, p: Producer, partition: number, count: number) {
  const baseSequence = p.seq.get(partition) ?? 0;
  const batch = buildRecordBatch({
    baseTimestamp: Date.now(),
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    baseSequence,
    isTransactional: true,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: `v${baseSequence + i}` })),
  });
  const res = await c.send(Produce, 7, {
    transactionalId: 'ignored-by-broker',
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'tx', partitionData: [{ index: partition, records: batch }] }],
  });
  const r = res.responses[0]!.partitionResponses[0]!;
  if (r.errorCode === 0) p.seq.set(partition, baseSequence + count);
  return r;
}

async function addPartitions(p: Producer, partitions: number[], version = 3, transactionalId = 'w') {
  const res = await client.send(AddPartitionsToTxn, version, {
    v3AndBelowTransactionalId: transactionalId,
    v3AndBelowProducerId: p.producerId,
    v3AndBelowProducerEpoch: p.producerEpoch,
    v3AndBelowTopics: [{ name: 'tx', partitions }],
  });
  return res.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((r) => r.partitionErrorCode));
}

async function endTxn(p: Producer, committed: boolean, version = 3, transactionalId = 'w') {
  const res = await client.send(EndTxn, version, {
    transactionalId,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    committed,
  });
  return res.errorCode;
}

async function fetch(partition: number, readCommitted: boolean) {
  const res = await client.send(Fetch, 11, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: readCommitted ? 1 : 0,
    topics: [{ topic: 'tx', partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
  });
  const p = res.responses[0]!.partitions[0]!;
  const batches = p.records === null ? [] : splitBatches(p.records).batches.map((b) => readBatchHeader(b));
  return {
    errorCode: p.errorCode,
    highWatermark: Number(p.highWatermark),
    lastStableOffset: Number(p.lastStableOffset),
    aborted: (p.abortedTransactions ?? []).map((a) => ({
      producerId: a.producerId,
      firstOffset: Number(a.firstOffset),
    })),
    batches: batches.map((b) => ({
      baseOffset: Number(b.baseOffset),
      count: b.recordsCount,
      control: b.isControl,
      transactional: b.isTransactional,
    })),
  };
}

async function fetchOffset(requireStable: boolean) {
  const res = await client.send(OffsetFetch, 7, {
    groupId: 'g',
    topics: [{ name: 'tx', partitionIndexes: [0] }],
    requireStable,
  });
  const p = res.topics[0]!.partitions[0]!;
  return { errorCode: p.errorCode, offset: Number(p.committedOffset) };
}

t.test('commit: read_committed sees the data only after the COMMIT marker', async (t) => {
  const p = await initProducer('w');
  const early = await produceTxn(client, p, 0, 3);
  t.equal(early.errorCode, ErrorCode.INVALID_TXN_STATE, 'transactional produce before AddPartitionsToTxn');

  t.same(await addPartitions(p, [0, 1]), [0, 0]);
  t.equal((await produceTxn(client, p, 0, 3)).errorCode, 0);

  const open = await fetch(0, true);
  t.equal(open.highWatermark, 3);
  t.equal(open.lastStableOffset, 0, 'the open transaction holds the LSO');
  t.same(open.batches, [], 'read_committed returns nothing past the LSO');
  t.equal((await fetch(0, false)).batches.length, 1, 'read_uncommitted sees the open data');

  // Consumed offsets inside the transaction.
  const added = await client.send(AddOffsetsToTxn, 3, {
    transactionalId: 'w',
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    groupId: 'g',
  });
  t.equal(added.errorCode, 0);
  const committedOffsets = await client.send(TxnOffsetCommit, 3, {
    transactionalId: 'w',
    groupId: 'g',
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      { name: 'tx', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedMetadata: 'txn' }] },
    ],
  });
  t.equal(committedOffsets.topics[0]!.partitions[0]!.errorCode, 0);
  t.same(await fetchOffset(true), { errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT, offset: -1 });
  t.same(await fetchOffset(false), { errorCode: 0, offset: -1 }, 'not committed yet');

  t.equal(await endTxn(p, true), 0);
  const done = await fetch(0, true);
  t.equal(done.highWatermark, 4, 'the marker takes one offset');
  t.equal(done.lastStableOffset, 4);
  t.same(done.batches, [
    { baseOffset: 0, count: 3, control: false, transactional: true },
    { baseOffset: 3, count: 1, control: true, transactional: true },
  ]);
  t.same(done.aborted, []);
  t.same((await fetch(1, true)).batches, [{ baseOffset: 0, count: 1, control: true, transactional: true }]);
  t.same(await fetchOffset(true), { errorCode: 0, offset: 3 }, 'offsets applied with the commit');

  const described = await client.send(DescribeTransactions, 0, { transactionalIds: ['w', 'nope'] });
  t.match(described.transactionStates, [
    { errorCode: 0, transactionalId: 'w', transactionState: 'CompleteCommit', producerId: p.producerId },
    { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: 'nope' },
  ]);
});

t.test('abort: aborted data listed in abortedTransactions', async (t) => {
  const p = await initProducer('w');
  t.same(await addPartitions(p, [1]), [0]);
  t.equal((await produceTxn(client, p, 1, 2)).errorCode, 0);
  const ongoing = await client.send(ListTransactions, 1, {
    stateFilters: ['Ongoing', 'Bogus'],
    producerIdFilters: [],
    durationFilter: -1n,
  });
  t.same(ongoing.unknownStateFilters, ['Bogus']);
  t.same(
    ongoing.transactionStates.map((s) => [s.transactionalId, s.transactionState]),
    [['w', 'Ongoing']],
  );
  t.equal(await endTxn(p, false), 0);
  const r = await fetch(1, true);
  t.equal(r.lastStableOffset, r.highWatermark);
  t.equal(r.highWatermark, 4, 'commit marker, 2 aborted records, abort marker');
  t.same(r.aborted, [{ producerId: p.producerId, firstOffset: 1 }]);
  t.same(
    r.batches.map((b) => [b.baseOffset, b.control]),
    [
      [0, true],
      [1, false],
      [3, true],
    ],
  );
});

t.test(
  'fencing: a new instance aborts the open transaction; old versions get INVALID_PRODUCER_EPOCH',
  async (t) => {
    const old = await initProducer('f');
    t.same(await addPartitions(old, [0], 3, 'f'), [0]);
    t.equal((await produceTxn(client, old, 0, 1)).errorCode, 0);
    const before = await fetch(0, true);
    t.ok(before.lastStableOffset < before.highWatermark, 'open transaction');

    const fresh = await initProducer('f');
    t.ok(fresh.producerEpoch > old.producerEpoch);
    const after = await fetch(0, true);
    t.equal(after.lastStableOffset, after.highWatermark, 'the open transaction was aborted');
    t.equal(after.aborted.length, 1);

    t.equal((await produceTxn(client, old, 0, 1)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    t.equal(await endTxn(old, true, 3, 'f'), ErrorCode.PRODUCER_FENCED);
    t.equal(
      await endTxn(old, true, 1, 'f'),
      ErrorCode.INVALID_PRODUCER_EPOCH,
      'EndTxn v1 predates PRODUCER_FENCED',
    );
    t.same(await addPartitions(old, [0], 1, 'f'), [ErrorCode.INVALID_PRODUCER_EPOCH]);
    t.same(await addPartitions(old, [0], 2, 'f'), [ErrorCode.PRODUCER_FENCED]);
    t.same(
      await addPartitions(fresh, [0, 9], 3, 'f'),
      [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      'an unknown partition fails the request, as Kafka',
    );

    const resume = (version: number, epoch: number) =>
      client.send(InitProducerId, version, {
        transactionalId: 'f',
        transactionTimeoutMs: 60_000,
        producerId: old.producerId,
        producerEpoch: epoch,
      });
    t.equal((await resume(4, old.producerEpoch)).errorCode, ErrorCode.PRODUCER_FENCED);
    t.equal((await resume(3, old.producerEpoch)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    const tooLong = await client.send(InitProducerId, 4, {
      transactionalId: 'f',
      transactionTimeoutMs: 900_001,
      producerId: -1n,
      producerEpoch: -1,
    });
    t.equal(tooLong.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  },
);

t.test('advertised versions', async (t) => {
  const res = await client.send(ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
  const range = (key: number) => {
    const k = res.apiKeys.find((a) => a.apiKey === key);
    return k === undefined ? null : [k.minVersion, k.maxVersion];
  };
  t.same(range(22), [0, 5]);
  t.same(range(24), [0, 3]);
  t.same(range(25), [0, 4]);
  t.same(range(26), [0, 4]);
  t.same(range(28), [0, 4]);
  t.same(range(65), [0, 0]);
  t.same(range(66), [0, 1]);
});
