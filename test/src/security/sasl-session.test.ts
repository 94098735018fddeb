/**
 * PLAIN token parsing, the users file, the credential store on a real (memory://) metadata store
 * (stored credentials win over the file, PLAIN against SCRAM credentials, delete = tombstone,
 * listing), and the per-connection SASL state machine: handshake → authenticate → done, v0 raw
 * mode, unknown mechanism, out-of-order requests, the failure delay and the metrics hook.
 */
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { openMetadataStore } from '../../../src/metadata/open-metadata-store.js';
import { CredentialStore, parseUsersFile } from '../../../src/security/credentials.js';
import { parsePlainToken } from '../../../src/security/plain.js';
import { type SaslConfig, SaslSession } from '../../../src/security/sasl-session.js';
import {
  AUTH_FAILED_MESSAGE,
  AuthenticationFailed,
  deriveCredential,
  SCRAM_SHA_256,
  SCRAM_SHA_512,
} from '../../../src/security/scram.js';
import { scramClientFinal, scramClientFirst } from '../../support/scram-client.js';

const plain = (s: string) => Buffer.from(s, 'utf8');

t.test('PLAIN tokens', async (t) => {
  t.same(parsePlainToken(plain('\0alice\0secret')), { user: 'alice', password: 'secret' });
  t.same(parsePlainToken(plain('alice\0alice\0pa\u00dfword:with:colons')), {
    user: 'alice',
    password: 'pa\u00dfword:with:colons',
  });
  for (const bad of ['alice\0secret', '\0\0secret', '\0alice\0', 'bob\0alice\0secret', '\0a\0b\0c']) {
    t.throws(() => parsePlainToken(plain(bad)), AuthenticationFailed, JSON.stringify(bad));
  }
});

t.test('users file', async (t) => {
  const users = parseUsersFile('u.txt', '\uFEFF# admins\nalice:secret\n\n  bob : b:c:d\r\n');
  t.same(
    [...users],
    [
      ['alice', 'secret'],
      ['bob', ' b:c:d'],
    ],
  );
  for (const bad of ['nocolon', ':pw', 'alice:', 'a:1\na:2']) {
    t.throws(() => parseUsersFile('u.txt', bad), { code: 'SH_SASL_CONFIG_INVALID' }, JSON.stringify(bad));
  }
  const err = t.throws(() => parseUsersFile('u.txt', 'alice:hunter2\nbroken')) as Error;
  t.match(err.message, /line 2/);
  t.notMatch(err.message, /hunter2/, 'passwords are not echoed');
});

async function store(t: Test, file: string | null = null) {
  const metadata = await openMetadataStore('memory://');
  t.teardown(() => metadata.close());
  return { metadata, credentials: await CredentialStore.open(metadata, file) };
}

t.test('credential store', async (t) => {
  const dir = t.testdir({ 'users.txt': 'alice:wonderland\n' });
  const { metadata, credentials } = await store(t, join(dir, 'users.txt'));
  await t.rejects(CredentialStore.open(metadata, join(dir, 'missing.txt')), {
    code: 'SH_SASL_CONFIG_INVALID',
  });

  t.ok(await credentials.hasAnyUser());
  t.ok(await credentials.verifyPlain('alice', 'wonderland'));
  t.notOk(await credentials.verifyPlain('alice', 'wonderlan'));
  t.notOk(await credentials.verifyPlain('bob', 'wonderland'));
  t.ok(await credentials.scram(SCRAM_SHA_512, 'alice'), 'SCRAM derived from the file');
  t.ok(credentials.isFileOnly(SCRAM_SHA_256, 'alice'));

  // A stored credential for bob: SCRAM finds it, PLAIN verifies against it, it is stored without the password.
  const bob = await deriveCredential(SCRAM_SHA_256, 'builder', 8192);
  await credentials.upsert(SCRAM_SHA_256, 'bob', bob);
  const raw = await metadata.getMeta('scram/SCRAM-SHA-256/bob');
  t.ok(raw);
  t.notMatch(raw!, /builder/);
  t.same(Object.keys(JSON.parse(raw!)).sort(), ['iterations', 'salt', 'serverKey', 'storedKey']);
  t.same((await credentials.scram(SCRAM_SHA_256, 'bob'))?.storedKey, bob.storedKey);
  t.equal(await credentials.scram(SCRAM_SHA_512, 'bob'), null);
  t.ok(await credentials.verifyPlain('bob', 'builder'));
  t.notOk(await credentials.verifyPlain('bob', 'Builder'));

  // A stored credential for a file user wins over the derived one.
  const alice2 = await deriveCredential(SCRAM_SHA_512, 'new-password');
  await credentials.upsert(SCRAM_SHA_512, 'alice', alice2);
  t.same((await credentials.scram(SCRAM_SHA_512, 'alice'))?.storedKey, alice2.storedKey);

  t.same(
    (await credentials.listScramUsers()).map((u) => [
      u.user,
      u.credentials.map((c) => `${c.mechanism.name}:${c.iterations}`),
    ]),
    [
      ['alice', ['SCRAM-SHA-256:4096', 'SCRAM-SHA-512:4096']],
      ['bob', ['SCRAM-SHA-256:8192']],
    ],
  );

  t.ok(await credentials.delete(SCRAM_SHA_256, 'bob'));
  t.notOk(await credentials.delete(SCRAM_SHA_256, 'bob'), 'second delete finds nothing');
  t.equal(await credentials.scram(SCRAM_SHA_256, 'bob'), null);
  t.notOk(await credentials.verifyPlain('bob', 'builder'));
  t.same(
    (await credentials.listScramUsers()).map((u) => u.user),
    ['alice'],
  );

  const empty = await store(t);
  t.notOk(await empty.credentials.hasAnyUser());
  await empty.credentials.upsert(SCRAM_SHA_256, 'x', bob);
  t.ok(await empty.credentials.hasAnyUser());
});

