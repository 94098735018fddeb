// Legacy MessageSets (magic 0/1), using kafkajs 2.2.4's own MessageSet encoder (Produce v0-2) for
// real client bytes.
import t from 'tap';
import { ProtocolError } from '../../../protocol/primitives/errors.js';
import { validateBatch } from '../../../protocol/records/batch.js';
import {
  crc32Ieee,
  crc32IeeeJs,
  decodeMessageSet,
  detectMagic,
  legacyMessageSetVerdict,
} from '../../../protocol/records/legacy.js';
import { buildRecordBatch } from '../../../protocol/records/record.js';
import { loadKafkajs, makeRng, randomBytes, randomInt } from './helpers.js';

const kafkajs = loadKafkajs();
const LIMIT = { maxDecompressedBytes: 1 << 20 };

const ENTRIES = [
  { key: 'k0', value: 'v0', timestamp: 1_600_000_000_000 },
  { key: null, value: 'v1', timestamp: 1_600_000_000_001 },
  { key: 'k2', value: null, timestamp: 1_600_000_000_002 },
];

function messageSet(messageVersion: 0 | 1): Buffer {
  return kafkajs.MessageSet({ messageVersion, compression: kafkajs.Types.None, entries: ENTRIES }).buffer;
}

/** What kafkajs Produce v2 sends with compression: one magic-1 wrapper around a relative-offset set. */
async function compressedMessageSet(): Promise<Buffer> {
  const inner = kafkajs.MessageSet({ messageVersion: 1, compression: kafkajs.Types.GZIP, entries: ENTRIES });
  const value = await kafkajs.Codecs[kafkajs.Types.GZIP]!().compress(inner);
  return kafkajs.MessageSet({
    messageVersion: 1,
    entries: [{ compression: kafkajs.Types.GZIP, timestamp: ENTRIES[0]!.timestamp, value }],
  }).buffer;
}

t.test('CRC-32 (IEEE): zlib and the JS fallback agree', async (t) => {
  t.equal(crc32Ieee(Buffer.from('123456789')), 0xcbf43926);
  t.equal(crc32IeeeJs(Buffer.from('123456789')), 0xcbf43926);
  const rng = makeRng(31);
  for (let i = 0; i < 200; i++) {
    const buf = randomBytes(rng, randomInt(rng, 2000));
    const init = i % 2 === 0 ? 0 : (rng() * 2 ** 32) >>> 0;
    t.equal(crc32IeeeJs(buf, init), crc32Ieee(buf, init));
  }
});

t.test('detectMagic tells the formats apart', async (t) => {
  t.equal(detectMagic(messageSet(0)), 0);
  t.equal(detectMagic(messageSet(1)), 1);
  t.equal(detectMagic(buildRecordBatch({ baseTimestamp: 0, records: [{ value: 'x' }] })), 2);
  t.equal(detectMagic(Buffer.alloc(16)), null);
});

t.test('decodes kafkajs magic 0 and magic 1 message sets', async (t) => {
  const v0 = decodeMessageSet(messageSet(0), LIMIT);
  t.equal(v0.partial, null);
  t.same(
    v0.messages.map((m) => [
      m.offset,
      m.magic,
      m.timestamp,
      m.key?.toString() ?? null,
      m.value?.toString() ?? null,
    ]),
    [
      [-1n, 0, null, 'k0', 'v0'],
      [-1n, 0, null, null, 'v1'],
      [-1n, 0, null, 'k2', null],
    ],
  );
  const v1 = decodeMessageSet(messageSet(1), LIMIT);
  t.same(
    v1.messages.map((m) => [m.magic, m.timestampType, m.timestamp, m.key?.toString() ?? null]),
    [
      [1, 'CreateTime', 1_600_000_000_000n, 'k0'],
      [1, 'CreateTime', 1_600_000_000_001n, null],
      [1, 'CreateTime', 1_600_000_000_002n, 'k2'],
    ],
  );
});

