import t from 'tap';
import { ProtocolError } from '../../../protocol/primitives/errors.js';
import { CRC_POS, readBatchHeader, setBaseOffset, validateBatch } from '../../../protocol/records/batch.js';
import {
  buildControlBatch,
  buildRecordBatch,
  type DecodedRecord,
  decodeControlRecord,
  iterateRecords,
  type RecordInput,
  readRecords,
} from '../../../protocol/records/record.js';
import { compressibleBytes, makeRng, randomBytes, randomInt } from './helpers.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const LIMIT = { maxDecompressedBytes: 16 << 20 };

function randomRecords(rng: () => number, count: number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => {
    const nullKey = rng() < 0.2;
    const nullValue = rng() < 0.1;
    const headerCount = randomInt(rng, 4);
    return {
      key: nullKey ? null : rng() < 0.5 ? `key-${i}` : randomBytes(rng, randomInt(rng, 40)),
      value: nullValue
        ? null
        : rng() < 0.5
          ? compressibleBytes(rng, randomInt(rng, 3000))
          : randomBytes(rng, randomInt(rng, 200)),
      headers: Array.from({ length: headerCount }, (_, h) => ({
        key: h === 0 ? 'trace-id' : `h${h}-ünïcødé`,
        value: rng() < 0.2 ? null : randomBytes(rng, randomInt(rng, 20)),
      })),
      timestampDelta: randomInt(rng, 100_000),
    };
  });
}

function asBytes(v: Uint8Array | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : Buffer.from(v);
}

/** The records that `inputs` should decode to. */
function expected(inputs: RecordInput[], baseOffset: bigint, baseTimestamp: bigint): DecodedRecord[] {
  return inputs.map((input, i) => ({
    offsetDelta: i,
    timestampDelta: input.timestampDelta ?? 0,
    offset: baseOffset + BigInt(i),
    timestamp: baseTimestamp + BigInt(input.timestampDelta ?? 0),
    key: asBytes(input.key),
    value: asBytes(input.value),
    headers: (input.headers ?? []).map((h) => ({ key: h.key, value: asBytes(h.value) })),
  }));
}

t.test('build → iterate round trip for every codec', async (t) => {
  const rng = makeRng(11);
  for (const compression of CODECS) {
    for (const count of [1, 2, 17, 300]) {
      const records = randomRecords(rng, count);
      const batch = buildRecordBatch({ baseTimestamp: 1_700_000_000_000, records, compression });
      t.ok(validateBatch(batch).ok, `${compression} × ${count} validates`);
      setBaseOffset(batch, 5000);
      const decoded = Array.from(iterateRecords(batch, { ...LIMIT, verifyCrc: true }));
      t.same(decoded, expected(records, 5000n, 1_700_000_000_000n), `${compression} × ${count}: every field`);
      const viaAsync = await readRecords(batch, LIMIT);
      t.same(viaAsync, decoded, `${compression} × ${count}: readRecords agrees`);
    }
  }
});

t.test('header fields set by the builder', async (t) => {
  const batch = buildRecordBatch({
    baseOffset: 42n,
    partitionLeaderEpoch: 3,
    baseTimestamp: 1000,
    records: [
      { value: 'a', timestampDelta: 5 },
      { value: 'b', timestampDelta: 2 },
    ],
    compression: 'lz4',
    producerId: 99,
    producerEpoch: 4,
    baseSequence: 2_147_483_647,
    isTransactional: true,
  });
  t.match(readBatchHeader(batch), {
    baseOffset: 42n,
    partitionLeaderEpoch: 3,
    compression: 3,
    isTransactional: true,
    isControl: false,
    lastOffsetDelta: 1,
    baseTimestamp: 1000n,
    maxTimestamp: 1005n,
    producerId: 99n,
    producerEpoch: 4,
    baseSequence: 2_147_483_647,
    recordsCount: 2,
  });
  const defaults = readBatchHeader(buildRecordBatch({ baseTimestamp: 7, records: [{ value: null }] }));
  t.match(defaults, {
    baseOffset: 0n,
    partitionLeaderEpoch: -1,
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
  });
  t.match(defaults, { attributes: 0, maxTimestamp: 7n });
  const lat = readBatchHeader(
    buildRecordBatch({
      baseTimestamp: 7,
      maxTimestamp: 9,
      timestampType: 'LogAppendTime',
      records: [{ value: 'x' }],
    }),
  );
  t.match(lat, { timestampType: 'LogAppendTime', attributes: 8, maxTimestamp: 9n });
  t.throws(() => buildRecordBatch({ baseTimestamp: 0, records: [{ value: 'x', timestampDelta: 0.5 }] }), {
    code: 'INVALID_VALUE',
  });
  t.throws(() => buildRecordBatch({ baseTimestamp: 0, producerEpoch: 40000, records: [] }), {
    code: 'INVALID_VALUE',
  });
  t.throws(() => buildRecordBatch({ baseTimestamp: 2n ** 64n, records: [] }), { code: 'INVALID_VALUE' });
});

