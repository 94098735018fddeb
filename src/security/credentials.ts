/**
 * Where users and their secrets live:
 *
 * - `sasl.users.file` (static, read at start): `user:password` lines. PLAIN checks passwords against
 *   it; SCRAM-SHA-256/512 credentials are derived from it at start (random salt, 4096 iterations)
 *   and kept in memory only.
 * - The metadata store (dynamic, AlterUserScramCredentials): `scram/<mechanism>/<user>` → JSON of
 *   salt, iterations, StoredKey and ServerKey in base64 — never the password. A deleted credential
 *   is an empty value (the store has no delete). Shared by every broker on the same store, and read
 *   on each login, so a change applies to the next login everywhere.
 *
 * A stored credential wins over one derived from the file for the same user and mechanism. PLAIN
 * accepts the file password, or a password that matches a stored SCRAM credential.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StreamhouseError } from '../errors.js';
import type { MetadataStore } from '../metadata/metadata-store.js';
import {
  deriveCredential,
  passwordMatches,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
  safeEqual,
} from './scram.js';

const PREFIX = 'scram/';
const keyOf = (m: ScramMechanism, user: string) => `${PREFIX}${m.name}/${user}`;

interface StoredCredential {
  salt: string;
  iterations: number;
  storedKey: string;
  serverKey: string;
}

function encode(c: ScramCredential): string {
  const v: StoredCredential = {
    salt: c.salt.toString('base64'),
    iterations: c.iterations,
    storedKey: c.storedKey.toString('base64'),
    serverKey: c.serverKey.toString('base64'),
  };
  return JSON.stringify(v);
}

function decode(value: string): ScramCredential | null {
  if (value === '') return null;
  const v = JSON.parse(value) as StoredCredential;
  return {
    salt: Buffer.from(v.salt, 'base64'),
    iterations: v.iterations,
    storedKey: Buffer.from(v.storedKey, 'base64'),
    serverKey: Buffer.from(v.serverKey, 'base64'),
  };
}

/** Parse a users file's text: `user:password` per line, `#` comments and blank lines ignored. */
export function parseUsersFile(path: string, content: string): Map<string, string> {
  const users = new Map<string, string>();
  content
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (line.trim() === '' || line.trimStart().startsWith('#')) return;
      const colon = line.indexOf(':');
      const user = colon < 0 ? '' : line.slice(0, colon).trim();
      if (colon < 0 || user === '' || colon === line.length - 1) {
        throw new StreamhouseError(
          'SH_SASL_CONFIG_INVALID',
          `sasl.users.file ${path} line ${i + 1} is not user:password (expected e.g. alice:secret)`,
        );
      }
      if (users.has(user))
        throw new StreamhouseError(
          'SH_SASL_CONFIG_INVALID',
          `sasl.users.file ${path} line ${i + 1}: user ${user} is listed twice`,
        );
      users.set(user, line.slice(colon + 1));
    });
  return users;
}

export interface UserCredentialInfo {
  user: string;
  credentials: { mechanism: ScramMechanism; iterations: number }[];
}

export class CredentialStore {
  private constructor(
    private readonly metadata: MetadataStore,
    private readonly fileUsers: Map<string, string>,
    /** `<mechanism>/<user>` → derived from the users file. */
    private readonly fileScram: Map<string, ScramCredential>,
  ) {}

  /** Read the users file (if any) and derive its SCRAM credentials. */
  static async open(metadata: MetadataStore, usersFile: string | null): Promise<CredentialStore> {
    let users = new Map<string, string>();
    if (usersFile !== null) {
      let content: string;
      try {
        content = readFileSync(usersFile, 'utf8');
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        throw new StreamhouseError(
          'SH_SASL_CONFIG_INVALID',
          `sasl.users.file ${usersFile} cannot be read (${reason})`,
          {
            cause: err,
          },
        );
      }
      users = parseUsersFile(usersFile, content);
    }
    const scram = new Map<string, ScramCredential>();
    for (const [user, password] of users) {
      for (const m of SCRAM_MECHANISMS) scram.set(`${m.name}/${user}`, await deriveCredential(m, password));
    }
    return new CredentialStore(metadata, users, scram);
  }

