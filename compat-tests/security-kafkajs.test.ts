// kafkajs 2.2.4 against StreamHouse brokers with SASL: over TLS (SASL_SSL, the test CA as `ssl.ca`)
// with each of PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 — a producer sends keyed records and a group
// consumer reads them back exactly — and on a SASL_PLAINTEXT listener that enables SCRAM-SHA-512
// only. Refusals, each while a connected, authenticated producer keeps sending: a wrong password
// and an unknown user (KafkaJSSASLAuthenticationError, the same message for both, so the broker
// does not say which part was wrong), a mechanism the listener does not enable
// (UNSUPPORTED_SASL_MECHANISM), a client without TLS on the TLS listener and a client without SASL
// on the SASL listener (connection closed, no request served).
import kafkajs from 'kafkajs';
import t from 'tap';
import { teardownBroker } from './support/broker-process.js';
import {
  ALICE,
  BOB,
  makeSecurityFixture,
  roundTripRecords,
  type SaslMechanism,
  spawnSecureBroker,
  WRONG_PASSWORD,
} from './support/security.js';
import type { TapTest } from './support/tools.js';

const { Kafka, logLevel } = kafkajs;

t.setTimeout(120_000);

const fx = makeSecurityFixture();
t.teardown(() => fx.cleanup());
const groupConfig = { groupInitialRebalanceDelayMs: 100, groupMinSessionTimeoutMs: 1000 };
const [tlsBroker, scramOnlyBroker] = await Promise.all([
  spawnSecureBroker(fx, { protocol: 'SASL_SSL', config: groupConfig }),
  spawnSecureBroker(fx, { protocol: 'SASL_PLAINTEXT', mechanisms: ['SCRAM-SHA-512'], config: groupConfig }),
]);
t.teardown(teardownBroker(tlsBroker));
t.teardown(teardownBroker(scramOnlyBroker));

type Mechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';
const MECHANISMS: Mechanism[] = ['plain', 'scram-sha-256', 'scram-sha-512'];
const upper = (m: Mechanism) => m.toUpperCase() as SaslMechanism;

interface ClientOptions {
  bootstrap: string;
  clientId: string;
  tls: boolean;
  sasl: { mechanism: Mechanism; username: string; password: string } | null;
  retries?: number;
}

