/**
 * What an unauthenticated client on a SASL listener can and cannot do, through real sockets:
 * several login attempts pipelined on one connection get one answer (no password guessing in
 * bulk behind one failure delay), requests pipelined behind a handshake or a failed login are never
 * answered, requests pipelined behind a successful login are, and a large frame before login closes
 * the connection at once while a logged-in client may still send one.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import t, { type Test } from 'tap';
import { encodeRequest } from '../../../protocol/codec.js';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { ApiVersions } from '../../../protocol/messages/index.js';
import { type RunningBroker, startBroker } from '../../../src/broker/broker.js';
import { SASL_MAX_RECEIVE_BYTES } from '../../../src/security/sasl-session.js';
import { makeCerts } from '../../support/certs.js';
import { KafkaTestClient } from '../../support/kafka-client.js';

async function saslBroker(t: Test): Promise<RunningBroker> {
  const dir = t.testdir({ 'users.txt': 'alice:wonderland\n' });
  const b = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    dataDir: null,
    metadataUrl: 'memory://',
    objectStoreUrl: 'memory://',
    logLevel: 'silent',
    securityProtocol: 'SASL_PLAINTEXT',
    saslUsersFile: `${dir}/users.txt`,
    saslFailureDelayMs: 100,
  });
  t.teardown(() => b.close());
  return b;
}

/** A raw socket, and every frame the broker sends on it until it closes (or `ms` pass). */
async function rawSession(t: Test, b: RunningBroker, bytes: Buffer, ms = 3000) {
  const socket: Socket = connect({ host: b.host, port: b.port });
  t.teardown(() => socket.destroy());
  await new Promise((r) => socket.once('connect', r));
  const frames: Buffer[] = [];
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      frames.push(buf.subarray(4, 4 + buf.readInt32BE(0)));
      buf = buf.subarray(4 + buf.readInt32BE(0));
    }
  });
  socket.on('error', () => {});
  const started = Date.now();
  const closed = new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), ms).unref();
  });
  socket.write(bytes);
  const wasClosed = await closed;
  return { frames, closed: wasClosed, elapsedMs: Date.now() - started, socket };
}

const req = (apiKey: number, apiVersion: number, correlationId: number, body: object) =>
  Buffer.concat(encodeRequest({ apiKey, apiVersion, correlationId, clientId: 'pre' }, body));
const handshake = (id: number) => req(17, 1, id, { mechanism: 'PLAIN' });
const authenticate = (id: number, password: string) =>
  req(36, 1, id, { authBytes: Buffer.from(`\0alice\0${password}`) });
const metadata = (id: number) => req(3, 4, id, { topics: null, allowAutoTopicCreation: false });
/** Correlation id and (for SaslAuthenticate v1) error code of a response frame. */
const head = (f: Buffer) => [f.readInt32BE(0), f.readInt16BE(4)];

t.test('pipelined SaslAuthenticate guesses: one answer, then the connection closes', async (t) => {
  const b = await saslBroker(t);
  const guesses = ['a', 'b', 'c', 'wonderland'].map((p, i) => authenticate(i + 2, p));
  const s = await rawSession(t, b, Buffer.concat([handshake(1), ...guesses]));
  t.ok(s.closed, 'closed after the failed login');
  t.same(
    s.frames.map(head),
    [
      [1, 0],
      [2, ErrorCode.SASL_AUTHENTICATION_FAILED],
    ],
    'only the first guess is answered; the right password behind it is never tried',
  );
});

t.test('requests pipelined behind a handshake or a failed login are not served', async (t) => {
  const b = await saslBroker(t);
  const behindHandshake = await rawSession(t, b, Buffer.concat([handshake(1), metadata(2)]));
  t.ok(behindHandshake.closed);
  t.same(behindHandshake.frames.map(head), [[1, 0]], 'Metadata behind the handshake: closed, unanswered');

  const behindFailure = await rawSession(
    t,
    b,
    Buffer.concat([handshake(1), authenticate(2, 'wrong'), metadata(3)]),
  );
  t.ok(behindFailure.closed);
  t.same(
    behindFailure.frames.map(head),
    [
      [1, 0],
      [2, ErrorCode.SASL_AUTHENTICATION_FAILED],
    ],
    'Metadata behind a failed login: unanswered',
  );
});

t.test('a request pipelined behind a successful login is served after it (as in Kafka)', async (t) => {
  const b = await saslBroker(t);
  const s = await rawSession(
    t,
    b,
    Buffer.concat([handshake(1), authenticate(2, 'wonderland'), metadata(3)]),
    800,
  );
  t.notOk(s.closed, 'still open');
  t.same(
    s.frames.map((f) => f.readInt32BE(0)),
    [1, 2, 3],
  );
  t.equal(s.frames[1]!.readInt16BE(4), 0, 'login succeeded');
});

