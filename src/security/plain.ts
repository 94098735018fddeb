/**
 * SASL PLAIN (RFC 4616): one client message, `[authzid] NUL authcid NUL passwd`, UTF-8. Kafka
 * accepts an authorization id only when it is empty or equal to the user; so do we.
 */
import { AuthenticationFailed } from './scram.js';

export interface PlainCredentials {
  user: string;
  password: string;
}

/** Parse a PLAIN token; throws AuthenticationFailed (with a log-only reason) when malformed. */
export function parsePlainToken(token: Buffer): PlainCredentials {
  const parts = token.toString('utf8').split('\u0000');
  if (parts.length !== 3)
    throw new AuthenticationFailed('malformed PLAIN token (expected authzid NUL user NUL password)');
  const [authzid, user, password] = parts as [string, string, string];
  if (user === '') throw new AuthenticationFailed('PLAIN token without a user name');
  if (password === '') throw new AuthenticationFailed('PLAIN token without a password');
  if (authzid !== '' && authzid !== user)
    throw new AuthenticationFailed(`authorization id ${authzid} differs from user ${user}`);
  return { user, password };
}
