import t from 'tap';
import { ProtocolError } from '../../../protocol/primitives/errors.js';
import {
  ATTRIBUTES_POS,
  BASE_OFFSET_POS,
  BASE_SEQUENCE_POS,
  BASE_TIMESTAMP_POS,
  BATCH_ERROR_KAFKA_CODES,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_POS,
  CRC_POS,
  CRC_START_POS,
  computeBatchCrc,
  LAST_OFFSET_DELTA_POS,
  MAGIC_POS,
  MAX_TIMESTAMP_POS,
  PARTITION_LEADER_EPOCH_POS,
  PRODUCER_EPOCH_POS,
  PRODUCER_ID_POS,
  RECORDS_COUNT_POS,
  RECORDS_POS,
  readBatchBaseOffset,
  readBatchHeader,
  readBatchMaxTimestamp,
  readBatchProducerId,
  readSafeInt64,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  splitBatches,
  validateBatch,
  verifyBatchCrc,
} from '../../../protocol/records/batch.js';
import { crc32c } from '../../../protocol/records/crc32c.js';
import { buildControlBatch, buildRecordBatch, iterateRecords } from '../../../protocol/records/record.js';

const LIMIT = { maxDecompressedBytes: 1 << 20 };

function sampleBatch(count = 3, compression: 'none' | 'gzip' | 'zstd' = 'none'): Buffer {
  return buildRecordBatch({
    baseTimestamp: 1_700_000_000_000,
    compression,
    producerId: 7n,
    producerEpoch: 2,
    baseSequence: 10,
    records: Array.from({ length: count }, (_, i) => ({
      key: `k${i}`,
      value: `value ${i}`,
      headers: [{ key: 'h', value: `${i}` }],
      timestampDelta: i,
    })),
  });
}

/** Recompute the stored CRC after a test edits bytes inside its scope. */
function fixCrc(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32c(buf.subarray(CRC_START_POS)), CRC_POS);
  return buf;
}

/** What validateBatch returns for a rejected batch. */
function rejected(errorCode: string, reason: RegExp = /./): object {
  return { ok: false, errorCode, reason };
}

t.test('header layout constants', async (t) => {
  t.same(
    [
      BASE_OFFSET_POS,
      BATCH_LENGTH_POS,
      PARTITION_LEADER_EPOCH_POS,
      MAGIC_POS,
      CRC_POS,
      ATTRIBUTES_POS,
      LAST_OFFSET_DELTA_POS,
      BASE_TIMESTAMP_POS,
      MAX_TIMESTAMP_POS,
      PRODUCER_ID_POS,
      PRODUCER_EPOCH_POS,
      BASE_SEQUENCE_POS,
      RECORDS_COUNT_POS,
      RECORDS_POS,
    ],
    [0, 8, 12, 16, 17, 21, 23, 27, 35, 43, 51, 53, 57, 61],
  );
  t.equal(BATCH_HEADER_SIZE, 61);
  t.same(BATCH_ERROR_KAFKA_CODES, {
    CORRUPT_MESSAGE: 2,
    INVALID_RECORD: 87,
    UNSUPPORTED_COMPRESSION_TYPE: 76,
    UNSUPPORTED_VERSION: 35,
  });
});

t.test('readBatchHeader reads every field', async (t) => {
  const batch = buildRecordBatch({
    baseOffset: 1234567890123n,
    partitionLeaderEpoch: 9,
    baseTimestamp: 1_700_000_000_000n,
    records: [{ value: 'a' }, { value: 'b', timestampDelta: 50 }],
    compression: 'gzip',
    producerId: 2n ** 40n,
    producerEpoch: 3,
    baseSequence: 77,
    isTransactional: true,
  });
  const h = readBatchHeader(batch);
  t.match(h, {
    baseOffset: 1234567890123n,
    batchLength: batch.length - 12,
    sizeInBytes: batch.length,
    partitionLeaderEpoch: 9,
    magic: 2,
    crc: batch.readUInt32BE(CRC_POS),
    attributes: 0x11,
    compression: 1,
    timestampType: 'CreateTime',
    isTransactional: true,
    isControl: false,
    hasDeleteHorizon: false,
    lastOffsetDelta: 1,
    baseTimestamp: 1_700_000_000_000n,
    maxTimestamp: 1_700_000_000_050n,
    producerId: 2n ** 40n,
    producerEpoch: 3,
    baseSequence: 77,
    recordsCount: 2,
  });
  t.equal(readBatchBaseOffset(batch), 1234567890123);
  t.equal(readBatchMaxTimestamp(batch), 1_700_000_000_050);
  t.equal(readBatchProducerId(batch), 2 ** 40);
  // a header inside a larger buffer
  const shifted = Buffer.concat([Buffer.alloc(5), batch]);
  t.equal(readBatchHeader(shifted, 5).baseOffset, 1234567890123n);
  t.equal(readBatchBaseOffset(shifted, 5), 1234567890123);
  t.throws(() => readBatchHeader(batch.subarray(0, 60)), { code: 'TRUNCATED' });
  const legacy = Buffer.from(batch);
  legacy[MAGIC_POS] = 1;
  t.throws(() => readBatchHeader(legacy), { code: 'CORRUPT_RECORDS' });
});

