/**
 * Shared set-up for the security compatibility tests (security-*.test.ts): test certificates (made
 * with `openssl` at test time by test/support/certs.ts), a users file, and broker processes started
 * with one `security.protocol` each.
 *
 * Users: `alice` has a plain password; `bob`'s password holds the characters a careless parser
 * trips on (':' — the users file splits at the first one only — plus ',' and '=', which SCRAM
 * messages use as separators, and non-ASCII), so every mechanism is also proven with it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerConfig, SaslMechanism, SecurityProtocol } from '../../src/config/broker-config.js';
import { makeCerts, type TestCerts } from '../../test/support/certs.js';
import { type BrokerProcess, spawnBroker } from './broker-process.js';

export const ALICE = { username: 'alice', password: 'alice-secret-1' } as const;
export const BOB = { username: 'bob', password: 'b:o=b,pässwörd' } as const;
export const WRONG_PASSWORD = 'not-the-password';

export type { SaslMechanism };

export interface SecurityFixture {
  dir: string;
  /** CA, server certificate (localhost, 127.0.0.1) with an unencrypted key, client certificate. */
  certs: TestCerts;
  /** Another CA with its own server certificate whose key is encrypted with `keyPassword`. */
  encCerts: TestCerts;
  keyPassword: string;
  /** A CA that signed nothing the broker uses: a client trusting only it must refuse the broker. */
  rogueCaPath: string;
  usersFile: string;
  cleanup(): void;
}

/** Certificates and a users file in a fresh temporary directory (a few seconds: RSA keys). */
export function makeSecurityFixture(): SecurityFixture {
  const dir = mkdtempSync(join(tmpdir(), 'streamhouse-security-'));
  const sub = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d);
    return d;
  };
  const keyPassword = 'key-pass-42';
  const certs = makeCerts(sub('certs'));
  const encCerts = makeCerts(sub('certs-enc'), { keyPassword });
  const rogue = makeCerts(sub('rogue'));
  const usersFile = join(dir, 'users.txt');
  writeFileSync(usersFile, `${ALICE.username}:${ALICE.password}\n${BOB.username}:${BOB.password}\n`, 'utf8');
  return {
    dir,
    certs,
    encCerts,
    keyPassword,
    rogueCaPath: rogue.caPath,
    usersFile,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface SecureBrokerOptions {
  protocol: SecurityProtocol;
  /** Default: the fixture's plain certificates. */
  certs?: TestCerts;
  keyPassword?: string;
  clientAuth?: 'none' | 'requested' | 'required';
  /** sasl.enabled.mechanisms; default: the broker's (PLAIN,SCRAM-SHA-256,SCRAM-SHA-512). */
  mechanisms?: SaslMechanism[];
  config?: Partial<BrokerConfig>;
}

/** The broker config for `opts`: exactly the keys of the security spec, in their camelCase form. */
function securityConfig(fx: SecurityFixture, opts: SecureBrokerOptions): Partial<BrokerConfig> {
  const certs = opts.certs ?? fx.certs;
  const tls = opts.protocol === 'SSL' || opts.protocol === 'SASL_SSL';
  const sasl = opts.protocol === 'SASL_PLAINTEXT' || opts.protocol === 'SASL_SSL';
  const c: Partial<BrokerConfig> = { securityProtocol: opts.protocol };
  if (tls) {
    c.sslCertificateLocation = certs.certPath;
    c.sslKeyLocation = certs.keyPath;
    if (opts.keyPassword !== undefined) c.sslKeyPassword = opts.keyPassword;
    if (opts.clientAuth !== undefined) {
      c.sslClientAuth = opts.clientAuth;
      c.sslCaLocation = certs.caPath;
    }
  }
  if (sasl) {
    c.saslUsersFile = fx.usersFile;
    if (opts.mechanisms !== undefined) c.saslEnabledMechanisms = opts.mechanisms;
  }
  return { ...c, ...opts.config };
}

/**
 * A broker process with `opts`. Logs at info so that refused handshakes and failed authentications
 * (logged by the broker with the client's address) can be checked in its stderr.
 */
export function spawnSecureBroker(fx: SecurityFixture, opts: SecureBrokerOptions): Promise<BrokerProcess> {
  return spawnBroker({ config: { logLevel: 'info', ...securityConfig(fx, opts) } });
}

/** Log lines (pino JSON) of the broker whose text matches `re`. */
export function brokerLogLines(broker: BrokerProcess, re: RegExp): string[] {
  return broker
    .stderr()
    .split('\n')
    .filter((l) => re.test(l));
}

/** Deterministic, human-readable records for a round trip: `<prefix>-key-i` → `<prefix>-value-i …`. */
export function roundTripRecords(prefix: string, count: number): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    key: `${prefix}-key-${i}`,
    value: `${prefix}-value-${i} ünïcödé ✓ ${'x'.repeat(i * 37)}`,
  }));
}
