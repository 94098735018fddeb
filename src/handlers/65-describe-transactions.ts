// DescribeTransactions (key 65), serves 0 (Java AdminClient, kafka-transactions.sh). The
// coordinator's view of each transactional id; unknown ids answer TRANSACTIONAL_ID_NOT_FOUND.
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeTransactions } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const describeTransactionsHandler = defineHandler(
  DescribeTransactions,
  { min: 0, max: 0 },
  {
    handle(ctx, req) {
      const { transactions } = ctx.broker;
      return {
        throttleTimeMs: 0,
        transactionStates: req.transactionalIds.map((transactionalId) => {
          const d = transactions.describe(transactionalId);
          if (d === null) {
            return {
              errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
              transactionalId,
              transactionState: '',
              transactionTimeoutMs: 0,
              transactionStartTimeMs: -1n,
              producerId: -1n,
              producerEpoch: -1,
              topics: [],
            };
          }
          const byTopic = new Map<string, number[]>();
          for (const p of d.partitions) {
            const list = byTopic.get(p.topic) ?? [];
            list.push(p.partition);
            byTopic.set(p.topic, list);
          }
          return {
            errorCode: ErrorCode.NONE,
            transactionalId,
            transactionState: d.state,
            transactionTimeoutMs: d.timeoutMs,
            transactionStartTimeMs: BigInt(d.startTimeMs),
            producerId: BigInt(d.producerId),
            producerEpoch: d.producerEpoch,
            topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          };
        }),
      };
    },
  },
);