t.test('readSafeInt64 is exact to ±(2^53 - 1) and refuses beyond', async (t) => {
  const buf = Buffer.alloc(8);
  for (const v of [
    0n,
    1n,
    -1n,
    2n ** 32n,
    -(2n ** 32n),
    2n ** 53n - 1n,
    -(2n ** 53n - 1n),
    123456789012345n,
  ]) {
    buf.writeBigInt64BE(v);
    t.equal(readSafeInt64(buf, 0), Number(v), `${v}`);
  }
  for (const v of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
    buf.writeBigInt64BE(v);
    t.throws(() => readSafeInt64(buf, 0), { code: 'INVALID_VALUE' }, `${v}`);
  }
  t.throws(() => readSafeInt64(buf, 1), { code: 'TRUNCATED' });
});

t.test('validateBatch accepts producer batches of every codec', async (t) => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const batch = buildRecordBatch({
      baseTimestamp: 1,
      compression,
      records: [{ key: null, value: 'x'.repeat(500) }, { value: null }, { value: '' }],
    });
    const result = validateBatch(batch);
    t.ok(result.ok, compression);
    if (result.ok) t.equal(result.header.recordsCount, 3);
  }
});

t.test('validateBatch rejects framing, magic, CRC and attribute problems', async (t) => {
  const good = sampleBatch();
  t.match(validateBatch(good.subarray(0, 10)), rejected('CORRUPT_MESSAGE', /cannot hold/));
  t.match(validateBatch(good.subarray(0, 40)), rejected('CORRUPT_MESSAGE', /shorter than its header/));
  t.match(validateBatch(good.subarray(0, good.length - 1)), rejected('CORRUPT_MESSAGE', /batchLength/));
  t.match(validateBatch(Buffer.concat([good, Buffer.alloc(1)])), rejected('CORRUPT_MESSAGE', /batchLength/));

  const legacy = Buffer.from(good);
  legacy[MAGIC_POS] = 1;
  t.match(validateBatch(legacy), rejected('INVALID_RECORD', /legacy MessageSet \(magic 1\)/));
  const magic3 = Buffer.from(good);
  magic3[MAGIC_POS] = 3;
  t.match(validateBatch(magic3), rejected('CORRUPT_MESSAGE', /unknown magic 3/));

  for (const pos of [CRC_POS, ATTRIBUTES_POS + 1, 40, good.length - 1]) {
    const flipped = Buffer.from(good);
    flipped[pos]! ^= 0x10;
    t.match(validateBatch(flipped), rejected('CORRUPT_MESSAGE', /CRC-32C mismatch/));
  }
  // bytes outside the CRC may change freely
  const outside = Buffer.from(good);
  outside.writeInt32BE(5, PARTITION_LEADER_EPOCH_POS);
  outside.writeBigInt64BE(99n, BASE_OFFSET_POS);
  t.ok(validateBatch(outside).ok, 'baseOffset and leader epoch are outside the CRC');

  const unusedBits = Buffer.from(good);
  unusedBits.writeUInt16BE(0x0100, ATTRIBUTES_POS);
  t.match(validateBatch(fixCrc(unusedBits)), rejected('CORRUPT_MESSAGE', /unused attribute bits/));

  const codec5 = Buffer.from(good);
  codec5.writeUInt16BE(5, ATTRIBUTES_POS);
  t.match(validateBatch(fixCrc(codec5)), rejected('UNSUPPORTED_COMPRESSION_TYPE', /codec id 5/));
});

