/**
 * Variable-length integers (protobuf-style LEB128), as used by KIP-482 flexible versions
 * (UNSIGNED_VARINT) and by records inside a batch (zig-zag VARINT / VARLONG).
 *
 * Wire grammar:
 *   UNSIGNED_VARINT := { 1xxxxxxx } 0xxxxxxx      (7 bits per byte, low group first, ≤ 5 bytes)
 *   VARINT          := UNSIGNED_VARINT of zigzag32(n) = (n << 1) ^ (n >> 31)
 *   VARLONG         := same over 64 bits, ≤ 10 bytes
 *
 * The functions here work on a Buffer and an explicit offset and report the number of bytes consumed
 * through `varintState.length`, so the hot paths (record iteration) allocate nothing.
 */
import { ProtocolError } from './errors.js';

/** Out-parameter of the decode functions: how many bytes the last decode consumed. */
export const varintState = { length: 0 };

/** Decode an unsigned 32-bit varint at `offset`. Throws ProtocolError if truncated or > 5 bytes. */
export function readUnsignedVarint(buf: Uint8Array, offset: number, end = buf.length): number {
  let result = 0;
  let shift = 0;
  let pos = offset;
  for (;;) {
    if (pos >= end) throw new ProtocolError('TRUNCATED', `varint truncated at byte ${pos}`);
    const b = buf[pos++]!;
    if (shift === 28) {
      // fifth byte: only the low 4 bits fit in 32 bits, and it must be the last byte
      if (b > 0x0f)
        throw new ProtocolError('INVALID_VARINT', `unsigned varint longer than 32 bits at byte ${offset}`);
      result = (result | (b << 28)) >>> 0;
      break;
    }
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      result >>>= 0;
      break;
    }
    shift += 7;
  }
  varintState.length = pos - offset;
  return result;
}

/** Decode a zig-zag signed 32-bit varint (VARINT). */
export function readVarint(buf: Uint8Array, offset: number): number {
  const u = readUnsignedVarint(buf, offset);
  return (u >>> 1) ^ -(u & 1);
}

/**
 * Decode a zig-zag signed 64-bit varint (VARLONG) as a JS number. Values beyond ±2^53 lose
 * precision; record timestamp deltas and lengths never get there. Use readVarlongBigInt when exact
 * 64-bit values matter.
 */
export function readVarlong(buf: Uint8Array, offset: number): number {
  let lo = 0; // low 28 bits
  let hi = 0; // bits 28.. as a float
  let shift = 0;
  let pos = offset;
  const end = buf.length;
  let mul = 1;
  for (;;) {
    if (pos >= end) throw new ProtocolError('TRUNCATED', `varlong truncated at byte ${pos}`);
    if (pos - offset >= 10)
      throw new ProtocolError('INVALID_VARINT', `varlong longer than 10 bytes at byte ${offset}`);
    const b = buf[pos++]!;
    if (shift < 28) {
      lo |= (b & 0x7f) << shift;
    } else {
      hi += (b & 0x7f) * mul;
      mul *= 128;
    }
    shift += 7;
    if ((b & 0x80) === 0) break;
  }
  varintState.length = pos - offset;
  // unsigned value u = hi * 2^28 + lo; zigzag decode: (u >>> 1) ^ -(u & 1)
  const u = hi * 268435456 + (lo >>> 0);
  return (lo & 1) === 0 ? u / 2 : -(u + 1) / 2;
}

/** Decode a zig-zag VARLONG exactly, as a bigint. */
export function readVarlongBigInt(buf: Uint8Array, offset: number): bigint {
  let result = 0n;
  let shift = 0n;
  let pos = offset;
  const end = buf.length;
  for (;;) {
    if (pos >= end) throw new ProtocolError('TRUNCATED', `varlong truncated at byte ${pos}`);
    if (pos - offset >= 10)
      throw new ProtocolError('INVALID_VARINT', `varlong longer than 10 bytes at byte ${offset}`);
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    shift += 7n;
    if ((b & 0x80) === 0) break;
  }
  varintState.length = pos - offset;
  result = BigInt.asUintN(64, result);
  return (result >> 1n) ^ -(result & 1n);
}

/** Bytes needed to encode `value` (0 ≤ value < 2^32) as an unsigned varint. */
export function sizeOfUnsignedVarint(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Bytes needed to encode a signed 32-bit `value` as a zig-zag VARINT. */
export function sizeOfVarint(value: number): number {
  return sizeOfUnsignedVarint(((value << 1) ^ (value >> 31)) >>> 0);
}

/** Bytes needed to encode a signed `value` (|value| < 2^53) as a zig-zag VARLONG. */
export function sizeOfVarlong(value: number): number {
  let u = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (u >= 128) {
    u = Math.floor(u / 128);
    n++;
  }
  return n;
}

/** Write an unsigned varint at `offset`; returns the offset after it. Caller ensures capacity. */
export function writeUnsignedVarint(buf: Uint8Array, offset: number, value: number): number {
  let v = value >>> 0;
  let pos = offset;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Write a signed 32-bit zig-zag VARINT; returns the offset after it. */
export function writeVarint(buf: Uint8Array, offset: number, value: number): number {
  return writeUnsignedVarint(buf, offset, ((value << 1) ^ (value >> 31)) >>> 0);
}

/** Write a signed zig-zag VARLONG (|value| < 2^53); returns the offset after it. */
export function writeVarlong(buf: Uint8Array, offset: number, value: number): number {
  let u = value >= 0 ? value * 2 : -value * 2 - 1;
  let pos = offset;
  while (u >= 128) {
    buf[pos++] = (u % 128) | 0x80;
    u = Math.floor(u / 128);
  }
  buf[pos++] = u;
  return pos;
}

/** Write a signed zig-zag VARLONG from a bigint; returns the offset after it. */
export function writeVarlongBigInt(buf: Uint8Array, offset: number, value: bigint): number {
  let u = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  let pos = offset;
  while (u >= 0x80n) {
    buf[pos++] = Number(u & 0x7fn) | 0x80;
    u >>= 7n;
  }
  buf[pos++] = Number(u);
  return pos;
}
