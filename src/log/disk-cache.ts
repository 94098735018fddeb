/**
 * Bounded local-disk cache of object byte ranges: the tier under the in-memory ObjectRangeCache, so
 * a range read once from the object store stays local after memory evicts it (and across restarts).
 *
 * One file per range, named by a hash of (objectKey, start, length). File layout:
 *   magic "SHRC" (4) | crc32c (4) | keyLength (2) | key | start (8) | length (8) | data
 * The CRC-32C covers everything after itself. A file is written to a temp name and renamed into
 * place; there is no fsync (it is a cache), so after a crash a file may be torn — every read checks
 * header and CRC and deletes a file that does not match rather than serving it.
 *
 * Invariants: total bytes of indexed files ≤ maxBytes (LRU eviction, oldest first); the in-memory
 * index is rebuilt at start from the directory, ordered by mtime (hits touch the mtime); a range of
 * an invalidated object is never served again, even if its put was in flight at invalidation.
 * Every error is swallowed: a failing disk makes the cache miss, never the read fail.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '../../protocol/records/crc32c.js';

const MAGIC = 0x53485243; // "SHRC"
const FILE_SUFFIX = '.rng';
const TEMP_MARKER = '.tmp-';
/** magic + crc + keyLength; then key, start, length. */
const FIXED_HEADER_BYTES = 10;
const MAX_KEY_BYTES = 0xffff;

interface Entry {
  readonly objectKey: string;
  readonly name: string;
  readonly fileBytes: number;
}

function rangeId(objectKey: string, start: number, length: number): string {
  return `${objectKey}\0${start}\0${length}`;
}

function fileNameOf(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 40) + FILE_SUFFIX;
}

function encodeHeader(objectKey: string, start: number, length: number): Buffer {
  const key = Buffer.from(objectKey, 'utf8');
  const h = Buffer.alloc(FIXED_HEADER_BYTES + key.length + 16);
  h.writeUInt32BE(MAGIC, 0);
  h.writeUInt16BE(key.length, 8);
  key.copy(h, FIXED_HEADER_BYTES);
  h.writeBigUInt64BE(BigInt(start), FIXED_HEADER_BYTES + key.length);
  h.writeBigUInt64BE(BigInt(length), FIXED_HEADER_BYTES + key.length + 8);
  return h;
}

interface Parsed {
  objectKey: string;
  start: number;
  length: number;
  dataOffset: number;
}

/** Header fields, or null when the bytes are too short or not ours. Does not check the CRC. */
function parseHeader(buf: Buffer): Parsed | null {
  if (buf.length < FIXED_HEADER_BYTES || buf.readUInt32BE(0) !== MAGIC) return null;
  const keyLength = buf.readUInt16BE(8);
  const dataOffset = FIXED_HEADER_BYTES + keyLength + 16;
  if (buf.length < dataOffset) return null;
  const objectKey = buf.toString('utf8', FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + keyLength);
  const start = Number(buf.readBigUInt64BE(FIXED_HEADER_BYTES + keyLength));
  const length = Number(buf.readBigUInt64BE(FIXED_HEADER_BYTES + keyLength + 8));
  return { objectKey, start, length, dataOffset };
}

export class DiskRangeCache {
  /** id → entry, in LRU order (first = least recently used). */
  private readonly entries = new Map<string, Entry>();
  /** objectKey → ids of its cached ranges (for invalidate). */
  private readonly byObject = new Map<string, Set<string>>();
  /** Puts in flight: id → token; invalidate removes the token so the finished put is discarded. */
  private readonly pending = new Map<string, symbol>();
  private readonly pendingPromises = new Set<Promise<void>>();
  private bytes = 0;
  private readonly ready: Promise<void>;
  hits = 0;
  misses = 0;
  corrupt = 0;

  /** Starts rebuilding the index from `dir` in the background; calls wait for it. */
  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    this.ready = this.load().catch(() => {});
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get fileCount(): number {
    return this.entries.size;
  }

