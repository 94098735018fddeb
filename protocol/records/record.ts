/**
 * Records inside a magic-2 batch: decoding (after decompression) and building whole batches,
 * including transaction control batches.
 *
 * records := Record{recordsCount}            (compressed: the codec's output is this byte string)
 * Record  := length VARINT, attributes INT8 (0), timestampDelta VARLONG, offsetDelta VARINT,
 *            keyLength VARINT (-1 = null), key, valueLength VARINT (-1 = null), value,
 *            headerCount VARINT, Header{headerCount}
 * Header  := keyLength VARINT (≥ 0), key (UTF-8), valueLength VARINT (-1 = null), value
 * Control record (batch attributes bits 4 and 5 set, exactly one record):
 *            key   := version INT16 (0), type INT16 (0 ABORT, 1 COMMIT)
 *            value := version INT16 (0), coordinatorEpoch INT32          (for ABORT / COMMIT)
 *
 * Decoded keys, values and header values are views into the batch (or into its decompressed
 * records), never copies.
 */
import { ProtocolError } from '../primitives/errors.js';
import {
  readVarint,
  readVarlong,
  readVarlongBigInt,
  sizeOfVarint,
  sizeOfVarlong,
  varintState,
  writeVarint,
  writeVarlong,
} from '../primitives/varint.js';
import {
  ATTRIBUTES_POS,
  BASE_SEQUENCE_POS,
  BASE_TIMESTAMP_POS,
  BATCH_LENGTH_POS,
  BATCH_LOG_OVERHEAD,
  COMPRESSION_CODEC_MASK,
  CONTROL_BIT,
  CRC_POS,
  CRC_START_POS,
  CURRENT_MAGIC,
  LAST_OFFSET_DELTA_POS,
  MAGIC_POS,
  MAX_TIMESTAMP_POS,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_POS,
  PRODUCER_EPOCH_POS,
  PRODUCER_ID_POS,
  RECORDS_COUNT_POS,
  RECORDS_POS,
  type RecordBatchHeader,
  readBatchHeader,
  setBaseOffset,
  TIMESTAMP_TYPE_BIT,
  type TimestampType,
  TRANSACTIONAL_BIT,
} from './batch.js';
import {
  CompressionCodec,
  type CompressionName,
  compressSync,
  decompress,
  decompressSync,
} from './compression.js';
import { crc32c } from './crc32c.js';

