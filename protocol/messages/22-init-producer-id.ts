// InitProducerId (key 22), versions 0-5, flexible 2+. v3+ lets a producer pass its current id/epoch
// to resume after an epoch error; v4 may answer PRODUCER_FENCED, v5 TRANSACTION_ABORTABLE (KIP-890).
import { defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const InitProducerId = defineApi({
  apiKey: 22,
  name: 'InitProducerId',
  versions: '0-5',
  flexible: '2+',
  request: {
    transactionalId: string('0+', { nullable: '0+' }),
    transactionTimeoutMs: int32(),
    producerId: int64('3+', { default: -1n }),
    producerEpoch: int16('3+', { default: -1 }),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
    producerId: int64('0+', { default: -1n }),
    producerEpoch: int16(),
  },
});
