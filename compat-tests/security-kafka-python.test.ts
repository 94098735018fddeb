// kafka-python 2.0 against StreamHouse brokers with SASL. kafka-python authenticates with
// SaslHandshake v0 followed by raw SASL tokens (no SaslAuthenticate), so this is the test of the
// broker's v0 path: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 round trips on a SASL_PLAINTEXT
// listener and SCRAM-SHA-512 on SASL_SSL (ssl_cafile = the test CA, hostname checked). A wrong
// password closes the connection while kafka-python is "<authenticating>" (v0 has no error
// response) and the client gives up with NoBrokersAvailable, while another client completes its
// round trip; a plaintext client on the TLS listener is refused the same way. Plain SSL (no SASL)
// with ssl_cafile: a round trip, and a PLAINTEXT client refused.
import t from 'tap';
import { teardownBroker } from './support/broker-process.js';
import { ALICE, BOB, makeSecurityFixture, spawnSecureBroker, WRONG_PASSWORD } from './support/security.js';
import {
  checkRefused,
  checkRoundTrip,
  runSecurityJob,
  type SecurityReport,
  securityJob,
} from './support/security-python.js';
import { pythonModuleMissing, skipFile, type TapTest } from './support/tools.js';

t.setTimeout(120_000);

const missing = pythonModuleMissing('kafka');
if (missing !== null) skipFile(t, `${missing} (Debian package python3-kafka)`);

const SCRIPT = 'security_kafka_python.py';
const fx = makeSecurityFixture();
t.teardown(() => fx.cleanup());
const [plainBroker, tlsBroker, sslBroker] = await Promise.all([
  spawnSecureBroker(fx, { protocol: 'SASL_PLAINTEXT' }),
  spawnSecureBroker(fx, { protocol: 'SASL_SSL' }),
  spawnSecureBroker(fx, { protocol: 'SSL' }),
]);
for (const b of [plainBroker, tlsBroker, sslBroker]) t.teardown(teardownBroker(b));

const settings = (mechanism: string, user: { username: string; password: string }, tls = false) => ({
  security_protocol: tls ? 'SASL_SSL' : 'SASL_PLAINTEXT',
  sasl_mechanism: mechanism,
  sasl_plain_username: user.username,
  sasl_plain_password: user.password,
  ...(tls ? { ssl_cafile: fx.certs.caPath, ssl_check_hostname: true } : {}),
});

/** kafka-python's refusal: NoBrokersAvailable, never "Authenticated as". */
function checkKafkaPythonRefusal(t: TapTest, report: SecurityReport, what: string, logPattern: RegExp) {
  t.same(
    report.errors.map((e) => e.code),
    ['NoBrokersAvailable'],
    `${what}: KafkaProducer() gives up with NoBrokersAvailable`,
    { errors: report.errors, log: report.log.slice(-10) },
  );
  t.notOk(
    report.log.some((l) => /Authenticated as/.test(l)),
    `${what}: kafka-python never logged "Authenticated as"`,
  );
  const line = report.log.find((l) => logPattern.test(l));
  t.ok(line, `${what}: kafka-python logged ${logPattern}`, { log: report.log.slice(-10) });
  t.comment(`${what}: ${line?.slice(0, 300)}`);
}

t.test(
  'SASL_PLAINTEXT round trips: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (SaslHandshake v0, raw tokens)',
  async (t) => {
    for (const [mechanism, user] of [
      ['PLAIN', ALICE],
      ['SCRAM-SHA-256', ALICE],
      ['SCRAM-SHA-512', ALICE],
      ['SCRAM-SHA-512', BOB],
      ['PLAIN', BOB],
    ] as const) {
      const job = securityJob(
        plainBroker.bootstrap,
        `kafka-python-${mechanism.toLowerCase()}-${user.username}`,
        settings(mechanism, user),
      );
      const report = await runSecurityJob(SCRIPT, job);
      checkRoundTrip(t, job, report);
      t.ok(
        report.log.some((l) => l.includes(`Authenticated as ${user.username} via ${mechanism}`)),
        `kafka-python logged "Authenticated as ${user.username} via ${mechanism}"`,
      );
    }
  },
);