t.test('validateBatch checks counts and offsets', async (t) => {
  const good = sampleBatch(3);
  const zero = buildRecordBatch({ baseTimestamp: 0, records: [] });
  t.match(validateBatch(zero), rejected('INVALID_RECORD', /no records/));

  const negative = Buffer.from(good);
  negative.writeInt32BE(-1, RECORDS_COUNT_POS);
  t.match(validateBatch(fixCrc(negative)), rejected('CORRUPT_MESSAGE', /negative record count/));

  const mismatch = Buffer.from(good);
  mismatch.writeInt32BE(5, LAST_OFFSET_DELTA_POS);
  t.match(validateBatch(fixCrc(mismatch)), rejected('INVALID_RECORD', /lastOffsetDelta/));

  const moreClaimed = Buffer.from(good);
  moreClaimed.writeInt32BE(4, RECORDS_COUNT_POS);
  moreClaimed.writeInt32BE(3, LAST_OFFSET_DELTA_POS);
  t.match(validateBatch(fixCrc(moreClaimed)), rejected('CORRUPT_MESSAGE', /records end after 3 of 4/));

  const fewerClaimed = Buffer.from(good);
  fewerClaimed.writeInt32BE(2, RECORDS_COUNT_POS);
  fewerClaimed.writeInt32BE(1, LAST_OFFSET_DELTA_POS);
  t.match(validateBatch(fixCrc(fewerClaimed)), rejected('CORRUPT_MESSAGE', /after the last of 2 records/));

  // record 0 starts at 61: length(1) attributes(1) timestampDelta(1) offsetDelta(1)
  const offsetDelta = Buffer.from(good);
  t.equal(offsetDelta[RECORDS_POS + 3], 0, 'record 0 offsetDelta byte');
  offsetDelta[RECORDS_POS + 3] = 10; // zig-zag 5
  t.match(validateBatch(fixCrc(offsetDelta)), rejected('INVALID_RECORD', /record 0 has offsetDelta 5/));
});

t.test('validateBatch walks record structure (structure mode) or only framing', async (t) => {
  const good = sampleBatch(2);
  // record 0: length, attributes, tsDelta, offsetDelta, keyLength at +4
  const keyTooLong = Buffer.from(good);
  t.equal(keyTooLong[RECORDS_POS + 4], 4, 'key length "k0" = 2, zig-zag 4');
  keyTooLong[RECORDS_POS + 4] = 40;
  fixCrc(keyTooLong);
  t.match(validateBatch(keyTooLong), rejected('CORRUPT_MESSAGE', /record 0/));
  t.ok(validateBatch(keyTooLong, { recordCheck: 'framing' }).ok, 'framing mode does not look inside records');
  t.throws(() => Array.from(iterateRecords(keyTooLong, LIMIT)), ProtocolError, 'decoding does');

  const nullHeaderKey = Buffer.from(good);
  // record 0 body: attr ts od keyLen k0 valLen "value 0" hdrCount hKeyLen ...
  const headerKeyPos = RECORDS_POS + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 7 + 1;
  t.equal(nullHeaderKey[headerKeyPos], 2, 'header key length 1');
  nullHeaderKey[headerKeyPos] = 1; // -1
  t.match(validateBatch(fixCrc(nullHeaderKey)), rejected('CORRUPT_MESSAGE', /null key/));

  const badVarint = Buffer.from(good);
  badVarint.fill(0xff, RECORDS_POS + 1, RECORDS_POS + 12);
  t.match(validateBatch(fixCrc(badVarint)), rejected('CORRUPT_MESSAGE'));
});

t.test('control batches are refused from producers unless allowed', async (t) => {
  const marker = buildControlBatch({
    producerId: 5n,
    producerEpoch: 1,
    baseOffset: 0,
    timestamp: 1,
    type: 'COMMIT',
    coordinatorEpoch: 3,
  });
  t.match(validateBatch(marker), rejected('INVALID_RECORD', /control/));
  t.ok(validateBatch(marker, { allowControlBatch: true }).ok);
});

