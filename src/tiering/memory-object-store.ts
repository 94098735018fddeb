/**
 * MemoryObjectStore: an ObjectStore held in a Map, for unit tests and `memory://`.
 *
 * Invariants: stored buffers are private copies, and get() returns a fresh copy, so neither the
 * caller of put() nor of get() can change what is stored. Nothing survives the process.
 *
 * Thread-safety: every method does its work synchronously inside one call, so each is atomic with
 * respect to every other on the single JS thread.
 */
import {
  assertRangeWithin,
  assertValidListPrefix,
  assertValidObjectKey,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  ObjectStoreError,
} from './object-store.js';

interface StoredObject {
  readonly body: Buffer;
  readonly lastModified: Date;
}

export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, StoredObject>();
  #closed = false;

  async put(key: string, body: Buffer | readonly Buffer[]): Promise<void> {
    this.#assertOpen();
    assertValidObjectKey(key);
    const copy = Buffer.isBuffer(body) ? Buffer.from(body) : Buffer.concat(body as Buffer[]);
    this.#objects.set(key, { body: copy, lastModified: new Date() });
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    this.#assertOpen();
    assertValidObjectKey(key);
    const stored = this.#objects.get(key);
    if (stored === undefined) throw new ObjectStoreError('OBJECT_NOT_FOUND', `no object under ${key}`);
    if (range === undefined) return Buffer.from(stored.body);
    assertRangeWithin(key, range, stored.body.length);
    return Buffer.from(stored.body.subarray(range.start, range.start + range.length));
  }

  async head(key: string): Promise<number | null> {
    this.#assertOpen();
    assertValidObjectKey(key);
    return this.#objects.get(key)?.body.length ?? null;
  }

  async delete(keys: readonly string[]): Promise<void> {
    this.#assertOpen();
    for (const key of keys) assertValidObjectKey(key);
    for (const key of keys) this.#objects.delete(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.#assertOpen();
    assertValidListPrefix(prefix);
    // Snapshot first: the listing reflects the store when list() started, whatever happens meanwhile.
    const matches: ObjectInfo[] = [];
    for (const [key, stored] of this.#objects) {
      if (key.startsWith(prefix)) {
        matches.push({ key, sizeBytes: stored.body.length, lastModified: stored.lastModified });
      }
    }
    matches.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* matches;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ObjectStoreError('OBJECT_STORE_CLOSED', 'object store is closed');
  }
}
