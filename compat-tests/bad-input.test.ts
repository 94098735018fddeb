// Bad input over raw TCP against a StreamHouse broker process, while a kafkajs producer on its own
// connection keeps producing with acks=-1. Framing errors (garbage, a 2 GiB or negative size prefix,
// an unknown API key, a frame too short for a header, a body that does not decode) close only the
// offending connection, promptly and without the broker allocating what the frame claims; a
// truncated frame followed by a close is harmless. Protocol-level errors are answered and leave the
// connection usable: ApiVersions v99 → v0 body with UNSUPPORTED_VERSION and the API list (KIP-511),
// a batch with a bad CRC → CORRUPT_MESSAGE for that partition only, a legacy magic-1 MessageSet →
// an error for that partition, Produce v2 → UNSUPPORTED_VERSION. At the end every record the
// bystander producer had acknowledged is readable, and the broker process is still alive.
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import t from 'tap';
import { decodeResponse, encodeRequest } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { Metadata, Produce } from '../protocol/messages/index.js';
import { crc32Ieee } from '../protocol/records/legacy.js';
import { buildRecordBatch } from '../protocol/records/record.js';
import { spawnBroker, teardownBroker } from './support/broker-process.js';
import type { TapTest } from './support/tools.js';
import { advertisedApis, ensureTopic, produceRaw, readPartition, WireClient } from './support/wire-client.js';

const { Kafka, logLevel } = kafkajs;

t.setTimeout(120_000);

const broker = await spawnBroker({ config: { numPartitions: 2 } });
t.teardown(teardownBroker(broker));
const CLOSE_WITHIN_MS = 5_000;

const clients: WireClient[] = [];
t.teardown(() => {
  for (const c of clients) c.destroy();
});
/** A connection that stays open until the end of the file. */
async function connected(): Promise<WireClient> {
  const c = await WireClient.connect(broker.bootstrap, 'compat-bad-input');
  clients.push(c);
  return c;
}

/** Resident memory of the broker process (Linux /proc), in bytes; null elsewhere. */
function brokerRssBytes(): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${broker.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Write `bytes` on a fresh connection and expect the broker to close it within CLOSE_WITHIN_MS. */
async function expectClosed(t: TapTest, bytes: Buffer, what: string): Promise<void> {
  const c = await WireClient.connect(broker.bootstrap, 'compat-bad-input');
  const started = Date.now();
  c.writeRaw(bytes);
  const closed = await Promise.race([
    c.closed.then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), CLOSE_WITHIN_MS)),
  ]);
  const elapsedMs = Date.now() - started;
  c.destroy();
  t.ok(closed, `${what}: connection closed by the broker (${elapsedMs} ms)`);
}

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** A request header v1 (key, version, correlation id, client id) followed by `body`, framed. */
function request(apiKey: number, apiVersion: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(7, 4);
  const clientId = Buffer.from('\x00\x03bad', 'latin1');
  return frame(Buffer.concat([header, clientId, body]));
}

// ---- the bystander: a kafkajs producer that keeps producing throughout ------------------------

const BYSTANDER_TOPIC = 'bad-input-bystander';
const kafka = new Kafka({
  clientId: 'compat-bystander',
  brokers: [broker.bootstrap],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 10_000,
});
const producer = kafka.producer();
await producer.connect();
const acknowledged: { partition: number; offset: bigint; value: string }[] = [];
const sendErrors: string[] = [];
let stopBystander = false;
const bystander = (async () => {
  for (let round = 0; !stopBystander; round++) {
    const partition = round % 2;
    const values = Array.from({ length: 5 }, (_, j) => `round ${round} record ${j}`);
    try {
      const [reply] = await producer.send({
        topic: BYSTANDER_TOPIC,
        acks: -1,
        messages: values.map((value) => ({ partition, value })),
      });
      if (reply === undefined || reply.errorCode !== 0) throw new Error(`reply ${JSON.stringify(reply)}`);
      for (const [j, value] of values.entries()) {
        acknowledged.push({ partition, offset: BigInt(reply.baseOffset!) + BigInt(j), value });
      }
    } catch (err) {
      sendErrors.push(String(err));
    }
  }
})();
t.teardown(async () => {
  stopBystander = true;
  await bystander;
  await producer.disconnect().catch(() => undefined);
});