async function sessionConfig(t: Test, extra: Partial<SaslConfig> = {}) {
  const dir = t.testdir({ 'users.txt': 'alice:wonderland\n' });
  const { credentials } = await store(t, join(dir, 'users.txt'));
  const events: string[] = [];
  const config: SaslConfig = {
    mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    credentials,
    failureDelayMs: 0,
    logger: pino({ level: 'silent' }),
    observer: { onAuthentication: (m, ok) => events.push(`${m}:${ok ? 'ok' : 'fail'}`) },
    ...extra,
  };
  return { config, events };
}

t.test('state machine: PLAIN over SaslAuthenticate', async (t) => {
  const { config, events } = await sessionConfig(t);
  const s = new SaslSession(config, '127.0.0.1:1');
  t.equal(s.state, 'handshake');
  const early = await s.authenticate(plain('\0alice\0wonderland'));
  t.equal(early.errorCode, ErrorCode.ILLEGAL_SASL_STATE, 'authenticate before handshake');
  t.ok(early.close);

  const s2 = new SaslSession(config, '127.0.0.1:2');
  t.same(s2.handshake('GSSAPI', 1), {
    errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
    mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
  });
  t.equal(s2.state, 'handshake', 'the client may try another mechanism');
  t.equal(s2.handshake('PLAIN', 1).errorCode, ErrorCode.NONE);
  t.equal(s2.state, 'authenticate');
  t.notOk(s2.expectsRawToken);
  t.equal(s2.handshake('PLAIN', 1).errorCode, ErrorCode.ILLEGAL_SASL_STATE, 'second handshake');
  const ok = await s2.authenticate(plain('\0alice\0wonderland'));
  t.same(ok, { errorCode: 0, errorMessage: null, authBytes: Buffer.alloc(0), close: false });
  t.ok(s2.authenticated);
  t.equal(s2.principal, 'User:alice');
  t.equal((await s2.authenticate(plain('\0alice\0wonderland'))).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
  t.same(events, ['PLAIN:ok']);
});

t.test('state machine: failures are delayed, uniform, and final', async (t) => {
  const { config, events } = await sessionConfig(t, { failureDelayMs: 150 });
  for (const token of ['\0alice\0wrong', '\0nobody\0wonderland', 'garbage']) {
    const s = new SaslSession(config, '127.0.0.1:3');
    s.handshake('PLAIN', 1);
    const started = Date.now();
    const r = await s.authenticate(plain(token));
    t.ok(Date.now() - started >= 140, 'delayed');
    t.same(r, {
      errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
      errorMessage: AUTH_FAILED_MESSAGE,
      authBytes: Buffer.alloc(0),
      close: true,
    });
    t.equal(s.state, 'failed');
    t.equal(s.principal, null);
  }
  t.same(events, ['PLAIN:fail', 'PLAIN:fail', 'PLAIN:fail']);
});

t.test('state machine: SCRAM over v0 raw tokens, and disabled mechanisms', async (t) => {
  const { config, events } = await sessionConfig(t);
  const s = new SaslSession(config, '127.0.0.1:4');
  t.equal(s.handshake('SCRAM-SHA-512', 0).errorCode, 0);
  t.ok(s.expectsRawToken);
  const first = scramClientFirst('alice');
  const r1 = await s.authenticate(Buffer.from(first.message));
  t.equal(r1.errorCode, 0);
  t.notOk(s.authenticated, 'not done after the first message');
  const final = scramClientFinal(SCRAM_SHA_512, 'wonderland', first.message, r1.authBytes.toString());
  const r2 = await s.authenticate(Buffer.from(final.message));
  t.equal(r2.authBytes.toString(), final.expectedServerFinal);
  t.ok(s.authenticated);
  t.notOk(s.expectsRawToken);
  t.equal(s.principal, 'User:alice');
  t.same(events, ['SCRAM-SHA-512:ok']);

  const only = await sessionConfig(t, { mechanisms: ['SCRAM-SHA-256'] });
  const s2 = new SaslSession(only.config, '127.0.0.1:5');
  t.same(s2.handshake('PLAIN', 1), {
    errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
    mechanisms: ['SCRAM-SHA-256'],
  });
});

t.test('state machine: a second SaslAuthenticate while one is in flight fails both', async (t) => {
  const { config, events } = await sessionConfig(t);
  const s = new SaslSession(config, '127.0.0.1:6');
  s.handshake('PLAIN', 1);
  const [wrong, right] = await Promise.all([
    s.authenticate(plain('\0alice\0guess')),
    s.authenticate(plain('\0alice\0wonderland')),
  ]);
  t.equal(wrong.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  t.not(right.errorCode, ErrorCode.NONE, 'the right password behind a wrong one does not log in');
  t.ok(right.close);
  t.notOk(s.authenticated, 'not logged in');
  t.equal(s.principal, null);
  t.notOk(events.includes('PLAIN:ok'));

  // The other order: the concurrent attempt also spoils a login that would have succeeded.
  const s2 = new SaslSession(config, '127.0.0.1:7');
  s2.handshake('PLAIN', 1);
  const [first, second] = await Promise.all([
    s2.authenticate(plain('\0alice\0wonderland')),
    s2.authenticate(plain('\0alice\0guess')),
  ]);
  t.not(first.errorCode, ErrorCode.NONE);
  t.not(second.errorCode, ErrorCode.NONE);
  t.notOk(s2.authenticated);
});

t.test('state machine: the failure delay counts from the start of the attempt', async (t) => {
  // A credential check that takes 150 ms (e.g. PBKDF2 against a stored credential at 16384
  // iterations) must not make a wrong password answer later than an unknown user would.
  const { config } = await sessionConfig(t, { failureDelayMs: 300 });
  const slow = Object.create(config.credentials) as typeof config.credentials;
  slow.verifyPlain = async () => {
    await new Promise((r) => setTimeout(r, 150));
    return false;
  };
  const s = new SaslSession({ ...config, credentials: slow }, '127.0.0.1:8');
  s.handshake('PLAIN', 1);
  const started = Date.now();
  const r = await s.authenticate(plain('\0alice\0wrong'));
  const elapsed = Date.now() - started;
  t.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  t.ok(elapsed >= 290, `at least the delay (${elapsed} ms)`);
  t.ok(elapsed < 420, `not the delay on top of the check (${elapsed} ms)`);
});

t.test('SCRAM passwords are used as UTF-8 bytes, unnormalised (as Kafka and its clients do)', async (t) => {
  // U+FB01 (the "fi" ligature) and a decomposed é change under NFKC; clients hash them as they are.
  for (const password of ['\uFB01sh', 'cafe\u0301']) {
    const dir = t.testdir({ 'users.txt': `carol:${password}\n` });
    const { credentials } = await store(t, join(dir, 'users.txt'));
    const { config } = await sessionConfig(t);
    const s = new SaslSession({ ...config, credentials }, '127.0.0.1:9');
    s.handshake('SCRAM-SHA-256', 1);
    const first = scramClientFirst('carol');
    const r1 = await s.authenticate(Buffer.from(first.message));
    const final = scramClientFinal(SCRAM_SHA_256, password, first.message, r1.authBytes.toString());
    const r2 = await s.authenticate(Buffer.from(final.message));
    t.equal(r2.errorCode, ErrorCode.NONE, JSON.stringify(password));
    t.ok(s.authenticated);
  }
});
