// AlterUserScramCredentials (key 51), version 0 only, flexible from v0. Deletes and upserts SCRAM
// credentials; an upsertion carries the salt and salted password as BYTES, never the password itself.
import { array, bytes, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const AlterUserScramCredentials = defineApi({
  apiKey: 51,
  name: 'AlterUserScramCredentials',
  versions: '0',
  flexible: '0+',
  request: {
    deletions: array({
      name: string(),
      mechanism: int8(),
    }),
    upsertions: array({
      name: string(),
      mechanism: int8(),
      iterations: int32(),
      salt: bytes(),
      saltedPassword: bytes(),
    }),
  },
  response: {
    throttleTimeMs: int32(),
    results: array({
      user: string(),
      errorCode: int16(),
      errorMessage: string('0+', { nullable: '0+' }),
    }),
  },
});