t.test('wrong passwords (PLAIN, SCRAM-SHA-256) refused while another client works', async (t) => {
  const jobs = ['PLAIN', 'SCRAM-SHA-256'].map((mechanism) =>
    securityJob(
      plainBroker.bootstrap,
      `kafka-python-refused-${mechanism.toLowerCase()}`,
      settings(mechanism, { ...ALICE, password: WRONG_PASSWORD }),
      {
        expect: 'fail',
      },
    ),
  );
  const good = securityJob(
    plainBroker.bootstrap,
    'kafka-python-during-refusal',
    settings('SCRAM-SHA-512', BOB),
  );
  const [plainBad, scramBad, goodReport] = await Promise.all(
    [...jobs, good].map((j) => runSecurityJob(SCRIPT, j)),
  );
  for (const [job, report] of [
    [jobs[0]!, plainBad!],
    [jobs[1]!, scramBad!],
  ] as const) {
    const what = `${job.settings.sasl_mechanism} with a wrong password`;
    checkRefused(t, job, report, what);
    checkKafkaPythonRefusal(t, report, what, /<authenticating>.*Error receiving reply from server/);
  }
  checkRoundTrip(t, good, goodReport!);
});

t.test('SASL_SSL: SCRAM-SHA-512 round trip; a plaintext client refused; broker keeps serving', async (t) => {
  const job = securityJob(
    tlsBroker.bootstrap,
    'kafka-python-sasl-ssl',
    settings('SCRAM-SHA-512', ALICE, true),
  );
  checkRoundTrip(t, job, await runSecurityJob(SCRIPT, job));
  const plain = securityJob(
    tlsBroker.bootstrap,
    'kafka-python-plaintext',
    settings('SCRAM-SHA-512', ALICE, false),
    {
      expect: 'fail',
    },
  );
  const report = await runSecurityJob(SCRIPT, plain);
  checkRefused(t, plain, report, 'SASL_PLAINTEXT client on the TLS listener');
  checkKafkaPythonRefusal(
    t,
    report,
    'SASL_PLAINTEXT client on the TLS listener',
    /<authenticating>.*(socket disconnected|Error receiving reply from server|Connection reset)/,
  );
  t.ok(tlsBroker.alive(), 'the broker is still running');
  const after = securityJob(
    tlsBroker.bootstrap,
    'kafka-python-after-plaintext',
    settings('PLAIN', BOB, true),
    { count: 5 },
  );
  checkRoundTrip(t, after, await runSecurityJob(SCRIPT, after));
});

t.test('SSL (no SASL): round trip with ssl_cafile; a PLAINTEXT client refused', async (t) => {
  const ssl = { security_protocol: 'SSL', ssl_cafile: fx.certs.caPath, ssl_check_hostname: true };
  const job = securityJob(sslBroker.bootstrap, 'kafka-python-ssl', ssl);
  checkRoundTrip(t, job, await runSecurityJob(SCRIPT, job));
  const plain = securityJob(
    sslBroker.bootstrap,
    'kafka-python-ssl-plaintext',
    { security_protocol: 'PLAINTEXT' },
    {
      expect: 'fail',
    },
  );
  const report = await runSecurityJob(SCRIPT, plain);
  checkRefused(t, plain, report, 'PLAINTEXT client on the SSL listener');
  // kafka-python's TCP connect succeeds; each version probe is then cut off by the failed TLS
  // handshake, so it gives up guessing the broker version (or finding one).
  t.ok(
    report.errors.length === 1 &&
      /^(UnrecognizedBrokerVersion|NoBrokersAvailable)$/.test(report.errors[0]!.code ?? ''),
    'PLAINTEXT client on the SSL listener: KafkaProducer() fails (UnrecognizedBrokerVersion or NoBrokersAvailable)',
    { errors: report.errors },
  );
  t.ok(
    report.log.some((l) => /socket disconnected/.test(l)),
    'PLAINTEXT client on the SSL listener: kafka-python logged "socket disconnected"',
    { log: report.log.slice(-10) },
  );
  t.ok(sslBroker.alive(), 'the broker is still running');
});

t.test('every broker stops cleanly; SASL versions kafka-python used', async (t) => {
  for (const [name, b] of [
    ['SASL_PLAINTEXT', plainBroker],
    ['SASL_SSL', tlsBroker],
    ['SSL', sslBroker],
  ] as const) {
    const exit = await b.stop();
    t.equal(exit.code, 0, `${name} broker: exit code 0 after SIGTERM`, { log: b.stderr().slice(-2000) });
    for (const r of exit.requests ?? [])
      if (r.apiKey === 17 || r.apiKey === 36)
        t.comment(`${name}: ${r.clientId} ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
  }
});
