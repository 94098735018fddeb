// kcat (librdkafka 2.0) against StreamHouse brokers with each security.protocol: SSL (server
// certificate checked against the test CA, hostname 127.0.0.1 verified through the SAN), SASL_SSL
// with SCRAM-SHA-512, SASL_PLAINTEXT with PLAIN only, and SSL with ssl.client.auth=required and an
// encrypted server key (ssl.key.password). Each: a produce + consume round trip with the right
// settings, read back exactly; wrong credentials, a wrong CA, a missing client certificate or a
// plaintext client fail at the client with the reason librdkafka gives, while another kcat on the
// same broker keeps producing and consuming; every broker then stops cleanly.
import t from 'tap';
import type { BrokerProcess } from './support/broker-process.js';
import { teardownBroker } from './support/broker-process.js';
import {
  ALICE,
  BOB,
  brokerLogLines,
  makeSecurityFixture,
  roundTripRecords,
  spawnSecureBroker,
  WRONG_PASSWORD,
} from './support/security.js';
import { describeRun, findKcat, type RunResult, run, skipFile, type TapTest } from './support/tools.js';

t.setTimeout(120_000);

const kcat = findKcat() ?? skipFile(t, 'kcat is not installed (Debian package kcat)');
const fx = makeSecurityFixture();
t.teardown(() => fx.cleanup());

const started = Date.now();
const [sslBroker, saslSslBroker, saslPlainBroker, mtlsBroker] = await Promise.all([
  spawnSecureBroker(fx, { protocol: 'SSL' }),
  spawnSecureBroker(fx, { protocol: 'SASL_SSL' }),
  spawnSecureBroker(fx, { protocol: 'SASL_PLAINTEXT', mechanisms: ['PLAIN'] }),
  spawnSecureBroker(fx, {
    protocol: 'SSL',
    certs: fx.encCerts,
    keyPassword: fx.keyPassword,
    clientAuth: 'required',
  }),
]);
for (const b of [sslBroker, saslSslBroker, saslPlainBroker, mtlsBroker]) t.teardown(teardownBroker(b));
t.comment(`4 brokers started in ${Date.now() - started} ms`);

