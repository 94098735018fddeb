// DescribeUserScramCredentials (key 50), version 0 only, flexible from v0. A null users array asks for
// every user; results list each user's mechanisms (1 SCRAM-SHA-256, 2 SCRAM-SHA-512) and iterations.
import { array, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const DescribeUserScramCredentials = defineApi({
  apiKey: 50,
  name: 'DescribeUserScramCredentials',
  versions: '0',
  flexible: '0+',
  request: {
    users: array({ name: string() }, '0+', { nullable: '0+' }),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
    errorMessage: string('0+', { nullable: '0+' }),
    results: array({
      user: string(),
      errorCode: int16(),
      errorMessage: string('0+', { nullable: '0+' }),
      credentialInfos: array({
        mechanism: int8(),
        iterations: int32(),
      }),
    }),
  },
});