  /** The SCRAM credential of `user` for `m`: stored first, then derived from the users file. */
  async scram(m: ScramMechanism, user: string): Promise<ScramCredential | null> {
    const stored = await this.storedScram(m, user);
    if (stored !== null) return stored;
    return this.fileScram.get(`${m.name}/${user}`) ?? null;
  }

  /** The credential stored in the metadata store (not one from the users file), or null. */
  async storedScram(m: ScramMechanism, user: string): Promise<ScramCredential | null> {
    const stored = await this.metadata.getMeta(keyOf(m, user));
    return stored === null ? null : decode(stored);
  }

  /** PLAIN: the users-file password, else any stored SCRAM credential the password matches. */
  async verifyPlain(user: string, password: string): Promise<boolean> {
    const filePassword = this.fileUsers.get(user);
    if (filePassword !== undefined) {
      // Compare digests: equal length, constant time, whatever the password lengths.
      const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
      if (safeEqual(digest(filePassword), digest(password))) return true;
    }
    for (const m of SCRAM_MECHANISMS) {
      const stored = await this.metadata.getMeta(keyOf(m, user));
      if (stored === null || stored === '') continue;
      if (await passwordMatches(m, decode(stored)!, password)) return true;
    }
    return false;
  }

  /** Store (insert or replace) a SCRAM credential. */
  async upsert(m: ScramMechanism, user: string, credential: ScramCredential): Promise<void> {
    await this.metadata.setMeta(keyOf(m, user), encode(credential));
  }

  /** Delete a stored SCRAM credential; false when there was none. */
  async delete(m: ScramMechanism, user: string): Promise<boolean> {
    const key = keyOf(m, user);
    const stored = await this.metadata.getMeta(key);
    if (stored === null || stored === '') return false;
    await this.metadata.setMeta(key, '');
    return true;
  }

  /** True when `user` has a credential for `m` only from the users file (nothing stored). */
  isFileOnly(m: ScramMechanism, user: string): boolean {
    return this.fileScram.has(`${m.name}/${user}`);
  }

  /** Every user with a SCRAM credential (stored or from the users file), by name. */
  async listScramUsers(): Promise<UserCredentialInfo[]> {
    const byUser = new Map<string, Map<ScramMechanism, number>>();
    const add = (user: string, m: ScramMechanism, iterations: number) => {
      let entry = byUser.get(user);
      if (entry === undefined) {
        entry = new Map();
        byUser.set(user, entry);
      }
      entry.set(m, iterations);
    };
    for (const [key, c] of this.fileScram) {
      const slash = key.indexOf('/');
      const m = SCRAM_MECHANISMS.find((x) => x.name === key.slice(0, slash))!;
      add(key.slice(slash + 1), m, c.iterations);
    }
    for (const { key, value } of await this.metadata.listMeta(PREFIX)) {
      const rest = key.slice(PREFIX.length);
      const slash = rest.indexOf('/');
      const m = SCRAM_MECHANISMS.find((x) => x.name === rest.slice(0, slash));
      const c = m === undefined ? null : decode(value);
      if (m !== undefined && c !== null) add(rest.slice(slash + 1), m, c.iterations);
    }
    return [...byUser.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([user, mechs]) => ({
        user,
        credentials: [...mechs.entries()]
          .sort(([a], [b]) => a.type - b.type)
          .map(([mechanism, iterations]) => ({ mechanism, iterations })),
      }));
  }

  /** True when at least one user can log in (users file or stored SCRAM credentials). */
  async hasAnyUser(): Promise<boolean> {
    if (this.fileUsers.size > 0) return true;
    return (await this.metadata.listMeta(PREFIX)).some((e) => e.value !== '');
  }
}
