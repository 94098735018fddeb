/**
 * One partition's log state on this broker.
 *
 * Offsets: [logStartOffset, highWatermark) is readable. nextOffset ≥ highWatermark is the next
 * offset to assign; batches between highWatermark and nextOffset are written to the WAL but not yet
 * fsynced, so neither readable nor acknowledged. uploadedEnd ≤ highWatermark: offsets below it are
 * in the object index (and may be dropped from memory).
 *
 * The hot tail holds contiguous batches [hotBase, nextOffset) in memory, exactly as stored (offsets
 * already patched). Everything the uploader has not uploaded yet is always in the hot tail.
 *
 * Offsets are JS numbers: 2^53 is ~285 years at a million records a second per partition.
 *
 * Concurrency: single-threaded event loop. Offsets are assigned synchronously (assign), so the
 * order of produce calls is the order of offsets.
 */
import type { LocatedIndexEntry } from '../metadata/metadata-store.js';
import { ProducerStateTable } from './producer-state.js';

export interface StoredBatch {
  readonly baseOffset: number;
  /** Inclusive. */
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly bytes: Buffer;
}

export interface TopicState {
  readonly name: string;
  readonly topicId: string;
  configs: Record<string, string>;
  partitions: Partition[];
  deleted: boolean;
}

type Waiter = () => void;

/** Placeholder for evicted slots below hotHead, so their bytes can be garbage-collected at once. */
const EVICTED: StoredBatch = Object.freeze({
  baseOffset: -1,
  lastOffset: -1,
  maxTimestamp: -1,
  bytes: Buffer.alloc(0),
});

export class Partition {
  logStartOffset = 0;
  nextOffset = 0;
  highWatermark = 0;
  uploadedEnd = 0;
  /** Bytes in the hot tail (uploaded or not). */
  hotBytes = 0;
  private hot: StoredBatch[] = [];
  private hotHead = 0;
  /** In-memory copy of this partition's object index, ordered by offset. */
  objectIndex: LocatedIndexEntry[] = [];
  private readonly waiters = new Set<Waiter>();
  /** Idempotent producers writing to this partition. */
  producers = new ProducerStateTable();
  /** Offsets below this are reflected in the last persisted producer-state snapshot. */
  producerSnapshotEnd = 0;

  constructor(
    readonly topic: TopicState,
    readonly id: number,
  ) {}

  get topicName(): string {
    return this.topic.name;
  }

  get topicId(): string {
    return this.topic.topicId;
  }

  /** First offset held in memory (= nextOffset when the hot tail is empty). */
  get hotBase(): number {
    const first = this.hot[this.hotHead];
    return first === undefined ? this.nextOffset : first.baseOffset;
  }

  /**
   * Last stable offset (KIP-98): read_committed readers see only offsets below it — the start of the
   * earliest transaction still open (or whose marker is not durable yet), else the high watermark.
   */
  get lastStableOffset(): number {
    const hw = this.highWatermark;
    const first = this.producers.firstUnstableOffset(hw);
    // A transaction that began below the log start (DeleteRecords, retention) holds it at the log start.
    return first >= hw ? hw : Math.max(first, this.logStartOffset);
  }

  /** Append batches whose offsets were already assigned (consecutive from nextOffset). */
  appendAssigned(batch: StoredBatch): void {
    this.hot.push(batch);
    this.hotBytes += batch.bytes.length;
    this.nextOffset = batch.lastOffset + 1;
  }

  /** Durable up to `end` (exclusive): readable now; wakes long-polling fetches. */
  advanceHighWatermark(end: number): void {
    if (end <= this.highWatermark) return;
    this.highWatermark = end;
    if (this.waiters.size > 0) {
      const ws = [...this.waiters];
      this.waiters.clear();
      for (const w of ws) w();
    }
  }

  /** Register a one-shot callback for the next high-watermark advance; returns an unregister fn. */
  onAppend(w: Waiter): () => void {
    this.waiters.add(w);
    return () => this.waiters.delete(w);
  }