// ---------------------------------------------------------------------------------------------
// Decoding

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offsetDelta: number;
  /** Exact for |delta| < 2^53; `timestamp` is always exact. */
  timestampDelta: number;
  /** baseOffset + offsetDelta. */
  offset: bigint;
  /** baseTimestamp + timestampDelta, or the batch's maxTimestamp under LogAppendTime. */
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface IterateRecordsOptions {
  /** Decompression stops with ProtocolError 'INVALID_LENGTH' past this many bytes. */
  maxDecompressedBytes: number;
  /** Check the CRC-32C first (ProtocolError 'CORRUPT_RECORDS' on mismatch). Default false. */
  verifyCrc?: boolean;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function corrupt(message: string): ProtocolError {
  return new ProtocolError('CORRUPT_RECORDS', message);
}

/** Header and compressed-or-not records section of the single batch at the start of `batch`. */
function openBatch(batch: Uint8Array, verifyCrc: boolean): { header: RecordBatchHeader; section: Buffer } {
  const buf = asBuffer(batch);
  const header = readBatchHeader(buf);
  const end = header.sizeInBytes;
  if (header.batchLength < MIN_BATCH_LENGTH || end > buf.length) {
    throw corrupt(`batchLength ${header.batchLength} does not fit the ${buf.length} bytes given`);
  }
  if (header.recordsCount < 0) throw corrupt(`negative record count ${header.recordsCount}`);
  if (verifyCrc && crc32c(buf.subarray(CRC_START_POS, end)) !== header.crc) throw corrupt('CRC-32C mismatch');
  return { header, section: buf.subarray(RECORDS_POS, end) };
}

function readLength(rec: Buffer, pos: number, what: string, nullable: boolean): number {
  const length = readVarint(rec, pos);
  if (length < (nullable ? -1 : 0)) throw corrupt(`${what} has length ${length}`);
  if (length > 0 && pos + varintState.length + length > rec.length)
    throw corrupt(`${what} overruns its record`);
  return length;
}

function decodeRecord(rec: Buffer, header: RecordBatchHeader, index: number): DecodedRecord {
  let pos = 1; // attributes (unused)
  let timestampDelta = readVarlong(rec, pos);
  let exactDelta: bigint;
  if (varintState.length > 7) {
    // more than 49 bits of zig-zag payload: the number may be rounded, so re-read exactly
    exactDelta = readVarlongBigInt(rec, pos);
    timestampDelta = Number(exactDelta);
  } else {
    exactDelta = BigInt(timestampDelta);
  }
  pos += varintState.length;
  const offsetDelta = readVarint(rec, pos);
  pos += varintState.length;

  const keyLength = readLength(rec, pos, `record ${index} key`, true);
  pos += varintState.length;
  const key = keyLength < 0 ? null : rec.subarray(pos, pos + keyLength);
  if (keyLength > 0) pos += keyLength;

  const valueLength = readLength(rec, pos, `record ${index} value`, true);
  pos += varintState.length;
  const value = valueLength < 0 ? null : rec.subarray(pos, pos + valueLength);
  if (valueLength > 0) pos += valueLength;

  const headerCount = readVarint(rec, pos);
  pos += varintState.length;
  if (headerCount < 0 || headerCount * 2 > rec.length - pos) {
    throw corrupt(`record ${index} has header count ${headerCount}`);
  }
  const headers: RecordHeader[] = new Array(headerCount);
  for (let h = 0; h < headerCount; h++) {
    const hKeyLength = readLength(rec, pos, `record ${index} header ${h} key`, false);
    pos += varintState.length;
    const hKey = rec.toString('utf8', pos, pos + hKeyLength);
    pos += hKeyLength;
    const hValueLength = readLength(rec, pos, `record ${index} header ${h} value`, true);
    pos += varintState.length;
    const hValue = hValueLength < 0 ? null : rec.subarray(pos, pos + hValueLength);
    if (hValueLength > 0) pos += hValueLength;
    headers[h] = { key: hKey, value: hValue };
  }
  if (pos !== rec.length) throw corrupt(`record ${index} has ${rec.length - pos} bytes beyond its fields`);

  return {
    offsetDelta,
    timestampDelta,
    offset: header.baseOffset + BigInt(offsetDelta),
    timestamp:
      header.timestampType === 'LogAppendTime' ? header.maxTimestamp : header.baseTimestamp + exactDelta,
    key,
    value,
    headers,
  };
}

/** Decode `header.recordsCount` records from an uncompressed records section that they must fill exactly. */
function* decodeRecords(
  section: Buffer,
  header: RecordBatchHeader,
): Generator<DecodedRecord, void, undefined> {
  let pos = 0;
  for (let i = 0; i < header.recordsCount; i++) {
    if (pos >= section.length) throw corrupt(`records end after ${i} of ${header.recordsCount} records`);
    const length = readVarint(section, pos);
    pos += varintState.length;
    if (length < 6 || pos + length > section.length)
      throw corrupt(`record ${i} length ${length} does not fit`);
    const rec = section.subarray(pos, pos + length);
    pos += length;
    yield decodeRecord(rec, header, i);
  }
  if (pos !== section.length) throw corrupt(`${section.length - pos} bytes after the last record`);
}

/**
 * Decode every record of one batch (the batch must start at byte 0 of `batch`), decompressing
 * first if needed (synchronously). Throws ProtocolError on any malformed input.
 */
export function* iterateRecords(
  batch: Uint8Array,
  options: IterateRecordsOptions,
): Generator<DecodedRecord, void, undefined> {
  const { header, section } = openBatch(batch, options.verifyCrc === true);
  const records =
    header.compression === 0
      ? section
      : decompressSync(header.compression, section, options.maxDecompressedBytes);
  yield* decodeRecords(records, header);
}

/** Like iterateRecords, but decompresses on the thread pool (where the codec allows) and returns an array. */
export async function readRecords(
  batch: Uint8Array,
  options: IterateRecordsOptions,
): Promise<DecodedRecord[]> {
  const { header, section } = openBatch(batch, options.verifyCrc === true);
  const records =
    header.compression === 0
      ? section
      : await decompress(header.compression, section, options.maxDecompressedBytes);
  return Array.from(decodeRecords(records, header));
}

// ---------------------------------------------------------------------------------------------
// Control records

export type ControlRecordType = 'ABORT' | 'COMMIT';

export interface ControlRecord {
  version: number;
  /** 0 ABORT, 1 COMMIT; 2-6 are KRaft-internal types. */
  type: number;
  typeName: ControlRecordType | 'OTHER';
  /** For ABORT / COMMIT markers; null otherwise. */
  coordinatorEpoch: number | null;
}

/** Decode the key (and, for transaction markers, the value) of a record from a control batch. */
export function decodeControlRecord(record: Pick<DecodedRecord, 'key' | 'value'>): ControlRecord {
  const { key, value } = record;
  if (key === null || key.length < 4) throw corrupt('control record key must hold version and type');
  const version = key.readInt16BE(0);
  const type = key.readInt16BE(2);
  const typeName = type === 0 ? 'ABORT' : type === 1 ? 'COMMIT' : 'OTHER';
  let coordinatorEpoch: number | null = null;
  if (typeName !== 'OTHER') {
    if (value === null || value.length < 6)
      throw corrupt('transaction marker value must hold version and epoch');
    coordinatorEpoch = value.readInt32BE(2);
  }
  return { version, type, typeName, coordinatorEpoch };
}

// ---------------------------------------------------------------------------------------------
// Building

export interface RecordInput {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: readonly { key: string; value: Uint8Array | string | null }[];
  /** Milliseconds after baseTimestamp. Default 0. */
  timestampDelta?: number;
}

export interface BuildRecordBatchOptions {
  /** Default 0 (producers send 0; the broker assigns it). */
  baseOffset?: bigint | number;
  /** Default -1 (what producers send). */
  partitionLeaderEpoch?: number;
  baseTimestamp: bigint | number;
  /** Default: baseTimestamp + the largest timestampDelta (CreateTime), or baseTimestamp. */
  maxTimestamp?: bigint | number;
  records: readonly RecordInput[];
  compression?: CompressionName;
  /** Default -1 (not idempotent). */
  producerId?: bigint | number;
  /** Default -1. */
  producerEpoch?: number;
  /** Default -1. */
  baseSequence?: number;
  isTransactional?: boolean;
  /** Default 'CreateTime'. */
  timestampType?: TimestampType;
}

interface EncodedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: Buffer; value: Buffer | null }[];
  timestampDelta: number;
  bodySize: number;
}

