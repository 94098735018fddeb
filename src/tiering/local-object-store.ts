/**
 * LocalObjectStore: an ObjectStore in a local directory (the default for a single broker).
 *
 * Layout: key `ab/cd/0001.obj` is the file `<root>/ab/cd/0001.obj`; `/` in keys makes
 * subdirectories. `<root>/.tmp/` holds puts in progress; no key can start with `.`, so neither that
 * directory nor any other dot-name is ever mistaken for an object.
 *
 * Invariants:
 * - A file under a key's path is always a complete object: put() writes a uniquely named temp file,
 *   fdatasyncs it, renames it into place (atomic on POSIX), then fsyncs the directory that received
 *   it (and, when put() created directories, their parents), so after a crash the key holds either
 *   the old object, nothing, or the complete new one.
 * - Temp files left by a crash are removed by open() once older than `staleTempFileAgeMs` (age, not
 *   existence, so a second process sharing the directory keeps its puts in progress).
 * - Ranged reads read only the requested bytes (positioned reads), never the whole file.
 * - delete() removes directories it empties; a put() racing with that removal retries its rename.
 *
 * Thread-safety: safe for concurrent calls from one process and for several processes sharing the
 * directory (atomicity comes from rename). close() waits for puts, gets, heads and deletes already
 * started; a list() still being iterated fails at its next directory read.
 */
import { randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import {
  assertRangeWithin,
  assertValidListPrefix,
  assertValidObjectKey,
  type ByteRange,
  isValidKeySegment,
  type ObjectInfo,
  type ObjectStore,
  ObjectStoreError,
} from './object-store.js';

export interface LocalObjectStoreOptions {
  /** fsync files and directories so a put survives power loss. Default true; turn off only in tests. */
  readonly fsync?: boolean;
  /** Temp files older than this are deleted by open() as leftovers of a crash. Default 15 minutes. */
  readonly staleTempFileAgeMs?: number;
}

const TEMP_DIR_NAME = '.tmp';
const DEFAULT_STALE_TEMP_FILE_AGE_MS = 15 * 60 * 1000;
/** How often put() retries its rename when a concurrent delete() removed the target directory. */
const RENAME_ATTEMPTS = 5;
/** How many unlinks one delete() call runs at once. */
const DELETE_CONCURRENCY = 16;

export class LocalObjectStore implements ObjectStore {
  readonly rootDir: string;
  readonly #tempDir: string;
  readonly #fsync: boolean;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(rootDir: string, fsync: boolean) {
    this.rootDir = rootDir;
    this.#tempDir = join(rootDir, TEMP_DIR_NAME);
    this.#fsync = fsync;
  }

  /** Open (creating if needed) the store rooted at `rootDir`, and clear stale temp files. */
  static async open(rootDir: string, options: LocalObjectStoreOptions = {}): Promise<LocalObjectStore> {
    const store = new LocalObjectStore(resolve(rootDir), options.fsync ?? true);
    try {
      await mkdir(store.#tempDir, { recursive: true });
      await store.#removeStaleTempFiles(options.staleTempFileAgeMs ?? DEFAULT_STALE_TEMP_FILE_AGE_MS);
    } catch (err) {
      throw unavailable(`cannot open object store directory ${store.rootDir}`, err);
    }
    return store;
  }

  put(key: string, body: Buffer | readonly Buffer[]): Promise<void> {
    return this.#track(async () => {
      assertValidObjectKey(key);
      const finalPath = this.#pathOf(key);
      const dir = dirname(finalPath);
      const tempPath = join(this.#tempDir, randomUUID());
      let renamed = false;
      try {
        const fh = await this.#openTempFile(tempPath);
        try {
          await writeAll(fh, Buffer.isBuffer(body) ? [body] : body);
          if (this.#fsync) await fh.datasync();
        } finally {
          await fh.close();
        }
        for (let attempt = 1; ; attempt++) {
          await this.#ensureDir(dir);
          try {
            await rename(tempPath, finalPath);
            break;
          } catch (err) {
            // A delete() pruned the (momentarily empty) directory between mkdir and rename.
            if (errnoOf(err) === 'ENOENT' && attempt < RENAME_ATTEMPTS) continue;
            throw err;
          }
        }
        renamed = true;
        if (this.#fsync) await fsyncDir(dir, true);
      } catch (err) {
        if (!renamed) await rm(tempPath, { force: true }).catch(() => undefined);
        const code = errnoOf(err);
        if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
          throw new ObjectStoreError('KEY_CONFLICT', `key ${key} collides with another key's path`, {
            cause: err,
          });
        }
        throw toStoreError(err, `put ${key}`);
      }
    });
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.#track(async () => {
      assertValidObjectKey(key);
      let fh: FileHandle;
      try {
        fh = await open(this.#pathOf(key), 'r');
      } catch (err) {
        throw isMissing(err) ? notFound(key) : toStoreError(err, `get ${key}`);
      }
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw notFound(key);
        let start = 0;
        let length = st.size;
        if (range !== undefined) {
          assertRangeWithin(key, range, st.size);
          start = range.start;
          length = range.length;
        }
        const out = Buffer.allocUnsafe(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await fh.read(out, filled, length - filled, start + filled);
          if (bytesRead === 0) {
            throw new ObjectStoreError(
              'OBJECT_STORE_UNAVAILABLE',
              `${key} ended early: the file was changed`,
            );
          }
          filled += bytesRead;
        }
        return out;
      } catch (err) {
        throw toStoreError(err, `get ${key}`);
      } finally {
        await fh.close();
      }
    });
  }

  head(key: string): Promise<number | null> {
    return this.#track(async () => {
      assertValidObjectKey(key);
      try {
        const st = await stat(this.#pathOf(key));
        return st.isFile() ? st.size : null;
      } catch (err) {
        if (isMissing(err)) return null;
        throw toStoreError(err, `head ${key}`);
      }
    });
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.#track(async () => {
      for (const key of keys) assertValidObjectKey(key);
      for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
        await Promise.all(keys.slice(i, i + DELETE_CONCURRENCY).map((key) => this.#deleteOne(key)));
      }
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.#assertOpen();
    assertValidListPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const namePrefix = prefix.slice(slash + 1);
    if (dirKey === '') {
      if (slash === 0) return; // a prefix starting with '/' matches no key
      yield* this.#walk(this.rootDir, '', namePrefix);
      return;
    }
    const segments = dirKey.split('/');
    if (!segments.every(isValidKeySegment)) return; // no valid key can start with this prefix
    yield* this.#walk(join(this.rootDir, ...segments), `${dirKey}/`, namePrefix);
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Depth-first walk in key order. Sorting directory names as `name/` makes a directory's subtree
   * come exactly where its keys sort among the sibling files (`a-b` < `a/x` because '-' < '/').
   */
  async *#walk(dir: string, keyPrefix: string, namePrefix: string): AsyncGenerator<ObjectInfo> {
    this.#assertOpen();
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw toStoreError(err, `list ${dir}`);
    }
    const items: { name: string; sortName: string; isDir: boolean }[] = [];
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix) || !isValidKeySegment(entry.name)) continue;
      if (entry.isDirectory()) items.push({ name: entry.name, sortName: `${entry.name}/`, isDir: true });
      else if (entry.isFile()) items.push({ name: entry.name, sortName: entry.name, isDir: false });
    }
    items.sort((a, b) => (a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : 0));
    for (const item of items) {
      const key = keyPrefix + item.name;
      const path = join(dir, item.name);
      if (item.isDir) {
        yield* this.#walk(path, `${key}/`, '');
        continue;
      }
      try {
        const st = await stat(path);
        yield { key, sizeBytes: st.size, lastModified: st.mtime };
      } catch (err) {
        if (isMissing(err)) continue; // deleted while we listed
        throw toStoreError(err, `list ${key}`);
      }
    }
  }

  async #deleteOne(key: string): Promise<void> {
    const path = this.#pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      const code = errnoOf(err);
      // Missing, or a directory (a key prefix, not an object): nothing to delete.
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') return;
      throw toStoreError(err, `delete ${key}`);
    }
    // Remove directories this delete emptied, up to (not including) the root.
    let dir = dirname(path);
    while (dir !== this.rootDir && dir.startsWith(this.rootDir + sep)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or already gone): stop pruning
      }
      dir = dirname(dir);
    }
  }

  /** mkdir -p, then fsync the parents of every directory it created so their entries are durable. */
  async #ensureDir(dir: string): Promise<void> {
    if (dir === this.rootDir) return;
    const firstCreated = await mkdir(dir, { recursive: true });
    if (firstCreated === undefined || !this.#fsync) return;
    const created: string[] = [];
    for (let d = dir; ; d = dirname(d)) {
      created.push(d);
      if (d === firstCreated || d === this.rootDir || dirname(d) === d) break;
    }
    for (const d of created) await fsyncDir(dirname(d), false);
  }

  async #openTempFile(tempPath: string): Promise<FileHandle> {
    try {
      return await open(tempPath, 'wx', 0o644);
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
      // Someone removed the temp directory under us: make it again, once.
      await mkdir(this.#tempDir, { recursive: true });
      return await open(tempPath, 'wx', 0o644);
    }
  }

  async #removeStaleTempFiles(maxAgeMs: number): Promise<void> {
    const cutoff = Date.now() - maxAgeMs;
    for (const name of await readdir(this.#tempDir)) {
      const path = join(this.#tempDir, name);
      try {
        const st = await stat(path);
        if (st.mtimeMs < cutoff) await rm(path, { force: true, recursive: true });
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
  }

  #pathOf(key: string): string {
    return join(this.rootDir, ...key.split('/'));
  }

  #assertOpen(): void {
    if (this.#closed) throw new ObjectStoreError('OBJECT_STORE_CLOSED', 'object store is closed');
  }

  #track<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#closed)
      return Promise.reject(new ObjectStoreError('OBJECT_STORE_CLOSED', 'object store is closed'));
    const promise = operation();
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }
}

