/**
 * RecordBatch (magic 2): header layout, framing of a records blob into batches, produce-path
 * validation, and in-place patching of the fields a broker assigns.
 *
 * RecordBatch :=
 *   baseOffset INT64, batchLength INT32 (bytes after this field), partitionLeaderEpoch INT32,
 *   magic INT8 (= 2), crc UINT32 (CRC-32C of bytes [21, end of batch)), attributes INT16,
 *   lastOffsetDelta INT32, baseTimestamp INT64, maxTimestamp INT64, producerId INT64,
 *   producerEpoch INT16, baseSequence INT32, recordsCount INT32,
 *   records := Record{recordsCount}  |  one compressed block holding them (codec in attributes)
 * Record :=
 *   length VARINT (bytes that follow), attributes INT8, timestampDelta VARLONG, offsetDelta VARINT,
 *   keyLength VARINT (-1 = null), key, valueLength VARINT (-1 = null), value,
 *   headerCount VARINT, { headerKeyLength VARINT, headerKey (UTF-8), headerValueLength VARINT, headerValue }*
 * attributes: bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), bit 3 timestamp type
 *   (1 = LogAppendTime), bit 4 transactional, bit 5 control, bit 6 delete horizon set, bits 7-15 zero.
 *
 * Only baseOffset, batchLength and partitionLeaderEpoch lie outside the CRC, so assigning offsets and
 * the leader epoch never touches the CRC; switching to LogAppendTime does (attributes, maxTimestamp).
 */
import { ErrorCode } from '../error-codes.js';
import { ProtocolError } from '../primitives/errors.js';
import { readVarint, varintState } from '../primitives/varint.js';
import { compressionName } from './compression.js';
import { crc32c } from './crc32c.js';

// ---------------------------------------------------------------------------------------------
// Layout

export const BASE_OFFSET_POS = 0;
export const BATCH_LENGTH_POS = 8;
export const PARTITION_LEADER_EPOCH_POS = 12;
export const MAGIC_POS = 16;
export const CRC_POS = 17;
export const ATTRIBUTES_POS = 21;
export const LAST_OFFSET_DELTA_POS = 23;
export const BASE_TIMESTAMP_POS = 27;
export const MAX_TIMESTAMP_POS = 35;
export const PRODUCER_ID_POS = 43;
export const PRODUCER_EPOCH_POS = 51;
export const BASE_SEQUENCE_POS = 53;
export const RECORDS_COUNT_POS = 57;
/** Where the records (or the compressed block) start. */
export const RECORDS_POS = 61;
export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes of a batch that batchLength does not count. */
export const BATCH_LOG_OVERHEAD = 12;
/** The CRC covers [CRC_START_POS, end of batch). */
export const CRC_START_POS = ATTRIBUTES_POS;
/** Smallest legal batchLength: a header with no records. */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD;
export const CURRENT_MAGIC = 2;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_BIT = 0x08;
export const TRANSACTIONAL_BIT = 0x10;
export const CONTROL_BIT = 0x20;
export const DELETE_HORIZON_BIT = 0x40;
export const UNUSED_ATTRIBUTE_BITS = 0xff80;

/** Smallest record body: attributes, timestampDelta, offsetDelta, keyLength, valueLength, headerCount. */
const MIN_RECORD_BODY_SIZE = 6;

export type TimestampType = 'CreateTime' | 'LogAppendTime';

// ---------------------------------------------------------------------------------------------
// Reading

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Read an INT64 as a JS number. This is the one place where 64-bit wire fields become numbers on
 * hot paths: exact for |v| ≤ 2^53 - 1, ProtocolError 'INVALID_VALUE' beyond. The fields read this
 * way are provably in range when honest: offsets (2^53 offsets is 285 years at a million records a
 * second), timestamps in ms (year 287,396), and producer ids (allocated by this broker).
 */
