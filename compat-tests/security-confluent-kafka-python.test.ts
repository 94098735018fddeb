// confluent-kafka-python (librdkafka 2.0) against a StreamHouse broker with security.protocol
// SASL_SSL: SCRAM-SHA-256 (the case the security spec names), SCRAM-SHA-512 and PLAIN, each a
// Producer with a delivery report per record and an assign()ed Consumer reading them back exactly.
// A wrong password is reported by librdkafka's error callback as _AUTHENTICATION while another
// client on the same broker completes its round trip; a client that speaks plaintext to the TLS
// listener gets no answer (transport errors only) and the broker keeps serving.
import t from 'tap';
import { teardownBroker } from './support/broker-process.js';
import { ALICE, BOB, makeSecurityFixture, spawnSecureBroker, WRONG_PASSWORD } from './support/security.js';
import { checkRefused, checkRoundTrip, runSecurityJob, securityJob } from './support/security-python.js';
import { pythonModuleMissing, skipFile } from './support/tools.js';

t.setTimeout(120_000);

const missing = pythonModuleMissing('confluent_kafka');
if (missing !== null) skipFile(t, `${missing} (Debian package python3-confluent-kafka)`);

const SCRIPT = 'security_confluent.py';
const fx = makeSecurityFixture();
t.teardown(() => fx.cleanup());
const broker = await spawnSecureBroker(fx, { protocol: 'SASL_SSL' });
t.teardown(teardownBroker(broker));

const settings = (
  mechanism: string,
  user: { username: string; password: string },
  protocol = 'SASL_SSL',
) => ({
  'security.protocol': protocol,
  'ssl.ca.location': fx.certs.caPath,
  'sasl.mechanisms': mechanism,
  'sasl.username': user.username,
  'sasl.password': user.password,
});

t.test('SASL_SSL round trips: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN', async (t) => {
  for (const [mechanism, user] of [
    ['SCRAM-SHA-256', ALICE],
    ['SCRAM-SHA-256', BOB],
    ['SCRAM-SHA-512', BOB],
    ['PLAIN', ALICE],
  ] as const) {
    const job = securityJob(
      broker.bootstrap,
      `confluent-${mechanism.toLowerCase()}-${user.username}`,
      settings(mechanism, user),
    );
    checkRoundTrip(t, job, await runSecurityJob(SCRIPT, job));
  }
});

t.test('SCRAM-SHA-256 with a wrong password: _AUTHENTICATION, while another client works', async (t) => {
  const bad = securityJob(
    broker.bootstrap,
    'confluent-refused',
    settings('SCRAM-SHA-256', { ...ALICE, password: WRONG_PASSWORD }),
    {
      expect: 'fail',
    },
  );
  const good = securityJob(broker.bootstrap, 'confluent-during-refusal', settings('SCRAM-SHA-256', ALICE));
  const [badReport, goodReport] = await Promise.all([
    runSecurityJob(SCRIPT, bad),
    runSecurityJob(SCRIPT, good),
  ]);
  checkRefused(t, bad, badReport, 'wrong password');
  const auth = badReport.errors.find((e) => e.code === '_AUTHENTICATION');
  t.ok(auth, 'librdkafka reports _AUTHENTICATION', { errors: badReport.errors });
  t.match(
    auth?.message ?? '',
    /SASL authentication error/i,
    'with "SASL authentication error" and the broker message',
  );
  t.comment(`error_cb: ${auth?.message}`);
  checkRoundTrip(t, good, goodReport);
});

t.test('a plaintext client on the SASL_SSL listener gets no answer; the broker keeps serving', async (t) => {
  const plain = securityJob(
    broker.bootstrap,
    'confluent-plaintext',
    settings('SCRAM-SHA-256', ALICE, 'SASL_PLAINTEXT'),
    {
      expect: 'fail',
    },
  );
  const report = await runSecurityJob(SCRIPT, plain);
  checkRefused(t, plain, report, 'SASL_PLAINTEXT client on the TLS listener');
  t.ok(report.errors.length > 0, 'librdkafka reports an error', { log: report.log.slice(-10) });
  t.notOk(
    report.errors.some((e) => e.code === '_AUTHENTICATION'),
    'a transport error, not an authentication error (it never got to SASL)',
    { errors: report.errors },
  );
  t.ok(broker.alive(), 'the broker is still running');
  const after = securityJob(broker.bootstrap, 'confluent-after-plaintext', settings('SCRAM-SHA-256', BOB), {
    count: 5,
  });
  checkRoundTrip(t, after, await runSecurityJob(SCRIPT, after));
});

t.test('broker stops cleanly; SASL versions librdkafka used', async (t) => {
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM', { log: broker.stderr().slice(-2000) });
  for (const r of exit.requests ?? [])
    if (r.apiKey === 17 || r.apiKey === 36)
      t.comment(`${r.clientId} ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
});