  /** Resolves once the index is rebuilt (tests; every method already waits for it). */
  async whenReady(): Promise<void> {
    await this.ready;
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const found: { id: string; entry: Entry; mtimeMs: number }[] = [];
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.includes(TEMP_MARKER)) {
        // left by a crash mid-write
        await unlink(path).catch(() => {});
        continue;
      }
      if (!name.endsWith(FILE_SUFFIX)) continue;
      try {
        const st = await stat(path);
        const parsed = await readHeaderOf(path);
        const id = parsed === null ? null : rangeId(parsed.objectKey, parsed.start, parsed.length);
        if (parsed === null || id === null || fileNameOf(id) !== name) {
          await unlink(path).catch(() => {});
          continue;
        }
        found.push({
          id,
          entry: { objectKey: parsed.objectKey, name, fileBytes: st.size },
          mtimeMs: st.mtimeMs,
        });
      } catch {
        // vanished or unreadable: skip it
      }
    }
    found.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const f of found) this.index(f.id, f.entry);
    this.evict();
  }

  /** The cached bytes of the range, or null (miss, or a bad file, which is deleted). */
  async get(objectKey: string, start: number, length: number): Promise<Buffer | null> {
    await this.ready;
    const id = rangeId(objectKey, start, length);
    const entry = this.entries.get(id);
    if (entry === undefined) {
      this.misses++;
      return null;
    }
    const path = join(this.dir, entry.name);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch {
      this.unindex(id);
      this.misses++;
      return null;
    }
    const parsed = parseHeader(buf);
    const valid =
      parsed !== null &&
      parsed.objectKey === objectKey &&
      parsed.start === start &&
      parsed.length === length &&
      buf.length === parsed.dataOffset + length &&
      buf.readUInt32BE(4) === crc32c(buf.subarray(8));
    if (!valid) {
      this.corrupt++;
      this.misses++;
      if (this.entries.get(id) === entry) {
        this.unindex(id);
        await unlink(path).catch(() => {});
      }
      return null;
    }
    this.hits++;
    if (this.entries.get(id) === entry) {
      // refresh LRU position, in memory and (for the next start) on disk
      this.entries.delete(id);
      this.entries.set(id, entry);
      const now = new Date();
      utimes(path, now, now).catch(() => {});
    }
    return buf.subarray(parsed.dataOffset);
  }

  /** Store a range in the background; resolves when written (or abandoned). Never rejects. */
  put(objectKey: string, start: number, length: number, data: Buffer): Promise<void> {
    const id = rangeId(objectKey, start, length);
    const header = encodeHeader(objectKey, start, length);
    if (data.length !== length || Buffer.byteLength(objectKey) > MAX_KEY_BYTES) return Promise.resolve();
    if (header.length + length > this.maxBytes || this.pending.has(id)) return Promise.resolve();
    const token = Symbol(id);
    this.pending.set(id, token);
    const p = this.write(id, objectKey, header, data, token)
      .catch(() => {})
      .finally(() => {
        if (this.pending.get(id) === token) this.pending.delete(id);
        this.pendingPromises.delete(p);
      });
    this.pendingPromises.add(p);
    return p;
  }

  private async write(
    id: string,
    objectKey: string,
    header: Buffer,
    data: Buffer,
    token: symbol,
  ): Promise<void> {
    await this.ready;
    if (this.entries.has(id)) return;
    let crc = crc32c(header.subarray(8));
    crc = crc32c(data, crc);
    header.writeUInt32BE(crc, 4);
    const name = fileNameOf(id);
    const final = join(this.dir, name);
    const temp = `${final}${TEMP_MARKER}${randomBytes(6).toString('hex')}`;
    try {
      const fh = await open(temp, 'w');
      try {
        await fh.writev([header, data]);
      } finally {
        await fh.close();
      }
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
    if (this.pending.get(id) !== token) {
      // invalidated while writing
      await unlink(temp).catch(() => {});
      return;
    }
    await rename(temp, final);
    if (this.pending.get(id) !== token) {
      await unlink(final).catch(() => {});
      return;
    }
    this.index(id, { objectKey, name, fileBytes: header.length + data.length });
    this.evict();
  }

  /** Forget and delete every cached range of these objects (deleted from the object store). */
  invalidate(objectKeys: readonly string[]): void {
    for (const key of objectKeys) {
      for (const id of this.pending.keys()) {
        if (id.slice(0, id.indexOf('\0')) === key) this.pending.delete(id);
      }
      const ids = this.byObject.get(key);
      if (ids === undefined) continue;
      for (const id of [...ids]) {
        const entry = this.entries.get(id);
        this.unindex(id);
        if (entry !== undefined) unlink(join(this.dir, entry.name)).catch(() => {});
      }
    }
  }

  /** Wait for puts in flight (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pendingPromises.size > 0) await Promise.all([...this.pendingPromises]);
  }

  private index(id: string, entry: Entry): void {
    this.unindex(id);
    this.entries.set(id, entry);
    this.bytes += entry.fileBytes;
    let ids = this.byObject.get(entry.objectKey);
    if (ids === undefined) {
      ids = new Set();
      this.byObject.set(entry.objectKey, ids);
    }
    ids.add(id);
  }

  private unindex(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.delete(id);
    this.bytes -= entry.fileBytes;
    const ids = this.byObject.get(entry.objectKey);
    ids?.delete(id);
    if (ids !== undefined && ids.size === 0) this.byObject.delete(entry.objectKey);
  }

  private evict(): void {
    for (const [id, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.unindex(id);
      unlink(join(this.dir, entry.name)).catch(() => {});
    }
  }
}

/** Read just enough of a file to parse its header. */
async function readHeaderOf(path: string): Promise<Parsed | null> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(FIXED_HEADER_BYTES + MAX_KEY_BYTES + 16);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return parseHeader(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
