// AlterUserScramCredentials (key 51), serves 0. Upserts (salt + salted password, never the password)
// and deletes SCRAM credentials in the metadata store under scram/<mechanism>/<user>. One result per
// user; a user's changes apply only if all of them are valid (Kafka's rules: unknown mechanism →
// UNSUPPORTED_SASL_MECHANISM, empty name or iterations outside 4096-16384 → UNACCEPTABLE_CREDENTIAL,
// the same user+mechanism twice → DUPLICATE_RESOURCE, deleting a missing one → RESOURCE_NOT_FOUND).
// No authorization yet (docs/security.md).
import { ErrorCode } from '../../protocol/error-codes.js';
import { AlterUserScramCredentials } from '../../protocol/messages/index.js';
import {
  credentialFromSaltedPassword,
  SCRAM_MAX_ITERATIONS,
  SCRAM_MIN_ITERATIONS,
  type ScramMechanism,
  scramMechanismByType,
} from '../security/scram.js';
import { defineHandler } from './handler.js';

interface Change {
  kind: 'delete' | 'upsert';
  mechanismType: number;
  iterations: number;
  salt: Buffer;
  saltedPassword: Buffer;
}

interface Failure {
  errorCode: number;
  errorMessage: string;
}

function validate(user: string, changes: Change[]): Failure | ScramMechanism[] {
  if (user === '')
    return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Username must not be empty' };
  const seen = new Set<number>();
  const mechanisms: ScramMechanism[] = [];
  for (const c of changes) {
    const m = scramMechanismByType(c.mechanismType);
    if (m === undefined)
      return {
        errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        errorMessage: `Unknown SCRAM mechanism ${c.mechanismType} (1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512)`,
      };
    if (seen.has(c.mechanismType))
      return {
        errorCode: ErrorCode.DUPLICATE_RESOURCE,
        errorMessage: `A user credential cannot be altered twice in the same request: ${user} ${m.name}`,
      };
    seen.add(c.mechanismType);
    if (c.kind === 'upsert') {
      if (c.iterations < SCRAM_MIN_ITERATIONS)
        return {
          errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
          errorMessage: `Too few iterations: ${c.iterations} (at least ${SCRAM_MIN_ITERATIONS})`,
        };
      if (c.iterations > SCRAM_MAX_ITERATIONS)
        return {
          errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
          errorMessage: `Too many iterations: ${c.iterations} (at most ${SCRAM_MAX_ITERATIONS})`,
        };
      if (c.salt.length === 0 || c.saltedPassword.length !== m.keyLength)
        return {
          errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL,
          errorMessage: `${m.name} needs a non-empty salt and a ${m.keyLength}-byte salted password`,
        };
    }
    mechanisms.push(m);
  }
  return mechanisms;
}

export const alterUserScramCredentialsHandler = defineHandler(
  AlterUserScramCredentials,
  { min: 0, max: 0 },
  {
    async handle(ctx, request) {
      const byUser = new Map<string, Change[]>();
      const add = (user: string, c: Change) => {
        const list = byUser.get(user);
        if (list === undefined) byUser.set(user, [c]);
        else list.push(c);
      };
      const none = Buffer.alloc(0);
      for (const d of request.deletions)
        add(d.name, {
          kind: 'delete',
          mechanismType: d.mechanism,
          iterations: 0,
          salt: none,
          saltedPassword: none,
        });
      for (const u of request.upsertions)
        add(u.name, {
          kind: 'upsert',
          mechanismType: u.mechanism,
          iterations: u.iterations,
          salt: u.salt,
          saltedPassword: u.saltedPassword,
        });
      const store = ctx.broker.credentials;
      const results: { user: string; errorCode: number; errorMessage: string | null }[] = [];
      for (const [user, changes] of byUser) {
        const checked = validate(user, changes);
        if (!Array.isArray(checked)) {
          results.push({ user, ...checked });
          continue;
        }
        // Deletions of missing credentials fail the user's whole change set, before anything is written.
        let missing: string | null = null;
        for (let i = 0; i < changes.length; i++) {
          if (changes[i]!.kind === 'delete' && (await store.storedScram(checked[i]!, user)) === null) {
            missing = checked[i]!.name;
            break;
          }
        }
        if (missing !== null) {
          results.push({
            user,
            errorCode: ErrorCode.RESOURCE_NOT_FOUND,
            errorMessage: `Attempt to delete a user credential that does not exist: ${user} ${missing}${store.isFileOnly(checked.find((m) => m.name === missing)!, user) ? ' (it comes from sasl.users.file; edit that file instead)' : ''}`,
          });
          continue;
        }
        for (let i = 0; i < changes.length; i++) {
          const c = changes[i]!;
          const m = checked[i]!;
          if (c.kind === 'delete') await store.delete(m, user);
          else
            await store.upsert(
              m,
              user,
              credentialFromSaltedPassword(m, c.saltedPassword, c.salt, c.iterations),
            );
        }
        ctx.broker.logger.info(
          {
            user,
            principal: ctx.connection.principal,
            changes: changes.map((c, i) => `${c.kind} ${checked[i]!.name}`),
          },
          'SCRAM credentials altered',
        );
        results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null });
      }
      return { throttleTimeMs: 0, results };
    },
    errorResponse(request, errorCode) {
      const users = new Set([
        ...request.deletions.map((d) => d.name),
        ...request.upsertions.map((u) => u.name),
      ]);
      return {
        throttleTimeMs: 0,
        results: [...users].map((user) => ({ user, errorCode, errorMessage: null })),
      };
    },
  },
);
