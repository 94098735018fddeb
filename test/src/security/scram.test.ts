/**
 * SCRAM server exchange: the RFC 7677 SCRAM-SHA-256 test vector byte for byte, a full SHA-512
 * exchange with a client written from the RFC, and the ways an exchange must fail (wrong password,
 * unknown user, tampered nonce or channel binding, tokenauth, channel binding requested).
 */
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import t from 'tap';
import {
  AUTH_FAILED_MESSAGE,
  AuthenticationFailed,
  credentialFromSaltedPassword,
  deriveCredential,
  passwordMatches,
  SCRAM_SHA_256,
  SCRAM_SHA_512,
  type ScramCredential,
  ScramServerSession,
  saltPassword,
} from '../../../src/security/scram.js';
import { scramClientFinal, scramClientFirst } from '../../support/scram-client.js';

// RFC 7677 §3
const RFC = {
  user: 'user',
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

async function rfcCredential(): Promise<ScramCredential> {
  const salt = Buffer.from(RFC.salt, 'base64');
  return credentialFromSaltedPassword(
    SCRAM_SHA_256,
    await saltPassword(SCRAM_SHA_256, RFC.password, salt, 4096),
    salt,
    4096,
  );
}

async function failure(p: Promise<unknown>): Promise<AuthenticationFailed> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AuthenticationFailed) return err;
    throw err;
  }
  throw new Error('expected AuthenticationFailed');
}

t.test('RFC 7677 SCRAM-SHA-256 test vector', async (t) => {
  const credential = await rfcCredential();
  const s = new ScramServerSession(
    SCRAM_SHA_256,
    async (u) => (u === 'user' ? credential : null),
    RFC.serverNonce,
  );
  const first = await s.evaluate(Buffer.from(RFC.clientFirst));
  t.equal(first.toString(), RFC.serverFirst);
  t.notOk(s.complete);
  const final = await s.evaluate(Buffer.from(RFC.clientFinal));
  t.equal(final.toString(), RFC.serverFinal);
  t.ok(s.complete);
  t.equal(s.username, 'user');
  // The test client computes the same proof from the password.
  t.equal(
    scramClientFinal(SCRAM_SHA_256, RFC.password, RFC.clientFirst, RFC.serverFirst).message,
    RFC.clientFinal,
  );
});

t.test('RFC vector with a wrong proof fails without saying why', async (t) => {
  const credential = await rfcCredential();
  const s = new ScramServerSession(SCRAM_SHA_256, async () => credential, RFC.serverNonce);
  await s.evaluate(Buffer.from(RFC.clientFirst));
  const bad = RFC.clientFinal.replace('p=dHzb', 'p=dHzc');
  const err = await failure(s.evaluate(Buffer.from(bad)));
  t.equal(err.message, AUTH_FAILED_MESSAGE);
  t.match(err.reason, /proof/);
  t.notOk(s.complete);
  await failure(s.evaluate(Buffer.from(RFC.clientFinal)));
});

for (const m of [SCRAM_SHA_256, SCRAM_SHA_512]) {
  t.test(`${m.name}: full exchange, wrong password, unknown user`, async (t) => {
    const credential = await deriveCredential(m, 'correct horse');
    t.equal(credential.storedKey.length, m.keyLength);
    t.ok(await passwordMatches(m, credential, 'correct horse'));
    t.notOk(await passwordMatches(m, credential, 'wrong'));
    const lookup = async (u: string) => (u === 'alice' ? credential : null);

    const run = async (user: string, password: string) => {
      const s = new ScramServerSession(m, lookup);
      const first = scramClientFirst(user);
      const serverFirst = (await s.evaluate(Buffer.from(first.message))).toString();
      const final = scramClientFinal(m, password, first.message, serverFirst);
      const serverFinal = (await s.evaluate(Buffer.from(final.message))).toString();
      t.equal(serverFinal, final.expectedServerFinal, 'server signature verifies');
      return s;
    };
    t.ok((await run('alice', 'correct horse')).complete);
    t.match((await failure(run('alice', 'wrong'))).reason, /proof/);
    const unknown = await failure(run('mallory', 'x'));
    t.equal(unknown.message, AUTH_FAILED_MESSAGE, 'same message for an unknown user');
    // An unknown user still gets a plausible, stable salt (no user enumeration from server-first).
    const salts = await Promise.all(
      [0, 1].map(async () =>
        (
          await new ScramServerSession(m, lookup).evaluate(Buffer.from(scramClientFirst('mallory').message))
        ).toString(),
      ),
    );
    t.equal(salts[0]!.split(',')[1], salts[1]!.split(',')[1], 'same salt twice');
  });
}

