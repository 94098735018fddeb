/**
 * The broker's write-ahead log: one log for all partitions, group commit, segment files, checkpoint,
 * recovery. The on-disk grammar is in format.ts; the reasoning and measurements behind the choices are
 * in README.md next to this file.
 */
import fs from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { WalError, type WalErrorCode } from './errors.js';
import {
  closeFile,
  closeQuietly,
  endOfNonZero,
  fileSize,
  fsyncDirectory,
  nodeFileOps,
  openFile,
  readAt,
  type WalFileOps,
  writevFully,
  writeZeros,
} from './files.js';
import {
  CHECKPOINT_NAME,
  decodeCheckpoint,
  encodeCheckpoint,
  encodeEntryHeader,
  HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  parseFileName,
  readU64,
  segmentPath,
  sparePath,
} from './format.js';
import { type EndReason, isCleanEnd, SegmentScanner, type WalEntry } from './scanner.js';

export type { EndReason, WalEntry } from './scanner.js';

export interface WalOptions {
  /** Target segment file size. An entry never spans segments; one larger than this gets a segment alone. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * fdatasync every group before resolving its appends. Default true. `false` is for tests and benchmarks
   * only: it gives up the durability contract (acknowledged appends survive a process crash, not a
   * kernel crash or power loss).
   */
  fsync?: boolean;
  /** Wait this long before each group write to gather more appends. Default 0: no timers at all. */
  lingerMs?: number;
  /**
   * Spare files let appends overwrite already-written blocks, so fdatasync need not commit file-size or
   * extent metadata. Recycled checkpointed segments are the first source. `zero-fill` additionally writes
   * a spare full of zeros in the background whenever none is ready (costs one extra segment write);
   * `none` does not. Either way a roll that finds no spare ready starts an empty file that appends extend,
   * rather than wait. Default `zero-fill`.
   */
  segmentPreparation?: 'zero-fill' | 'none';
  /** Reuse checkpointed segment files (rename) instead of deleting them. Default true. */
  recycleSegments?: boolean;
  /** At most this many spare files (recycled or zero-filled) are kept ready. Default 2. */
  spareSegments?: number;
  /**
   * Replaces the write/fdatasync calls of the append path — group commits, the header write when a
   * segment is installed, the fdatasync at close — to time, count, delay or fail them (metrics, tests).
   * Background zero-fill and recovery use node:fs directly.
   */
  fileOps?: Partial<WalFileOps>;
}

interface WalConfig {
  segmentBytes: number;
  fsync: boolean;
  lingerMs: number;
  segmentPreparation: 'zero-fill' | 'none';
  recycleSegments: boolean;
  spareSegments: number;
  ops: WalFileOps;
}

export const WAL_DEFAULTS = {
  segmentBytes: 64 * 1024 * 1024,
  fsync: true,
  lingerMs: 0,
  segmentPreparation: 'zero-fill',
  recycleSegments: true,
  spareSegments: 2,
} as const;

function resolveOptions(options: WalOptions): WalConfig {
  const config: WalConfig = {
    segmentBytes: options.segmentBytes ?? WAL_DEFAULTS.segmentBytes,
    fsync: options.fsync ?? WAL_DEFAULTS.fsync,
    lingerMs: options.lingerMs ?? WAL_DEFAULTS.lingerMs,
    segmentPreparation: options.segmentPreparation ?? WAL_DEFAULTS.segmentPreparation,
    recycleSegments: options.recycleSegments ?? WAL_DEFAULTS.recycleSegments,
    spareSegments: options.spareSegments ?? WAL_DEFAULTS.spareSegments,
    ops: { ...nodeFileOps, ...options.fileOps },
  };
  if (!Number.isSafeInteger(config.segmentBytes) || config.segmentBytes < 4 * HEADER_BYTES) {
    throw new WalError('WAL_INVALID_ARGUMENT', `segmentBytes must be an integer ≥ ${4 * HEADER_BYTES}`);
  }
  if (!(config.lingerMs >= 0)) throw new WalError('WAL_INVALID_ARGUMENT', 'lingerMs must be ≥ 0');
  if (!Number.isSafeInteger(config.spareSegments) || config.spareSegments < 0) {
    throw new WalError('WAL_INVALID_ARGUMENT', 'spareSegments must be an integer ≥ 0');
  }
  if (config.segmentPreparation !== 'zero-fill' && config.segmentPreparation !== 'none') {
    throw new WalError(
      'WAL_INVALID_ARGUMENT',
      `unknown segmentPreparation ${String(config.segmentPreparation)}`,
    );
  }
  return config;
}