const SSL = ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${fx.certs.caPath}`];
const sasl = (protocol: 'SASL_SSL' | 'SASL_PLAINTEXT', mechanism: string, user: string, password: string) => [
  '-X',
  `security.protocol=${protocol}`,
  ...(protocol === 'SASL_SSL' ? ['-X', `ssl.ca.location=${fx.certs.caPath}`] : []),
  '-X',
  `sasl.mechanisms=${mechanism}`,
  '-X',
  `sasl.username=${user}`,
  '-X',
  `sasl.password=${password}`,
];
const MTLS = [
  '-X',
  'security.protocol=SSL',
  '-X',
  `ssl.ca.location=${fx.encCerts.caPath}`,
  '-X',
  `ssl.certificate.location=${fx.encCerts.clientCertPath}`,
  '-X',
  `ssl.key.location=${fx.encCerts.clientKeyPath}`,
];

function kcatRun(
  broker: BrokerProcess,
  settings: string[],
  args: string[],
  input?: string,
): Promise<RunResult> {
  return run(kcat, ['-b', broker.bootstrap, ...settings, ...args], { input, timeoutMs: 30_000 });
}

/**
 * Produce `records` (key TAB value lines) to partition 0 of `topic`, then consume the partition
 * from the beginning to its end; assert kcat exited 0 both times and read back exactly what it sent.
 */
async function roundTrip(t: TapTest, broker: BrokerProcess, settings: string[], topic: string, count = 20) {
  const records = roundTripRecords(topic, count);
  const input = records.map((r) => `${r.key}\t${r.value}\n`).join('');
  const p = await kcatRun(broker, settings, ['-P', '-t', topic, '-p', '0', '-K', '\t'], input);
  t.equal(p.code, 0, `${topic}: kcat -P exits 0`, { diagnostic: p.code !== 0, detail: describeRun(p) });
  const c = await kcatRun(broker, settings, [
    '-C',
    '-t',
    topic,
    '-p',
    '0',
    '-o',
    'beginning',
    '-e',
    '-f',
    '%o\t%k\t%s\n',
  ]);
  t.equal(c.code, 0, `${topic}: kcat -C exits 0`, { diagnostic: c.code !== 0, detail: describeRun(c) });
  const got = c.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [offset, key, value] = l.split('\t');
      return { offset: Number(offset), key, value };
    });
  t.same(
    got,
    records.map((r, i) => ({ offset: i, ...r })),
    `${topic}: read back ${count} records at offsets 0..${count - 1}, keys and values exact`,
  );
  t.comment(`${topic}: produced ${count} (${records[0]?.key}=${records[0]?.value} …), read ${got.length}`);
}

/** A kcat -L that must fail: non-zero exit, no broker listed, stderr matching `reason`. */
async function expectFailure(
  t: TapTest,
  broker: BrokerProcess,
  settings: string[],
  reason: RegExp,
  what: string,
) {
  const began = Date.now();
  const r = await kcatRun(broker, settings, ['-L', '-m', '3']);
  t.not(r.code, 0, `${what}: kcat -L fails`, { stdout: r.stdout.toString('utf8').slice(0, 400) });
  t.notMatch(r.stdout.toString('utf8'), /1 brokers:/, `${what}: no metadata was served`);
  t.match(r.stderr, reason, `${what}: librdkafka reports ${reason}`);
  const line = r.stderr.split('\n').find((l) => reason.test(l)) ?? '';
  t.comment(`${what}: failed after ${Date.now() - began} ms: ${line.trim().slice(0, 300)}`);
}

t.test('SSL: round trip with the CA; plaintext and wrong-CA clients refused', async (t) => {
  await roundTrip(t, sslBroker, SSL, 'kcat-ssl');
  await Promise.all([
    expectFailure(
      t,
      sslBroker,
      [],
      /Disconnected|Receive failed|Invalid response size|Connection (reset|closed)|transport failure|timed out/i,
      'PLAINTEXT client on the SSL listener',
    ),
    expectFailure(
      t,
      sslBroker,
      ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${fx.rogueCaPath}`],
      /certificate verify failed|SSL handshake failed/i,
      'SSL client trusting another CA',
    ),
    roundTrip(t, sslBroker, SSL, 'kcat-ssl-during-refusals'),
  ]);
  t.ok(sslBroker.alive(), 'the broker is still running');
  await roundTrip(t, sslBroker, SSL, 'kcat-ssl-after-refusals', 5);
  // The refused handshakes, logged with the client's address (host:port), not the start-up line.
  const logged = brokerLogLines(sslBroker, /handshake/i).filter((l) => /127\.0\.0\.1:\d+/.test(l));
  t.ok(logged.length > 0, 'the broker logged the refused TLS handshakes with the client address', {
    log: sslBroker.stderr().slice(-2000),
  });
  t.comment(`broker log: ${logged[0]?.slice(0, 300)}`);
});

t.test(
  'SASL_SSL + SCRAM-SHA-512: round trips; wrong password refused while a good client works',
  async (t) => {
    await roundTrip(
      t,
      saslSslBroker,
      sasl('SASL_SSL', 'SCRAM-SHA-512', ALICE.username, ALICE.password),
      'kcat-scram512-alice',
    );
    await roundTrip(
      t,
      saslSslBroker,
      sasl('SASL_SSL', 'SCRAM-SHA-512', BOB.username, BOB.password),
      'kcat-scram512-bob',
    );
    const AUTH = /SASL authentication error|Authentication failure/i;
    await Promise.all([
      expectFailure(
        t,
        saslSslBroker,
        sasl('SASL_SSL', 'SCRAM-SHA-512', ALICE.username, WRONG_PASSWORD),
        AUTH,
        'SCRAM-SHA-512 with a wrong password',
      ),
      expectFailure(
        t,
        saslSslBroker,
        sasl('SASL_SSL', 'SCRAM-SHA-512', 'mallory', ALICE.password),
        AUTH,
        'SCRAM-SHA-512 as an unknown user',
      ),
      roundTrip(
        t,
        saslSslBroker,
        sasl('SASL_SSL', 'SCRAM-SHA-512', ALICE.username, ALICE.password),
        'kcat-scram512-concurrent',
      ),
    ]);
    await expectFailure(
      t,
      saslSslBroker,
      sasl('SASL_PLAINTEXT', 'SCRAM-SHA-512', ALICE.username, ALICE.password),
      /Disconnected|Receive failed|Invalid response size|Connection (reset|closed)|transport failure|timed out/i,
      'SASL_PLAINTEXT client (right password) on the SASL_SSL listener',
    );
    t.ok(saslSslBroker.alive(), 'the broker is still running');
    await roundTrip(
      t,
      saslSslBroker,
      sasl('SASL_SSL', 'SCRAM-SHA-256', BOB.username, BOB.password),
      'kcat-scram256-after',
      5,
    );
  },
);

