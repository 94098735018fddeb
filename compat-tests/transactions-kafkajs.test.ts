// Kafka transactions (exactly-once) as a kafkajs 2.2.4 user sees them, against a StreamHouse broker
// process. Producers are transactional (transactionalId, idempotent, maxInFlightRequests 1); two
// kafkajs group consumers run for the whole file, one read_committed (readUncommitted: false, the
// kafkajs default) and one read_uncommitted, subscribed from the beginning to every topic here.
//
//   (a) commit: several send()s and a sendBatch() over 2 topics × 3 partitions in one transaction;
//       after commit both consumers see exactly those values, in send order per partition, and a
//       COMMIT marker follows them in every partition written.
//   (b) abort: the read_committed consumer never sees the aborted values (it does see a plain
//       record written after the abort, so it has read past them); read_uncommitted sees them; the
//       ABORT marker takes an offset (the next record's offset is one past it); the same producer
//       then commits a new transaction, which is visible.
//   (c) consume-transform-produce: a consumer reads input, the producer writes outputs and sends the
//       consumer's offsets in the transaction (sendOffsets → AddOffsetsToTxn + TxnOffsetCommit);
//       OffsetFetch (admin.fetchOffsets) shows them only after commit; a second transaction's
//       offsets, aborted, never show; a new consumer of the group resumes at the committed offsets;
//       transactions with offsets only (no records) apply them on commit and not on abort.
//   (d) fencing: a second producer with the same transactionalId fences the first: the first's
//       next send and its commit fail with INVALID_PRODUCER_EPOCH (PRODUCER_FENCED in newer
//       protocol versions), its open transaction is aborted, nothing it sends afterwards lands.
//   (e) LSO: an open transaction holds read_committed consumers at its first offset, on that
//       partition only, while read_uncommitted ones continue; after commit they proceed in order.
//       A read_committed Fetch at an offset between LSO and HW gets no error and no records, and a
//       read_committed consumer positioned there (group offset) waits rather than being reset.
//   (f) timeout: a transaction left open past its transactionTimeout is aborted by the broker
//       (ABORT markers, LSO released), the producer's late commit is fenced, and a new producer
//       with the same transactionalId can commit.
//   (h) a transactionTimeout above the broker's transaction.max.timeout.ms: INVALID_TRANSACTION_TIMEOUT.
//   (i) DeleteRecords moves the log start into an aborted transaction: read_committed from the new
//       log start still skips its remaining records (the aborted-transaction index keeps it).
//   (g) two producers' transactions interleaved in one partition (one committed, one aborted, plain
//       records between): the LSO stays at the first open transaction even after the later one
//       commits; read_committed then reads exactly the committed and plain records, also when it
//       starts (group offset) in the middle of the aborted transaction and fetches 64 bytes at a time.
//
// The broker uploads every 100 ms and keeps no hot tail, so most reads come from objects; one
// send in (a) and one in (b) are gzip-compressed.
//
// Every subtest prints its numbers (produced / committed / aborted / read back) and asserts exact
// sets of values, not counts.
import kafkajs from 'kafkajs';
import t from 'tap';
import { Fetch } from '../protocol/messages/index.js';
import { spawnBroker, teardownBroker } from './support/broker-process.js';
import type { TapTest } from './support/tools.js';
import {
  Collector,
  commitGroupOffset,
  describeKafkajsError,
  describeLog,
  FENCED,
  highWatermark,
  partitionLog,
  sleep,
  sorted,
  stableOffset,
  waitUntil,
} from './support/txn-tools.js';
import { WireClient } from './support/wire-client.js';

const { Kafka, logLevel, CompressionTypes } = kafkajs;

t.setTimeout(120_000);

const PARTITIONS = 3;
const CLIENT_ID = 'compat-kafkajs-txn';
const TOPIC = {
  commitA: 'txn-commit-a',
  commitB: 'txn-commit-b',
  abort: 'txn-abort',
  ctpIn: 'txn-ctp-in',
  ctpOut: 'txn-ctp-out',
  fence: 'txn-fence',
  lso: 'txn-lso',
  timeout: 'txn-timeout',
  interleave: 'txn-interleave',
  truncated: 'txn-truncated',
};
const WATCHED = [
  TOPIC.commitA,
  TOPIC.commitB,
  TOPIC.abort,
  TOPIC.ctpOut,
  TOPIC.fence,
  TOPIC.lso,
  TOPIC.timeout,
  TOPIC.interleave,
  TOPIC.truncated,
];