t.test('malformed and unsupported client messages fail', async (t) => {
  const credential = await rfcCredential();
  const session = () => new ScramServerSession(SCRAM_SHA_256, async () => credential, RFC.serverNonce);
  for (const msg of [
    '',
    'n=user,r=abc', // no gs2 header
    'p=tls-unique,,n=user,r=abc', // channel binding requested
    'n,,r=abc,n=user', // wrong order
    'n,,n=,r=abc',
    'n,,n=us=er,r=abc', // bad saslname escape
    'n,,n=user,r=abc,tokenauth=true', // delegation token
    'n,a=other,n=user,r=abc', // authzid differs
  ]) {
    await failure(session().evaluate(Buffer.from(msg)));
    t.pass(`rejected ${JSON.stringify(msg)}`);
  }
  const ok = session();
  t.equal(
    (await ok.evaluate(Buffer.from('n,a=user,n=user,r=abc'))).toString().slice(0, 5),
    'r=abc',
    'authzid = user is fine',
  );

  // client-final with a nonce or channel binding that does not match
  for (const mutate of [
    (m: string) => m.replace('r=rOpr', 'r=XOpr'),
    (m: string) => m.replace('c=biws', 'c=eSws'),
  ]) {
    const s = session();
    await s.evaluate(Buffer.from(RFC.clientFirst));
    await failure(s.evaluate(Buffer.from(mutate(RFC.clientFinal))));
    t.notOk(s.complete);
  }
  t.equal((await session().evaluate(Buffer.from('n,,n=us=2Cer,r=abc'))).length > 0, true, '=2C decodes');
});

t.test(
  'librdkafka < 2.6.1 repeats the client nonce in client-final: accepted, as Kafka 3.x does',
  async (t) => {
    const credential = await deriveCredential(SCRAM_SHA_512, 'pw');
    const s = new ScramServerSession(SCRAM_SHA_512, async () => credential);
    const first = scramClientFirst('alice', 'cnonce123');
    const serverFirst = (await s.evaluate(Buffer.from(first.message))).toString();
    const r = await s.evaluate(Buffer.from(libRdKafkaFinal(first.message, serverFirst, 'pw', 'cnonce123')));
    t.match(r.toString(), /^v=/);
    t.ok(s.complete);

    // Only the client nonce may be repeated: anything else in front of the server nonce fails.
    const s2 = new ScramServerSession(SCRAM_SHA_512, async () => credential);
    const sf2 = (await s2.evaluate(Buffer.from(first.message))).toString();
    await failure(s2.evaluate(Buffer.from(libRdKafkaFinal(first.message, sf2, 'pw', 'other'))));
  },
);

/** client-final as librdkafka < 2.6.1 builds it: r = `prefix` + the server's r, proof over that. */
function libRdKafkaFinal(clientFirst: string, serverFirst: string, password: string, prefix: string): string {
  const attrs = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)] as const));
  const salted = pbkdf2Sync(
    password,
    Buffer.from(attrs.get('s')!, 'base64'),
    Number(attrs.get('i')),
    64,
    'sha512',
  );
  const hmac = (k: Buffer, d: string) => createHmac('sha512', k).update(d).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash('sha512').update(clientKey).digest();
  const withoutProof = `c=biws,r=${prefix}${attrs.get('r')}`;
  const authMessage = `${clientFirst.slice(3)},${serverFirst},${withoutProof}`;
  const sig = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
  return `${withoutProof},p=${proof.toString('base64')}`;
}