export interface AppendResult {
  /** LSN of the entry (its first header byte). */
  lsn: number;
  /** LSN just past the entry; once resolved, everything below it is durable. */
  endLsn: number;
}

/** What recovery found; log `truncated` as one line when it is not null. */
export interface RecoveryInfo {
  checkpointLsn: number;
  /** End of the valid log after recovery: the LSN of the next append. */
  endLsn: number;
  /** Segment files holding the log after recovery. */
  segments: number;
  truncated: TruncationInfo | null;
}

export interface TruncationInfo {
  /** The log ends here now; the entry that was here was torn or corrupt. */
  truncatedAtLsn: number;
  /**
   * Bytes after `truncatedAtLsn` that were zeroed or removed: the rest of the damaged segment up to its
   * last non-zero byte, plus later segment files. An upper bound on unacknowledged data lost: in a
   * recycled file it includes stale bytes from the file's previous life.
   */
  discardedBytes: number;
  reason: EndReason;
}

export interface WalStats {
  appends: number;
  /** Group writes (one writev each, possibly split by the kernel). */
  writes: number;
  fsyncs: number;
  /** Entry bytes written (headers + payloads, no terminators or zero-fill). */
  bytesWritten: number;
  rolls: number;
  recycledSegments: number;
  zeroFilledSegments: number;
  /** Segments started as empty files (no spare was ready): appends extend them, and fdatasync is slower. */
  extendingSegments: number;
  deletedSegments: number;
}

interface Pending {
  lsn: number;
  /** Header + payload bytes. */
  size: number;
  header: Buffer;
  payload: readonly Uint8Array[];
  resolve: (result: AppendResult) => void;
  reject: (err: Error) => void;
}

interface Segment {
  base: number;
  path: string;
}

interface ActiveSegment extends Segment {
  fd: number;
  /** Bytes the file holds (zero-filled or recycled files are larger than the data in them). */
  fileSize: number;
}

type State = 'open' | 'failed' | 'closing' | 'closed';

const TERMINATOR = Buffer.alloc(HEADER_BYTES);

/**
 * WriteAheadLog — durable, ordered, append-only byte log shared by all partitions of a broker.
 *
 * Invariants
 * - LSN = byte position in the log: entries are contiguous, entry k+1 starts at entry k's endLsn, and a
 *   segment's base is the LSN of its first entry. LSNs are JS numbers (exact below 2^53, see format.ts).
 * - An entry never spans segments; each group write goes to one segment.
 * - checkpointLsn ≤ durableLsn ≤ endLsn. Everything below durableLsn is written (and fdatasynced when
 *   `fsync` is on); `append` resolves only once durableLsn has passed the entry.
 * - After every write the 16 bytes after the last entry are zeros (if the file has room), and a spare
 *   file's first 16 bytes are zeroed before it becomes a segment, so a clean end always reads as zeros.
 * - Files wholly below the durable checkpoint are the only ones ever deleted or recycled; segments after a
 *   truncation point found by recovery are deleted, never recycled (their entries carry LSNs the log
 *   will reach again).
 *
 * Concurrency model
 * - Single-threaded (the Node event loop); no locks. At most one writer is in flight: one writev followed
 *   by one fdatasync. Appends arriving meanwhile queue; when the writer finishes, everything queued
 *   (up to the segment end) goes out in ONE writev and ONE fdatasync (group commit). An idle WAL starts
 *   the writer on setImmediate, so appends made in the same event-loop turn share the first write.
 * - `append` assigns the LSN and computes the CRC synchronously, so LSN order = call order.
 * - Rolling to a new segment happens inside the writer, between groups. Checkpoints are serialised among
 *   themselves and run alongside the writer (they only read, write the checkpoint file, and remove files
 *   wholly below it). Spare files are zero-filled in the background; a roll never waits for one.
 * - A failed write or fdatasync fails the WAL for good (see WAL_ERROR_CODES.WAL_WRITE_FAILED): nothing
 *   is retried, because the page-cache state is unknown after a failed fsync. Reopen to recover.
 * - Nothing here throws into the event loop or leaves a promise rejection unhandled.
 */