const started = Date.now();
const broker = await spawnBroker({
  config: {
    numPartitions: PARTITIONS,
    autoCreateTopicsEnable: false,
    groupInitialRebalanceDelayMs: 0,
    groupMinSessionTimeoutMs: 1000,
    transactionAbortCheckIntervalMs: 200,
    // Upload often and keep no hot tail, so that reads of anything older than ~100 ms come from objects.
    uploadMaxAgeMs: 100,
    uploadTargetBytes: 16 * 1024,
    hotTailMaxBytes: 0,
  },
});
t.teardown(teardownBroker(broker));
const kafka = new Kafka({
  clientId: CLIENT_ID,
  brokers: [broker.bootstrap],
  logLevel: logLevel.NOTHING,
  retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
  connectionTimeout: 10_000,
});
const wire = await WireClient.connect(broker.bootstrap, 'compat-txn-wire');
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: Object.values(TOPIC).map((topic) => ({ topic, numPartitions: PARTITIONS })),
});
// Plain (non-transactional) records: sentinels that prove a consumer has read past a point.
const plain = kafka.producer({ allowAutoTopicCreation: false });
await plain.connect();
const committed = await Collector.start(kafka, 'read-committed', { readUncommitted: false, topics: WATCHED });
const uncommitted = await Collector.start(kafka, 'read-uncommitted', {
  readUncommitted: true,
  topics: WATCHED,
});
const producers: kafkajs.Producer[] = [];
t.teardown(async () => {
  await committed.stop();
  await uncommitted.stop();
  for (const p of [plain, ...producers]) await p.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  wire.destroy();
});
t.comment(`broker and two consumers ready in ${Date.now() - started} ms`);

function txProducer(transactionalId: string, transactionTimeout = 30_000): kafkajs.Producer {
  const p = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout,
    allowAutoTopicCreation: false,
  });
  producers.push(p);
  return p;
}

interface Placed {
  topic: string;
  partition: number;
  value: string;
  offset: number;
}

/** Values `${prefix}-${i}` spread over the partitions (value i → partition i % PARTITIONS). */
const valuesFor = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ partition: i % PARTITIONS, value: `${prefix}-${i}` }));

/** One send() (or a transaction's send()); returns each value with the offset its reply implies. */
async function send(
  sender: Pick<kafkajs.Producer, 'send'>,
  topic: string,
  msgs: readonly { partition: number; value: string }[],
  compression: kafkajs.CompressionTypes = CompressionTypes.None,
): Promise<Placed[]> {
  const reply = await sender.send({ topic, acks: -1, compression, messages: msgs.map((m) => ({ ...m })) });
  const next = new Map(reply.map((r) => [r.partition, Number(r.baseOffset)]));
  return msgs.map((m) => {
    const offset = next.get(m.partition);
    if (offset === undefined) throw new Error(`${topic}: no reply for partition ${m.partition}`);
    next.set(m.partition, offset + 1);
    return { topic, partition: m.partition, value: m.value, offset };
  });
}

/** The values a collector saw in `topic`/`partition`, ordered by offset, with their offsets. */
function readBack(c: Collector, topic: string, partition: number): { offset: number; value: string }[] {
  return c.seen
    .filter((s) => s.topic === topic && s.partition === partition)
    .map(({ offset, value }) => ({ offset, value }));
}

/** Assert a collector saw, in `topic`, exactly `want` (by value), each at its offset, in offset order. */
function assertExactly(t: TapTest, c: Collector, topic: string, want: readonly Placed[], what: string): void {
  t.same(
    sorted(c.values(topic)),
    sorted(want.map((p) => p.value)),
    `${c.name}: exactly ${what} (${want.length})`,
  );
  for (let p = 0; p < PARTITIONS; p++) {
    const got = readBack(c, topic, p);
    const expected = want
      .filter((w) => w.partition === p)
      .sort((a, b) => a.offset - b.offset)
      .map(({ offset, value }) => ({ offset, value }));
    t.same(got, expected, `${c.name}: ${topic}/${p} in offset order at the offsets the producer was told`);
  }
}

/** A plain record to every partition of `topic`, after whatever is there. */
async function sentinels(topic: string, tag: string): Promise<Placed[]> {
  return send(plain, topic, valuesFor(`${tag}-sentinel`, PARTITIONS));
}

