/**
 * Big-endian writer producing a list of Buffer chunks: the encoding half of the primitive types.
 *
 * Small fields are written into a growable scratch buffer; large byte fields (record batches) are
 * appended as separate chunks without being copied, so a Fetch response of many megabytes costs
 * one small header allocation and a `writev` of views (see `bytesView`). `finish()` returns the
 * chunks in order; `toBuffer()` concatenates them (for tests and small messages).
 */
import { ProtocolError } from './errors.js';
import { sizeOfUnsignedVarint, writeUnsignedVarint } from './varint.js';

/** Byte fields at least this long are referenced, not copied. */
export const ZERO_COPY_THRESHOLD = 2048;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

export class Writer {
  private buf: Buffer;
  private pos: number;
  /** Start of the part of `buf` not yet handed to `chunks`. */
  private chunkStart: number;
  private readonly chunks: Buffer[] = [];
  private flushedBytes = 0;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
    this.pos = 0;
    this.chunkStart = 0;
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.flushedBytes + (this.pos - this.chunkStart);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.chunkStart;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, pending + n, 256));
    this.buf.copy(next, 0, this.chunkStart, this.pos);
    this.buf = next;
    this.chunkStart = 0;
    this.pos = pending;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  uint16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  uint32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  int64(v: bigint | number): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(typeof v === 'bigint' ? v : BigInt(v), this.pos);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /** UUID from canonical 8-4-4-4-12 hex (dashes optional); parsed by hand: topic ids are on hot paths. */
  uuid(v: string): void {
    this.ensure(16);
    const buf = this.buf;
    let out = this.pos;
    let i = 0;
    const n = v.length;
    if (n !== 36 && n !== 32) throw new ProtocolError('INVALID_VALUE', `not a UUID: ${JSON.stringify(v)}`);
    while (out < this.pos + 16) {
      if (v.charCodeAt(i) === 45 /* - */) {
        if (n !== 36 || (i !== 8 && i !== 13 && i !== 18 && i !== 23)) break;
        i++;
        continue;
      }
      const hi = hexValue(v.charCodeAt(i));
      const lo = hexValue(v.charCodeAt(i + 1));
      if (hi < 0 || lo < 0) break;
      buf[out++] = (hi << 4) | lo;
      i += 2;
    }
    if (out !== this.pos + 16 || i !== n)
      throw new ProtocolError('INVALID_VALUE', `not a UUID: ${JSON.stringify(v)}`);
    this.pos = out;
  }

  unsignedVarint(v: number): void {
    this.ensure(5);
    this.pos = writeUnsignedVarint(this.buf, this.pos, v);
  }

  string(v: string): void {
    const n = Buffer.byteLength(v, 'utf8');
    if (n > 0x7fff) throw new ProtocolError('INVALID_VALUE', `string of ${n} bytes exceeds INT16 length`);
    this.ensure(2 + n);
    this.buf.writeInt16BE(n, this.pos);
    this.pos += 2;
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
  }

  nullableString(v: string | null): void {
    if (v === null) this.int16(-1);
    else this.string(v);
  }

  compactString(v: string): void {
    const n = Buffer.byteLength(v, 'utf8');
    this.ensure(5 + n);
    this.pos = writeUnsignedVarint(this.buf, this.pos, n + 1);
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
  }

  compactNullableString(v: string | null): void {
    if (v === null) this.unsignedVarint(0);
    else this.compactString(v);
  }

  bytes(v: Uint8Array): void {
    this.int32(v.length);
    this.raw(v);
  }

  nullableBytes(v: Uint8Array | null): void {
    if (v === null) this.int32(-1);
    else this.bytes(v);
  }

  compactBytes(v: Uint8Array): void {
    this.unsignedVarint(v.length + 1);
    this.raw(v);
  }

  compactNullableBytes(v: Uint8Array | null): void {
    if (v === null) this.unsignedVarint(0);
    else this.compactBytes(v);
  }

  /** RECORDS: nullable bytes whose content may be given as several chunks (never concatenated). */
  records(v: Uint8Array | readonly Uint8Array[] | null, compact: boolean): void {
    if (v === null) {
      if (compact) this.unsignedVarint(0);
      else this.int32(-1);
      return;
    }
    if (v instanceof Uint8Array) {
      if (compact) this.compactBytes(v);
      else this.bytes(v);
      return;
    }
    let total = 0;
    for (const c of v) total += c.length;
    if (compact) this.unsignedVarint(total + 1);
    else this.int32(total);
    for (const c of v) this.raw(c);
  }

  arrayLength(n: number): void {
    this.int32(n);
  }

  compactArrayLength(n: number): void {
    this.unsignedVarint(n + 1);
  }

  /** Bytes without a length prefix; large ones are referenced, not copied. */
  raw(v: Uint8Array): void {
    const n = v.length;
    if (n >= ZERO_COPY_THRESHOLD) {
      this.flushPending();
      this.chunks.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      this.flushedBytes += n;
      return;
    }
    this.ensure(n);
    this.buf.set(v, this.pos);
    this.pos += n;
  }

  private flushPending(): void {
    if (this.pos > this.chunkStart) {
      this.chunks.push(this.buf.subarray(this.chunkStart, this.pos));
      this.flushedBytes += this.pos - this.chunkStart;
      this.chunkStart = this.pos;
    }
  }

  /** Overwrite 4 bytes already written at absolute position `at` (used for size prefixes). */
  patchInt32(at: number, v: number): void {
    // The reserved bytes are always in the first chunk or the current scratch buffer.
    const first = this.chunks[0];
    if (first !== undefined) {
      if (at + 4 > first.length) throw new ProtocolError('INVALID_VALUE', 'patch outside first chunk');
      first.writeInt32BE(v, at);
    } else {
      this.buf.writeInt32BE(v, this.chunkStart + at);
    }
  }

  /** The encoded bytes as chunks, in order. The Writer must not be used afterwards. */
  finish(): Buffer[] {
    this.flushPending();
    return this.chunks;
  }

  toBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }
}

export { sizeOfUnsignedVarint };