export class WriteAheadLog {
  private readonly config: WalConfig;
  private state: State = 'open';
  private failure: WalError | undefined;

  /** Oldest first; the last one is the active segment. */
  private readonly segments: Segment[] = [];
  private active!: ActiveSegment;

  private nextLsn = 0;
  private durable = 0;
  private checkpointed = 0;

  private queue: Pending[] = [];
  private writing = false;
  private scheduled = false;
  private writer: Promise<void> | null = null;

  private readonly spares: string[] = [];
  private spareIndex = 0;
  private spareJob: Promise<void> | null = null;
  private checkpoints: Promise<unknown> = Promise.resolve();
  private closed: Promise<void> | null = null;

  private recoveryInfo!: RecoveryInfo;

  readonly stats: WalStats = {
    appends: 0,
    writes: 0,
    fsyncs: 0,
    bytesWritten: 0,
    rolls: 0,
    recycledSegments: 0,
    zeroFilledSegments: 0,
    extendingSegments: 0,
    deletedSegments: 0,
  };

  private constructor(
    readonly dir: string,
    config: WalConfig,
  ) {
    this.config = config;
  }

  /**
   * Opens (creating if needed) the WAL in `dir` and recovers it: reads the checkpoint, validates every
   * entry from there to the end, truncates a torn tail (zeroing the garbage so no later replay can
   * resurrect an old entry past it) and reports that in `recovery`. Replay the entries with `replay`.
   */
  static async open(dir: string, options: WalOptions = {}): Promise<WriteAheadLog> {
    const wal = new WriteAheadLog(dir, resolveOptions(options));
    try {
      await wal.recover();
    } catch (err) {
      await wal.closeFiles();
      wal.state = 'closed';
      throw asWalError(err, 'WAL_OPEN_FAILED', `opening the WAL in ${dir}`);
    }
    return wal;
  }

  /** LSN the next append gets; includes appends not yet durable. */
  get endLsn(): number {
    return this.nextLsn;
  }

  /** Everything below this is on disk (fdatasynced when `fsync` is on): the high watermark. */
  get durableLsn(): number {
    return this.durable;
  }

  /** Everything below this is stored elsewhere; replay starts here. */
  get checkpointLsn(): number {
    return this.checkpointed;
  }

  /** Appended bytes not yet durable (queued or in flight). */
  get unflushedBytes(): number {
    return this.nextLsn - this.durable;
  }

  /** Log bytes above the checkpoint, durable or not: what the uploader still has to drain. For backpressure. */
  get sizeBytes(): number {
    return this.nextLsn - this.checkpointed;
  }

  /** What `open` found and did. */
  get recovery(): RecoveryInfo {
    return this.recoveryInfo;
  }

  /** True once a write failure has failed the WAL. */
  get failed(): boolean {
    return this.state === 'failed';
  }