t.test('before login, a frame over the SASL receive limit closes the connection at once', async (t) => {
  const b = await saslBroker(t);
  const big = Buffer.alloc(8);
  big.writeInt32BE(SASL_MAX_RECEIVE_BYTES + 1, 0);
  const s = await rawSession(t, b, big, 2000);
  t.ok(s.closed, 'closed without waiting for the rest of the frame');
  t.ok(s.elapsedMs < 1500, `closed in ${s.elapsedMs} ms`);

  const c = await KafkaTestClient.connect(b.bootstrap);
  t.teardown(() => c.close());
  t.same(await c.saslLogin('PLAIN', 'alice', 'wonderland'), { errorCode: 0, errorMessage: null });
  // After login the usual socket.request.max.bytes applies: a 600 KiB request is answered.
  const r = await c.send(ApiVersions, 3, {
    clientSoftwareName: 'x'.repeat(SASL_MAX_RECEIVE_BYTES + 100_000),
    clientSoftwareVersion: '1',
  });
  t.ok(r.apiKeys.length > 0 || r.errorCode !== 0, 'answered, not closed');
});

t.test('AlterUserScramCredentials before login closes the connection and changes nothing', async (t) => {
  const b = await saslBroker(t);
  const alter = req(51, 0, 2, {
    deletions: [],
    upsertions: [
      {
        name: 'mallory',
        mechanism: 1,
        iterations: 4096,
        salt: Buffer.from('salt'),
        saltedPassword: Buffer.alloc(32, 7),
      },
    ],
  });
  for (const bytes of [alter, Buffer.concat([handshake(1), alter])]) {
    const s = await rawSession(t, b, bytes);
    t.ok(s.closed);
    t.notOk(
      s.frames.some((f) => f.readInt32BE(0) === 2),
      'no AlterUserScramCredentials answer',
    );
  }
  t.equal(await b.context.metadata.getMeta('scram/SCRAM-SHA-256/mallory'), null, 'nothing stored');
});

t.test('SaslHandshake v0: a Kafka request pipelined behind the raw token is served', async (t) => {
  const b = await saslBroker(t);
  const token = Buffer.from('\0alice\0wonderland');
  const raw = Buffer.alloc(4 + token.length);
  raw.writeInt32BE(token.length, 0);
  token.copy(raw, 4);
  const s = await rawSession(
    t,
    b,
    Buffer.concat([req(17, 0, 1, { mechanism: 'PLAIN' }), raw, req(18, 0, 2, {})]),
    800,
  );
  t.notOk(s.closed, 'still open');
  t.equal(s.frames.length, 3, 'handshake, raw token, ApiVersions');
  t.equal(s.frames[1]?.length, 0, 'empty raw token: logged in');
  t.equal(s.frames[2]?.readInt32BE(0), 2, 'ApiVersions answered');
});

t.test('SASL_SSL: broken TLS clients close their own socket only', async (t) => {
  const dir = t.testdir({ 'users.txt': 'alice:wonderland\n' });
  const certs = makeCerts(dir);
  const b = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    dataDir: null,
    metadataUrl: 'memory://',
    objectStoreUrl: 'memory://',
    logLevel: 'silent',
    securityProtocol: 'SASL_SSL',
    sslCertificateLocation: certs.certPath,
    sslKeyLocation: certs.keyPath,
    sslClientAuth: 'requested',
    saslUsersFile: `${dir}/users.txt`,
    saslFailureDelayMs: 0,
  });
  t.teardown(() => b.close());
  // A truncated ClientHello then a reset; garbage; a TLS client that resets right after connecting.
  const hello = Buffer.from('16030100c8010000c40303', 'hex');
  for (const bytes of [hello, Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(0)]) {
    const s = connect({ host: b.host, port: b.port });
    s.on('error', () => {});
    await new Promise((r) => s.once('connect', r));
    if (bytes.length > 0) s.write(bytes);
    await new Promise((r) => setTimeout(r, 50));
    s.resetAndDestroy();
  }
  const early = tlsConnect({ host: '127.0.0.1', port: b.port, ca: certs.caPem });
  early.on('error', () => {});
  early.once('secureConnect', () => early.destroy());
  await new Promise((r) => setTimeout(r, 200));
  const c = await KafkaTestClient.connect(b.bootstrap, 'ok', { tls: { ca: certs.caPem } });
  t.teardown(() => c.close());
  t.same(await c.saslLogin('SCRAM-SHA-256', 'alice', 'wonderland'), { errorCode: 0, errorMessage: null });
});

t.test('a failed login waiting out its delay does not hold up other connections', async (t) => {
  const b = await saslBroker(t); // failure delay 100 ms
  const failing = rawSession(t, b, Buffer.concat([handshake(1), authenticate(2, 'wrong')]));
  await new Promise((r) => setTimeout(r, 20));
  const c = await KafkaTestClient.connect(b.bootstrap);
  t.teardown(() => c.close());
  const started = Date.now();
  t.same(await c.saslLogin('PLAIN', 'alice', 'wonderland'), { errorCode: 0, errorMessage: null });
  t.ok(Date.now() - started < 80, `another login answered in ${Date.now() - started} ms`);
  const f = await failing;
  t.ok(f.elapsedMs >= 95, `the failure itself waited ${f.elapsedMs} ms`);
});