t.test('SASL_PLAINTEXT + PLAIN (the only enabled mechanism)', async (t) => {
  await roundTrip(
    t,
    saslPlainBroker,
    sasl('SASL_PLAINTEXT', 'PLAIN', ALICE.username, ALICE.password),
    'kcat-plain-alice',
  );
  await Promise.all([
    expectFailure(
      t,
      saslPlainBroker,
      sasl('SASL_PLAINTEXT', 'PLAIN', BOB.username, WRONG_PASSWORD),
      /SASL authentication error|Authentication failure/i,
      'PLAIN with a wrong password',
    ),
    expectFailure(
      t,
      saslPlainBroker,
      sasl('SASL_PLAINTEXT', 'SCRAM-SHA-256', ALICE.username, ALICE.password),
      /not supported by broker|Unsupported SASL mechanism/i,
      'SCRAM-SHA-256 when only PLAIN is enabled',
    ),
    expectFailure(
      t,
      saslPlainBroker,
      [],
      /Disconnected|Receive failed|Connection (reset|closed)|transport failure|timed out/i,
      'a client without SASL (its Metadata request before authenticating)',
    ),
    roundTrip(
      t,
      saslPlainBroker,
      sasl('SASL_PLAINTEXT', 'PLAIN', BOB.username, BOB.password),
      'kcat-plain-bob',
    ),
  ]);
  t.ok(saslPlainBroker.alive(), 'the broker is still running');
  const withAddress = (re: RegExp) =>
    brokerLogLines(saslPlainBroker, re).filter((l) => /127\.0\.0\.1:\d+/.test(l));
  const failed = withAddress(/authentication failed/i);
  const early = withAddress(/Metadata.*before.*authenticat/i);
  t.ok(failed.length > 0, 'the broker logged the failed login with the client address');
  t.ok(early.length > 0, 'the broker logged the Metadata request before login with the client address', {
    log: saslPlainBroker.stderr().slice(-3000),
  });
  t.comment(`broker log: ${failed[0]?.slice(0, 300)}`);
  t.comment(`broker log: ${early[0]?.slice(0, 300)}`);
});

t.test('SSL with ssl.client.auth=required and an encrypted server key', async (t) => {
  await roundTrip(t, mtlsBroker, MTLS, 'kcat-mtls');
  await Promise.all([
    expectFailure(
      t,
      mtlsBroker,
      ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${fx.encCerts.caPath}`],
      /SSL handshake failed|certificate required|alert|Disconnected|transport failure|Connection (reset|closed)/i,
      'SSL client without a client certificate',
    ),
    expectFailure(
      t,
      mtlsBroker,
      [
        '-X',
        'security.protocol=SSL',
        '-X',
        `ssl.ca.location=${fx.encCerts.caPath}`,
        '-X',
        `ssl.certificate.location=${fx.certs.clientCertPath}`,
        '-X',
        `ssl.key.location=${fx.certs.clientKeyPath}`,
      ],
      /SSL handshake failed|unknown ca|alert|Disconnected|transport failure|Connection (reset|closed)/i,
      'SSL client with a certificate from another CA',
    ),
    roundTrip(t, mtlsBroker, MTLS, 'kcat-mtls-concurrent', 5),
  ]);
  t.ok(mtlsBroker.alive(), 'the broker is still running');
});

t.test('every broker stops cleanly; SASL versions librdkafka used', async (t) => {
  for (const [name, b] of [
    ['SSL', sslBroker],
    ['SASL_SSL', saslSslBroker],
    ['SASL_PLAINTEXT', saslPlainBroker],
    ['SSL mTLS', mtlsBroker],
  ] as const) {
    const exit = await b.stop();
    t.equal(exit.code, 0, `${name} broker: exit code 0 after SIGTERM`, { log: b.stderr().slice(-2000) });
    for (const r of exit.requests ?? [])
      if (r.apiKey === 17 || r.apiKey === 36 || r.apiKey === 18)
        t.comment(`${name}: ${r.clientId} ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
  }
});
