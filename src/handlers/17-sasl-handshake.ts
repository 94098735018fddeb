// SaslHandshake (key 17), serves 0-1. Picks the mechanism of the connection's SASL exchange: v1 →
// the tokens follow in SaslAuthenticate, v0 → as bare size-prefixed frames (src/security/sasl-session.ts).
// On a listener without SASL, or after login (no KIP-368 re-authentication), it is ILLEGAL_SASL_STATE.
import { ErrorCode } from '../../protocol/error-codes.js';
import { SaslHandshake } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const saslHandshakeHandler = defineHandler(
  SaslHandshake,
  { min: 0, max: 1 },
  {
    handle(ctx, request) {
      const sasl = ctx.connection.sasl;
      if (sasl === null) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] };
      // Synchronous on purpose: the state changes before the next pipelined frame is dispatched.
      return sasl.handshake(request.mechanism, ctx.header.apiVersion);
    },
  },
);
