/**
 * On-disk format of the write-ahead log: file names, entry framing, the checkpoint file.
 *
 * Directory:
 *   <base, 20 digits>.wal     a segment; its first entry has LSN = base. Names sort in log order.
 *   spare-<n>.spare           a file ready to become the next segment (zero-filled, or a recycled old segment)
 *   spare-<n>.spare.tmp       a spare being zero-filled; deleted at open
 *   checkpoint                the durable checkpoint (replaced atomically through checkpoint.tmp)
 *
 * Segment file:
 *   segment    := entry* terminator? stale*
 *   entry      := length:u32be crc:u32be lsn:u64be payload:byte[length]
 *     length     payload bytes only (0 is allowed); the header is always HEADER_BYTES = 16
 *     lsn        the log position of this entry's first byte = segment base + file offset
 *     crc        CRC-32C over the 8 lsn bytes, then the payload
 *   terminator := 0x00 × min(16, file size − end)   written after the last entry of every write
 *   stale      := what the file held before: zeros (zero-filled spare) or a recycled segment's old bytes
 *
 * Why the lsn field: a recycled file still holds valid-looking entries of its previous life at the same
 * offsets. Their lsn fields are smaller than any position the file can take now (segment bases only grow),
 * so the lsn check rejects them; it also catches a read at the wrong position (a checkpoint or replay
 * start that is not an entry boundary).
 *
 * Why the terminator: after a clean write the bytes at the end are always 16 zeros, in a zero-filled file
 * and in a recycled one alike, so recovery can tell a clean end ("zero header") from a torn one (anything
 * else). An all-zero header can never be a valid entry: its crc field would have to equal
 * crc32c(8 zero bytes) = 0x8C28B28A.
 *
 * LSNs are JS numbers: exact below 2^53 bytes (8 PiB), i.e. 104 days of a sustained 1 GB/s or 2.8 years at
 * 100 MB/s. `append` rejects rather than lose precision; rebasing positions is future work.
 *
 * Checkpoint file (24 bytes):
 *   checkpoint := magic:"SHWALCK1" lsn:u64be crc:u32be reserved:u32be(0)
 *     crc        CRC-32C of the 16 bytes before it
 */
import { join } from 'node:path';
import { crc32c } from '../../../protocol/records/crc32c.js';

export const HEADER_BYTES = 16;
/** Largest payload of one entry (the length field is a u32). */
export const MAX_PAYLOAD_BYTES = 0xffff_ffff;

const TWO_32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), offset);
  buf.writeUInt32BE(value >>> 0, offset + 4);
}

/** Reads a u64 as a number; values ≥ 2^53 come back inexact, which the lsn comparisons then reject. */
export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4);
}

/** The 16-byte header of an entry at `lsn` carrying `payload` (total `payloadBytes`). */
export function encodeEntryHeader(lsn: number, payload: readonly Uint8Array[], payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(payloadBytes, 0);
  writeU64(header, 8, lsn);
  let crc = crc32c(header.subarray(8, 16), 0);
  for (const part of payload) crc = crc32c(part, crc);
  header.writeUInt32BE(crc, 4);
  return header;
}

/** CRC of an entry as stored: over the lsn field and the payload that follows the header at `at`. */
export function entryCrc(buf: Buffer, at: number, payloadBytes: number): number {
  return crc32c(buf.subarray(at + 8, at + HEADER_BYTES + payloadBytes), 0);
}

// ---------------------------------------------------------------------------------------------------------
// File names

const SEGMENT_NAME = /^(\d{20})\.wal$/;
const SPARE_NAME = /^spare-(\d+)\.spare$/;
export const CHECKPOINT_NAME = 'checkpoint';

export function segmentFileName(base: number): string {
  return `${String(base).padStart(20, '0')}.wal`;
}

export function segmentPath(dir: string, base: number): string {
  return join(dir, segmentFileName(base));
}

export function sparePath(dir: string, index: number): string {
  return join(dir, `spare-${String(index).padStart(6, '0')}.spare`);
}

export type WalFileName =
  | { kind: 'segment'; base: number }
  | { kind: 'spare'; index: number }
  | { kind: 'checkpoint' }
  | { kind: 'temporary' }
  | { kind: 'other' };

export function parseFileName(name: string): WalFileName {
  const segment = SEGMENT_NAME.exec(name);
  if (segment) return { kind: 'segment', base: Number(segment[1]) };
  const spare = SPARE_NAME.exec(name);
  if (spare) return { kind: 'spare', index: Number(spare[1]) };
  if (name === CHECKPOINT_NAME) return { kind: 'checkpoint' };
  if (name.endsWith('.tmp')) return { kind: 'temporary' };
  return { kind: 'other' };
}

// ---------------------------------------------------------------------------------------------------------
// Checkpoint file

const CHECKPOINT_MAGIC = Buffer.from('SHWALCK1', 'latin1');
export const CHECKPOINT_BYTES = 24;

export function encodeCheckpoint(lsn: number): Buffer {
  const buf = Buffer.alloc(CHECKPOINT_BYTES);
  CHECKPOINT_MAGIC.copy(buf, 0);
  writeU64(buf, 8, lsn);
  buf.writeUInt32BE(crc32c(buf.subarray(0, 16), 0), 16);
  return buf;
}

/** The lsn in a checkpoint file, or null when the bytes are not a valid checkpoint. */
export function decodeCheckpoint(buf: Buffer): number | null {
  if (buf.length !== CHECKPOINT_BYTES) return null;
  if (!buf.subarray(0, 8).equals(CHECKPOINT_MAGIC)) return null;
  if (buf.readUInt32BE(16) !== crc32c(buf.subarray(0, 16), 0)) return null;
  const lsn = readU64(buf, 8);
  return Number.isSafeInteger(lsn) ? lsn : null;
}
