// ListTransactions (key 66), serves 0-1 (Java AdminClient). Filters by state name (unknown names are
// echoed in unknownStateFilters, as Kafka), producer id, and from v1 by duration: only transactions
// running longer than durationFilter ms (-1: no filter; KIP-994).
import { ErrorCode } from '../../protocol/error-codes.js';
import { ListTransactions } from '../../protocol/messages/index.js';
import { TransactionCoordinator } from '../coordinators/transactions/transaction-coordinator.js';
import { defineHandler } from './handler.js';

export const listTransactionsHandler = defineHandler(
  ListTransactions,
  { min: 0, max: 1 },
  {
    handle(ctx, req) {
      const states = new Set(req.stateFilters);
      const unknownStateFilters = req.stateFilters.filter((s) => !TransactionCoordinator.isStateName(s));
      const producerIds = new Set(req.producerIdFilters.map((p) => Number(p)));
      const duration = ctx.header.apiVersion >= 1 ? Number(req.durationFilter) : -1;
      const now = Date.now();
      const transactionStates = ctx.broker.transactions
        .list()
        .filter(
          (d) =>
            (states.size === 0 || states.has(d.state)) &&
            (producerIds.size === 0 || producerIds.has(d.producerId)) &&
            (duration < 0 || (d.startTimeMs >= 0 && now - d.startTimeMs > duration)),
        )
        .map((d) => ({
          transactionalId: d.transactionalId,
          producerId: BigInt(d.producerId),
          transactionState: d.state,
        }));
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, unknownStateFilters, transactionStates };
    },
  },
);
