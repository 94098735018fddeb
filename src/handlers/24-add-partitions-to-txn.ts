// AddPartitionsToTxn (key 24), serves 0-3 (v4+ batch many transactions and are broker-to-broker;
// the Java client caps itself at v3). Adds partitions to the producer's transaction (which makes it
// Ongoing); only then may it produce transactional batches there. As Kafka: unknown partitions get
// UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED; otherwise one coordinator error
// for every partition (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED — INVALID_PRODUCER_EPOCH before
// v2 —, CONCURRENT_TRANSACTIONS while the previous EndTxn completes, INVALID_TXN_STATE).
import { ErrorCode } from '../../protocol/error-codes.js';
import { AddPartitionsToTxn } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';
import { fencedForVersion } from './txn-errors.js';

export const addPartitionsToTxnHandler = defineHandler(
  AddPartitionsToTxn,
  { min: 0, max: 3 },
  {
    async handle(ctx, req) {
      const { log, transactions } = ctx.broker;
      const topics = req.v3AndBelowTopics;
      const respond = (codeFor: (topic: string, partition: number) => number) => ({
        throttleTimeMs: 0,
        resultsByTopicV3AndBelow: topics.map((t) => ({
          name: t.name,
          resultsByPartition: t.partitions.map((p) => ({
            partitionIndex: p,
            partitionErrorCode: codeFor(t.name, p),
          })),
        })),
      });
      const unknown = new Set<string>();
      for (const t of topics)
        for (const p of t.partitions)
          if (log.partition(t.name, p) === undefined) unknown.add(`${t.name}\0${p}`);
      if (unknown.size > 0) {
        return respond((topic, partition) =>
          unknown.has(`${topic}\0${partition}`)
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : ErrorCode.OPERATION_NOT_ATTEMPTED,
        );
      }
      const code = await transactions.addPartitions(
        req.v3AndBelowTransactionalId,
        Number(req.v3AndBelowProducerId),
        req.v3AndBelowProducerEpoch,
        topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition }))),
      );
      const mapped = fencedForVersion(code, ctx.header.apiVersion);
      return respond(() => mapped);
    },
    errorResponse(req, errorCode) {
      return {
        resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t) => ({
          name: t.name,
          resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: errorCode })),
        })),
      };
    },
  },
);