t.test('64-bit timestamps and offsets stay exact', async (t) => {
  const baseTimestamp = 2n ** 62n + 12345n;
  const batch = buildRecordBatch({
    baseOffset: 2n ** 60n,
    baseTimestamp,
    records: [
      { value: 'a', timestampDelta: 2 ** 52 + 1 },
      { value: 'b', timestampDelta: -(2 ** 50) - 3 },
    ],
  });
  const [a, b] = Array.from(iterateRecords(batch, LIMIT));
  t.equal(a?.offset, 2n ** 60n);
  t.equal(b?.offset, 2n ** 60n + 1n);
  t.equal(a?.timestamp, baseTimestamp + 2n ** 52n + 1n);
  t.equal(a?.timestampDelta, 2 ** 52 + 1);
  t.equal(b?.timestamp, baseTimestamp - 2n ** 50n - 3n);
});

t.test('decoded keys and values are views into the batch', async (t) => {
  const batch = buildRecordBatch({ baseTimestamp: 0, records: [{ key: 'key', value: 'value' }] });
  const [r] = Array.from(iterateRecords(batch, LIMIT));
  t.equal(r?.value?.buffer, batch.buffer);
  t.equal(r?.key?.buffer, batch.buffer);
});

t.test('compression bomb inside a batch stops at maxDecompressedBytes', async (t) => {
  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const batch = buildRecordBatch({
      baseTimestamp: 0,
      compression,
      records: [{ value: Buffer.alloc(8 << 20) }],
    });
    t.ok(batch.length < 1 << 20, `${compression}: ${batch.length} bytes on the wire`);
    t.throws(() => Array.from(iterateRecords(batch, { maxDecompressedBytes: 1 << 20 })), {
      code: 'INVALID_LENGTH',
    });
    await t.rejects(readRecords(batch, { maxDecompressedBytes: 1 << 20 }), { code: 'INVALID_LENGTH' });
    t.equal(Array.from(iterateRecords(batch, { maxDecompressedBytes: 9 << 20 }))[0]?.value?.length, 8 << 20);
  }
});

t.test('verifyCrc and malformed batches throw ProtocolError', async (t) => {
  const batch = buildRecordBatch({ baseTimestamp: 0, records: [{ value: 'abc' }, { value: 'def' }] });
  const flipped = Buffer.from(batch);
  flipped[flipped.length - 2]! ^= 1; // inside the last value
  t.throws(() => Array.from(iterateRecords(flipped, { ...LIMIT, verifyCrc: true })), {
    code: 'CORRUPT_RECORDS',
  });
  t.equal(Array.from(iterateRecords(flipped, LIMIT)).length, 2, 'without verifyCrc, the bytes decode');
  t.throws(() => Array.from(iterateRecords(batch.subarray(0, batch.length - 1), LIMIT)), ProtocolError);
  t.throws(() => Array.from(iterateRecords(batch.subarray(0, 30), LIMIT)), { code: 'TRUNCATED' });
  const extraCount = Buffer.from(batch);
  extraCount.writeInt32BE(3, 57);
  t.throws(() => Array.from(iterateRecords(extraCount, LIMIT)), { code: 'CORRUPT_RECORDS' });
  const fewer = Buffer.from(batch);
  fewer.writeInt32BE(1, 57);
  t.throws(() => Array.from(iterateRecords(fewer, LIMIT)), { code: 'CORRUPT_RECORDS' });
  t.equal(
    Array.from(iterateRecords(Buffer.concat([batch, Buffer.from('tail')]), LIMIT)).length,
    2,
    'bytes after the batch are ignored',
  );
});

t.test('control batches: COMMIT and ABORT markers', async (t) => {
  for (const type of ['COMMIT', 'ABORT'] as const) {
    const marker = buildControlBatch({
      producerId: 1234n,
      producerEpoch: 7,
      baseOffset: 88n,
      timestamp: 1_700_000_000_123,
      type,
      coordinatorEpoch: 42,
      partitionLeaderEpoch: 2,
    });
    t.ok(validateBatch(marker, { allowControlBatch: true }).ok);
    t.match(readBatchHeader(marker), {
      isControl: true,
      isTransactional: true,
      producerId: 1234n,
      producerEpoch: 7,
      baseSequence: -1,
      lastOffsetDelta: 0,
      recordsCount: 1,
      baseOffset: 88n,
      baseTimestamp: 1_700_000_000_123n,
      maxTimestamp: 1_700_000_000_123n,
      partitionLeaderEpoch: 2,
      compression: 0,
    });
    const records = Array.from(iterateRecords(marker, LIMIT));
    t.equal(records.length, 1);
    t.same(records[0]?.key, Buffer.from([0, 0, 0, type === 'COMMIT' ? 1 : 0]));
    t.same(records[0]?.value, Buffer.from([0, 0, 0, 0, 0, 42]));
    t.same(decodeControlRecord(records[0]!), {
      version: 0,
      type: type === 'COMMIT' ? 1 : 0,
      typeName: type,
      coordinatorEpoch: 42,
    });
    t.equal(marker.readUInt32BE(CRC_POS), readBatchHeader(marker).crc);
  }
  t.throws(() => decodeControlRecord({ key: null, value: null }), { code: 'CORRUPT_RECORDS' });
  t.same(decodeControlRecord({ key: Buffer.from([0, 0, 0, 3]), value: null }), {
    version: 0,
    type: 3,
    typeName: 'OTHER',
    coordinatorEpoch: null,
  });
});