export function readSafeInt64(buf: Uint8Array, pos: number): number {
  const b = asBuffer(buf);
  if (pos < 0 || pos + 8 > b.length)
    throw new ProtocolError('TRUNCATED', `INT64 at byte ${pos} is truncated`);
  const hi = b.readInt32BE(pos);
  const lo = b.readUInt32BE(pos + 4);
  if (hi > 0x1fffff || hi < -0x200000 || (hi === -0x200000 && lo === 0)) {
    throw new ProtocolError('INVALID_VALUE', `INT64 at byte ${pos} is outside ±(2^53 - 1)`);
  }
  return hi * 4294967296 + lo;
}

function requireHeader(buf: Buffer, at: number): void {
  if (at < 0 || at + BATCH_HEADER_SIZE > buf.length) {
    throw new ProtocolError(
      'TRUNCATED',
      `record batch header needs ${BATCH_HEADER_SIZE} bytes at byte ${at}`,
    );
  }
  const magic = buf[at + MAGIC_POS]!;
  if (magic !== CURRENT_MAGIC) {
    throw new ProtocolError('CORRUPT_RECORDS', `record batch magic is ${magic}, expected ${CURRENT_MAGIC}`);
  }
}

/** baseOffset of the batch at `at`, as a number (see readSafeInt64). */
export function readBatchBaseOffset(buf: Uint8Array, at = 0): number {
  return readSafeInt64(buf, at + BASE_OFFSET_POS);
}

/** maxTimestamp of the batch at `at`, as a number (see readSafeInt64). */
export function readBatchMaxTimestamp(buf: Uint8Array, at = 0): number {
  return readSafeInt64(buf, at + MAX_TIMESTAMP_POS);
}

/** producerId of the batch at `at`, as a number (see readSafeInt64); -1 when not idempotent. */
export function readBatchProducerId(buf: Uint8Array, at = 0): number {
  return readSafeInt64(buf, at + PRODUCER_ID_POS);
}

