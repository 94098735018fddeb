// Producer ids and the idempotent producer over TCP, raw protocol (KafkaTestClient): InitProducerId
// hands out ids that are never reused (across restarts too) and bumps a transactional id's epoch;
// Produce applies Kafka's epoch and sequence rules (INVALID_PRODUCER_EPOCH, OUT_OF_ORDER_SEQUENCE_NUMBER,
// retried duplicates answered with their original offsets and appended once); that state survives a
// restart (WAL replay and upload-time snapshots); DescribeProducers shows it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { DescribeProducers, InitProducerId, ListOffsets, Produce } from '../../../protocol/messages/index.js';
import { buildRecordBatch } from '../../../protocol/records/index.js';
import { type RunningBroker, startBroker } from '../../../src/broker/broker.js';
import { KafkaTestClient } from '../../support/kafka-client.js';

const dataDir = mkdtempSync(join(tmpdir(), 'streamhouse-producers-'));
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));

interface Running {
  broker: RunningBroker;
  client: KafkaTestClient;
}

/** A broker on the shared data dir. Uploads only when a test flushes, so WAL replay is exercised. */
async function open(): Promise<Running> {
  const broker = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    logLevel: 'silent',
    dataDir,
    uploadMaxAgeMs: 600_000,
  });
  const client = await KafkaTestClient.connect(broker.bootstrap, 'producer-ids-test');
  return { broker, client };
}

async function close(r: Running): Promise<void> {
  await r.client.close();
  await r.broker.close();
}

let current = await open();
t.teardown(() => close(current));
await current.broker.context.log.createTopic('idem', 3, {});

async function restart(): Promise<void> {
  await close(current);
  current = await open();
}