t.test('(a) commit: sends to 2 topics × 3 partitions, then commit', async (t) => {
  const producer = txProducer('compat-txn-commit');
  await producer.connect();
  const txn = await producer.transaction();
  const placed: Placed[] = [];
  placed.push(...(await send(txn, TOPIC.commitA, valuesFor('a1', 6))));
  placed.push(...(await send(txn, TOPIC.commitB, valuesFor('b1', 3))));
  placed.push(...(await send(txn, TOPIC.commitA, valuesFor('a2', 4), CompressionTypes.GZIP)));
  const batch = await txn.sendBatch({
    acks: -1,
    topicMessages: [
      { topic: TOPIC.commitA, messages: valuesFor('a3', 3) },
      { topic: TOPIC.commitB, messages: valuesFor('b3', 5) },
    ],
  });
  t.equal(batch.length, 2 * PARTITIONS, 'sendBatch: one reply per topic-partition');
  for (const [topic, prefix, n] of [
    [TOPIC.commitA, 'a3', 3],
    [TOPIC.commitB, 'b3', 5],
  ] as const) {
    const next = new Map(
      batch.filter((r) => r.topicName === topic).map((r) => [r.partition, Number(r.baseOffset)]),
    );
    for (const m of valuesFor(prefix, n)) {
      const offset = next.get(m.partition)!;
      next.set(m.partition, offset + 1);
      placed.push({ topic, partition: m.partition, value: m.value, offset });
    }
  }
  // Nothing is visible to read_committed before the commit (read_uncommitted sees it all already).
  await uncommitted.waitForAll(placed.map((p) => p.value));
  t.same(
    committed.values(TOPIC.commitA).concat(committed.values(TOPIC.commitB)),
    [],
    'read_committed: nothing before commit',
  );
  await txn.commit();
  const ms = await committed.waitForAll(placed.map((p) => p.value));
  t.comment(`read_committed saw the commit after ${ms} ms`);

  for (const topic of [TOPIC.commitA, TOPIC.commitB]) {
    const want = placed.filter((p) => p.topic === topic);
    assertExactly(t, committed, topic, want, `the committed values of ${topic}`);
    assertExactly(t, uncommitted, topic, want, `the committed values of ${topic}`);
    for (let p = 0; p < PARTITIONS; p++) {
      const log = await partitionLog(wire, topic, p);
      const last = log.at(-1);
      t.equal(last?.kind, 'COMMIT', `${topic}/${p}: a COMMIT marker after the data (${describeLog(log)})`);
      t.ok(
        log.filter((e) => e.kind === 'data').every((e) => e.transactional),
        `${topic}/${p}: the data batches carry the transactional bit`,
      );
      t.equal(
        await stableOffset(wire, topic, p),
        await highWatermark(wire, topic, p),
        `${topic}/${p}: LSO = HW`,
      );
    }
  }
  t.comment(
    `(a) produced ${placed.length} in one transaction over 2 topics × ${PARTITIONS} partitions; committed ${placed.length}; ` +
      `read back read_committed ${committed.values(TOPIC.commitA).length + committed.values(TOPIC.commitB).length}, ` +
      `read_uncommitted ${uncommitted.values(TOPIC.commitA).length + uncommitted.values(TOPIC.commitB).length}`,
  );
});

t.test('(b) abort: read_committed skips the aborted records, markers take offsets', async (t) => {
  const producer = txProducer('compat-txn-abort');
  await producer.connect();
  const txn = await producer.transaction();
  const aborted = [
    ...(await send(txn, TOPIC.abort, valuesFor('aborted-x', 6))),
    ...(await send(txn, TOPIC.abort, valuesFor('aborted-y', 3), CompressionTypes.GZIP)),
  ];
  await txn.abort();
  const after = await sentinels(TOPIC.abort, 'after-abort');
  const txn2 = await producer.transaction();
  const later = await send(txn2, TOPIC.abort, valuesFor('committed-after-abort', 6));
  await txn2.commit();
  const last = await sentinels(TOPIC.abort, 'last');

  await committed.waitForAll([...after, ...later, ...last].map((p) => p.value));
  await uncommitted.waitForAll([...aborted, ...after, ...later, ...last].map((p) => p.value));
  assertExactly(t, committed, TOPIC.abort, [...after, ...later, ...last], 'the non-aborted values');
  assertExactly(
    t,
    uncommitted,
    TOPIC.abort,
    [...aborted, ...after, ...later, ...last],
    'every value, aborted too',
  );

  for (let p = 0; p < PARTITIONS; p++) {
    const log = await partitionLog(wire, TOPIC.abort, p);
    const kinds = log.map((e) => (e.kind === 'data' ? (e.value ?? '').replace(/-\d+$/, '') : `[${e.kind}]`));
    const dedup = kinds.filter((k, i) => k !== kinds[i - 1]);
    t.same(
      dedup,
      [
        'aborted-x',
        'aborted-y',
        '[ABORT]',
        'after-abort-sentinel',
        'committed-after-abort',
        '[COMMIT]',
        'last-sentinel',
      ],
      `${TOPIC.abort}/${p}: data, ABORT marker, sentinel, data, COMMIT marker, sentinel (${describeLog(log)})`,
    );
    const lastAborted = Math.max(...aborted.filter((a) => a.partition === p).map((a) => a.offset));
    const sentinel = after.find((a) => a.partition === p)!;
    t.equal(
      sentinel.offset,
      lastAborted + 2,
      `${TOPIC.abort}/${p}: the ABORT marker took offset ${lastAborted + 1}`,
    );
    t.same(
      log.map((e) => e.offset),
      log.map((_, i) => i),
      `${TOPIC.abort}/${p}: offsets keep increasing by one through the markers`,
    );
    const hw = await highWatermark(wire, TOPIC.abort, p);
    t.equal(hw, log.length, `${TOPIC.abort}/${p}: high watermark ${hw} counts the markers`);
    t.equal(await stableOffset(wire, TOPIC.abort, p), hw, `${TOPIC.abort}/${p}: LSO = HW once all are ended`);
  }
  t.comment(
    `(b) produced ${aborted.length + later.length} transactional + ${after.length + last.length} plain; ` +
      `aborted ${aborted.length}, committed ${later.length}; read back read_committed ${committed.values(TOPIC.abort).length}, ` +
      `read_uncommitted ${uncommitted.values(TOPIC.abort).length}`,
  );
});

