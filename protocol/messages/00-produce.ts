// Produce (key 0), versions 0-11, flexible 9+. v3+ carries magic-2 record batches only;
// v9+ compact encoding; v10+ adds per-partition record errors / current leader (tagged) for KIP-951.
import { array, defineApi, int16, int32, int64, records, string, struct } from '../schema/schema.js';

export const Produce = defineApi({
  apiKey: 0,
  name: 'Produce',
  versions: '0-11',
  flexible: '9+',
  request: {
    transactionalId: string('3+', { nullable: '3+', default: null }),
    acks: int16(),
    timeoutMs: int32(),
    topicData: array({
      name: string(),
      partitionData: array({
        index: int32(),
        records: records('0+', { nullable: '0+' }),
      }),
    }),
  },
  response: {
    responses: array({
      name: string(),
      partitionResponses: array({
        index: int32(),
        errorCode: int16(),
        baseOffset: int64(),
        logAppendTimeMs: int64('2+', { default: -1n }),
        logStartOffset: int64('5+', { default: -1n }),
        recordErrors: array(
          {
            batchIndex: int32('8+'),
            batchIndexErrorMessage: string('8+', { nullable: '8+', default: null }),
          },
          '8+',
        ),
        errorMessage: string('8+', { nullable: '8+', default: null }),
        currentLeader: struct(
          { leaderId: int32('10+', { default: -1 }), leaderEpoch: int32('10+', { default: -1 }) },
          '10+',
          {
            tag: 0,
            tagged: '10+',
          },
        ),
      }),
    }),
    throttleTimeMs: int32('1+'),
    nodeEndpoints: array(
      {
        nodeId: int32('10+'),
        host: string('10+'),
        port: int32('10+'),
        rack: string('10+', { nullable: '10+', default: null }),
      },
      '10+',
      { tag: 0, tagged: '10+' },
    ),
  },
});
