/**
 * TLS and SASL through real sockets: brokers started in-process with each security.protocol,
 * certificates made by openssl at test time (test/support/certs.ts), the in-repo client speaking
 * over node:tls. What a user sees: a working round trip with the right credentials, an
 * authentication error (then a closed connection) with wrong ones, requests before login closing
 * the connection, the broker still serving others afterwards, SCRAM users managed at runtime with
 * AlterUserScramCredentials, mTLS, SaslHandshake v0 raw tokens, and bad TLS files stopping the start.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import pino from 'pino';
import t, { type Test } from 'tap';
import { encodeRequest } from '../../../protocol/codec.js';
import { ErrorCode } from '../../../protocol/error-codes.js';
import {
  AlterUserScramCredentials,
  ApiVersions,
  CreateTopics,
  DescribeUserScramCredentials,
  Metadata,
  SaslAuthenticate,
  SaslHandshake,
} from '../../../protocol/messages/index.js';
import { type RunningBroker, type StartBrokerOptions, startBroker } from '../../../src/broker/broker.js';
import { credentialFromSaltedPassword, SCRAM_SHA_256, saltPassword } from '../../../src/security/scram.js';
import { makeCerts } from '../../support/certs.js';
import { KafkaTestClient } from '../../support/kafka-client.js';
import { produce } from '../handlers/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sh-security-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const certs = makeCerts(dir);
const usersFile = join(dir, 'users.txt');
writeFileSync(usersFile, 'alice:wonderland\nadmin:admin-secret\n');

async function broker(t: Test, options: StartBrokerOptions): Promise<RunningBroker> {
  const b = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    dataDir: null,
    metadataUrl: 'memory://',
    objectStoreUrl: 'memory://',
    logLevel: 'silent',
    saslFailureDelayMs: 0,
    ...options,
  });
  t.teardown(() => b.close());
  return b;
}

async function client(t: Test, b: RunningBroker, tls: boolean, extra: object = {}): Promise<KafkaTestClient> {
  const c = await KafkaTestClient.connect(
    b.bootstrap,
    'security-test',
    tls ? { tls: { ca: certs.caPem, ...extra } } : {},
  );
  t.teardown(() => c.close());
  return c;
}

async function roundTrip(t: Test, c: KafkaTestClient, topic: string): Promise<void> {
  const created = await c.send(CreateTopics, 4, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
  });
  t.equal(created.topics[0]!.errorCode, 0, `created ${topic}`);
  t.equal(await produce(c, topic, 0, 3), 0n, 'produced at offset 0');
}

const tlsFiles = { sslCertificateLocation: certs.certPath, sslKeyLocation: certs.keyPath };

t.test('SSL: TLS clients work; a plaintext client is dropped and the broker keeps serving', async (t) => {
  const b = await broker(t, { securityProtocol: 'SSL', ...tlsFiles });
  const c = await client(t, b, true);
  t.equal(
    (await c.send(ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' })).errorCode,
    0,
  );
  await roundTrip(t, c, 'tls-topic');

  const plain = await KafkaTestClient.connect(b.bootstrap);
  await t.rejects(
    plain.send(ApiVersions, 0, {}),
    /closed/,
    'plaintext request on a TLS port: connection closed',
  );
  const c2 = await client(t, b, true);
  t.equal((await c2.send(Metadata, 4, { topics: null, allowAutoTopicCreation: false })).topics.length, 1);

  // A client that does not trust the CA fails its own handshake.
  await t.rejects(
    KafkaTestClient.connect(b.bootstrap, 'x', { tls: {} }),
    /self-signed|unable to verify|certificate/,
  );
  t.equal((await c.send(SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
});

/** A logger whose lines (parsed) land in `lines`. */
function capture(): { logger: import('pino').Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/** The principal the broker logged for an AlterUserScramCredentials call on this client. */
async function loggedPrincipal(c: KafkaTestClient, lines: Record<string, unknown>[], user: string) {
  await c.send(AlterUserScramCredentials, 0, {
    deletions: [],
    upsertions: [
      {
        name: user,
        mechanism: 1,
        iterations: 4096,
        salt: Buffer.from('salt'),
        saltedPassword: Buffer.alloc(32, 1),
      },
    ],
  });
  return lines.find((l) => l.msg === 'SCRAM credentials altered' && l.user === user)?.principal;
}

t.test('SSL with ssl.client.auth=required: only clients with a certificate from the CA', async (t) => {
  const { logger, lines } = capture();
  const b = await broker(t, {
    securityProtocol: 'SSL',
    ...tlsFiles,
    sslCaLocation: certs.caPath,
    sslClientAuth: 'required',
    logger,
  });
  const withCert = await client(t, b, true, {
    cert: readFileSync(certs.clientCertPath),
    key: readFileSync(certs.clientKeyPath),
  });
  await roundTrip(t, withCert, 'mtls-topic');
  t.equal(
    await loggedPrincipal(withCert, lines, 'u1'),
    `User:${certs.clientSubject}`,
    'principal = certificate subject',
  );
  // Without a certificate the server aborts the handshake (TLS 1.3: seen on the first read).
  const anon = await KafkaTestClient.connect(b.bootstrap, 'anon', { tls: { ca: certs.caPem } }).catch(
    (e: Error) => e,
  );
  if (anon instanceof Error) t.pass(`handshake refused: ${anon.message}`);
  else await t.rejects(anon.send(ApiVersions, 0, {}), 'request without a client certificate fails');
  t.equal((await withCert.send(ApiVersions, 0, {})).errorCode, 0, 'the broker still serves');
});

t.test('SASL_SSL: SCRAM-SHA-512 and PLAIN logins; wrong password; requests before login', async (t) => {
  const b = await broker(t, {
    securityProtocol: 'SASL_SSL',
    ...tlsFiles,
    saslUsersFile: usersFile,
    saslFailureDelayMs: 200,
  });
  const c = await client(t, b, true);
  t.equal(
    (await c.send(ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' })).errorCode,
    0,
    'ApiVersions before login',
  );
  t.same(await c.saslLogin('SCRAM-SHA-512', 'alice', 'wonderland'), { errorCode: 0, errorMessage: null });
  await roundTrip(t, c, 'scram-topic');

  const p = await client(t, b, true);
  t.same(await p.saslLogin('PLAIN', 'admin', 'admin-secret', 0), { errorCode: 0, errorMessage: null });

  const bad = await client(t, b, true);
  const started = Date.now();
  const r = await bad.saslLogin('SCRAM-SHA-256', 'alice', 'wrong');
  t.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
  t.equal(r.errorMessage, 'Authentication failed: Invalid username or password');
  t.ok(Date.now() - started >= 190, 'failure answered after the configured delay');
  await bad.waitClosed();
  t.ok(bad.closed, 'closed after a failed login');

  const unknownUser = await client(t, b, true);
  t.same(await unknownUser.saslLogin('PLAIN', 'nobody', 'wonderland'), r, 'unknown user: the same answer');

  const early = await client(t, b, true);
  await t.rejects(
    early.send(Metadata, 4, { topics: null, allowAutoTopicCreation: false }),
    /closed/,
    'Metadata before login closes',
  );

  const mech = await client(t, b, true);
  t.same(await mech.send(SaslHandshake, 1, { mechanism: 'OAUTHBEARER' }), {
    errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
    mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
  });
  const outOfOrder = await client(t, b, true);
  const oo = await outOfOrder.send(SaslAuthenticate, 1, { authBytes: Buffer.from('\0a\0b') });
  t.equal(oo.errorCode, ErrorCode.ILLEGAL_SASL_STATE, 'SaslAuthenticate before SaslHandshake');

  t.equal(
    (await c.send(Metadata, 4, { topics: null, allowAutoTopicCreation: false })).topics.length,
    1,
    'others unaffected',
  );
  const metrics = await b.metrics.registry.getSingleMetricAsString('streamhouse_sasl_authentications_total');
  t.match(metrics, /mechanism="SCRAM-SHA-512",result="success"} 1/);
  t.match(metrics, /mechanism="SCRAM-SHA-256",result="failure"} 1/);
  t.match(metrics, /mechanism="PLAIN",result="failure"} 1/);
});