t.test('(c) consume-transform-produce: offsets committed through the transaction', async (t) => {
  const GROUP = 'compat-txn-ctp';
  const inputs = await send(plain, TOPIC.ctpIn, valuesFor('in', 9));
  // 1. consume the input as a member of GROUP (no commits of its own).
  const reader = await Collector.start(kafka, 'ctp-input', {
    readUncommitted: false,
    topics: [TOPIC.ctpIn],
    groupId: GROUP,
  });
  await reader.waitForAll(inputs.map((i) => i.value));
  await reader.stop();
  const consumed = reader.seen.filter((s) => s.topic === TOPIC.ctpIn);
  const nextOffsets = Array.from({ length: PARTITIONS }, (_, p) =>
    String(Math.max(...consumed.filter((s) => s.partition === p).map((s) => s.offset)) + 1),
  );
  const groupOffsets = async () => {
    const res = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC.ctpIn] });
    const parts = res.find((r) => r.topic === TOPIC.ctpIn)?.partitions ?? [];
    return Array.from(
      { length: PARTITIONS },
      (_, p) => parts.find((x) => x.partition === p)?.offset ?? 'missing',
    );
  };
  const none = Array.from({ length: PARTITIONS }, () => '-1');
  t.same(await groupOffsets(), none, 'OffsetFetch before the transaction: no offsets');

  // 2. transform and produce, with the consumed offsets, in one transaction.
  const producer = txProducer('compat-txn-ctp');
  await producer.connect();
  const txn = await producer.transaction();
  const outputs = await send(
    txn,
    TOPIC.ctpOut,
    consumed.map((s) => ({ partition: s.partition, value: `out(${s.value})` })),
  );
  await txn.sendOffsets({
    consumerGroupId: GROUP,
    topics: [
      { topic: TOPIC.ctpIn, partitions: nextOffsets.map((offset, partition) => ({ partition, offset })) },
    ],
  });
  t.same(await groupOffsets(), none, 'OffsetFetch while the transaction is open: still no offsets');
  await txn.commit();
  t.same(await groupOffsets(), nextOffsets, `OffsetFetch after commit: ${nextOffsets.join(',')}`);

  // 3. a second transaction with further offsets, aborted: neither its outputs nor its offsets count.
  const txn2 = await producer.transaction();
  const abortedOutputs = await send(txn2, TOPIC.ctpOut, valuesFor('out-aborted', 3));
  const beyond = nextOffsets.map((o) => String(Number(o) + 100));
  await txn2.sendOffsets({
    consumerGroupId: GROUP,
    topics: [{ topic: TOPIC.ctpIn, partitions: beyond.map((offset, partition) => ({ partition, offset })) }],
  });
  await txn2.abort();
  t.same(
    await groupOffsets(),
    nextOffsets,
    'OffsetFetch after an aborted transaction: the committed offsets, unchanged',
  );

  // 4. a new member of the group resumes where the transaction committed.
  const moreInputs = await send(plain, TOPIC.ctpIn, valuesFor('in-late', 3));
  const resumed = await Collector.start(kafka, 'ctp-resume', {
    readUncommitted: false,
    topics: [TOPIC.ctpIn],
    groupId: GROUP,
  });
  await resumed.waitForAll(moreInputs.map((i) => i.value));
  await sleep(300);
  await resumed.stop();

  // Transactions with offsets only (no records): committed, the offsets apply; aborted, they do not.
  const afterLate = nextOffsets.map((o) => String(Number(o) + 1));
  const offsetsOnly = await producer.transaction();
  await offsetsOnly.sendOffsets({
    consumerGroupId: GROUP,
    topics: [
      { topic: TOPIC.ctpIn, partitions: afterLate.map((offset, partition) => ({ partition, offset })) },
    ],
  });
  await offsetsOnly.commit();
  t.same(
    await groupOffsets(),
    afterLate,
    `a transaction with offsets only, committed: ${afterLate.join(',')}`,
  );
  const offsetsOnlyAborted = await producer.transaction();
  await offsetsOnlyAborted.sendOffsets({
    consumerGroupId: GROUP,
    topics: [{ topic: TOPIC.ctpIn, partitions: [0, 1, 2].map((partition) => ({ partition, offset: '0' })) }],
  });
  await offsetsOnlyAborted.abort();
  t.same(await groupOffsets(), afterLate, 'a transaction with offsets only, aborted: unchanged');
  t.same(
    sorted(resumed.values(TOPIC.ctpIn)),
    sorted(moreInputs.map((i) => i.value)),
    'a new consumer of the group reads only the input after the committed offsets',
  );

  const tail = await sentinels(TOPIC.ctpOut, 'ctp');
  await committed.waitForAll(tail.map((s) => s.value));
  await uncommitted.waitForAll([...outputs, ...abortedOutputs, ...tail].map((s) => s.value));
  assertExactly(t, committed, TOPIC.ctpOut, [...outputs, ...tail], 'the committed outputs');
  assertExactly(
    t,
    uncommitted,
    TOPIC.ctpOut,
    [...outputs, ...abortedOutputs, ...tail],
    'committed and aborted outputs',
  );
  t.comment(
    `(c) consumed ${consumed.length}, produced ${outputs.length} committed + ${abortedOutputs.length} aborted outputs; ` +
      `group offsets ${nextOffsets.join(',')} (abort tried ${beyond.join(',')}); resumed consumer read ${resumed.values(TOPIC.ctpIn).length}`,
  );
});

