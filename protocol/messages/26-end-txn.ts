// EndTxn (key 26), versions 0-4, flexible 3+. Commits or aborts a transaction; the body never changed
// shape: v2 may answer PRODUCER_FENCED, v4 TRANSACTION_ABORTABLE (KIP-890).
import { bool, defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const EndTxn = defineApi({
  apiKey: 26,
  name: 'EndTxn',
  versions: '0-4',
  flexible: '3+',
  request: {
    transactionalId: string(),
    producerId: int64(),
    producerEpoch: int16(),
    committed: bool(),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
  },
});
