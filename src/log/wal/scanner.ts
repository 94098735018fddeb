/**
 * Sequential reader of one segment file: validates entries (framing, lsn, CRC) from a start offset up to
 * a limit and stops at the first thing that is not a valid entry, saying why (`EndReason`).
 *
 * Entries come out in batches (all the complete entries of the current read buffer) so that replay pays
 * one await per ~MiB, not one per entry. Read buffers are never reused: a payload is a `subarray` of one
 * and stays valid for as long as the caller keeps it.
 */
import { readAt } from './files.js';
import { entryCrc, HEADER_BYTES, readU64 } from './format.js';

/**
 * Why a scan stopped.
 * - `limit`: it reached the limit exactly (the next segment's base, the durable end, or the file end).
 * - `zero`: the next header (or the < 16 bytes left before the limit) is all zeros: a clean end.
 * - `torn-header`: fewer than 16 bytes left before the limit and they are not all zero.
 * - `torn-entry`: the length field runs past the limit (or the file is shorter than the limit).
 * - `lsn-mismatch`: the lsn field is not this position: garbage, or a stale entry of a recycled file.
 * - `crc-mismatch`: the header is right but the CRC does not match: a torn or corrupted entry.
 */
export type EndReason = 'limit' | 'zero' | 'torn-header' | 'torn-entry' | 'lsn-mismatch' | 'crc-mismatch';

export function isCleanEnd(reason: EndReason): boolean {
  return reason === 'limit' || reason === 'zero';
}

export interface WalEntry {
  /** LSN of the entry's first byte (its header). */
  lsn: number;
  /** LSN just past the entry: the next entry's lsn. */
  endLsn: number;
  /** The payload bytes as appended (the parts concatenated). A view into a read buffer that is never reused. */
  payload: Buffer;
}

export const DEFAULT_READ_CHUNK_BYTES = 1 << 20;

export class SegmentScanner {
  private buf: Buffer = Buffer.alloc(0);
  /** File offset of buf[0]. */
  private bufStart: number;
  /** File offset of the next entry. */
  private cursor: number;
  private endReason: EndReason | null = null;

  /**
   * @param fd     an open segment file
   * @param base   the segment's base LSN
   * @param start  file offset of the first entry to read (must be an entry boundary)
   * @param limit  file offset to stop at; an entry may end exactly at it but not run past it
   */
  constructor(
    private readonly fd: number,
    private readonly base: number,
    start: number,
    private readonly limit: number,
    private readonly chunkBytes = DEFAULT_READ_CHUNK_BYTES,
  ) {
    this.cursor = start;
    this.bufStart = start;
  }

  /** File offset just past the last valid entry returned so far. */
  get offset(): number {
    return this.cursor;
  }

  /** Why the scan stopped; null while it has not. */
  get end(): EndReason | null {
    return this.endReason;
  }

  /** The next valid entries, at least one; an empty array once the scan has ended (see `end`). */
  async nextBatch(): Promise<WalEntry[]> {
    const out: WalEntry[] = [];
    if (this.endReason !== null) return out;
    for (;;) {
      const need = this.parseBuffered(out);
      if (this.endReason !== null || out.length > 0) return out;
      // Nothing complete is buffered: read at least `need` more bytes from the cursor.
      const available = this.limit - this.cursor;
      if (available === 0) {
        this.endReason = 'limit';
        return out;
      }
      if (available < HEADER_BYTES) {
        if (!(await this.fill(available))) {
          this.endReason = 'torn-header';
          return out;
        }
        const at = this.cursor - this.bufStart;
        this.endReason = isZero(this.buf, at, at + available) ? 'zero' : 'torn-header';
        return out;
      }
      if (!(await this.fill(need))) {
        // The file is shorter than the limit said (only possible for a damaged non-last segment).
        this.endReason = need === HEADER_BYTES ? 'torn-header' : 'torn-entry';
        return out;
      }
    }
  }

  /**
   * Moves every complete, valid entry in the buffer to `out`. Sets `endReason` at an invalid one;
   * otherwise returns how many bytes from the cursor the next entry needs.
   */
  private parseBuffered(out: WalEntry[]): number {
    const buf = this.buf;
    for (;;) {
      const at = this.cursor - this.bufStart;
      const buffered = buf.length - at;
      if (buffered < HEADER_BYTES) return HEADER_BYTES;
      const length = buf.readUInt32BE(at);
      const storedCrc = buf.readUInt32BE(at + 4);
      const storedLsn = readU64(buf, at + 8);
      if (length === 0 && storedCrc === 0 && storedLsn === 0) {
        this.endReason = 'zero';
        return 0;
      }
      const lsn = this.base + this.cursor;
      if (storedLsn !== lsn) {
        this.endReason = 'lsn-mismatch';
        return 0;
      }
      const size = HEADER_BYTES + length;
      if (size > this.limit - this.cursor) {
        this.endReason = 'torn-entry';
        return 0;
      }
      if (buffered < size) return size;
      if (entryCrc(buf, at, length) !== storedCrc) {
        this.endReason = 'crc-mismatch';
        return 0;
      }
      out.push({ lsn, endLsn: lsn + size, payload: buf.subarray(at + HEADER_BYTES, at + size) });
      this.cursor += size;
    }
  }

  /** Makes [cursor, cursor + need) buffered; false when the file ends first. */
  private async fill(need: number): Promise<boolean> {
    const keepFrom = this.cursor - this.bufStart;
    const kept = this.buf.length - keepFrom;
    const want = Math.min(Math.max(this.chunkBytes, need), this.limit - this.cursor);
    const next = Buffer.allocUnsafe(want);
    this.buf.copy(next, 0, keepFrom);
    let filled = kept;
    while (filled < want) {
      const n = await readAt(this.fd, next, filled, want - filled, this.cursor + filled);
      if (n <= 0) break;
      filled += n;
    }
    this.buf = filled === want ? next : next.subarray(0, filled);
    this.bufStart = this.cursor;
    return filled >= need;
  }
}

function isZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}
