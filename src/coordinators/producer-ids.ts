/**
 * Producer id allocation (InitProducerId). Ids come from durable blocks reserved in the metadata
 * store (allocateProducerIdBlock), so an id is never handed out twice, across restarts too: a
 * restart abandons the rest of the current block rather than risk reuse.
 *
 * Transactional ids (their producer id, epoch bumps and fencing) belong to the transaction
 * coordinator (transactions/transaction-coordinator.ts), which takes its ids from here.
 *
 * Concurrency: calls are serialised through one promise chain (block refills must not interleave).
 */
import type { MetadataStore } from '../metadata/metadata-store.js';

const BLOCK_SIZE = 1000;

export interface ProducerIdAndEpoch {
  producerId: number;
  producerEpoch: number;
}

export class ProducerIdManager {
  private next = 0;
  private end = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly metadata: MetadataStore) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async allocate(): Promise<number> {
    if (this.next >= this.end) {
      this.next = await this.metadata.allocateProducerIdBlock(BLOCK_SIZE);
      this.end = this.next + BLOCK_SIZE;
    }
    return this.next++;
  }

  /** A fresh producer id at epoch 0 (idempotent producers, and new or rotated transactional ids). */
  newProducerId(): Promise<ProducerIdAndEpoch> {
    return this.serial(async () => ({ producerId: await this.allocate(), producerEpoch: 0 }));
  }
}
