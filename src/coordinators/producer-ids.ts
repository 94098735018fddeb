/**
 * Producer id allocation (InitProducerId). Ids come from durable blocks reserved in the metadata
 * store (allocateProducerIdBlock), so an id is never handed out twice, across restarts too: a
 * restart abandons the rest of the current block rather than risk reuse.
 *
 * Transactional ids map to (producerId, epoch) persisted in the metadata store; every
 * InitProducerId for a transactional id bumps the epoch, which fences the previous producer instance
 * (its batches then fail with INVALID_PRODUCER_EPOCH). When the epoch would overflow INT16, a new
 * producer id starts at epoch 0.
 *
 * Concurrency: calls are serialised through one promise chain (block refills and transactional-id
 * read-modify-write must not interleave).
 */
import type { MetadataStore } from '../metadata/metadata-store.js';

const BLOCK_SIZE = 1000;
const MAX_EPOCH = 32767;

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

  /** A fresh producer id at epoch 0 (idempotent producers without a transactional id). */
  newProducerId(): Promise<ProducerIdAndEpoch> {
    return this.serial(async () => ({ producerId: await this.allocate(), producerEpoch: 0 }));
  }

  /** The id for a transactional id, with its epoch bumped (fencing any older instance). */
  initTransactional(transactionalId: string): Promise<ProducerIdAndEpoch> {
    return this.serial(async () => {
      const key = `transactional-id/${transactionalId}`;
      const stored = await this.metadata.getMeta(key);
      let state: ProducerIdAndEpoch;
      if (stored === null) state = { producerId: await this.allocate(), producerEpoch: 0 };
      else {
        const prev = JSON.parse(stored) as ProducerIdAndEpoch;
        state =
          prev.producerEpoch >= MAX_EPOCH - 1
            ? { producerId: await this.allocate(), producerEpoch: 0 }
            : { producerId: prev.producerId, producerEpoch: prev.producerEpoch + 1 };
      }
      await this.metadata.setMeta(key, JSON.stringify(state));
      return state;
    });
  }
}