t.test('(d) fencing: a second producer with the same transactionalId fences the first', async (t) => {
  const ID = 'compat-txn-fence';
  const first = txProducer(ID);
  await first.connect();
  const txn = await first.transaction();
  const abortedByFence = await send(txn, TOPIC.fence, valuesFor('old', 6));

  const second = txProducer(ID);
  await second.connect();
  // kafkajs sends the transactional InitProducerId on the first transaction(), not on connect():
  // the coordinator aborts the open transaction of the first producer and bumps the epoch.
  const txn2 = await second.transaction();
  let sendError: unknown = null;
  try {
    await send(txn, TOPIC.fence, valuesFor('old-after-fence', 3));
  } catch (e) {
    sendError = e;
  }
  t.ok(sendError, 'the fenced producer: its next send fails');
  t.match(
    describeKafkajsError(sendError),
    FENCED,
    `… with a fenced error: ${describeKafkajsError(sendError)}`,
  );
  let commitError: unknown = null;
  try {
    await txn.commit();
  } catch (e) {
    commitError = e;
  }
  t.ok(commitError, 'the fenced producer: its commit fails');
  t.match(
    describeKafkajsError(commitError),
    FENCED,
    `… with a fenced error: ${describeKafkajsError(commitError)}`,
  );

  const fresh = await send(txn2, TOPIC.fence, valuesFor('new', 6));
  await txn2.commit();
  const tail = await sentinels(TOPIC.fence, 'fence');
  await committed.waitForAll([...fresh, ...tail].map((s) => s.value));
  await uncommitted.waitForAll([...abortedByFence, ...fresh, ...tail].map((s) => s.value));
  assertExactly(t, committed, TOPIC.fence, [...fresh, ...tail], "the new producer's values only");
  assertExactly(
    t,
    uncommitted,
    TOPIC.fence,
    [...abortedByFence, ...fresh, ...tail],
    'old (aborted) and new values, nothing sent after the fence',
  );
  for (let p = 0; p < PARTITIONS; p++) {
    const log = await partitionLog(wire, TOPIC.fence, p);
    const markers = log.filter((e) => e.kind !== 'data').map((e) => e.kind);
    t.same(
      markers,
      ['ABORT', 'COMMIT'],
      `${TOPIC.fence}/${p}: the old transaction ABORTed, the new one COMMITted (${describeLog(log)})`,
    );
  }
  t.comment(
    `(d) old producer: ${abortedByFence.length} sent, aborted by the fence; new producer: ${fresh.length} committed; ` +
      `read back read_committed ${committed.values(TOPIC.fence).length}, read_uncommitted ${uncommitted.values(TOPIC.fence).length}`,
  );
});

