/**
 * Legacy MessageSet (magic 0 and 1), decode only: enough for the broker to recognise an old-format
 * payload and answer it with a clear error. StreamHouse stores and serves magic 2 only (as does
 * Kafka 4.0, KIP-724).
 *
 * MessageSet := { offset INT64, messageSize INT32, Message }*      (no count; entries back to back)
 * Message    := crc UINT32 (CRC-32 IEEE of magic .. end of message), magic INT8, attributes INT8,
 *               [timestamp INT64 — magic 1 only], key BYTES, value BYTES
 * BYTES      := INT32 length (-1 = null), bytes
 * attributes: bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4 (magic 1)), bit 3 timestamp type (magic 1).
 * A compressed message wraps a whole inner MessageSet in its value (key null). Inner offsets are
 * absolute in magic 0; in magic 1 they are relative (0..n-1) and the wrapper carries the absolute
 * offset of the last inner message.
 *
 * Magic 0/1 and magic 2 share the byte at position 16 (the magic), which is how detectMagic tells them apart.
 */
import zlib from 'node:zlib';
import { ProtocolError } from '../primitives/errors.js';
import { type BatchError, MAGIC_POS, type TimestampType } from './batch.js';
import { compressionName, decompressSync } from './compression.js';

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE)

const IEEE_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Pure-JS CRC-32 (IEEE 802.3), bytewise; legacy messages are rare enough not to need more. */
export function crc32IeeeJs(buf: Uint8Array, initial = 0): number {
  let crc = ~initial;
  for (let i = 0; i < buf.length; i++) crc = IEEE_TABLE[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** zlib.crc32 exists from Node 20.15 / 22.2; older runtimes get the JS version. */
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (IEEE) of `buf`, continuing from `initial`. Unsigned. */
export const crc32Ieee: (buf: Uint8Array, initial?: number) => number =
  typeof zlibCrc32 === 'function' ? (buf, initial = 0) => zlibCrc32(buf, initial) >>> 0 : crc32IeeeJs;

// ---------------------------------------------------------------------------------------------
// Decoding

/** offset INT64 + messageSize INT32 */
const LEGACY_LOG_OVERHEAD = 12;
/** crc + magic + attributes + key length + value length */
const MIN_MESSAGE_SIZE_V0 = 14;
/** ... + timestamp */
const MIN_MESSAGE_SIZE_V1 = 22;

/**
 * The magic byte of the first entry of a records blob (0 or 1: legacy MessageSet, 2: RecordBatch),
 * or null when it is too short to tell. Other values mean garbage.
 */
export function detectMagic(records: Uint8Array): number | null {
  return records.length > MAGIC_POS ? records[MAGIC_POS]! : null;
}

export interface LegacyMessage {
  /** Absolute offset (inner offsets of magic-1 compressed sets are converted). */
  offset: bigint;
  magic: 0 | 1;
  attributes: number;
  /** Codec id of this message (non-zero only for an unexpanded wrapper). */
  compression: number;
  /** null for magic 0. */
  timestampType: TimestampType | null;
  /** null for magic 0. */
  timestamp: bigint | null;
  key: Buffer | null;
  value: Buffer | null;
}

export interface DecodedMessageSet {
  messages: LegacyMessage[];
  /** Bytes after the last complete entry (a Fetch may end with a partial message), or null. */
  partial: Buffer | null;
}

export interface DecodeMessageSetOptions {
  /** Limit for decompressing wrapper messages. */
  maxDecompressedBytes: number;
  /** Replace each compressed wrapper by the messages inside it. Default true. */
  expandCompressed?: boolean;
  /** Check each message's CRC-32. Default true. */
  verifyCrc?: boolean;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function corrupt(message: string): ProtocolError {
  return new ProtocolError('CORRUPT_RECORDS', message);
}

function readBytes(
  buf: Buffer,
  pos: number,
  end: number,
  what: string,
): { data: Buffer | null; next: number } {
  if (pos + 4 > end) throw corrupt(`${what} length truncated`);
  const length = buf.readInt32BE(pos);
  if (length === -1) return { data: null, next: pos + 4 };
  if (length < 0 || pos + 4 + length > end)
    throw corrupt(`${what} length ${length} does not fit the message`);
  return { data: buf.subarray(pos + 4, pos + 4 + length), next: pos + 4 + length };
}

function decodeEntries(
  buf: Buffer,
  options: DecodeMessageSetOptions,
  depth: number,
  out: LegacyMessage[],
): Buffer | null {
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < LEGACY_LOG_OVERHEAD) break;
    const offset = buf.readBigInt64BE(pos);
    const size = buf.readInt32BE(pos + 8);
    if (size < MIN_MESSAGE_SIZE_V0) throw corrupt(`message size ${size} at byte ${pos} is too small`);
    if (size > buf.length - pos - LEGACY_LOG_OVERHEAD) break;
    const start = pos + LEGACY_LOG_OVERHEAD;
    const end = start + size;
    pos = end;

    const magic = buf[start + 4]!;
    if (magic !== 0 && magic !== 1)
      throw corrupt(`message at offset ${offset} has magic ${magic} inside a MessageSet`);
    if (magic === 1 && size < MIN_MESSAGE_SIZE_V1) throw corrupt(`magic 1 message size ${size} is too small`);
    if (options.verifyCrc !== false) {
      const stored = buf.readUInt32BE(start);
      const computed = crc32Ieee(buf.subarray(start + 4, end));
      if (stored !== computed) {
        throw corrupt(
          `CRC-32 mismatch at offset ${offset}: stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)}`,
        );
      }
    }
    const attributes = buf[start + 5]!;
    let p = start + 6;
    let timestamp: bigint | null = null;
    if (magic === 1) {
      timestamp = buf.readBigInt64BE(p);
      p += 8;
    }
    const key = readBytes(buf, p, end, 'key');
    const value = readBytes(buf, key.next, end, 'value');
    if (value.next !== end)
      throw corrupt(`message at offset ${offset} has ${end - value.next} trailing bytes`);
    const codec = attributes & 0x07;
    const message: LegacyMessage = {
      offset,
      magic,
      attributes,
      compression: codec,
      timestampType: magic === 1 ? ((attributes & 0x08) !== 0 ? 'LogAppendTime' : 'CreateTime') : null,
      timestamp,
      key: key.data,
      value: value.data,
    };

    if (codec === 0 || options.expandCompressed === false) {
      out.push(message);
      continue;
    }
    if (compressionName(codec) === undefined || codec === 4) {
      throw new ProtocolError(
        'UNSUPPORTED_COMPRESSION',
        `legacy message at offset ${offset} uses codec ${codec}`,
      );
    }
    if (depth > 0) throw corrupt(`nested compressed message at offset ${offset}`);
    if (value.data === null) throw corrupt(`compressed message at offset ${offset} has a null value`);
    const innerBytes = decompressSync(codec, value.data, options.maxDecompressedBytes);
    const inner: LegacyMessage[] = [];
    const innerPartial = decodeEntries(innerBytes, options, depth + 1, inner);
    if (innerPartial !== null)
      throw corrupt(`compressed message at offset ${offset} holds a partial message`);
    if (magic === 1 && inner.length > 0) {
      // relative inner offsets: the wrapper's offset is that of the last inner message
      const lastRelative = inner[inner.length - 1]!.offset;
      for (const m of inner) m.offset = offset - lastRelative + m.offset;
    }
    for (const m of inner) {
      if (magic === 1 && m.timestampType !== null && message.timestampType === 'LogAppendTime') {
        m.timestampType = 'LogAppendTime';
        m.timestamp = timestamp;
      }
      out.push(m);
    }
  }
  return pos < buf.length ? buf.subarray(pos) : null;
}

/** Decode a legacy MessageSet. Throws ProtocolError on anything malformed. */
export function decodeMessageSet(records: Uint8Array, options: DecodeMessageSetOptions): DecodedMessageSet {
  const messages: LegacyMessage[] = [];
  const partial = decodeEntries(asBuffer(records), options, 0, messages);
  return { messages, partial };
}

/**
 * What to answer for legacy-format data received where only magic 2 is accepted: UNSUPPORTED_VERSION
 * when it is a well-formed magic 0/1 MessageSet (framing and every CRC check out; compressed wrappers
 * are not opened), CORRUPT_MESSAGE when it is not even that. Never throws.
 */
export function legacyMessageSetVerdict(records: Uint8Array): BatchError {
  const magic = detectMagic(records);
  if (magic !== 0 && magic !== 1) {
    return { ok: false, errorCode: 'CORRUPT_MESSAGE', reason: `not a legacy MessageSet (magic ${magic})` };
  }
  try {
    const { messages, partial } = decodeMessageSet(records, {
      maxDecompressedBytes: 0,
      expandCompressed: false,
    });
    if (partial !== null) {
      return {
        ok: false,
        errorCode: 'CORRUPT_MESSAGE',
        reason: `MessageSet ends with ${partial.length} partial bytes`,
      };
    }
    return {
      ok: false,
      errorCode: 'UNSUPPORTED_VERSION',
      reason: `MessageSet of magic ${magic} (${messages.length} messages) is no longer supported: send record batches of magic 2 (Produce v3+)`,
    };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    return {
      ok: false,
      errorCode: 'CORRUPT_MESSAGE',
      reason: `MessageSet of magic ${magic} is malformed: ${err.message}`,
    };
  }
}