function toBytes(data: Uint8Array | string | null | undefined): Buffer | null {
  if (data === null || data === undefined) return null;
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : asBuffer(data);
}

function sizeOfBytes(data: Buffer | null): number {
  return data === null ? 1 : sizeOfVarint(data.length) + data.length;
}

function writeBytes(buf: Buffer, pos: number, data: Buffer | null): number {
  if (data === null) return writeVarint(buf, pos, -1);
  const p = writeVarint(buf, pos, data.length);
  data.copy(buf, p);
  return p + data.length;
}

function prepareRecords(records: readonly RecordInput[]): { encoded: EncodedRecord[]; sectionSize: number } {
  let sectionSize = 0;
  const encoded = records.map((input, index): EncodedRecord => {
    const timestampDelta = input.timestampDelta ?? 0;
    if (!Number.isSafeInteger(timestampDelta)) {
      throw new ProtocolError(
        'INVALID_VALUE',
        `record ${index} timestampDelta ${timestampDelta} is not an integer`,
      );
    }
    const key = toBytes(input.key);
    const value = toBytes(input.value);
    const headers = (input.headers ?? []).map((h) => ({
      key: Buffer.from(h.key, 'utf8'),
      value: toBytes(h.value),
    }));
    let bodySize =
      1 + sizeOfVarlong(timestampDelta) + sizeOfVarint(index) + sizeOfBytes(key) + sizeOfBytes(value);
    bodySize += sizeOfVarint(headers.length);
    for (const h of headers) bodySize += sizeOfBytes(h.key) + sizeOfBytes(h.value);
    sectionSize += sizeOfVarint(bodySize) + bodySize;
    return { key, value, headers, timestampDelta, bodySize };
  });
  return { encoded, sectionSize };
}