// ---- framing errors: the connection is closed ------------------------------------------------

t.test('garbage bytes', async (t) => {
  await expectClosed(
    t,
    Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
    'an HTTP request (size prefix 1.2 GB)',
  );
  const random = Buffer.alloc(64);
  for (let i = 0; i < random.length; i++) random[i] = (i * 131 + 17) & 0xff;
  random.writeInt32BE(60, 0); // plausible size, garbage header: api key 0x1194
  await expectClosed(t, random, 'a small frame of garbage');
});

t.test('2 GiB and negative size prefixes', async (t) => {
  const rssBefore = brokerRssBytes();
  await expectClosed(t, Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 1, 0, 0]), 'size 0x7fffffff');
  await expectClosed(t, Buffer.from([0xff, 0xff, 0xff, 0xff]), 'size -1');
  await expectClosed(t, Buffer.from([0x80, 0x00, 0x00, 0x00, 1, 2, 3]), 'size -2^31');
  // A frame just over socket.request.max.bytes (100 MiB): refused before it is buffered.
  const overLimit = Buffer.alloc(4 + 64 * 1024);
  overLimit.writeInt32BE(100 * 1024 * 1024 + 1, 0);
  await expectClosed(t, overLimit, 'size 100 MiB + 1 (then 64 KiB of it)');
  const rssAfter = brokerRssBytes();
  if (rssBefore !== null && rssAfter !== null) {
    t.ok(
      rssAfter - rssBefore < 64 * 1024 * 1024,
      `broker RSS grew ${((rssAfter - rssBefore) / 1048576).toFixed(1)} MiB (< 64 MiB)`,
    );
  }
});

t.test('truncated frame, then the client closes', async (t) => {
  const c = await WireClient.connect(broker.bootstrap);
  const partial = request(18, 3, Buffer.alloc(40)).subarray(0, 30);
  c.writeRaw(partial);
  await new Promise((r) => setTimeout(r, 100));
  c.close();
  await c.closed;
  t.ok(broker.alive(), 'broker alive');
  const fresh = await WireClient.connect(broker.bootstrap);
  t.ok((await advertisedApis(fresh)).has(0), 'a new connection is served');
  fresh.destroy();
});

t.test('unknown API key, unsupported version, malformed header and body', async (t) => {
  await expectClosed(t, request(999, 0), 'api key 999');
  await expectClosed(t, request(-1, 0), 'api key -1');
  await expectClosed(t, request(1, 99), 'Fetch v99');
  await expectClosed(t, frame(Buffer.alloc(0)), 'an empty frame');
  await expectClosed(t, frame(Buffer.from([0, 3, 0])), 'a 3-byte frame (no room for a header)');
  // Metadata v1 whose topic array claims 2^31 - 1 entries in a 4-byte body.
  const hugeArray = Buffer.alloc(4);
  hugeArray.writeInt32BE(0x7fffffff);
  const rssBefore = brokerRssBytes();
  await expectClosed(t, request(3, 1, hugeArray), 'Metadata with a 2^31-1 element array and no elements');
  const rssAfter = brokerRssBytes();
  if (rssBefore !== null && rssAfter !== null)
    t.ok(rssAfter - rssBefore < 64 * 1024 * 1024, 'no allocation for the claimed array');
  // A valid Metadata v1 request followed by trailing garbage inside the frame.
  const valid = Buffer.concat(
    encodeRequest({ apiKey: 3, apiVersion: 1, correlationId: 1, clientId: 'x' }, { topics: [] }),
  );
  const withTrailing = Buffer.concat([valid.subarray(4), Buffer.from('junk')]);
  await expectClosed(t, frame(withTrailing), 'trailing bytes after a Metadata body');
});

// ---- protocol errors: answered, the connection stays usable -----------------------------------

