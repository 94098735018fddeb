/**
 * Coalesces the state writes of concurrent transactional ids: every write asked for in one turn of
 * the event loop goes to the metadata store in one setMetaMany (one transaction, one fsync) instead
 * of one each. With SQLite each write is a synchronous fsync on the event loop, so small
 * transactions from many producers were bounded by those fsyncs (docs/benchmarks.md, Transactions).
 *
 * Each caller's promise settles with its own write: should a batch fail, its writes are retried one
 * by one, so a bad entry (or a transient error) fails only the writes it belongs to.
 * Ordering: the coordinator never has two writes of the same key in flight (operations on one
 * transactional id are serialised), so batches need no ordering among themselves.
 */
import type { MetadataStore } from '../../metadata/metadata-store.js';

interface PendingWrite {
  key: string;
  value: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class StateWriter {
  private pending: PendingWrite[] = [];
  private scheduled = false;

  constructor(private readonly metadata: Pick<MetadataStore, 'setMeta' | 'setMetaMany'>) {}

  /** Resolves once `key` = `value` is durable in the metadata store. */
  write(key: string, value: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ key, value, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 1) {
      const w = batch[0]!;
      await this.metadata.setMeta(w.key, w.value).then(w.resolve, w.reject);
      return;
    }
    try {
      await this.metadata.setMetaMany(batch.map(({ key, value }) => ({ key, value })));
      for (const w of batch) w.resolve();
    } catch {
      for (const w of batch) await this.metadata.setMeta(w.key, w.value).then(w.resolve, w.reject);
    }
  }
}
