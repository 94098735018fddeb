// ApiVersions (key 18), serves 0-4. The list is derived from the handler registry (handlers/index.ts),
// never written by hand. An unknown (too new) version is answered at v0 by the dispatcher (KIP-511).
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiVersions } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const apiVersionsHandler = defineHandler(
  ApiVersions,
  { min: 0, max: 4 },
  {
    handle(ctx) {
      return {
        errorCode: ErrorCode.NONE,
        apiKeys: ctx.broker.apiVersions(),
        throttleTimeMs: 0,
      };
    },
  },
);
