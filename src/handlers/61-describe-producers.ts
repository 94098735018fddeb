// DescribeProducers (key 61), serves 0 (KIP-664): the idempotent producers this broker tracks for
// each requested partition (id, epoch, last sequence, last write time, and the first offset of its
// open transaction in the partition, -1 when none).
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeProducers } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const describeProducersHandler = defineHandler(
  DescribeProducers,
  { min: 0, max: 0 },
  {
    handle(ctx, req) {
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((index) => {
            const p = ctx.broker.log.partition(t.name, index);
            if (p === undefined) {
              return {
                partitionIndex: index,
                errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                activeProducers: [],
              };
            }
            return {
              partitionIndex: index,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              activeProducers: [...p.producers.producers].map(([producerId, e]) => ({
                producerId: BigInt(producerId),
                producerEpoch: e.epoch,
                lastSequence: e.batches[e.batches.length - 1]?.lastSeq ?? -1,
                lastTimestamp: BigInt(e.lastTimestampMs),
                coordinatorEpoch: -1,
                currentTxnStartOffset: BigInt(p.producers.openTxns.get(producerId) ?? -1),
              })),
            };
          }),
        })),
      };
    },
  },
);