t.test('ApiVersions v99 → v0 body with UNSUPPORTED_VERSION and the API list', async (t) => {
  const c = await WireClient.connect(broker.bootstrap);
  t.teardown(() => c.destroy());
  // A v3+ request would carry a v2 header; the broker cannot know that for v99, and must read only
  // the v1 part (key, version, correlation id, client id) to answer.
  const response = await c.rawRequest(18, 99, Buffer.from([0x00]));
  const { body } = decodeResponse(18, 0, response);
  t.equal(body.errorCode, ErrorCode.UNSUPPORTED_VERSION, 'error 35');
  const keys = body.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[];
  const apiVersions = keys.find((k) => k.apiKey === 18);
  t.ok(
    apiVersions && apiVersions.minVersion === 0 && apiVersions.maxVersion >= 3,
    'the list includes ApiVersions 0..3+',
    { apiVersions },
  );
  t.ok(keys.some((k) => k.apiKey === 0) && keys.some((k) => k.apiKey === 1), 'and Produce and Fetch');
  const apis = await advertisedApis(c);
  t.same(
    [...apis.keys()].sort((a, b) => a - b),
    keys.map((k) => k.apiKey).sort((a, b) => a - b),
    'same connection still answers; same list as a v2 ApiVersions',
  );
});

t.test('Produce with a corrupt batch: CORRUPT_MESSAGE for that partition only', async (t) => {
  const topic = 'bad-input-crc';
  const c = await connected();
  t.equal(await ensureTopic(c, topic), 2, 'topic with 2 partitions');
  const good = buildRecordBatch({ baseTimestamp: Date.now(), records: [{ key: 'k', value: 'good' }] });
  const bad = buildRecordBatch({ baseTimestamp: Date.now(), records: [{ key: 'k', value: 'flipped' }] });
  bad[bad.length - 1]! ^= 0x01; // a payload bit: the CRC-32C no longer matches
  const response = await c.request(Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [
      {
        name: topic,
        partitionData: [
          { index: 0, records: good },
          { index: 1, records: bad },
        ],
      },
    ],
  });
  const parts = response.responses[0]!.partitionResponses;
  t.same(
    parts.map((p) => [p.index, p.errorCode]),
    [
      [0, ErrorCode.NONE],
      [1, ErrorCode.CORRUPT_MESSAGE],
    ],
    'partition 0 appended, partition 1 CORRUPT_MESSAGE',
  );
  const truncated = good.subarray(0, good.length - 3);
  const r2 = await produceRaw(c, topic, 1, truncated);
  t.equal(r2.errorCode, ErrorCode.CORRUPT_MESSAGE, 'a truncated batch: CORRUPT_MESSAGE');
  const stillUsable = await c.request(Metadata, 4, {
    topics: [{ name: topic }],
    allowAutoTopicCreation: false,
  });
  t.equal(stillUsable.topics[0]?.errorCode, ErrorCode.NONE, 'connection still usable');
  t.same(
    (await readPartition(c, topic, 0)).map((r) => r.value?.toString()),
    ['good'],
    'partition 0 holds the good record',
  );
  t.same(await readPartition(c, topic, 1), [], 'partition 1 holds nothing');
});

t.test('Produce with a legacy magic-1 MessageSet: a clear error, connection usable', async (t) => {
  const topic = 'bad-input-legacy';
  const c = await connected();
  await ensureTopic(c, topic);
  // v8: the first version whose response carries an error message.
  const response = await produceRaw(
    c,
    topic,
    0,
    legacyMessageSet(Buffer.from('old key'), Buffer.from('old value')),
    { version: 8 },
  );
  const clear: number[] = [
    ErrorCode.INVALID_RECORD,
    ErrorCode.UNSUPPORTED_VERSION,
    ErrorCode.CORRUPT_MESSAGE,
  ];
  t.ok(
    clear.includes(response.errorCode),
    `error ${response.errorCode} (Kafka 3.x answers INVALID_RECORD 87)`,
    { response },
  );
  t.match(
    response.errorMessage ?? '',
    /magic|MessageSet|format/i,
    'the error message names the record format',
    { errorMessage: response.errorMessage },
  );
  t.comment(`magic-1 MessageSet → error ${response.errorCode}: ${response.errorMessage}`);
  const ok = await produceRaw(
    c,
    topic,
    0,
    buildRecordBatch({ baseTimestamp: Date.now(), records: [{ value: 'v2' }] }),
  );
  t.same(
    [ok.errorCode, ok.baseOffset],
    [ErrorCode.NONE, 0n],
    'a magic-2 batch on the same connection lands at offset 0',
  );
});