t.test('expands a compressed magic-1 wrapper into absolute offsets', async (t) => {
  const set = await compressedMessageSet();
  const wrapped = decodeMessageSet(set, { ...LIMIT, expandCompressed: false });
  t.equal(wrapped.messages.length, 1);
  t.equal(wrapped.messages[0]?.compression, 1);
  // the broker would have assigned the wrapper the absolute offset of the last inner message
  const assigned = Buffer.from(set);
  assigned.writeBigInt64BE(100n, 0);
  const expanded = decodeMessageSet(assigned, LIMIT);
  t.same(
    expanded.messages.map((m) => [m.offset, m.value?.toString() ?? null, m.timestamp]),
    [
      [98n, 'v0', 1_600_000_000_000n],
      [99n, 'v1', 1_600_000_000_001n],
      [100n, null, 1_600_000_000_002n],
    ],
  );
  t.throws(() => decodeMessageSet(assigned, { maxDecompressedBytes: 10 }), { code: 'INVALID_LENGTH' });
});

t.test('corruption, partial tails and the produce verdict', async (t) => {
  const good = messageSet(1);
  t.match(legacyMessageSetVerdict(good), {
    ok: false,
    errorCode: 'UNSUPPORTED_VERSION',
    reason: /magic 1 \(3 messages\)/,
  });
  t.match(legacyMessageSetVerdict(messageSet(0)), { errorCode: 'UNSUPPORTED_VERSION' });
  t.match(legacyMessageSetVerdict(await compressedMessageSet()), { errorCode: 'UNSUPPORTED_VERSION' });

  const flipped = Buffer.from(good);
  flipped[30]! ^= 1;
  t.throws(() => decodeMessageSet(flipped, LIMIT), { code: 'CORRUPT_RECORDS', message: /CRC-32 mismatch/ });
  t.match(legacyMessageSetVerdict(flipped), { errorCode: 'CORRUPT_MESSAGE', reason: /CRC-32 mismatch/ });
  t.equal(decodeMessageSet(flipped, { ...LIMIT, verifyCrc: false }).messages.length, 3);

  const cut = good.subarray(0, good.length - 4);
  const partial = decodeMessageSet(cut, LIMIT);
  t.equal(partial.messages.length, 2);
  t.ok(partial.partial && partial.partial.length > 0);
  t.match(legacyMessageSetVerdict(cut), { errorCode: 'CORRUPT_MESSAGE', reason: /partial/ });

  const tiny = Buffer.from(good);
  tiny.writeInt32BE(5, 8);
  t.throws(() => decodeMessageSet(tiny, LIMIT), ProtocolError);
  t.match(legacyMessageSetVerdict(buildRecordBatch({ baseTimestamp: 0, records: [{ value: 'x' }] })), {
    errorCode: 'CORRUPT_MESSAGE',
    reason: /not a legacy MessageSet/,
  });
  t.match(validateBatch(good), { ok: false, errorCode: 'INVALID_RECORD', reason: /legacy MessageSet/ });
});

t.test('random mutations of legacy sets only ever raise ProtocolError', async (t) => {
  const rng = makeRng(32);
  const samples = [messageSet(0), messageSet(1), await compressedMessageSet()];
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    const sample = samples[i % samples.length]!;
    const m = Buffer.from(sample.subarray(0, sample.length - randomInt(rng, 3)));
    for (let f = 0; f < 1 + randomInt(rng, 3); f++) m[randomInt(rng, m.length)] = randomInt(rng, 256);
    try {
      decodeMessageSet(m, { ...LIMIT, verifyCrc: i % 2 === 0 });
    } catch (err) {
      if (!(err instanceof ProtocolError)) failures++;
    }
    const verdict = legacyMessageSetVerdict(m);
    if (verdict.ok !== false) failures++;
  }
  t.equal(failures, 0);
});