/** The header fields of one batch. 64-bit fields are exact bigints; see readBatch* for numbers. */
export interface RecordBatchHeader {
  baseOffset: bigint;
  batchLength: number;
  /** Bytes of the whole batch: batchLength + 12. */
  sizeInBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Unsigned CRC-32C as stored. */
  crc: number;
  attributes: number;
  /** Codec id, attributes bits 0-2 (5-7 are invalid; see validateBatch). */
  compression: number;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizon: boolean;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/**
 * Read the header of the batch starting at byte `at` of `buf`. Throws ProtocolError when fewer than
 * 61 bytes are there or magic is not 2. Does not check the CRC or that the whole batch is present.
 */
export function readBatchHeader(buf: Uint8Array, at = 0): RecordBatchHeader {
  const b = asBuffer(buf);
  requireHeader(b, at);
  const attributes = b.readUInt16BE(at + ATTRIBUTES_POS);
  const batchLength = b.readInt32BE(at + BATCH_LENGTH_POS);
  return {
    baseOffset: b.readBigInt64BE(at + BASE_OFFSET_POS),
    batchLength,
    sizeInBytes: batchLength + BATCH_LOG_OVERHEAD,
    partitionLeaderEpoch: b.readInt32BE(at + PARTITION_LEADER_EPOCH_POS),
    magic: b[at + MAGIC_POS]!,
    crc: b.readUInt32BE(at + CRC_POS),
    attributes,
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: (attributes & TIMESTAMP_TYPE_BIT) !== 0 ? 'LogAppendTime' : 'CreateTime',
    isTransactional: (attributes & TRANSACTIONAL_BIT) !== 0,
    isControl: (attributes & CONTROL_BIT) !== 0,
    hasDeleteHorizon: (attributes & DELETE_HORIZON_BIT) !== 0,
    lastOffsetDelta: b.readInt32BE(at + LAST_OFFSET_DELTA_POS),
    baseTimestamp: b.readBigInt64BE(at + BASE_TIMESTAMP_POS),
    maxTimestamp: b.readBigInt64BE(at + MAX_TIMESTAMP_POS),
    producerId: b.readBigInt64BE(at + PRODUCER_ID_POS),
    producerEpoch: b.readInt16BE(at + PRODUCER_EPOCH_POS),
    baseSequence: b.readInt32BE(at + BASE_SEQUENCE_POS),
    recordsCount: b.readInt32BE(at + RECORDS_COUNT_POS),
  };
}

// ---------------------------------------------------------------------------------------------
// Framing

export interface SplitBatches {
  /** Each complete batch, as a view (no copy) of the input. */
  batches: Buffer[];
  /**
   * Bytes after the last complete batch, or null if there are none. A Fetch response may end with a
   * partial batch (clients ignore it); a Produce request must not (answer CORRUPT_MESSAGE).
   */
  partial: Buffer | null;
}

/**
 * Cut a records blob (Produce partition data, Fetch response records) into batches by their
 * length fields. Does not look inside the batches; validateBatch does. Throws ProtocolError
 * 'CORRUPT_RECORDS' on a batchLength smaller than a batch header. Magic-2 framing only: call
 * detectMagic (legacy.ts) first on input that may hold a legacy MessageSet.
 */
export function splitBatches(records: Uint8Array): SplitBatches {
  const buf = asBuffer(records);
  const batches: Buffer[] = [];
  let pos = 0;
  const end = buf.length;
  while (pos < end) {
    if (end - pos < BATCH_LOG_OVERHEAD) break;
    const batchLength = buf.readInt32BE(pos + BATCH_LENGTH_POS);
    if (batchLength < MIN_BATCH_LENGTH) {
      throw new ProtocolError(
        'CORRUPT_RECORDS',
        `batchLength ${batchLength} at byte ${pos} is smaller than a batch header (${MIN_BATCH_LENGTH})`,
      );
    }
    const size = batchLength + BATCH_LOG_OVERHEAD;
    if (size > end - pos) break;
    batches.push(buf.subarray(pos, pos + size));
    pos += size;
  }
  return { batches, partial: pos < end ? buf.subarray(pos) : null };
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Per-partition outcomes of produce validation, named as Kafka's error codes. */
export type BatchErrorCode =
  | 'CORRUPT_MESSAGE' // framing, length, CRC or record structure is broken
  | 'INVALID_RECORD' // well-formed but not acceptable from a producer
  | 'UNSUPPORTED_COMPRESSION_TYPE' // codec id 5-7
  | 'UNSUPPORTED_VERSION'; // a legacy MessageSet where only magic 2 is served (legacy.ts)

/** Kafka's numeric error code for each BatchErrorCode (from the broker-wide table). */
export const BATCH_ERROR_KAFKA_CODES: { readonly [C in BatchErrorCode]: (typeof ErrorCode)[C] } =
  Object.freeze({
    CORRUPT_MESSAGE: ErrorCode.CORRUPT_MESSAGE,
    INVALID_RECORD: ErrorCode.INVALID_RECORD,
    UNSUPPORTED_COMPRESSION_TYPE: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    UNSUPPORTED_VERSION: ErrorCode.UNSUPPORTED_VERSION,
  });

export interface BatchError {
  ok: false;
  errorCode: BatchErrorCode;
  reason: string;
}

export interface BatchOk {
  ok: true;
  header: RecordBatchHeader;
}

export type BatchValidation = BatchOk | BatchError;

export interface ValidateBatchOptions {
  /**
   * How far an uncompressed batch's records are checked. 'structure' (default): every record's
   * length, offsetDelta and the lengths of its key, value and headers add up exactly (nothing is
   * decoded or copied). 'framing': record lengths and offsetDeltas only.
   */
  recordCheck?: 'structure' | 'framing';
  /** Accept control batches (transaction markers); producers may not send them. Default false. */
  allowControlBatch?: boolean;
}

function fail(errorCode: BatchErrorCode, reason: string): BatchError {
  return { ok: false, errorCode, reason };
}

/** Read a zig-zag VARINT at `pos`; the byte count goes to varintState.length. Inlines 1- and 2-byte cases. */
function varintAt(buf: Buffer, pos: number): number {
  const b0 = buf[pos];
  if (b0 !== undefined && b0 < 0x80) {
    varintState.length = 1;
    return (b0 >>> 1) ^ -(b0 & 1);
  }
  const b1 = buf[pos + 1];
  if (b0 !== undefined && b1 !== undefined && b1 < 0x80) {
    varintState.length = 2;
    const u = (b0 & 0x7f) | (b1 << 7);
    return (u >>> 1) ^ -(u & 1);
  }
  return readVarint(buf, pos);
}

/**
 * Walk the records of an uncompressed batch in buf[start, end) without decoding keys, values or
 * headers. Returns null when they are exactly `count` well-formed records with offsetDeltas 0..count-1.
 * Throws ProtocolError on truncated varints (the caller maps that to CORRUPT_MESSAGE).
 */
function walkRecords(
  buf: Buffer,
  start: number,
  end: number,
  count: number,
  structure: boolean,
): BatchError | null {
  let pos = start;
  for (let i = 0; i < count; i++) {
    if (pos >= end) return fail('CORRUPT_MESSAGE', `records end after ${i} of ${count} records`);
    const length = varintAt(buf, pos);
    pos += varintState.length;
    const recordEnd = pos + length;
    if (length < MIN_RECORD_BODY_SIZE || recordEnd > end) {
      return fail('CORRUPT_MESSAGE', `record ${i} has length ${length}, which does not fit the batch`);
    }
    pos += 1; // record attributes (unused)
    // timestampDelta VARLONG: only its size matters here (at most 10 bytes)
    const timestampStart = pos;
    while ((buf[pos]! & 0x80) !== 0) {
      if (++pos - timestampStart >= 10)
        return fail('CORRUPT_MESSAGE', `record ${i} timestampDelta is too long`);
    }
    pos++;
    const offsetDelta = varintAt(buf, pos);
    pos += varintState.length;
    if (pos > recordEnd) return fail('CORRUPT_MESSAGE', `record ${i} overruns its length`);
    if (offsetDelta !== i) return fail('INVALID_RECORD', `record ${i} has offsetDelta ${offsetDelta}`);
    if (structure) {
      const keyLength = varintAt(buf, pos);
      pos += varintState.length;
      if (keyLength < -1) return fail('CORRUPT_MESSAGE', `record ${i} has key length ${keyLength}`);
      if (keyLength > 0) pos += keyLength;
      if (pos >= recordEnd) return fail('CORRUPT_MESSAGE', `record ${i} key overruns the record`);
      const valueLength = varintAt(buf, pos);
      pos += varintState.length;
      if (valueLength < -1) return fail('CORRUPT_MESSAGE', `record ${i} has value length ${valueLength}`);
      if (valueLength > 0) pos += valueLength;
      if (pos >= recordEnd) return fail('CORRUPT_MESSAGE', `record ${i} value overruns the record`);
      const headerCount = varintAt(buf, pos);
      pos += varintState.length;
      // every header takes at least two bytes
      if (headerCount < 0 || headerCount * 2 > recordEnd - pos) {
        return fail('CORRUPT_MESSAGE', `record ${i} has header count ${headerCount}`);
      }
      for (let h = 0; h < headerCount; h++) {
        const headerKeyLength = varintAt(buf, pos);
        pos += varintState.length;
        if (headerKeyLength < 0) return fail('CORRUPT_MESSAGE', `record ${i} header ${h} has a null key`);
        pos += headerKeyLength;
        if (pos >= recordEnd) return fail('CORRUPT_MESSAGE', `record ${i} header ${h} overruns the record`);
        const headerValueLength = varintAt(buf, pos);
        pos += varintState.length;
        if (headerValueLength < -1) return fail('CORRUPT_MESSAGE', `record ${i} header ${h} value length`);
        if (headerValueLength > 0) pos += headerValueLength;
        if (pos > recordEnd) return fail('CORRUPT_MESSAGE', `record ${i} header ${h} overruns the record`);
      }
      if (pos !== recordEnd) {
        return fail('CORRUPT_MESSAGE', `record ${i} has ${recordEnd - pos} bytes beyond its fields`);
      }
    }
    pos = recordEnd;
  }
  if (pos !== end) return fail('CORRUPT_MESSAGE', `${end - pos} bytes after the last of ${count} records`);
  return null;
}

/**
 * Validate one batch from a Produce request (exactly one batch in `buf`, e.g. from splitBatches):
 * sizes, magic, CRC-32C, attributes, codec, record count against lastOffsetDelta, and — when
 * uncompressed — that the records section holds exactly that many well-formed records.
 * Never throws on bad input: the outcome is a value the broker maps to a per-partition error code.
 */
export function validateBatch(batch: Uint8Array, options: ValidateBatchOptions = {}): BatchValidation {
  const buf = asBuffer(batch);
  const size = buf.length;
  if (size <= MAGIC_POS) return fail('CORRUPT_MESSAGE', `${size} bytes cannot hold a record batch`);
  const magic = buf[MAGIC_POS]!;
  if (magic === 0 || magic === 1) {
    return fail(
      'INVALID_RECORD',
      `legacy MessageSet (magic ${magic}): only record batches of magic 2 are accepted`,
    );
  }
  if (magic !== CURRENT_MAGIC) return fail('CORRUPT_MESSAGE', `unknown magic ${magic}`);
  if (size < BATCH_HEADER_SIZE)
    return fail('CORRUPT_MESSAGE', `batch of ${size} bytes is shorter than its header`);
  const batchLength = buf.readInt32BE(BATCH_LENGTH_POS);
  if (batchLength + BATCH_LOG_OVERHEAD !== size) {
    return fail('CORRUPT_MESSAGE', `batchLength ${batchLength} does not match the ${size} bytes received`);
  }
  const storedCrc = buf.readUInt32BE(CRC_POS);
  const computedCrc = crc32c(buf.subarray(CRC_START_POS));
  if (storedCrc !== computedCrc) {
    return fail(
      'CORRUPT_MESSAGE',
      `CRC-32C mismatch: stored 0x${storedCrc.toString(16)}, computed 0x${computedCrc.toString(16)}`,
    );
  }
  const attributes = buf.readUInt16BE(ATTRIBUTES_POS);
  if ((attributes & UNUSED_ATTRIBUTE_BITS) !== 0) {
    return fail('CORRUPT_MESSAGE', `unused attribute bits set (attributes 0x${attributes.toString(16)})`);
  }
  const codec = attributes & COMPRESSION_CODEC_MASK;
  if (compressionName(codec) === undefined) {
    return fail('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression codec id ${codec}`);
  }
  if ((attributes & CONTROL_BIT) !== 0 && options.allowControlBatch !== true) {
    return fail('INVALID_RECORD', 'producers may not write control batches');
  }
  const recordsCount = buf.readInt32BE(RECORDS_COUNT_POS);
  const lastOffsetDelta = buf.readInt32BE(LAST_OFFSET_DELTA_POS);
  if (recordsCount < 0) return fail('CORRUPT_MESSAGE', `negative record count ${recordsCount}`);
  if (recordsCount === 0) return fail('INVALID_RECORD', 'batch has no records');
  if (lastOffsetDelta + 1 !== recordsCount) {
    return fail(
      'INVALID_RECORD',
      `record count ${recordsCount} does not match lastOffsetDelta ${lastOffsetDelta}`,
    );
  }
  if (codec === 0) {
    let problem: BatchError | null;
    try {
      problem = walkRecords(buf, RECORDS_POS, size, recordsCount, options.recordCheck !== 'framing');
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      problem = fail('CORRUPT_MESSAGE', `records do not parse: ${err.message}`);
    }
    if (problem) return problem;
  } else if (size === RECORDS_POS) {
    return fail('CORRUPT_MESSAGE', 'compressed batch has an empty records section');
  }
  return { ok: true, header: readBatchHeader(buf) };
}

/** CRC-32C of the batch in `buf` as it should be stored (over [21, 12 + batchLength)). */
export function computeBatchCrc(batch: Uint8Array): number {
  const buf = asBuffer(batch);
  return crc32c(buf.subarray(CRC_START_POS, batchEnd(buf)));
}

/** Whether the stored CRC matches the batch's bytes. Throws ProtocolError if `batch` is not a whole batch. */
export function verifyBatchCrc(batch: Uint8Array): boolean {
  const buf = asBuffer(batch);
  return computeBatchCrc(buf) === buf.readUInt32BE(CRC_POS);
}

function batchEnd(buf: Buffer): number {
  requireHeader(buf, 0);
  const end = buf.readInt32BE(BATCH_LENGTH_POS) + BATCH_LOG_OVERHEAD;
  if (end < BATCH_HEADER_SIZE || end > buf.length) {
    throw new ProtocolError(
      'CORRUPT_RECORDS',
      `batchLength ${end - BATCH_LOG_OVERHEAD} does not fit ${buf.length} bytes`,
    );
  }
  return end;
}

// ---------------------------------------------------------------------------------------------
// Patching in place

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function writeInt64(buf: Buffer, pos: number, value: bigint | number, field: string): void {
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX)
      throw new ProtocolError('INVALID_VALUE', `${field} ${value} is not an INT64`);
    buf.writeBigInt64BE(value, pos);
    return;
  }
  if (!Number.isSafeInteger(value))
    throw new ProtocolError('INVALID_VALUE', `${field} ${value} is not a safe integer`);
  const hi = Math.floor(value / 4294967296);
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(value - hi * 4294967296, pos + 4);
}

function requirePatchable(buf: Buffer): void {
  if (buf.length < BATCH_HEADER_SIZE) {
    throw new ProtocolError(
      'TRUNCATED',
      `a record batch header needs ${BATCH_HEADER_SIZE} bytes, got ${buf.length}`,
    );
  }
}

/** Write baseOffset (assign offsets baseOffset .. baseOffset + lastOffsetDelta). CRC unaffected. */
export function setBaseOffset(batch: Uint8Array, offset: bigint | number): void {
  const buf = asBuffer(batch);
  requirePatchable(buf);
  writeInt64(buf, BASE_OFFSET_POS, offset, 'baseOffset');
}

/** Write partitionLeaderEpoch. CRC unaffected. */
export function setPartitionLeaderEpoch(batch: Uint8Array, epoch: number): void {
  const buf = asBuffer(batch);
  requirePatchable(buf);
  if (!Number.isInteger(epoch) || epoch < -2147483648 || epoch > 2147483647) {
    throw new ProtocolError('INVALID_VALUE', `partitionLeaderEpoch ${epoch} is not an INT32`);
  }
  buf.writeInt32BE(epoch, PARTITION_LEADER_EPOCH_POS);
}

/**
 * Mark the batch LogAppendTime (attributes bit 3) with `timestampMs` as its maxTimestamp, which every
 * record then reports as its timestamp, and recompute the CRC (both fields are inside it).
 */
export function setLogAppendTime(batch: Uint8Array, timestampMs: bigint | number): void {
  const buf = asBuffer(batch);
  const end = batchEnd(buf);
  writeInt64(buf, MAX_TIMESTAMP_POS, timestampMs, 'timestamp');
  buf.writeUInt16BE(buf.readUInt16BE(ATTRIBUTES_POS) | TIMESTAMP_TYPE_BIT, ATTRIBUTES_POS);
  buf.writeUInt32BE(crc32c(buf.subarray(CRC_START_POS, end)), CRC_POS);
}
