// SaslHandshake (key 17), versions 0-1, never flexible: after v0 the SASL tokens follow as bare size-prefixed frames; after v1 they travel in SaslAuthenticate (key 36).
import { array, defineApi, int16, string } from '../schema/schema.js';

export const SaslHandshake = defineApi({
  apiKey: 17,
  name: 'SaslHandshake',
  versions: '0-1',
  flexible: 'none',
  request: {
    mechanism: string(),
  },
  response: {
    errorCode: int16(),
    mechanisms: array('string'),
  },
});