t.test('Produce with records that are not a batch: an error each, nothing appended', async (t) => {
  const topic = 'bad-input-not-a-batch';
  const c = await connected();
  await ensureTopic(c, topic);
  const unknownMagic = Buffer.alloc(80);
  unknownMagic.writeInt32BE(68, 8); // a plausible batchLength
  unknownMagic[16] = 7; // magic
  const cases: [string, Buffer | null][] = [
    ['10 bytes (shorter than a batch header)', Buffer.alloc(10, 1)],
    ['magic 7', unknownMagic],
    ['an empty record set', Buffer.alloc(0)],
    ['null records', null],
  ];
  for (const [what, records] of cases) {
    const r = await c.request(Produce, 8, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    });
    const p = r.responses[0]!.partitionResponses[0]!;
    t.not(p.errorCode, ErrorCode.NONE, `${what}: error ${p.errorCode}`);
    t.comment(`${what} → error ${p.errorCode}: ${p.errorMessage}`);
  }
  t.same(await readPartition(c, topic, 0), [], 'nothing appended; the connection still serves Fetch');
});

t.test('Produce v2 → UNSUPPORTED_VERSION, connection usable', async (t) => {
  const topic = 'bad-input-v2';
  const c = await connected();
  await ensureTopic(c, topic);
  const batch = buildRecordBatch({ baseTimestamp: Date.now(), records: [{ value: 'x' }] });
  const v2 = await produceRaw(c, topic, 0, batch, { version: 2 });
  t.equal(v2.errorCode, ErrorCode.UNSUPPORTED_VERSION, 'UNSUPPORTED_VERSION');
  const v3 = await produceRaw(c, topic, 0, batch, { version: 3 });
  t.same(
    [v3.errorCode, v3.baseOffset],
    [ErrorCode.NONE, 0n],
    'Produce v3 on the same connection works, offset 0 (v2 wrote nothing)',
  );
});

t.test('every acknowledged bystander record is readable; the broker is alive', async (t) => {
  // Let the bystander run a little longer than the last bad input, then stop it.
  await new Promise((r) => setTimeout(r, 300));
  stopBystander = true;
  await bystander;
  t.same(sendErrors, [], 'the bystander producer saw no errors');
  t.ok(acknowledged.length >= 50, `the bystander produced ${acknowledged.length} records meanwhile`);
  const c = await connected();
  for (const partition of [0, 1]) {
    const want = acknowledged
      .filter((a) => a.partition === partition)
      .sort((a, b) => (a.offset < b.offset ? -1 : 1));
    const got = await readPartition(c, BYSTANDER_TOPIC, partition);
    t.same(
      got.map((r) => [r.offset, r.value?.toString()]),
      want.map((a) => [a.offset, a.value]),
      `partition ${partition}: all ${want.length} acknowledged records, at their offsets`,
    );
  }
  t.ok(broker.alive(), 'broker process alive');
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'and it stops cleanly');
});

/** One uncompressed magic-1 message (CRC-32 IEEE over magic..end), offset 0. */
function legacyMessageSet(key: Buffer, value: Buffer): Buffer {
  const body = Buffer.alloc(1 + 1 + 8 + 4 + key.length + 4 + value.length);
  let pos = 0;
  pos = body.writeInt8(1, pos); // magic
  pos = body.writeInt8(0, pos); // attributes
  pos = body.writeBigInt64BE(BigInt(Date.now()), pos);
  pos = body.writeInt32BE(key.length, pos);
  pos += key.copy(body, pos);
  pos = body.writeInt32BE(value.length, pos);
  value.copy(body, pos);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(4 + body.length, 8);
  head.writeUInt32BE(crc32Ieee(body), 12);
  return Buffer.concat([head, body]);
}