t.test('(e) an open transaction holds read_committed consumers at its first offset (LSO)', async (t) => {
  const pre = await send(plain, TOPIC.lso, valuesFor('pre', 6)); // 2 per partition: offsets 0, 1
  const producer = txProducer('compat-txn-lso');
  await producer.connect();
  const txn = await producer.transaction();
  const open = await send(
    txn,
    TOPIC.lso,
    [0, 1, 2].map((i) => ({ partition: 0, value: `open-${i}` })),
  ); // partition 0 only: offsets 2..4
  const mid = await send(plain, TOPIC.lso, valuesFor('mid', 6)); // partition 0: 5, 6; others: 2, 3

  await uncommitted.waitForAll([...pre, ...open, ...mid].map((s) => s.value));
  // The other partitions are not held: read_committed reads their later records...
  const otherMid = mid.filter((m) => m.partition !== 0);
  await committed.waitForAll([...pre, ...otherMid].map((s) => s.value));
  await sleep(1000); // ...and, given time, still nothing at or past the LSO of partition 0.
  const firstOpen = Math.min(...open.map((o) => o.offset));
  t.same(
    readBack(committed, TOPIC.lso, 0),
    pre.filter((p) => p.partition === 0).map(({ offset, value }) => ({ offset, value })),
    `read_committed: partition 0 stops before offset ${firstOpen}, the open transaction's first`,
  );
  t.equal(
    await stableOffset(wire, TOPIC.lso, 0),
    firstOpen,
    `ListOffsets(read_committed) of partition 0 = ${firstOpen}`,
  );
  const hw0 = await highWatermark(wire, TOPIC.lso, 0);
  t.equal(hw0, firstOpen + open.length + 2, `ListOffsets(read_uncommitted) of partition 0 = HW ${hw0}`);
  for (const p of [1, 2]) {
    t.equal(
      await stableOffset(wire, TOPIC.lso, p),
      await highWatermark(wire, TOPIC.lso, p),
      `partition ${p}: LSO = HW`,
    );
  }
  t.same(
    readBack(uncommitted, TOPIC.lso, 0).map((r) => r.value),
    ['pre-0', 'pre-3', 'open-0', 'open-1', 'open-2', 'mid-0', 'mid-3'],
    'read_uncommitted: partition 0 read through the open transaction',
  );

  // A position between the LSO and the HW is valid (Kafka: fetch offsets up to the HW are in range):
  // a read_committed Fetch there gets no error and no records, and a read_committed consumer whose
  // group offset is 6 waits there instead of being reset.
  const fetched = await wire.request(Fetch, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 1,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      { topic: TOPIC.lso, partitions: [{ partition: 0, fetchOffset: 6n, partitionMaxBytes: 1 << 20 }] },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });
  const fp = fetched.responses[0]?.partitions[0];
  t.same(
    {
      error: fp?.errorCode,
      bytes: fp?.records?.length ?? 0,
      lso: fp?.lastStableOffset,
      hw: fp?.highWatermark,
    },
    { error: 0, bytes: 0, lso: BigInt(firstOpen), hw: BigInt(hw0) },
    `Fetch(read_committed) at 6, between LSO ${firstOpen} and HW ${hw0}: no error, no records, LSO and HW reported`,
  );
  const GROUP_AT_6 = 'compat-txn-lso-at-6';
  await commitGroupOffset(wire, GROUP_AT_6, TOPIC.lso, 0, 6);
  const at6 = await Collector.start(kafka, 'read-committed-at-6', {
    readUncommitted: false,
    topics: [TOPIC.lso],
    groupId: GROUP_AT_6,
  });
  t.teardown(() => at6.stop());
  await at6.waitForAll(otherMid.map((m) => m.value)); // other partitions: from the beginning
  await sleep(500);
  t.same(
    readBack(at6, TOPIC.lso, 0),
    [],
    'read_committed consumer at offset 6: waits, nothing read, not reset',
  );

  await txn.commit();
  const ms = await committed.waitForAll([...open, ...mid].map((s) => s.value));
  t.comment(`read_committed moved on ${ms} ms after the commit returned`);
  assertExactly(t, committed, TOPIC.lso, [...pre, ...open, ...mid], 'every value after the commit');
  t.same(
    readBack(committed, TOPIC.lso, 0).map((r) => r.value),
    ['pre-0', 'pre-3', 'open-0', 'open-1', 'open-2', 'mid-0', 'mid-3'],
    'read_committed: partition 0 in log order after the commit',
  );
  await at6.waitForAll(['mid-3']);
  await sleep(200);
  t.same(
    readBack(at6, TOPIC.lso, 0),
    [{ offset: 6, value: 'mid-3' }],
    'read_committed consumer at offset 6: after the commit, reads from 6 on',
  );
  await at6.stop();
  t.comment(
    `(e) plain ${pre.length + mid.length}, transactional ${open.length} (held, then committed); LSO held at ${firstOpen} with HW ${hw0}; ` +
      `read back read_committed ${committed.values(TOPIC.lso).length}, read_uncommitted ${uncommitted.values(TOPIC.lso).length}`,
  );
});