t.test('splitBatches cuts views at batch boundaries and reports a partial tail', async (t) => {
  const a = sampleBatch(1);
  const b = sampleBatch(5, 'gzip');
  const c = sampleBatch(2, 'zstd');
  const all = Buffer.concat([a, b, c]);
  const whole = splitBatches(all);
  t.equal(whole.batches.length, 3);
  t.same(whole.batches, [a, b, c]);
  t.equal(whole.partial, null);
  t.equal(whole.batches[1]!.buffer, all.buffer, 'views, not copies');
  t.equal(whole.batches[1]!.byteOffset, all.byteOffset + a.length);

  for (const cut of [1, 11, 12, 30, c.length - 1]) {
    const r = splitBatches(all.subarray(0, a.length + b.length + cut));
    t.equal(r.batches.length, 2, `cut ${cut} into the last batch`);
    t.equal(r.partial?.length, cut);
  }
  t.same(splitBatches(Buffer.alloc(0)), { batches: [], partial: null });
  const bad = Buffer.from(a);
  bad.writeInt32BE(48, BATCH_LENGTH_POS);
  t.throws(() => splitBatches(bad), { code: 'CORRUPT_RECORDS' });
  bad.writeInt32BE(-5, BATCH_LENGTH_POS);
  t.throws(() => splitBatches(Buffer.concat([a, bad])), { code: 'CORRUPT_RECORDS' });
  const huge = Buffer.from(a);
  huge.writeInt32BE(0x7fffffff, BATCH_LENGTH_POS);
  t.same(splitBatches(huge), { batches: [], partial: huge }, 'a length past the end is a partial batch');
});

t.test('setBaseOffset and setPartitionLeaderEpoch patch without touching the CRC', async (t) => {
  const batch = sampleBatch(4, 'gzip');
  const crcBefore = batch.readUInt32BE(CRC_POS);
  for (const offset of [0, 1, 4294967295, 4294967296, 2 ** 53 - 1, -1, 12345678901234]) {
    setBaseOffset(batch, offset);
    t.equal(batch.readBigInt64BE(0), BigInt(offset), `number ${offset}`);
    t.equal(readBatchBaseOffset(batch), offset);
  }
  for (const offset of [0n, 2n ** 63n - 1n, -(2n ** 63n), 987654321987654321n]) {
    setBaseOffset(batch, offset);
    t.equal(batch.readBigInt64BE(0), offset, `bigint ${offset}`);
  }
  setBaseOffset(batch, 1000);
  setPartitionLeaderEpoch(batch, 17);
  t.equal(batch.readUInt32BE(CRC_POS), crcBefore);
  t.ok(verifyBatchCrc(batch));
  t.ok(validateBatch(batch).ok);
  const records = Array.from(iterateRecords(batch, LIMIT));
  t.same(
    records.map((r) => r.offset),
    [1000n, 1001n, 1002n, 1003n],
  );
  t.equal(readBatchHeader(batch).partitionLeaderEpoch, 17);

  t.throws(() => setBaseOffset(batch, 2 ** 53), { code: 'INVALID_VALUE' });
  t.throws(() => setBaseOffset(batch, 1.5), { code: 'INVALID_VALUE' });
  t.throws(() => setBaseOffset(batch, 2n ** 63n), { code: 'INVALID_VALUE' });
  t.throws(() => setPartitionLeaderEpoch(batch, 2 ** 31), { code: 'INVALID_VALUE' });
  t.throws(() => setBaseOffset(Buffer.alloc(20), 1), { code: 'TRUNCATED' });
});

t.test('setLogAppendTime sets bit 3 and maxTimestamp, and recomputes the CRC', async (t) => {
  for (const compression of ['none', 'zstd'] as const) {
    const batch = sampleBatch(3, compression);
    const crcBefore = batch.readUInt32BE(CRC_POS);
    setLogAppendTime(batch, 1_800_000_000_000);
    const h = readBatchHeader(batch);
    t.equal(h.timestampType, 'LogAppendTime');
    t.equal(h.maxTimestamp, 1_800_000_000_000n);
    t.equal(h.baseTimestamp, 1_700_000_000_000n, 'baseTimestamp kept');
    t.not(h.crc, crcBefore);
    t.equal(h.crc, computeBatchCrc(batch));
    t.ok(validateBatch(batch).ok);
    for (const r of iterateRecords(batch, { ...LIMIT, verifyCrc: true }))
      t.equal(r.timestamp, 1_800_000_000_000n);
    setLogAppendTime(batch, 5n);
    t.equal(readBatchHeader(batch).maxTimestamp, 5n);
    t.ok(verifyBatchCrc(batch));
  }
  const inLarger = Buffer.concat([sampleBatch(1), Buffer.from([1, 2, 3])]);
  setLogAppendTime(inLarger, 9);
  t.ok(verifyBatchCrc(inLarger), 'CRC scope ends at the batch end, not the buffer end');
  t.throws(() => setLogAppendTime(sampleBatch(1).subarray(0, 70), 1), { code: 'CORRUPT_RECORDS' });
});