function writeRecords(buf: Buffer, start: number, encoded: readonly EncodedRecord[]): number {
  let pos = start;
  for (let i = 0; i < encoded.length; i++) {
    const r = encoded[i]!;
    pos = writeVarint(buf, pos, r.bodySize);
    buf[pos++] = 0; // record attributes
    pos = writeVarlong(buf, pos, r.timestampDelta);
    pos = writeVarint(buf, pos, i);
    pos = writeBytes(buf, pos, r.key);
    pos = writeBytes(buf, pos, r.value);
    pos = writeVarint(buf, pos, r.headers.length);
    for (const h of r.headers) {
      pos = writeBytes(buf, pos, h.key);
      pos = writeBytes(buf, pos, h.value);
    }
  }
  return pos;
}

interface BatchFields {
  baseOffset: bigint | number;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

function assembleBatch(fields: BatchFields, encoded: readonly EncodedRecord[], sectionSize: number): Buffer {
  const codec = fields.attributes & COMPRESSION_CODEC_MASK;
  let buf: Buffer;
  if (codec === 0) {
    buf = Buffer.allocUnsafe(RECORDS_POS + sectionSize);
    writeRecords(buf, RECORDS_POS, encoded);
  } else {
    const section = Buffer.allocUnsafe(sectionSize);
    writeRecords(section, 0, encoded);
    const compressed = compressSync(codec, section);
    buf = Buffer.allocUnsafe(RECORDS_POS + compressed.length);
    compressed.copy(buf, RECORDS_POS);
  }
  setBaseOffset(buf, fields.baseOffset);
  buf.writeInt32BE(buf.length - BATCH_LOG_OVERHEAD, BATCH_LENGTH_POS);
  buf.writeInt32BE(fields.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_POS);
  buf[MAGIC_POS] = CURRENT_MAGIC;
  buf.writeUInt16BE(fields.attributes, ATTRIBUTES_POS);
  buf.writeInt32BE(fields.lastOffsetDelta, LAST_OFFSET_DELTA_POS);
  buf.writeBigInt64BE(checkInt64(fields.baseTimestamp, 'baseTimestamp'), BASE_TIMESTAMP_POS);
  buf.writeBigInt64BE(checkInt64(fields.maxTimestamp, 'maxTimestamp'), MAX_TIMESTAMP_POS);
  buf.writeBigInt64BE(checkInt64(fields.producerId, 'producerId'), PRODUCER_ID_POS);
  buf.writeInt16BE(fields.producerEpoch, PRODUCER_EPOCH_POS);
  buf.writeInt32BE(fields.baseSequence, BASE_SEQUENCE_POS);
  buf.writeInt32BE(fields.recordsCount, RECORDS_COUNT_POS);
  buf.writeUInt32BE(crc32c(buf.subarray(CRC_START_POS)), CRC_POS);
  return buf;
}

function checkInt64(value: bigint, field: string): bigint {
  if (BigInt.asIntN(64, value) !== value)
    throw new ProtocolError('INVALID_VALUE', `${field} ${value} is not an INT64`);
  return value;
}

function checkIntRange(value: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ProtocolError('INVALID_VALUE', `${field} ${value} is out of range`);
  }
  return value;
}

