// CreatePartitions (key 37), versions 0-3, flexible 2+: one layout throughout; v2 switches to compact encoding, v3 is identical on the wire.
import { array, bool, defineApi, int16, int32, string } from '../schema/schema.js';

export const CreatePartitions = defineApi({
  apiKey: 37,
  name: 'CreatePartitions',
  versions: '0-3',
  flexible: '2+',
  request: {
    topics: array({
      name: string(),
      count: int32(),
      assignments: array(
        {
          brokerIds: array('int32'),
        },
        '0+',
        { nullable: '0+' },
      ),
    }),
    timeoutMs: int32(),
    validateOnly: bool(),
  },
  response: {
    throttleTimeMs: int32(),
    results: array({
      name: string(),
      errorCode: int16(),
      errorMessage: string('0+', { nullable: '0+', default: null }),
    }),
  },
});
