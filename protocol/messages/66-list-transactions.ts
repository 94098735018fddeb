// ListTransactions (key 66), versions 0-1, flexible from v0. Filters by state names and producer ids;
// v1 adds durationFilter (only transactions running longer than that many ms, -1 = no filter; KIP-994).
import { array, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const ListTransactions = defineApi({
  apiKey: 66,
  name: 'ListTransactions',
  versions: '0-1',
  flexible: '0+',
  request: {
    stateFilters: array('string'),
    producerIdFilters: array('int64'),
    durationFilter: int64('1+', { default: -1n }),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
    unknownStateFilters: array('string'),
    transactionStates: array({
      transactionalId: string(),
      producerId: int64(),
      transactionState: string(),
    }),
  },
});