/** Build one magic-2 batch with a correct CRC, compressing the records if asked. */
export function buildRecordBatch(options: BuildRecordBatchOptions): Buffer {
  const { encoded, sectionSize } = prepareRecords(options.records);
  const compression = options.compression ?? 'none';
  const codec = CompressionCodec[compression];
  if (codec === undefined) throw new ProtocolError('UNSUPPORTED_COMPRESSION', `unknown codec ${compression}`);
  const timestampType = options.timestampType ?? 'CreateTime';
  const baseTimestamp = BigInt(options.baseTimestamp);
  let maxDelta = 0;
  for (const r of encoded) if (r.timestampDelta > maxDelta) maxDelta = r.timestampDelta;
  const maxTimestamp =
    options.maxTimestamp !== undefined
      ? BigInt(options.maxTimestamp)
      : baseTimestamp + BigInt(timestampType === 'CreateTime' ? maxDelta : 0);
  const attributes =
    codec |
    (timestampType === 'LogAppendTime' ? TIMESTAMP_TYPE_BIT : 0) |
    (options.isTransactional ? TRANSACTIONAL_BIT : 0);
  return assembleBatch(
    {
      baseOffset: options.baseOffset ?? 0,
      partitionLeaderEpoch: checkIntRange(
        options.partitionLeaderEpoch ?? -1,
        -(2 ** 31),
        2 ** 31 - 1,
        'leader epoch',
      ),
      attributes,
      lastOffsetDelta: encoded.length - 1,
      baseTimestamp,
      maxTimestamp,
      producerId: BigInt(options.producerId ?? -1),
      producerEpoch: checkIntRange(options.producerEpoch ?? -1, -32768, 32767, 'producerEpoch'),
      baseSequence: checkIntRange(options.baseSequence ?? -1, -(2 ** 31), 2 ** 31 - 1, 'baseSequence'),
      recordsCount: encoded.length,
    },
    encoded,
    sectionSize,
  );
}

export interface BuildControlBatchOptions {
  producerId: bigint | number;
  producerEpoch: number;
  baseOffset: bigint | number;
  /** The marker's timestamp (ms): baseTimestamp and maxTimestamp. */
  timestamp: bigint | number;
  type: ControlRecordType;
  coordinatorEpoch: number;
  /** Default -1. */
  partitionLeaderEpoch?: number;
}

/** Build a transaction marker: a transactional control batch with one COMMIT or ABORT record. */
export function buildControlBatch(options: BuildControlBatchOptions): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0); // version
  key.writeInt16BE(options.type === 'COMMIT' ? 1 : 0, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0); // version
  value.writeInt32BE(checkIntRange(options.coordinatorEpoch, -(2 ** 31), 2 ** 31 - 1, 'coordinatorEpoch'), 2);
  const { encoded, sectionSize } = prepareRecords([{ key, value }]);
  const timestamp = BigInt(options.timestamp);
  return assembleBatch(
    {
      baseOffset: options.baseOffset,
      partitionLeaderEpoch: checkIntRange(
        options.partitionLeaderEpoch ?? -1,
        -(2 ** 31),
        2 ** 31 - 1,
        'leader epoch',
      ),
      attributes: TRANSACTIONAL_BIT | CONTROL_BIT,
      lastOffsetDelta: 0,
      baseTimestamp: timestamp,
      maxTimestamp: timestamp,
      producerId: BigInt(options.producerId),
      producerEpoch: checkIntRange(options.producerEpoch, -32768, 32767, 'producerEpoch'),
      baseSequence: -1,
      recordsCount: 1,
    },
    encoded,
    sectionSize,
  );
}