t.test('(f) a transaction left open past its timeout is aborted by the broker', async (t) => {
  const TIMEOUT_MS = 1500;
  const producer = txProducer('compat-txn-timeout', TIMEOUT_MS);
  await producer.connect();
  const txn = await producer.transaction();
  const openedAt = Date.now();
  const abandoned = await send(txn, TOPIC.timeout, valuesFor('abandoned', 6));
  const ms = await waitUntil(
    'the broker to abort the timed-out transaction (LSO = HW)',
    async () => {
      for (let p = 0; p < PARTITIONS; p++)
        if ((await stableOffset(wire, TOPIC.timeout, p)) !== (await highWatermark(wire, TOPIC.timeout, p)))
          return false;
      return true;
    },
    TIMEOUT_MS + 10_000,
  );
  const endedAfter = Date.now() - openedAt;
  t.ok(endedAfter >= TIMEOUT_MS, `not aborted before its timeout (${endedAfter} ms ≥ ${TIMEOUT_MS} ms)`);
  t.comment(`aborted ${endedAfter} ms after it began (waited ${ms} ms after the sends)`);
  let commitError: unknown = null;
  try {
    await txn.commit();
  } catch (e) {
    commitError = e;
  }
  t.ok(commitError, 'the producer: its late commit fails');
  t.match(
    describeKafkajsError(commitError),
    FENCED,
    `… its epoch was bumped: ${describeKafkajsError(commitError)}`,
  );
  const tail = await sentinels(TOPIC.timeout, 'timeout');
  await committed.waitForAll(tail.map((s) => s.value));
  await uncommitted.waitForAll([...abandoned, ...tail].map((s) => s.value));
  assertExactly(t, committed, TOPIC.timeout, tail, 'the plain records after it, none of the timed-out ones');
  assertExactly(
    t,
    uncommitted,
    TOPIC.timeout,
    [...abandoned, ...tail],
    'the timed-out records and the plain ones',
  );
  for (let p = 0; p < PARTITIONS; p++) {
    const log = await partitionLog(wire, TOPIC.timeout, p);
    t.same(
      log.filter((e) => e.kind !== 'data').map((e) => e.kind),
      ['ABORT'],
      `${TOPIC.timeout}/${p}: one ABORT marker (${describeLog(log)})`,
    );
  }
  // The same transactional id is usable again by a new producer instance.
  const again = txProducer('compat-txn-timeout');
  await again.connect();
  const txn2 = await again.transaction();
  const fresh = await send(txn2, TOPIC.timeout, valuesFor('after-timeout', 3));
  await txn2.commit();
  await committed.waitForAll(fresh.map((s) => s.value));
  assertExactly(t, committed, TOPIC.timeout, [...tail, ...fresh], 'plain and newly committed values');
  t.comment(
    `(f) ${abandoned.length} produced and abandoned (aborted by timeout), ${fresh.length} committed after; ` +
      `read back read_committed ${committed.values(TOPIC.timeout).length}, read_uncommitted ${uncommitted.values(TOPIC.timeout).length}`,
  );
});

t.test('(g) two producers interleave transactions in one partition; reading from the middle', async (t) => {
  const T = TOPIC.interleave;
  const a = txProducer('compat-txn-interleave-a');
  const b = txProducer('compat-txn-interleave-b');
  await a.connect();
  await b.connect();
  const txA = await a.transaction();
  const txB = await b.transaction();
  const one = (value: string) => [{ partition: 0, value }];
  // Partition 0: a-0 p-0 b-0 a-1 p-1 b-1 [COMMIT b] a-2 [ABORT a] p-2
  const placed: Placed[] = [];
  for (const [sender, value] of [
    [txA, 'a-0'],
    [plain, 'p-0'],
    [txB, 'b-0'],
    [txA, 'a-1'],
    [plain, 'p-1'],
    [txB, 'b-1'],
  ] as const)
    placed.push(...(await send(sender, T, one(value))));
  t.same(
    placed.map((p) => p.offset),
    [0, 1, 2, 3, 4, 5],
    'offsets 0..5 in send order',
  );
  t.equal(await stableOffset(wire, T, 0), 0, 'LSO 0: the first open transaction (a) starts at 0');
  await txB.commit();
  t.equal(await stableOffset(wire, T, 0), 0, 'b committed, LSO still 0: a is open below it');
  const bSideline = await send(plain, T, [{ partition: 1, value: 'q-0' }]);
  await committed.waitForAll(bSideline.map((s) => s.value));
  await sleep(500);
  t.same(
    committed.values(T, 0),
    [],
    'read_committed: nothing of partition 0 while a is open, b committed or not',
  );
  placed.push(...(await send(txA, T, one('a-2'))));
  await txA.abort();
  placed.push(...(await send(plain, T, one('p-2'))));
  const log = await partitionLog(wire, T, 0);
  t.equal(
    describeLog(log),
    '0:a-0 1:p-0 2:b-0 3:a-1 4:p-1 5:b-1 6:[COMMIT] 7:a-2 8:[ABORT] 9:p-2',
    'partition 0 holds both transactions interleaved, with their markers',
  );
  const visible = placed.filter((p) => !p.value.startsWith('a-'));
  await committed.waitForAll(visible.map((p) => p.value));
  await uncommitted.waitForAll(placed.map((p) => p.value));
  t.same(
    readBack(committed, T, 0),
    visible.map(({ offset, value }) => ({ offset, value })),
    "read_committed: b's and the plain records at their offsets, none of a's",
  );
  t.same(
    readBack(uncommitted, T, 0),
    placed.map(({ offset, value }) => ({ offset, value })),
    'read_uncommitted: everything',
  );

  // A consumer group whose committed offset (4) lies inside a's aborted range (0..8), fetching one
  // small batch at a time: the broker must still report a's transaction as aborted.
  const GROUP = 'compat-txn-interleave-mid';
  await commitGroupOffset(wire, GROUP, T, 0, 4);
  const mid = await Collector.start(kafka, 'read-committed-from-4', {
    readUncommitted: false,
    topics: [T],
    groupId: GROUP,
    maxBytesPerPartition: 64,
  });
  await mid.waitForAll(['p-1', 'b-1', 'p-2']);
  await sleep(300);
  await mid.stop();
  t.same(
    readBack(mid, T, 0),
    [
      { offset: 4, value: 'p-1' },
      { offset: 5, value: 'b-1' },
      { offset: 9, value: 'p-2' },
    ],
    'read_committed from offset 4, small fetches: p-1, b-1, p-2 — not a-2, whose transaction began at 0',
  );
  t.comment(
    `(g) a: 3 aborted, b: 2 committed, 3 plain, interleaved in one partition; read back read_committed ` +
      `${committed.values(T, 0).length}, read_uncommitted ${uncommitted.values(T, 0).length}, from offset 4 ${mid.values(T, 0).length}`,
  );
});