/** One size-prefixed frame from a raw socket. */
function readFrame(socket: import('node:net').Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        socket.off('data', onData);
        resolve(buf.subarray(4, 4 + buf.readInt32BE(0)));
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed')));
  });
}

t.test('SASL_PLAINTEXT: SaslHandshake v0 then raw PLAIN tokens (kafka-python style)', async (t) => {
  const b = await broker(t, { securityProtocol: 'SASL_PLAINTEXT', saslUsersFile: usersFile });
  const login = async (password: string) => {
    const socket = connect({ host: b.host, port: b.port });
    t.teardown(() => socket.destroy());
    await new Promise((r) => socket.once('connect', r));
    for (const chunk of encodeRequest(
      { apiKey: 17, apiVersion: 0, correlationId: 1, clientId: 'kp' },
      { mechanism: 'PLAIN' },
    ))
      socket.write(chunk);
    const hs = await readFrame(socket);
    t.equal(hs.readInt32BE(0), 1, 'handshake answered');
    t.equal(hs.readInt16BE(4), 0, 'no error');
    const token = Buffer.from(`\0alice\0${password}`);
    const frame = Buffer.alloc(4 + token.length);
    frame.writeInt32BE(token.length, 0);
    token.copy(frame, 4);
    socket.write(frame);
    return { socket, reply: await readFrame(socket).catch(() => null) };
  };
  const ok = await login('wonderland');
  t.equal(ok.reply?.length, 0, 'success: an empty raw token');
  for (const chunk of encodeRequest({ apiKey: 18, apiVersion: 0, correlationId: 2, clientId: 'kp' }, {}))
    ok.socket.write(chunk);
  const av = await readFrame(ok.socket);
  t.equal(av.readInt32BE(0), 2, 'Kafka requests work after the raw login');
  const bad = await login('nope');
  t.equal(bad.reply, null, 'failure: the connection is closed');
});

