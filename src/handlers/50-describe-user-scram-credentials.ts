// DescribeUserScramCredentials (key 50), serves 0. Lists users' SCRAM mechanisms and iterations
// (never salts or keys), from the metadata store and the users file (src/security/credentials.ts).
// Null or empty `users` lists everyone; a named user without credentials is RESOURCE_NOT_FOUND, a
// user named twice DUPLICATE_RESOURCE, as in Kafka. No authorization yet (docs/security.md).
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeUserScramCredentials } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const describeUserScramCredentialsHandler = defineHandler(
  DescribeUserScramCredentials,
  { min: 0, max: 0 },
  {
    async handle(ctx, request) {
      const all = await ctx.broker.credentials.listScramUsers();
      const info = (u: (typeof all)[number]) =>
        u.credentials.map((c) => ({ mechanism: c.mechanism.type, iterations: c.iterations }));
      const names = request.users?.map((u) => u.name) ?? [];
      if (names.length === 0) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          results: all.map((u) => ({
            user: u.user,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            credentialInfos: info(u),
          })),
        };
      }
      const byName = new Map(all.map((u) => [u.user, u]));
      const counts = new Map<string, number>();
      for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
      const results = [...counts.keys()].map((user) => {
        if (counts.get(user)! > 1)
          return {
            user,
            errorCode: ErrorCode.DUPLICATE_RESOURCE,
            errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`,
            credentialInfos: [],
          };
        const found = byName.get(user);
        if (found === undefined)
          return {
            user,
            errorCode: ErrorCode.RESOURCE_NOT_FOUND,
            errorMessage: `Attempt to describe a user credential that does not exist: ${user}`,
            credentialInfos: [],
          };
        return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: info(found) };
      });
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
    },
    errorResponse(_request, errorCode) {
      return { throttleTimeMs: 0, errorCode, errorMessage: null, results: [] };
    },
  },
);
