/**
 * Bounds-checked big-endian reader over one Buffer: the decoding half of the primitive types in
 * the Kafka protocol guide (INT8..INT64, UINT16/32, FLOAT64, UUID, [COMPACT_][NULLABLE_]STRING and
 * BYTES, ARRAY lengths, UNSIGNED_VARINT and the KIP-482 tagged-field section).
 *
 * Every read checks the remaining length first and throws ProtocolError (never RangeError), and
 * every length or count is checked against the bytes actually left before anything is allocated,
 * so a hostile 2^31 length costs nothing. Byte fields are zero-copy `subarray`s of the input.
 */
import { ProtocolError } from './errors.js';
import { readUnsignedVarint, varintState } from './varint.js';

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export class Reader {
  readonly buf: Buffer;
  offset: number;
  /** Exclusive end of the readable region. */
  end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless at least `n` bytes remain. */
  need(n: number): void {
    if (n > this.end - this.offset) {
      throw new ProtocolError(
        'TRUNCATED',
        `need ${n} bytes at offset ${this.offset}, have ${this.end - this.offset}`,
      );
    }
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.offset++);
  }

  bool(): boolean {
    this.need(1);
    return this.buf[this.offset++] !== 0;
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  uint16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return v;
  }

  float64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }

  /** UUID as canonical lower-case 8-4-4-4-12 hex. */
  uuid(): string {
    this.need(16);
    const b = this.buf;
    const o = this.offset;
    this.offset += 16;
    let s = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
      s += HEX[b[o + i]!];
    }
    return s;
  }

  unsignedVarint(): number {
    const v = readUnsignedVarint(this.buf, this.offset, this.end);
    this.offset += varintState.length;
    return v;
  }

  private take(n: number): Buffer {
    this.need(n);
    const start = this.offset;
    this.offset += n;
    return this.buf.subarray(start, start + n);
  }

  private utf8(n: number): string {
    this.need(n);
    const start = this.offset;
    this.offset += n;
    return this.buf.toString('utf8', start, start + n);
  }

  /** STRING: INT16 length (≥ 0) + UTF-8 bytes. */
  string(): string {
    const n = this.int16();
    if (n < 0) throw new ProtocolError('INVALID_LENGTH', `negative length ${n} for non-nullable string`);
    return this.utf8(n);
  }

  /** NULLABLE_STRING: length -1 = null. */
  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < 0) throw new ProtocolError('INVALID_LENGTH', `invalid string length ${n}`);
    return this.utf8(n);
  }

  /** COMPACT_STRING: UNSIGNED_VARINT (N+1) + bytes. */
  compactString(): string {
    const n = this.unsignedVarint();
    if (n === 0) throw new ProtocolError('INVALID_LENGTH', 'null in non-nullable compact string');
    return this.utf8(n - 1);
  }

  compactNullableString(): string | null {
    const n = this.unsignedVarint();
    if (n === 0) return null;
    return this.utf8(n - 1);
  }

  /** BYTES: INT32 length + bytes (zero-copy view). */
  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) throw new ProtocolError('INVALID_LENGTH', `negative length ${n} for non-nullable bytes`);
    return this.take(n);
  }

  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < 0) throw new ProtocolError('INVALID_LENGTH', `invalid bytes length ${n}`);
    return this.take(n);
  }

  compactBytes(): Buffer {
    const n = this.unsignedVarint();
    if (n === 0) throw new ProtocolError('INVALID_LENGTH', 'null in non-nullable compact bytes');
    return this.take(n - 1);
  }

  compactNullableBytes(): Buffer | null {
    const n = this.unsignedVarint();
    if (n === 0) return null;
    return this.take(n - 1);
  }

  /**
   * ARRAY count: INT32, -1 = null (returned as -1). `minElementBytes` is the smallest possible
   * encoded element; the count is rejected if the remaining bytes cannot hold that many.
   */
  arrayLength(minElementBytes: number): number {
    const n = this.int32();
    if (n === -1) return -1;
    if (n < 0) throw new ProtocolError('INVALID_LENGTH', `invalid array length ${n}`);
    this.checkCount(n, minElementBytes);
    return n;
  }

  /** COMPACT_ARRAY count: UNSIGNED_VARINT N+1, 0 = null (returned as -1). */
  compactArrayLength(minElementBytes: number): number {
    const n = this.unsignedVarint() - 1;
    if (n >= 0) this.checkCount(n, minElementBytes);
    return n;
  }

  private checkCount(n: number, minElementBytes: number): void {
    // Elements that can legally be empty (0 bytes) are still bounded, so a hostile count cannot
    // make us loop for billions of iterations.
    const limit = minElementBytes > 0 ? Math.floor(this.remaining / minElementBytes) : 1_000_000;
    if (n > limit) {
      throw new ProtocolError(
        'INVALID_LENGTH',
        `array length ${n} exceeds what ${this.remaining} bytes can hold`,
      );
    }
  }

  /** Skip the value of one tagged field (size already read). */
  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }

  /** Raw bytes view without a length prefix. */
  raw(n: number): Buffer {
    return this.take(n);
  }
}