async function initProducerId(transactionalId: string | null = null, version = 4) {
  return current.client.send(InitProducerId, version, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
}

interface BatchSpec {
  producerId: number | bigint;
  epoch: number;
  seq: number;
  count: number;
}

function batch(b: BatchSpec): Buffer {
  return buildRecordBatch({
    baseTimestamp: Date.now(),
    producerId: b.producerId,
    producerEpoch: b.epoch,
    baseSequence: b.seq,
    records: Array.from({ length: b.count }, (_, i) => ({
      value: `p${b.producerId}-e${b.epoch}-s${b.seq + i}`,
      timestampDelta: i,
    })),
  });
}

/** Produce one record set (one or more batches) to `idem`/partition; returns [errorCode, baseOffset]. */
async function produce(partition: number, ...specs: BatchSpec[]): Promise<[number, number]> {
  const res = await current.client.send(Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [
      { name: 'idem', partitionData: [{ index: partition, records: Buffer.concat(specs.map(batch)) }] },
    ],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  return [p.errorCode, Number(p.baseOffset)];
}

async function logEnd(partition: number): Promise<number> {
  const res = await current.client.send(ListOffsets, 1, {
    replicaId: -1,
    topics: [{ name: 'idem', partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
  });
  return Number(res.topics[0]!.partitions[0]!.offset);
}

async function newPid(): Promise<number> {
  const r = await initProducerId();
  if (r.errorCode !== 0) throw new Error(`InitProducerId: ${r.errorCode}`);
  return Number(r.producerId);
}

t.test('InitProducerId: distinct ids, never reused across restarts', { timeout: 30_000 }, async (t) => {
  const seen = new Set<bigint>();
  for (const version of [0, 1, 2, 3, 4]) {
    const r = await initProducerId(null, version);
    t.equal(r.errorCode, 0, `v${version}`);
    t.equal(r.producerEpoch, 0, 'a fresh id starts at epoch 0');
    t.notOk(seen.has(r.producerId), `v${version}: id ${r.producerId} is new`);
    seen.add(r.producerId);
  }
  const concurrent = await Promise.all(Array.from({ length: 20 }, () => initProducerId()));
  for (const r of concurrent) {
    t.notOk(seen.has(r.producerId), 'concurrent requests get distinct ids');
    seen.add(r.producerId);
  }
  const before = Math.max(...[...seen].map(Number));
  for (let i = 0; i < 2; i++) {
    await restart();
    const r = await initProducerId();
    t.notOk(seen.has(r.producerId), `after restart ${i + 1}: id ${r.producerId} was never handed out`);
    t.ok(Number(r.producerId) > before, 'ids keep increasing');
    seen.add(r.producerId);
  }
});

t.test(
  'a transactional id keeps its producer id and bumps the epoch, across restarts',
  { timeout: 30_000 },
  async (t) => {
    const a1 = await initProducerId('txn-a');
    const a2 = await initProducerId('txn-a');
    const b1 = await initProducerId('txn-b');
    t.equal(a1.errorCode, 0);
    t.equal(a2.producerId, a1.producerId, 'same producer id');
    t.equal(a2.producerEpoch, a1.producerEpoch + 1, 'epoch bumped');
    t.not(b1.producerId, a1.producerId, 'another transactional id, another producer id');
    await restart();
    const a3 = await initProducerId('txn-a');
    t.equal(a3.producerId, a1.producerId, 'after a restart: same producer id');
    t.equal(a3.producerEpoch, a2.producerEpoch + 1, 'and the epoch bumped again');
    const empty = await initProducerId('');
    t.equal(empty.errorCode, ErrorCode.INVALID_REQUEST, 'an empty transactional id is invalid');
  },
);

t.test(
  'epochs: a new epoch restarts at sequence 0; an older epoch is fenced',
  { timeout: 15_000 },
  async (t) => {
    const pid = await newPid();
    const [e0] = await produce(0, { producerId: pid, epoch: 0, seq: 0, count: 3 });
    t.equal(e0, 0);
    const [bad] = await produce(0, { producerId: pid, epoch: 1, seq: 3, count: 1 });
    t.equal(bad, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a bumped epoch must start at sequence 0');
    const [e1] = await produce(0, { producerId: pid, epoch: 1, seq: 0, count: 2 });
    t.equal(e1, 0, 'epoch bump accepted');
    const end = await logEnd(0);
    const [old, base] = await produce(0, { producerId: pid, epoch: 0, seq: 3, count: 1 });
    t.equal(old, ErrorCode.INVALID_PRODUCER_EPOCH, 'the old epoch is fenced');
    t.equal(base, -1);
    t.equal(await logEnd(0), end, 'nothing appended');
  },
);

t.test(
  'a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER and appends nothing',
  { timeout: 15_000 },
  async (t) => {
    const pid = await newPid();
    t.equal((await produce(1, { producerId: pid, epoch: 0, seq: 0, count: 3 }))[0], 0);
    const end = await logEnd(1);
    t.equal(
      (await produce(1, { producerId: pid, epoch: 0, seq: 5, count: 1 }))[0],
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    // Two batches in one record set: the second has a gap, so neither is appended.
    const [both] = await produce(
      1,
      { producerId: pid, epoch: 0, seq: 3, count: 2 },
      { producerId: pid, epoch: 0, seq: 9, count: 2 },
    );
    t.equal(both, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a gap inside one request');
    t.equal(await logEnd(1), end, 'nothing appended');
    const [ok, base] = await produce(
      1,
      { producerId: pid, epoch: 0, seq: 3, count: 2 },
      { producerId: pid, epoch: 0, seq: 5, count: 2 },
    );
    t.equal(ok, 0, 'two in-sequence batches in one request');
    t.equal(base, end);
    t.equal(await logEnd(1), end + 4);
    // A producer this partition has never seen may start at any sequence (its state may have expired).
    const other = await newPid();
    t.equal((await produce(1, { producerId: other, epoch: 0, seq: 77, count: 1 }))[0], 0);
  },
);

t.test('a retried batch gets its original offset and is appended once', { timeout: 15_000 }, async (t) => {
  const pid = await newPid();
  const b0 = { producerId: pid, epoch: 0, seq: 0, count: 5 };
  const b1 = { producerId: pid, epoch: 0, seq: 5, count: 5 };
  const [, base0] = await produce(2, b0);
  const [, base1] = await produce(2, b1);
  t.equal(base1, base0 + 5);
  t.same(await produce(2, b0), [0, base0], 'retry of the first batch: original offset, no error');
  t.same(await produce(2, b1), [0, base1], 'retry of the second');
  t.equal(await logEnd(2), base0 + 10, 'each appended once');
  // Only the last 5 batches are remembered (as in Kafka); an older retry is out of sequence.
  let seq = 10;
  for (let i = 0; i < 5; i++, seq += 1)
    t.equal((await produce(2, { producerId: pid, epoch: 0, seq, count: 1 }))[0], 0);
  t.equal((await produce(2, b0))[0], ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'a batch older than the last 5');
  t.equal(await logEnd(2), base0 + 15);
});

t.test(
  'after a restart, retries are still recognised (WAL replay) and sequences continue',
  { timeout: 30_000 },
  async (t) => {
    const pid = await newPid();
    const b0 = { producerId: pid, epoch: 0, seq: 0, count: 2 };
    const b1 = { producerId: pid, epoch: 0, seq: 2, count: 2 };
    const [, base0] = await produce(0, b0);
    const [, base1] = await produce(0, b1);
    await restart();
    t.same(await produce(0, b1), [0, base1], 'the retried batch keeps its offset');
    t.same(await produce(0, b0), [0, base0]);
    t.equal(
      (await produce(0, { producerId: pid, epoch: 0, seq: 6, count: 1 }))[0],
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    t.same(
      await produce(0, { producerId: pid, epoch: 0, seq: 4, count: 1 }),
      [0, base1 + 2],
      'the next sequence appends',
    );
    // The same after the data was uploaded (state from the upload-time snapshot).
    await current.broker.context.log.flush();
    await restart();
    t.same(
      await produce(0, { producerId: pid, epoch: 0, seq: 4, count: 1 }),
      [0, base1 + 2],
      'retry after upload + restart',
    );
    t.equal((await produce(0, { producerId: pid, epoch: 0, seq: 5, count: 1 }))[0], 0);
  },
);

t.test(
  'regression: a batch appended during an upload is in a later snapshot',
  { timeout: 30_000 },
  async (t) => {
    // Batch A is uploaded; batch B arrives while that upload is in flight, after its plan was made.
    // The snapshot of that upload cannot include B; the next upload (which moves the WAL checkpoint
    // past B) must snapshot it, or after a restart B's sequence is forgotten and its retry appended
    // again.
    const pid = await newPid();
    const a = { producerId: pid, epoch: 0, seq: 0, count: 3 };
    const b = { producerId: pid, epoch: 0, seq: 3, count: 3 };
    t.equal((await produce(1, a))[0], 0);
    const metadata = current.broker.context.metadata;
    const commitObject = metadata.commitObject.bind(metadata);
    let baseB = -1;
    let injected = false;
    metadata.commitObject = async (c) => {
      if (!injected) {
        injected = true;
        [, baseB] = await produce(1, b);
      }
      return commitObject(c);
    };
    try {
      await current.broker.context.log.flush(); // uploads A; B arrives meanwhile
      t.ok(injected, 'B was produced during the upload');
      await current.broker.context.log.flush(); // uploads B, moves the checkpoint past it
    } finally {
      metadata.commitObject = commitObject;
    }
    await restart();
    const end = await logEnd(1);
    t.same(await produce(1, b), [0, baseB], 'the retry of B is recognised');
    t.equal(await logEnd(1), end, 'and not appended again');
    t.same(
      await produce(1, { producerId: pid, epoch: 0, seq: 6, count: 1 }),
      [0, end],
      'the next sequence appends',
    );
  },
);

t.test('DescribeProducers shows the producers of a partition', { timeout: 15_000 }, async (t) => {
  const pid = await newPid();
  const before = Date.now();
  await produce(2, { producerId: pid, epoch: 0, seq: 0, count: 4 });
  await produce(2, { producerId: pid, epoch: 0, seq: 4, count: 3 });
  const res = await current.client.send(DescribeProducers, 0, {
    topics: [
      { name: 'idem', partitionIndexes: [2, 7] },
      { name: 'no-such-topic', partitionIndexes: [0] },
    ],
  });
  const p2 = res.topics[0]!.partitions[0]!;
  t.equal(p2.errorCode, 0);
  const mine = p2.activeProducers.find((p) => Number(p.producerId) === pid);
  t.ok(mine, 'the producer is listed');
  t.equal(mine?.producerEpoch, 0);
  t.equal(mine?.lastSequence, 6, 'last sequence written');
  t.ok(Number(mine?.lastTimestamp) >= before - 1000, 'last write time');
  t.equal(res.topics[0]!.partitions[1]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  t.equal(res.topics[1]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
});