t.test(
  'AlterUserScramCredentials / DescribeUserScramCredentials, then logins with the new user',
  async (t) => {
    const { logger, lines } = capture();
    const b = await broker(t, { securityProtocol: 'SASL_PLAINTEXT', saslUsersFile: usersFile, logger });
    const admin = await client(t, b, false);
    t.equal((await admin.saslLogin('PLAIN', 'admin', 'admin-secret')).errorCode, 0);
    t.equal(await loggedPrincipal(admin, lines, 'u2'), 'User:admin', 'principal = SASL user');
    const plainLog = capture();
    const plain = await broker(t, { logger: plainLog.logger });
    const anon = await client(t, plain, false);
    t.equal(await loggedPrincipal(anon, plainLog.lines, 'u3'), 'User:ANONYMOUS', 'PLAINTEXT: anonymous');

    const salt = Buffer.from('0123456789abcdef');
    const saltedPassword = await saltPassword(SCRAM_SHA_256, 'bobs-password', salt, 8192);
    const upsert = await admin.send(AlterUserScramCredentials, 0, {
      deletions: [{ name: 'ghost', mechanism: 1 }],
      upsertions: [
        { name: 'bob', mechanism: 1, iterations: 8192, salt, saltedPassword },
        { name: 'weak', mechanism: 1, iterations: 1000, salt, saltedPassword },
        { name: 'odd', mechanism: 3, iterations: 8192, salt, saltedPassword },
        { name: 'twice', mechanism: 1, iterations: 4096, salt, saltedPassword },
        { name: 'twice', mechanism: 1, iterations: 4096, salt, saltedPassword },
      ],
    });
    t.same(
      upsert.results.map((r) => [r.user, r.errorCode]),
      [
        ['ghost', ErrorCode.RESOURCE_NOT_FOUND],
        ['bob', 0],
        ['weak', ErrorCode.UNACCEPTABLE_CREDENTIAL],
        ['odd', ErrorCode.UNSUPPORTED_SASL_MECHANISM],
        ['twice', ErrorCode.DUPLICATE_RESOURCE],
      ],
    );
    const stored = await b.context.metadata.getMeta('scram/SCRAM-SHA-256/bob');
    t.same(
      JSON.parse(stored!).storedKey,
      credentialFromSaltedPassword(SCRAM_SHA_256, saltedPassword, salt, 8192).storedKey.toString('base64'),
    );

    const bob = await client(t, b, false);
    t.same(await bob.saslLogin('SCRAM-SHA-256', 'bob', 'bobs-password'), {
      errorCode: 0,
      errorMessage: null,
    });
    const bobPlain = await client(t, b, false);
    t.equal(
      (await bobPlain.saslLogin('PLAIN', 'bob', 'bobs-password')).errorCode,
      0,
      'PLAIN against the SCRAM credential',
    );
    const bob512 = await client(t, b, false);
    t.equal(
      (await bob512.saslLogin('SCRAM-SHA-512', 'bob', 'bobs-password')).errorCode,
      ErrorCode.SASL_AUTHENTICATION_FAILED,
      'no SHA-512 credential',
    );

    const described = await admin.send(DescribeUserScramCredentials, 0, { users: null });
    t.same(
      described.results.map((r) => [r.user, r.credentialInfos.map((c) => `${c.mechanism}:${c.iterations}`)]),
      [
        ['admin', ['1:4096', '2:4096']],
        ['alice', ['1:4096', '2:4096']],
        ['bob', ['1:8192']],
        ['u2', ['1:4096']],
      ],
    );
    const some = await admin.send(DescribeUserScramCredentials, 0, {
      users: [{ name: 'bob' }, { name: 'nobody' }, { name: 'alice' }, { name: 'alice' }],
    });
    t.same(
      some.results.map((r) => [r.user, r.errorCode]),
      [
        ['bob', 0],
        ['nobody', ErrorCode.RESOURCE_NOT_FOUND],
        ['alice', ErrorCode.DUPLICATE_RESOURCE],
      ],
    );

    // Upsert replaces: a new password for bob.
    const salted2 = await saltPassword(SCRAM_SHA_256, 'second', salt, 4096);
    t.equal(
      (
        await admin.send(AlterUserScramCredentials, 0, {
          deletions: [],
          upsertions: [{ name: 'bob', mechanism: 1, iterations: 4096, salt, saltedPassword: salted2 }],
        })
      ).results[0]!.errorCode,
      0,
    );
    const bobOld = await client(t, b, false);
    t.equal(
      (await bobOld.saslLogin('SCRAM-SHA-256', 'bob', 'bobs-password')).errorCode,
      ErrorCode.SASL_AUTHENTICATION_FAILED,
      'old password no longer works',
    );
    const bobNew = await client(t, b, false);
    t.equal((await bobNew.saslLogin('SCRAM-SHA-256', 'bob', 'second')).errorCode, 0);

    const del = await admin.send(AlterUserScramCredentials, 0, {
      deletions: [{ name: 'bob', mechanism: 1 }],
      upsertions: [],
    });
    t.same(del.results, [{ user: 'bob', errorCode: 0, errorMessage: null }]);
    const gone = await client(t, b, false);
    t.equal(
      (await gone.saslLogin('SCRAM-SHA-256', 'bob', 'second')).errorCode,
      ErrorCode.SASL_AUTHENTICATION_FAILED,
      'deleted',
    );
    t.same(
      (await admin.send(DescribeUserScramCredentials, 0, { users: [{ name: 'bob' }] })).results[0]!.errorCode,
      ErrorCode.RESOURCE_NOT_FOUND,
    );
  },
);