/** Write every buffer at the file's current position, coping with partial writes. */
async function writeAll(fh: FileHandle, buffers: readonly Buffer[]): Promise<void> {
  let pending = buffers.filter((b) => b.length > 0);
  while (pending.length > 0) {
    let { bytesWritten } = await fh.writev(pending);
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (bytesWritten >= b.length) bytesWritten -= b.length;
      else {
        rest.push(bytesWritten > 0 ? b.subarray(bytesWritten) : b);
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}

async function fsyncDir(dir: string, tolerateMissing: boolean): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(dir, 'r');
  } catch (err) {
    // After rename the object may already have been deleted by someone else, directory and all.
    if (tolerateMissing && errnoOf(err) === 'ENOENT') return;
    throw err;
  }
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

function isMissing(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFound(key: string): ObjectStoreError {
  return new ObjectStoreError('OBJECT_NOT_FOUND', `no object under ${key}`);
}

function unavailable(message: string, cause: unknown): ObjectStoreError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new ObjectStoreError('OBJECT_STORE_UNAVAILABLE', message + detail, { cause });
}

/** ObjectStoreErrors pass through; file-system errors become OBJECT_STORE_UNAVAILABLE. */
function toStoreError(err: unknown, what: string): ObjectStoreError {
  if (err instanceof ObjectStoreError) return err;
  return unavailable(`${what} failed`, err);
}