  /** Wake every waiter (topic deleted, shutdown). */
  wakeAll(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  /** Batches in memory from the one containing `offset`, up to HW, at most ~maxBytes (≥ 1 batch). */
  readHot(
    offset: number,
    maxBytes: number,
    upTo = this.highWatermark,
  ): { chunks: Buffer[]; bytes: number } | null {
    const hot = this.hot;
    let lo = this.hotHead;
    let hi = hot.length - 1;
    if (lo > hi || hot[lo]!.baseOffset > offset) return null;
    // binary search: last batch with baseOffset <= offset
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (hot[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (let i = lo; i < hot.length; i++) {
      const b = hot[i]!;
      if (b.lastOffset >= upTo) break;
      if (b.lastOffset < offset) continue;
      if (chunks.length > 0 && bytes + b.bytes.length > maxBytes) break;
      chunks.push(b.bytes);
      bytes += b.bytes.length;
      if (bytes >= maxBytes) break;
    }
    return { chunks, bytes };
  }

  /** Batches not yet uploaded, below `upTo` (durable end), oldest first. */
  *pendingUpload(upTo: number): Iterable<StoredBatch> {
    for (let i = this.hotHead; i < this.hot.length; i++) {
      const b = this.hot[i]!;
      if (b.baseOffset < this.uploadedEnd) continue;
      if (b.lastOffset >= upTo) break;
      yield b;
    }
  }

  /** Bytes held in memory that are not uploaded yet. */
  get unuploadedBytes(): number {
    let n = 0;
    for (let i = this.hot.length - 1; i >= this.hotHead; i--) {
      const b = this.hot[i]!;
      if (b.lastOffset < this.uploadedEnd) break;
      n += b.bytes.length;
    }
    return n;
  }

  /** Drop uploaded batches from memory until the hot tail is at most `keepBytes`. */
  evictUploaded(keepBytes: number): number {
    let freed = 0;
    while (this.hotHead < this.hot.length && this.hotBytes > keepBytes) {
      const b = this.hot[this.hotHead]!;
      if (b.lastOffset >= this.uploadedEnd) break;
      this.hot[this.hotHead++] = EVICTED; // drop the reference now, not at the next compaction
      this.hotBytes -= b.bytes.length;
      freed += b.bytes.length;
    }
    if (this.hotHead > 1024 && this.hotHead * 2 > this.hot.length) {
      this.hot = this.hot.slice(this.hotHead);
      this.hotHead = 0;
    }
    return freed;
  }

  /**
   * Drop uploaded batches below `offset` from memory (compaction rewrote them in the object store;
   * readers must go to the compacted index entries). Returns the bytes freed.
   */
  evictBelow(offset: number): number {
    let freed = 0;
    while (this.hotHead < this.hot.length) {
      const b = this.hot[this.hotHead]!;
      if (b.lastOffset >= offset || b.lastOffset >= this.uploadedEnd) break;
      this.hot[this.hotHead++] = EVICTED;
      this.hotBytes -= b.bytes.length;
      freed += b.bytes.length;
    }
    return freed;
  }

  /** Hot batches (for timestamp searches), oldest first, readable ones only. */
  *hotBatches(): Iterable<StoredBatch> {
    for (let i = this.hotHead; i < this.hot.length; i++) {
      const b = this.hot[i]!;
      if (b.lastOffset >= this.highWatermark) break;
      yield b;
    }
  }

  /** Index entry containing `offset`, or the first one after it. */
  findIndexEntry(offset: number): LocatedIndexEntry | undefined {
    const idx = this.objectIndex;
    let lo = 0;
    let hi = idx.length - 1;
    let found: LocatedIndexEntry | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = idx[mid]!;
      if (e.lastOffset < offset) lo = mid + 1;
      else {
        found = e;
        hi = mid - 1;
      }
    }
    return found;
  }
}
