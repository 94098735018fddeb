// AddOffsetsToTxn (key 25), versions 0-4, flexible 3+. Adds a consumer group's offsets topic to a
// transaction; v2 may answer PRODUCER_FENCED, v4 TRANSACTION_ABORTABLE (KIP-890).
import { defineApi, int16, int32, int64, string } from '../schema/schema.js';

export const AddOffsetsToTxn = defineApi({
  apiKey: 25,
  name: 'AddOffsetsToTxn',
  versions: '0-4',
  flexible: '3+',
  request: {
    transactionalId: string(),
    producerId: int64(),
    producerEpoch: int16(),
    groupId: string(),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
  },
});
