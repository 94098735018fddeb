// SaslAuthenticate (key 36), versions 0-2, flexible 2+: carries one SASL token each way; v1+ responses report the session lifetime (KIP-368 re-authentication).
import { bytes, defineApi, int16, int64, string } from '../schema/schema.js';

export const SaslAuthenticate = defineApi({
  apiKey: 36,
  name: 'SaslAuthenticate',
  versions: '0-2',
  flexible: '2+',
  request: {
    authBytes: bytes(),
  },
  response: {
    errorCode: int16(),
    errorMessage: string('0+', { nullable: '0+' }),
    authBytes: bytes(),
    sessionLifetimeMs: int64('1+', { default: 0n }),
  },
});