function client(o: ClientOptions): kafkajs.Kafka {
  return new Kafka({
    clientId: o.clientId,
    brokers: [o.bootstrap],
    logLevel: logLevel.NOTHING,
    ssl: o.tls ? { ca: [fx.certs.caPem] } : false,
    // kafkajs types SASL options per mechanism; the three share this shape.
    ...(o.sasl ? { sasl: o.sasl as kafkajs.SASLOptions } : {}),
    connectionTimeout: 10_000,
    authenticationTimeout: 10_000,
    retry: { retries: o.retries ?? 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** Send `count` keyed records (one request), then read them back with a group consumer. */
async function roundTrip(t: TapTest, kafka: kafkajs.Kafka, topic: string, count = 20): Promise<void> {
  const records = roundTripRecords(topic, count);
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const reply = await producer.send({
      topic,
      acks: -1,
      messages: records.map((r) => ({ ...r, partition: 0 })),
    });
    t.same(
      reply.map((r) => ({ partition: r.partition, errorCode: r.errorCode, baseOffset: r.baseOffset })),
      [{ partition: 0, errorCode: 0, baseOffset: '0' }],
      `${topic}: send acknowledged at offset 0`,
    );
  } finally {
    await producer.disconnect();
  }
  const got = await consumeAll(kafka, topic, count);
  t.same(
    got,
    records.map((r, i) => ({ offset: String(i), ...r })),
    `${topic}: the group consumer read ${count} records at offsets 0..${count - 1}, keys and values exact`,
  );
  t.comment(
    `${topic}: produced ${count} (${records[0]?.key}=${records[0]?.value} …), consumed ${got.length}`,
  );
}

async function consumeAll(kafka: kafkajs.Kafka, topic: string, count: number) {
  const consumer = kafka.consumer({
    groupId: `${topic}-group`,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  const got: { offset: string; key: string; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push({
          offset: message.offset,
          key: message.key?.toString('utf8') ?? '<null>',
          value: message.value?.toString('utf8') ?? '<null>',
        });
        if (got.length >= count) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${topic}: only ${got.length}/${count} consumed in 20 s`)),
        20_000,
      );
    });
    await Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** What kafkajs errors carry besides Error (`type` for protocol errors; wrapped causes). */
type ClientError = Error & { type?: string; cause?: unknown; originalError?: unknown };

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(t: TapTest, p: Promise<unknown>, what: string): Promise<ClientError> {
  try {
    await p;
  } catch (e) {
    return e as ClientError;
  }
  t.fail(`${what}: expected a failure, but it succeeded`);
  return new Error('did not fail');
}

/** The error and its causes (kafkajs wraps retried errors in KafkaJSNumberOfRetriesExceeded). */
function causes(e: unknown): ClientError[] {
  const out: ClientError[] = [];
  for (let c = e as ClientError | undefined; c && out.length < 10; ) {
    out.push(c);
    c = (c.cause ?? c.originalError) as ClientError | undefined;
  }
  return out;
}

/** A producer that is connected and authenticated before a refusal, and keeps sending through it. */
async function keepSending(kafka: kafkajs.Kafka, topic: string) {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  let sent = 0;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: `k${sent}`, value: `steady-${sent}`, partition: 0 }],
      });
      sent++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  loop.catch(() => undefined); // awaited (and reported) in finish()
  return {
    async finish() {
      stop = true;
      await loop;
      await producer.disconnect();
      return sent;
    },
  };
}

for (const mechanism of MECHANISMS) {
  t.test(`SASL_SSL + ${upper(mechanism)}: producer and group consumer round trip (two users)`, async (t) => {
    await roundTrip(
      t,
      client({
        bootstrap: tlsBroker.bootstrap,
        clientId: `kafkajs-${mechanism}`,
        tls: true,
        sasl: { mechanism, ...ALICE },
      }),
      `kafkajs-${mechanism}-alice`,
    );
    await roundTrip(
      t,
      client({
        bootstrap: tlsBroker.bootstrap,
        clientId: `kafkajs-${mechanism}`,
        tls: true,
        sasl: { mechanism, ...BOB },
      }),
      `kafkajs-${mechanism}-bob`,
      5,
    );
  });
}

for (const mechanism of MECHANISMS) {
  t.test(`SASL_SSL + ${upper(mechanism)}: wrong password and unknown user refused alike`, async (t) => {
    const good = client({
      bootstrap: tlsBroker.bootstrap,
      clientId: 'kafkajs-good',
      tls: true,
      sasl: { mechanism, ...ALICE },
    });
    const steadyTopic = `kafkajs-steady-${mechanism}`;
    const steady = await keepSending(good, steadyTopic);
    const attempt = async (username: string, password: string) => {
      const bad = client({
        bootstrap: tlsBroker.bootstrap,
        clientId: 'kafkajs-bad',
        tls: true,
        sasl: { mechanism, username, password },
      });
      const began = Date.now();
      const e = await rejection(t, bad.producer().connect(), `${mechanism} as ${username}`);
      return { e, ms: Date.now() - began };
    };
    const [wrong, unknown] = await Promise.all([
      attempt(ALICE.username, WRONG_PASSWORD),
      attempt('mallory', ALICE.password),
    ]);
    for (const [what, r] of [
      ['wrong password', wrong],
      ['unknown user', unknown],
    ] as const) {
      t.equal(r.e.name, 'KafkaJSSASLAuthenticationError', `${what}: KafkaJSSASLAuthenticationError`, {
        message: r.e.message,
      });
      t.match(r.e.message, /authentication failed/i, `${what}: the message says authentication failed`);
      t.comment(`${mechanism}, ${what}: rejected after ${r.ms} ms: ${r.e.name}: ${r.e.message}`);
    }
    t.equal(wrong.e.message, unknown.e.message, 'the same message for a wrong password and an unknown user');
    const sent = await steady.finish();
    t.ok(sent > 0, `the authenticated producer kept sending meanwhile (${sent} records)`);
    const got = await consumeAll(good, steadyTopic, sent);
    t.same(
      got.map((r) => r.value),
      Array.from({ length: sent }, (_, i) => `steady-${i}`),
      `its ${sent} records read back in order, nothing from the refused clients`,
    );
  });
}

t.test(
  'SASL_SSL: clients without TLS or without SASL are disconnected, the broker keeps serving',
  async (t) => {
    const noTls = client({
      bootstrap: tlsBroker.bootstrap,
      clientId: 'kafkajs-no-tls',
      tls: false,
      sasl: { mechanism: 'scram-sha-256', ...ALICE },
      retries: 1,
    });
    const noTlsError = await rejection(t, noTls.producer().connect(), 'plaintext client on the TLS listener');
    const chain = causes(noTlsError);
    t.ok(
      chain.some((c) => /KafkaJSConnection(Closed)?Error|KafkaJSRequestTimeoutError/.test(String(c.name))),
      'plaintext client: a connection error (closed or timed out), not an answer',
      { chain: chain.map((c) => `${c.name}: ${c.message}`) },
    );
    t.comment(`plaintext client: ${chain.map((c) => `${c.name}: ${c.message}`).join(' <- ')}`);

    const noSasl = client({
      bootstrap: tlsBroker.bootstrap,
      clientId: 'kafkajs-no-sasl',
      tls: true,
      sasl: null,
      retries: 1,
    });
    const admin = noSasl.admin();
    const noSaslError = await rejection(
      t,
      admin.connect().then(() => admin.listTopics()),
      'TLS client without SASL',
    );
    await admin.disconnect().catch(() => undefined);
    const chain2 = causes(noSaslError);
    t.ok(
      chain2.some((c) => /KafkaJSConnection(Closed)?Error/.test(String(c.name))),
      'client without SASL: its Metadata request closes the connection',
      { chain: chain2.map((c) => `${c.name}: ${c.message}`) },
    );
    t.comment(`client without SASL: ${chain2.map((c) => `${c.name}: ${c.message}`).join(' <- ')}`);

    t.ok(tlsBroker.alive(), 'the broker is still running');
    await roundTrip(
      t,
      client({
        bootstrap: tlsBroker.bootstrap,
        clientId: 'kafkajs-after',
        tls: true,
        sasl: { mechanism: 'scram-sha-512', ...BOB },
      }),
      'kafkajs-after-refusals',
      5,
    );
  },
);

t.test('SASL_PLAINTEXT with only SCRAM-SHA-512 enabled', async (t) => {
  await roundTrip(
    t,
    client({
      bootstrap: scramOnlyBroker.bootstrap,
      clientId: 'kafkajs-scram-only',
      tls: false,
      sasl: { mechanism: 'scram-sha-512', ...ALICE },
    }),
    'kafkajs-scram-only',
  );
  for (const mechanism of ['plain', 'scram-sha-256'] as const) {
    const e = await rejection(
      t,
      client({
        bootstrap: scramOnlyBroker.bootstrap,
        clientId: 'kafkajs-disabled',
        tls: false,
        sasl: { mechanism, ...ALICE },
      })
        .producer()
        .connect(),
      `${mechanism} on a SCRAM-SHA-512-only listener`,
    );
    const chain = causes(e);
    t.ok(
      chain.some(
        (c) => c.type === 'UNSUPPORTED_SASL_MECHANISM' || /mechanism is not supported/.test(c.message),
      ),
      `${upper(mechanism)}: refused as an unsupported mechanism`,
      { chain: chain.map((c) => `${c.name}: ${c.message} (${String(c.type)})`) },
    );
    t.comment(`${mechanism}: ${chain.map((c) => `${c.name}: ${c.message}`).join(' <- ')}`);
  }
});

t.test('both brokers stop cleanly; SASL versions kafkajs used', async (t) => {
  for (const [name, b] of [
    ['SASL_SSL', tlsBroker],
    ['SASL_PLAINTEXT', scramOnlyBroker],
  ] as const) {
    const exit = await b.stop();
    t.equal(exit.code, 0, `${name} broker: exit code 0 after SIGTERM`, { log: b.stderr().slice(-2000) });
    for (const r of exit.requests ?? [])
      if (r.apiKey === 17 || r.apiKey === 36)
        t.comment(`${name}: ${r.clientId} ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
  }
});