  /**
   * Appends one entry whose payload is `payload` concatenated (written with writev, not copied). Resolves
   * once the entry is durable; rejects with a WalError (WAL_WRITE_FAILED, WAL_FAILED, WAL_CLOSED,
   * WAL_INVALID_ARGUMENT). The caller must not modify the buffers until it settles.
   */
  append(payload: readonly Uint8Array[]): Promise<AppendResult> {
    if (this.state !== 'open') return Promise.reject(this.unavailable());
    let payloadBytes = 0;
    for (const part of payload) payloadBytes += part.length;
    const lsn = this.nextLsn;
    const size = HEADER_BYTES + payloadBytes;
    if (payloadBytes > MAX_PAYLOAD_BYTES) {
      return Promise.reject(
        new WalError('WAL_INVALID_ARGUMENT', `payload of ${payloadBytes} bytes exceeds 4 GiB`),
      );
    }
    if (lsn + size > Number.MAX_SAFE_INTEGER) {
      return Promise.reject(new WalError('WAL_INVALID_ARGUMENT', 'LSN space exhausted (2^53 bytes)'));
    }
    const header = encodeEntryHeader(lsn, payload, payloadBytes);
    this.nextLsn = lsn + size;
    this.stats.appends++;
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ lsn, size, header, payload, resolve, reject });
      this.scheduleWriter();
    });
  }

  /**
   * Calls `onEntry` for every entry from `fromLsn` (usually `checkpointLsn`) up to the durable end at the
   * time of the call, in order, awaiting it when it returns a promise. `fromLsn` must be an entry boundary
   * in a segment that still exists. A checkpoint that removes a segment this replay has not finished
   * reading makes it reject.
   */
  async replay(
    fromLsn: number,
    onEntry: (payload: Buffer, lsn: number, endLsn: number) => void | Promise<void>,
  ): Promise<{ entries: number; endLsn: number }> {
    let entries = 0;
    let endLsn = fromLsn;
    for await (const batch of this.batches(fromLsn)) {
      for (const entry of batch) {
        const result = onEntry(entry.payload, entry.lsn, entry.endLsn);
        if (result) await result;
        entries++;
        endLsn = entry.endLsn;
      }
    }
    return { entries, endLsn };
  }

  /** The same entries as `replay`, as an async iterator. */
  async *entries(fromLsn: number = this.checkpointed): AsyncGenerator<WalEntry> {
    for await (const batch of this.batches(fromLsn)) yield* batch;
  }

  /**
   * Records durably and atomically (temp file, fsync, rename, fsync dir) that everything below `lsn` is
   * stored elsewhere, then deletes or recycles the segments wholly below it. `lsn` must be an entry
   * boundary (an `endLsn` from append or replay) at or below `durableLsn`; a value at or below the
   * current checkpoint is a no-op. Concurrent calls run one after another.
   */
  checkpoint(lsn: number): Promise<void> {
    const run = this.checkpoints.then(() => this.runCheckpoint(lsn));
    this.checkpoints = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes and fdatasyncs everything appended, then closes the files. Appends made after `close` starts
   * reject with WAL_CLOSED; appends made before it resolve (or reject if the WAL fails on the way).
   */
  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return this.closed ?? undefined;
    const wasFailed = this.state === 'failed';
    this.state = 'closing';
    this.closed = (async () => {
      await this.writerIdle();
      await this.checkpoints;
      await this.spareJob;
      if (!wasFailed && this.state === 'closing') {
        try {
          await this.config.ops.fdatasync(this.active.fd);
        } catch (err) {
          this.state = 'failed';
          this.failure = new WalError('WAL_WRITE_FAILED', 'fdatasync at close failed', { cause: err });
        }
      }
      await this.closeFiles();
      const failure = this.state === 'failed' && !wasFailed ? this.failure : undefined;
      this.state = 'closed';
      if (failure) throw failure;
    })();
    return this.closed;
  }

  // ---------------------------------------------------------------------------------------------------
  // Group commit

  private scheduleWriter(): void {
    if (this.writing || this.scheduled) return;
    this.scheduled = true;
    const start = () => {
      this.scheduled = false;
      if (this.writing) return;
      this.writing = true;
      this.writer = this.runWriter();
    };
    if (this.config.lingerMs > 0) setTimeout(start, this.config.lingerMs);
    else setImmediate(start);
  }

  /** Writes groups until the queue is empty. Never rejects. */
  private async runWriter(): Promise<void> {
    try {
      while (this.queue.length > 0 && (this.state === 'open' || this.state === 'closing')) {
        await this.writeGroup();
        if (this.config.lingerMs > 0 && this.queue.length > 0) await delay(this.config.lingerMs);
      }
    } catch (err) {
      // writeGroup handles its own errors; this is a bug guard so the promise never rejects.
      this.fail(err, []);
    } finally {
      this.writing = false;
      this.writer = null;
    }
  }

  private async writeGroup(): Promise<void> {
    const head = this.queue[0]!;
    const segmentBytes = this.config.segmentBytes;
    if (head.lsn > this.active.base && head.lsn + head.size - this.active.base > segmentBytes) {
      try {
        await this.roll(head.lsn);
      } catch (err) {
        this.fail(err, []);
        return;
      }
    }
    const segment = this.active;
    const segmentEnd = segment.base + segmentBytes;
    const iov: Uint8Array[] = [];
    let count = 0;
    let bytes = 0;
    for (const pending of this.queue) {
      // The first entry always goes (alone in a fresh segment if it is larger than segmentBytes).
      if (count > 0 && pending.lsn + pending.size > segmentEnd) break;
      iov.push(pending.header);
      for (const part of pending.payload) iov.push(part);
      count++;
      bytes += pending.size;
    }
    const group = count === this.queue.length ? this.queue : this.queue.slice(0, count);
    this.queue = count === this.queue.length ? [] : this.queue.slice(count);

    const start = head.lsn - segment.base;
    const end = start + bytes;
    const terminatorBytes = Math.min(HEADER_BYTES, segment.fileSize - end);
    if (terminatorBytes > 0) iov.push(TERMINATOR.subarray(0, terminatorBytes));
    try {
      await writevFully(this.config.ops, segment.fd, iov, start);
      this.stats.writes++;
      this.stats.bytesWritten += bytes;
      if (end > segment.fileSize) segment.fileSize = end;
      if (this.config.fsync) {
        await this.config.ops.fdatasync(segment.fd);
        this.stats.fsyncs++;
      }
    } catch (err) {
      this.fail(err, group);
      return;
    }
    this.durable = head.lsn + bytes;
    for (const pending of group) pending.resolve({ lsn: pending.lsn, endLsn: pending.lsn + pending.size });
    if (end * 2 >= segmentBytes) this.prepareSpareInBackground();
  }

  /** Fails the WAL: rejects `group` and everything queued with WAL_WRITE_FAILED. */
  private fail(cause: unknown, group: Pending[]): void {
    const message = `WAL write failed: ${cause instanceof Error ? cause.message : String(cause)}`;
    if (this.state === 'open' || this.state === 'closing') {
      this.failure = new WalError('WAL_WRITE_FAILED', message, { cause });
      this.state = 'failed';
    }
    const waiting = [...group, ...this.queue];
    this.queue = [];
    for (const pending of waiting) pending.reject(new WalError('WAL_WRITE_FAILED', message, { cause }));
  }

  private unavailable(): WalError {
    if (this.state === 'failed') {
      return new WalError('WAL_FAILED', `WAL failed earlier: ${this.failure?.message ?? 'unknown'}`, {
        cause: this.failure,
      });
    }
    return new WalError('WAL_CLOSED', 'WAL is closed');
  }

  private async writerIdle(): Promise<void> {
    while (this.writing || this.scheduled) {
      if (this.writer) await this.writer;
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Segments and spares

  /** Makes a new active segment at `base` (the previous one is fully written and synced). */
  private async roll(base: number): Promise<void> {
    const previous = this.active;
    await this.installSegment(base);
    this.stats.rolls++;
    await closeQuietly(previous.fd);
  }

  /** Turns a spare (or a new file) into the segment at `base` and makes it active. */
  private async installSegment(base: number): Promise<void> {
    const spare = await this.takeSpare();
    const path = segmentPath(this.dir, base);
    const fd = await openFile(spare, 'r+');
    try {
      const size = await fileSize(fd);
      if (size > 0) {
        // A recycled file starts with an old entry; make a crash before our first write read as a clean end.
        await writevFully(this.config.ops, fd, [TERMINATOR.subarray(0, Math.min(HEADER_BYTES, size))], 0);
        if (this.config.fsync) await this.config.ops.fdatasync(fd);
      }
      await fs.rename(spare, path);
      if (this.config.fsync) await fsyncDirectory(this.dir);
      this.active = { base, path, fd, fileSize: size };
      this.segments.push({ base, path });
    } catch (err) {
      await closeQuietly(fd);
      throw err;
    }
  }

  /**
   * A ready spare, or else a new empty file that appends will extend. A roll never waits for a zero-fill:
   * that would stall every queued append for the time it takes to write a whole segment of zeros.
   */
  private async takeSpare(): Promise<string> {
    const spare = this.spares.shift();
    if (spare !== undefined) return spare;
    const path = sparePath(this.dir, this.spareIndex++);
    await closeFile(await openFile(path, 'wx'));
    this.stats.extendingSegments++;
    return path;
  }

  /**
   * Starts zero-filling a spare for the next roll when none is ready (one job at a time). Called once the
   * active segment is half full, which leaves the checkpoint half a segment's time to supply a recycled
   * file instead; if one arrives meanwhile the zero-fill stops (it would only cost an extra segment
   * write). Errors are swallowed: the next roll then uses an empty file, and a disk that really fails
   * fails the next append.
   */
  private prepareSpareInBackground(): void {
    if (this.config.segmentPreparation !== 'zero-fill' || this.state !== 'open') return;
    if (this.spareJob || this.spares.length > 0 || this.config.spareSegments === 0) return;
    const path = sparePath(this.dir, this.spareIndex++);
    const job = this.zeroFillSpare(path).then(
      (done) => {
        if (done) this.spares.push(path);
      },
      () => undefined,
    );
    this.spareJob = job;
    void job.finally(() => {
      if (this.spareJob === job) this.spareJob = null;
    });
  }

  /**
   * Writes `segmentBytes` of zeros to `<path>.tmp`, syncs it and renames it to `path`. Zero-filled blocks
   * are allocated and written, so later appends are pure overwrites (see README.md for the numbers).
   */
  private async zeroFillSpare(path: string): Promise<boolean> {
    const tmp = `${path}.tmp`;
    const fd = await openFile(tmp, 'w');
    let ok = false;
    try {
      const stop = () => this.state !== 'open' || this.spares.length > 0;
      await writeZeros(nodeFileOps, fd, 0, this.config.segmentBytes, stop);
      if (stop()) return false; // closed, or a recycled spare arrived first
      if (this.config.fsync) await nodeFileOps.fdatasync(fd);
      await fs.rename(tmp, path);
      this.stats.zeroFilledSegments++;
      ok = true;
      return true;
    } finally {
      await closeQuietly(fd);
      if (!ok) await fs.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Worth reusing: most of a segment's appends will overwrite written blocks. A segment that began as an
   * empty file ends a little short of segmentBytes (the entry that did not fit went to the next one); the
   * rest of it is extended by the appends that reach it.
   */
  private recyclable(fileBytes: number): boolean {
    return fileBytes >= this.config.segmentBytes / 2;
  }

  /** Removes a segment wholly below the durable checkpoint: recycled into a spare when allowed, else deleted. */
  private async retireSegment(segment: Segment): Promise<void> {
    if (this.config.recycleSegments && this.spares.length < this.config.spareSegments) {
      const size = await fs.stat(segment.path).then(
        (s) => s.size,
        () => 0,
      );
      if (this.recyclable(size)) {
        const path = sparePath(this.dir, this.spareIndex++);
        await fs.rename(segment.path, path);
        this.spares.push(path);
        this.stats.recycledSegments++;
        return;
      }
    }
    await fs.rm(segment.path, { force: true });
    this.stats.deletedSegments++;
  }

  // ---------------------------------------------------------------------------------------------------
  // Checkpoint

  private async runCheckpoint(lsn: number): Promise<void> {
    if (this.state === 'closed') throw new WalError('WAL_CLOSED', 'WAL is closed');
    if (this.state === 'failed') throw this.unavailable();
    if (!Number.isSafeInteger(lsn) || lsn > this.durable) {
      throw new WalError(
        'WAL_INVALID_ARGUMENT',
        `checkpoint ${lsn} is beyond the durable end ${this.durable}`,
      );
    }
    if (lsn <= this.checkpointed) return;
    if (lsn < this.durable && (await this.lsnAt(lsn)) !== lsn) {
      throw new WalError('WAL_INVALID_ARGUMENT', `checkpoint ${lsn} is not an entry boundary`);
    }
    try {
      const file = join(this.dir, CHECKPOINT_NAME);
      const tmp = `${file}.tmp`;
      const fd = await openFile(tmp, 'w');
      try {
        await writevFully(nodeFileOps, fd, [encodeCheckpoint(lsn)], 0);
        await nodeFileOps.fdatasync(fd);
      } finally {
        await closeQuietly(fd);
      }
      await fs.rename(tmp, file);
      await fsyncDirectory(this.dir);
    } catch (err) {
      // If the rename happened but the directory fsync failed, the file may hold either value after a
      // crash; both are safe because no segment has been removed yet.
      throw asWalError(err, 'WAL_CHECKPOINT_FAILED', `writing checkpoint ${lsn}`);
    }
    this.checkpointed = lsn;

    // Never the active segment: it is the last one and has no successor to bound it.
    while (this.segments.length > 1 && this.segments[1]!.base <= lsn) {
      const segment = this.segments.shift()!;
      try {
        await this.retireSegment(segment);
      } catch {
        // It is below the durable checkpoint, so leaving it is harmless: open() removes it next time.
      }
    }
  }

  /** The lsn field of the entry header at `lsn` (which must be below the durable end), or -1. */
  private async lsnAt(lsn: number): Promise<number> {
    const segment = this.segmentFor(lsn);
    if (!segment) return -1;
    const fd = await openFile(segment.path, 'r');
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      const n = await readAt(fd, header, 0, HEADER_BYTES, lsn - segment.base);
      return n === HEADER_BYTES ? readU64(header, 8) : -1;
    } finally {
      await closeQuietly(fd);
    }
  }

  private segmentFor(lsn: number): Segment | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const segment = this.segments[i]!;
      if (segment.base <= lsn) return segment;
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------------
  // Replay

  private async *batches(fromLsn: number): AsyncGenerator<WalEntry[]> {
    try {
      yield* this.unwrappedBatches(fromLsn);
    } catch (err) {
      throw asWalError(err, 'WAL_READ_FAILED', `replaying from ${fromLsn}`);
    }
  }

  private async *unwrappedBatches(fromLsn: number): AsyncGenerator<WalEntry[]> {
    if (this.state === 'closed' || this.state === 'closing')
      throw new WalError('WAL_CLOSED', 'WAL is closed');
    const end = this.durable;
    const segments = this.segments.slice();
    const first = segments[0];
    if (!Number.isSafeInteger(fromLsn) || !first || fromLsn < first.base || fromLsn > end) {
      throw new WalError(
        'WAL_INVALID_ARGUMENT',
        `replay from ${fromLsn} is outside the log [${first?.base ?? end}, ${end}]`,
      );
    }
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const segmentEnd = Math.min(segments[i + 1]?.base ?? end, end);
      if (segmentEnd <= fromLsn) continue;
      const start = Math.max(fromLsn, segment.base);
      let fd: number;
      try {
        fd = await openFile(segment.path, 'r');
      } catch (err) {
        throw new WalError('WAL_INVALID_ARGUMENT', `segment ${segment.path} was removed during replay`, {
          cause: err,
        });
      }
      try {
        const scanner = new SegmentScanner(fd, segment.base, start - segment.base, segmentEnd - segment.base);
        for (;;) {
          const batch = await scanner.nextBatch();
          if (batch.length === 0) break;
          yield batch;
        }
        if (scanner.end !== 'limit') {
          const at = segment.base + scanner.offset;
          if (at === fromLsn && scanner.end === 'lsn-mismatch') {
            throw new WalError('WAL_INVALID_ARGUMENT', `replay from ${fromLsn}: not an entry boundary`);
          }
          throw new WalError(
            'WAL_CORRUPT',
            `invalid entry at ${at} (${scanner.end}) below the durable end ${end}`,
          );
        }
      } finally {
        await closeQuietly(fd);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Recovery

  private async recover(): Promise<void> {
    const dir = this.dir;
    await fs.mkdir(dir, { recursive: true });
    const found: Segment[] = [];
    const spares: { index: number; path: string }[] = [];
    let hasCheckpoint = false;
    for (const name of await fs.readdir(dir)) {
      const parsed = parseFileName(name);
      const path = join(dir, name);
      if (parsed.kind === 'segment') {
        if (!Number.isSafeInteger(parsed.base))
          throw new WalError('WAL_CORRUPT', `segment name out of range: ${name}`);
        found.push({ base: parsed.base, path });
      } else if (parsed.kind === 'spare') {
        spares.push({ index: parsed.index, path });
      } else if (parsed.kind === 'temporary') {
        await fs.rm(path, { force: true });
      } else if (parsed.kind === 'checkpoint') {
        hasCheckpoint = true;
      }
    }
    found.sort((a, b) => a.base - b.base);
    spares.sort((a, b) => a.index - b.index);
    this.spareIndex = (spares[spares.length - 1]?.index ?? -1) + 1;
    for (const spare of spares) {
      const size = (await fs.stat(spare.path)).size;
      if (this.recyclable(size) && this.spares.length < this.config.spareSegments) {
        this.spares.push(spare.path);
      } else {
        await fs.rm(spare.path, { force: true });
      }
    }

    let checkpoint = 0;
    if (hasCheckpoint) {
      const decoded = decodeCheckpoint(await fs.readFile(join(dir, CHECKPOINT_NAME)));
      if (decoded === null) throw new WalError('WAL_CORRUPT', `unreadable checkpoint file in ${dir}`);
      checkpoint = decoded;
    }
    this.checkpointed = checkpoint;

    // Segments wholly below the checkpoint (left over from a crash during a checkpoint) go first.
    while (found.length > 1 && found[1]!.base <= checkpoint) await this.retireSegment(found.shift()!);
    const first = found[0];
    if (first && first.base > checkpoint) {
      throw new WalError('WAL_CORRUPT', `log starts at ${first.base} but the checkpoint is ${checkpoint}`);
    }
    if (!first) {
      // A new log (or one whose files were all removed): start at the checkpoint.
      await this.installSegment(checkpoint);
      this.nextLsn = this.durable = checkpoint;
      this.recoveryInfo = { checkpointLsn: checkpoint, endLsn: checkpoint, segments: 1, truncated: null };
      return;
    }

    let truncated: TruncationInfo | null = null;
    for (let i = 0; i < found.length; i++) {
      const segment = found[i]!;
      const next = found[i + 1];
      const fd = await openFile(segment.path, 'r+');
      let keep = false;
      try {
        const size = await fileSize(fd);
        const expected = next ? next.base - segment.base : size;
        const start = i === 0 ? checkpoint - segment.base : 0;
        if (start > size)
          throw new WalError('WAL_CORRUPT', `checkpoint ${checkpoint} is past the end of ${segment.path}`);
        const scanner = new SegmentScanner(fd, segment.base, start, Math.min(expected, size));
        while ((await scanner.nextBatch()).length > 0) {
          // validating only
        }
        const endOffset = scanner.offset;
        const reason = scanner.end!;
        if (next && endOffset === expected) continue; // a complete, non-last segment
        // This segment holds the end of the log: everything after it in this file and in later files goes.
        const garbageEnd = await endOfNonZero(fd, endOffset, size);
        let discarded = garbageEnd - endOffset;
        if (garbageEnd > endOffset) {
          await writeZeros(nodeFileOps, fd, endOffset, garbageEnd);
          await nodeFileOps.fdatasync(fd);
        }
        const later = found.splice(i + 1);
        for (const dropped of later) {
          discarded += await nonZeroBytesOf(dropped.path);
          await fs.rm(dropped.path, { force: true });
          this.stats.deletedSegments++;
        }
        if (later.length > 0) await fsyncDirectory(dir);
        if (later.length > 0 || !isCleanEnd(reason)) {
          truncated = { truncatedAtLsn: segment.base + endOffset, discardedBytes: discarded, reason };
        }
        this.active = { base: segment.base, path: segment.path, fd, fileSize: size };
        this.nextLsn = this.durable = segment.base + endOffset;
        keep = true;
      } finally {
        if (!keep) await closeQuietly(fd);
      }
      break;
    }
    this.segments.push(...found);
    this.recoveryInfo = {
      checkpointLsn: checkpoint,
      endLsn: this.nextLsn,
      segments: this.segments.length,
      truncated,
    };
  }

  private async closeFiles(): Promise<void> {
    // `active` is unset only when open() failed before installing a segment.
    const active = this.active as ActiveSegment | undefined;
    if (active) await closeQuietly(active.fd);
  }
}

/** `err` itself when it is a WalError (already typed), else a WalError with `code` wrapping it. */
function asWalError(err: unknown, code: WalErrorCode, doing: string): WalError {
  if (err instanceof WalError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new WalError(code, `${doing}: ${detail}`, { cause: err });
}

async function nonZeroBytesOf(path: string): Promise<number> {
  const fd = await openFile(path, 'r');
  try {
    return await endOfNonZero(fd, 0, await fileSize(fd));
  } finally {
    await closeQuietly(fd);
  }
}