t.test('start fails with SH_ codes on unusable TLS and SASL files', async (t) => {
  const base = {
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    dataDir: null,
    metadataUrl: 'memory://',
    objectStoreUrl: 'memory://',
    logLevel: 'silent' as const,
  };
  await t.rejects(
    startBroker({
      ...base,
      securityProtocol: 'SSL',
      ...tlsFiles,
      sslCertificateLocation: join(dir, 'nope.pem'),
    }),
    {
      code: 'SH_TLS_CONFIG_INVALID',
      message: /nope\.pem cannot be read \(ENOENT\)/,
    },
  );
  await t.rejects(
    startBroker({ ...base, securityProtocol: 'SSL', ...tlsFiles, sslKeyLocation: certs.clientKeyPath }),
    {
      code: 'SH_TLS_CONFIG_INVALID',
      message: /does not belong to the certificate/,
    },
  );
  await t.rejects(startBroker({ ...base, securityProtocol: 'SASL_SSL' }), { code: 'SH_TLS_CONFIG_INVALID' });
  await t.rejects(
    startBroker({ ...base, securityProtocol: 'SASL_PLAINTEXT', saslUsersFile: join(dir, 'none.txt') }),
    {
      code: 'SH_SASL_CONFIG_INVALID',
    },
  );

  const encDir = mkdtempSync(join(tmpdir(), 'sh-enc-'));
  t.teardown(() => rmSync(encDir, { recursive: true, force: true }));
  const enc = makeCerts(encDir, { keyPassword: 'k3y-pass' });
  const encFiles = {
    securityProtocol: 'SSL' as const,
    sslCertificateLocation: enc.certPath,
    sslKeyLocation: enc.keyPath,
  };
  await t.rejects(startBroker({ ...base, ...encFiles }), {
    code: 'SH_TLS_CONFIG_INVALID',
    message: /ssl.key.password/,
  });
  await t.rejects(startBroker({ ...base, ...encFiles, sslKeyPassword: 'wrong' }), {
    code: 'SH_TLS_CONFIG_INVALID',
  });
  const ok = await startBroker({ ...base, ...encFiles, sslKeyPassword: 'k3y-pass' });
  t.teardown(() => ok.close());
  const socket = tlsConnect({ host: ok.host, port: ok.port, ca: enc.caPem });
  await new Promise((r, j) => socket.once('secureConnect', r).once('error', j));
  t.pass('encrypted key with the right password');
  socket.destroy();
});
