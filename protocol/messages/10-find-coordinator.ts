// FindCoordinator (key 10), versions 0-6, flexible 3+: v1+ has a key type (0 group, 1 transaction, 2 share) and error message; v4+ looks up many keys at once and answers with a coordinator list.
import { array, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const FindCoordinator = defineApi({
  apiKey: 10,
  name: 'FindCoordinator',
  versions: '0-6',
  flexible: '3+',
  request: {
    key: string('0-3'),
    keyType: int8('1+', { default: 0 }),
    coordinatorKeys: array('string', '4+'),
  },
  response: {
    throttleTimeMs: int32('1+'),
    errorCode: int16('0-3'),
    errorMessage: string('1-3', { nullable: '1-3' }),
    nodeId: int32('0-3'),
    host: string('0-3'),
    port: int32('0-3'),
    coordinators: array(
      {
        key: string('4+'),
        nodeId: int32('4+'),
        host: string('4+'),
        port: int32('4+'),
        errorCode: int16('4+'),
        errorMessage: string('4+', { nullable: '4+' }),
      },
      '4+',
    ),
  },
});
