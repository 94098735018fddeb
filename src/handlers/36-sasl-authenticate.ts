// SaslAuthenticate (key 36), serves 0-2. One SASL token each way; a failed login is answered with
// SASL_AUTHENTICATION_FAILED and the connection is closed after the answer. sessionLifetimeMs is 0:
// sessions do not expire and re-authentication (KIP-368) is not offered.
import { ErrorCode } from '../../protocol/error-codes.js';
import { SaslAuthenticate } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const saslAuthenticateHandler = defineHandler(
  SaslAuthenticate,
  { min: 0, max: 2 },
  {
    async handle(ctx, request) {
      const sasl = ctx.connection.sasl;
      if (sasl === null || sasl.authenticated) {
        return {
          errorCode: ErrorCode.ILLEGAL_SASL_STATE,
          errorMessage:
            sasl === null
              ? 'SASL is not enabled on this listener (security.protocol)'
              : 'Already authenticated: re-authentication is not supported',
          authBytes: Buffer.alloc(0),
          sessionLifetimeMs: 0n,
        };
      }
      const result = await sasl.authenticate(request.authBytes);
      if (result.close)
        ctx.connection.closeAfterResponses(
          result.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED
            ? `SASL authentication failed (${sasl.mechanism})`
            : `SaslAuthenticate out of sequence (${result.errorMessage})`,
        );
      return {
        errorCode: result.errorCode,
        errorMessage: result.errorMessage,
        authBytes: result.authBytes,
        sessionLifetimeMs: 0n,
      };
    },
  },
);
