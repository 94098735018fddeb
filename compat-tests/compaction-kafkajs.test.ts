// Log compaction seen by kafkajs 2.2.4: a producer writes many updates for a few keys into a
// cleanup.policy=compact topic; with short cleaner and upload intervals the broker compacts the
// uploaded log, and a consumer reading from the beginning gets exactly the latest value per key at
// its original offset (gaps in between). Keyless records are refused at produce time. Then
// DeleteRecords moves the log start inside the compacted log, and later updates are compacted
// together with what is left.
import kafkajs from 'kafkajs';
import t from 'tap';
import { spawnBroker, teardownBroker } from './support/broker-process.js';

const { Kafka, logLevel } = kafkajs;

t.setTimeout(120_000);

const broker = await spawnBroker({
  config: {
    autoCreateTopicsEnable: false,
    nodeId: 0,
    uploadMaxAgeMs: 50,
    logCleanerBackoffMs: 100,
    groupInitialRebalanceDelayMs: 0,
    logLevel: 'info', // the cleaner's "compaction pass" lines carry the bytes before/after
  },
});
t.teardown(teardownBroker(broker));
const kafka = new Kafka({
  clientId: 'compat-compaction',
  brokers: [broker.bootstrap],
  logLevel: logLevel.NOTHING,
  retry: { retries: 3, initialRetryTime: 100 },
});
const admin = kafka.admin();
await admin.connect();
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
t.teardown(async () => {
  await producer.disconnect().catch(() => undefined);
  await admin.disconnect().catch(() => undefined);
});

const TOPIC = 'compacted-users';
const KEYS = 8;
const UPDATES = 60;

interface Seen {
  offset: number;
  key: string;
  value: string | null;
}

/** Everything a fresh consumer reads from the beginning up to the high watermark. */
async function consumeAll(groupId: string): Promise<Seen[]> {
  const offsets = await admin.fetchTopicOffsets(TOPIC);
  const high = Number(offsets[0]!.high);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  const seen: Seen[] = [];
  try {
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; saw ${seen.length} records`)), 20_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const offset = Number(message.offset);
            seen.push({
              offset,
              key: message.key?.toString() ?? '',
              value: message.value === null ? null : message.value.toString(),
            });
            if (offset >= high - 1) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** The latest record per key, as written (offset of each send from the produce answer). */
const written = new Map<string, Seen>();

async function send(messages: { key: string; value: string | null }[]): Promise<void> {
  const [meta] = await producer.send({ topic: TOPIC, messages });
  const base = Number(meta!.baseOffset);
  messages.forEach((m, i) => {
    written.set(m.key, { offset: base + i, key: m.key, value: m.value });
  });
}

/** Compaction passes the broker logged so far (pino JSON on stderr). */
function passes(): { bytesBefore: number; bytesAfter: number; swapped: boolean }[] {
  return broker
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"compaction pass"'))
    .map((l) => JSON.parse(l) as { bytesBefore: number; bytesAfter: number; swapped: boolean });
}

async function waitForCompaction(expected: () => Seen[], label: string): Promise<Seen[]> {
  const deadline = Date.now() + 30_000;
  let last: Seen[] = [];
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    last = await consumeAll(`${label}-${attempt}`);
    if (last.length === expected().length) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  return last;
}

t.test('a consumer from the beginning sees exactly the latest value per key', async (t) => {
  await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      },
    ],
  });
  for (let u = 0; u < UPDATES; u++) {
    await send(
      Array.from({ length: KEYS }, (_, k) => ({ key: `user-${k}`, value: `user-${k} update ${u}` })),
    );
    if (u % 10 === 9) await new Promise((r) => setTimeout(r, 80)); // several uploads
  }
  await send([{ key: 'user-3', value: null }]); // a tombstone, younger than delete.retention.ms: kept
  const expected = () => [...written.values()].sort((a, b) => a.offset - b.offset);
  const seen = await waitForCompaction(expected, 'first');
  t.same(seen, expected(), 'latest per key at the original offsets, the fresh tombstone included');
  t.equal(seen.length, KEYS);
  const done = passes().filter((p) => p.swapped);
  t.ok(done.length >= 1, 'the broker logged a compaction pass');
  const before = Math.max(...done.map((p) => p.bytesBefore));
  const after = Math.min(...done.map((p) => p.bytesAfter));
  t.ok(after < before, `compacted ${before} → ${after} bytes`);
  t.comment(
    `${KEYS * UPDATES + 1} records, ${KEYS} keys: passes (before → after bytes): ` +
      done.map((p) => `${p.bytesBefore}→${p.bytesAfter}`).join(', '),
  );

  const refused = await producer.send({ topic: TOPIC, messages: [{ value: 'no key' }] }).then(
    () => 'accepted',
    (err: { type?: string; message?: string }) => err.type ?? String(err.message),
  );
  t.equal(refused, 'INVALID_RECORD', 'keyless records are refused for compacted topics');
});

t.test('DeleteRecords inside the compacted log, then more updates', async (t) => {
  // Kafka refuses DeleteRecords on compact-only topics; compact,delete allows it.
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name: TOPIC,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact,delete' },
          { name: 'retention.ms', value: '-1' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      },
    ],
  });
  const sorted = [...written.values()].sort((a, b) => a.offset - b.offset);
  const cut = sorted[4]!.offset; // keep the last four keys' records
  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: String(cut) }] });
  for (const s of sorted.slice(0, 4)) written.delete(s.key);
  await send([
    { key: sorted[5]!.key, value: 'after delete-records' },
    { key: 'user-new', value: 'new key' },
  ]);
  const expected = () => [...written.values()].sort((a, b) => a.offset - b.offset);
  const seen = await waitForCompaction(expected, 'second');
  t.same(seen, expected(), 'what is left after the log start, compacted with the new updates');
  t.equal(
    Number((await admin.fetchTopicOffsets(TOPIC))[0]!.low),
    cut,
    'the log start stays where it was set',
  );
});
