/**
 * Read-through cache of object byte ranges, bounded in bytes (LRU). Concurrent reads of the same
 * range share one ObjectStore get. Ranges are cached whole (the index hands out one range per
 * partition per object), so a fetch that walks a range batch by batch costs one GET.
 *
 * Optional second tier: a DiskRangeCache. A memory miss tries the disk, then the store; what the
 * store returns is written to disk in the background (the read never waits for that write).
 */
import type { ObjectStore } from '../tiering/object-store.js';
import type { DiskRangeCache } from './disk-cache.js';

export class ObjectRangeCache {
  private readonly entries = new Map<string, Buffer>();
  private readonly inFlight = new Map<string, Promise<Buffer>>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly maxBytes: number,
    readonly disk: DiskRangeCache | null = null,
  ) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  async get(key: string, start: number, length: number): Promise<Buffer> {
    const id = `${key}\0${start}\0${length}`;
    const hit = this.entries.get(id);
    if (hit !== undefined) {
      this.hits++;
      // refresh LRU position
      this.entries.delete(id);
      this.entries.set(id, hit);
      return hit;
    }
    const pending = this.inFlight.get(id);
    if (pending !== undefined) return pending;
    this.misses++;
    const p = this.fetch(key, start, length).then(
      (buf) => {
        this.inFlight.delete(id);
        this.insert(id, buf);
        return buf;
      },
      (err: unknown) => {
        this.inFlight.delete(id);
        throw err;
      },
    );
    this.inFlight.set(id, p);
    return p;
  }

  private async fetch(key: string, start: number, length: number): Promise<Buffer> {
    const disk = this.disk;
    if (disk === null) return this.store.get(key, { start, length });
    const local = await disk.get(key, start, length);
    if (local !== null) return local;
    const buf = await this.store.get(key, { start, length });
    void disk.put(key, start, length, buf);
    return buf;
  }

  /** Seed the cache with bytes we just uploaded (they will likely be read soon by lagging consumers). */
  put(key: string, start: number, length: number, buf: Buffer): void {
    this.insert(`${key}\0${start}\0${length}`, buf);
  }

  private insert(id: string, buf: Buffer): void {
    if (buf.length > this.maxBytes) return;
    const old = this.entries.get(id);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.entries.delete(id);
    }
    this.entries.set(id, buf);
    this.bytes += buf.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }

  /** Forget every cached range of these objects (deleted by retention). */
  invalidate(keys: readonly string[]): void {
    this.disk?.invalidate(keys);
    const set = new Set(keys);
    for (const [id, buf] of this.entries) {
      if (set.has(id.slice(0, id.indexOf('\0')))) {
        this.entries.delete(id);
        this.bytes -= buf.length;
      }
    }
  }
}