t.test('(h) a transaction timeout above transaction.max.timeout.ms is refused', async (t) => {
  const producer = txProducer('compat-txn-too-long', 900_001); // broker default max: 900 000 ms
  await producer.connect();
  let error: unknown = null;
  try {
    await producer.transaction();
  } catch (e) {
    error = e;
  }
  t.match(
    describeKafkajsError(error),
    /INVALID_TRANSACTION_TIMEOUT/,
    `InitProducerId refused: ${describeKafkajsError(error)}`,
  );
});

t.test('(i) DeleteRecords into an aborted transaction: its remaining records stay hidden', async (t) => {
  const T = TOPIC.truncated;
  const producer = txProducer('compat-txn-truncated');
  await producer.connect();
  const txn = await producer.transaction();
  const aborted: Placed[] = [];
  for (let i = 0; i < 4; i++) aborted.push(...(await send(txn, T, [{ partition: 0, value: `gone-${i}` }])));
  await txn.abort(); // partition 0: gone-0..3 at 0..3, ABORT at 4
  const after = await send(plain, T, [{ partition: 0, value: 'kept-0' }]); // 5
  t.same(
    after.map((a) => a.offset),
    [5],
    'the plain record after the ABORT marker is at 5',
  );
  // kafkajs looks the leader up in its cached metadata: fetchTopicOffsets loads the topic's.
  const before = await admin.fetchTopicOffsets(T);
  t.equal(
    before.find((o) => o.partition === 0)?.high,
    '6',
    'high watermark 6 (4 records, a marker, 1 record)',
  );
  await admin.deleteTopicRecords({ topic: T, partitions: [{ partition: 0, offset: '2' }] });
  const offsets = await admin.fetchTopicOffsets(T);
  t.equal(
    offsets.find((o) => o.partition === 0)?.low,
    '2',
    'log start offset 2: inside the aborted transaction (0..4)',
  );
  const fresh = await Collector.start(kafka, 'read-committed-after-delete', {
    readUncommitted: false,
    topics: [T],
  });
  const freshRu = await Collector.start(kafka, 'read-uncommitted-after-delete', {
    readUncommitted: true,
    topics: [T],
  });
  await fresh.waitForAll(['kept-0']);
  await freshRu.waitForAll(['gone-2', 'gone-3', 'kept-0']);
  await sleep(200);
  await fresh.stop();
  await freshRu.stop();
  t.same(
    readBack(fresh, T, 0),
    [{ offset: 5, value: 'kept-0' }],
    'read_committed from the log start: only kept-0, not gone-2/3',
  );
  t.same(
    readBack(freshRu, T, 0).map((r) => `${r.offset}:${r.value}`),
    ['2:gone-2', '3:gone-3', '5:kept-0'],
    'read_uncommitted from the log start: gone-2, gone-3, kept-0',
  );
  t.comment(
    `(i) 4 aborted, records below 2 deleted, read_committed ${fresh.values(T).length}, read_uncommitted ${freshRu.values(T).length}`,
  );
});

t.test('no consumer got a record twice; broker stops cleanly; versions kafkajs used', async (t) => {
  t.same(committed.duplicates(), [], 'read_committed: no value twice');
  t.same(uncommitted.duplicates(), [], 'read_uncommitted: no value twice');
  await committed.stop();
  await uncommitted.stop();
  for (const p of [plain, ...producers]) await p.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
  wire.destroy();
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  for (const r of (exit.requests ?? []).filter((r) => r.clientId === CLIENT_ID))
    t.comment(`kafkajs ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
  t.comment(`whole file: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
