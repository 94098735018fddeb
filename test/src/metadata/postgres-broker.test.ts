/**
 * End to end on PostgreSQL metadata: a broker (real WAL, local-directory object store) with a
 * kafkajs producer (acks -1) while the broker's PostgreSQL connections are cut mid-production —
 * once while the uploader's index commit is in flight, once while idle. Produce never waits on the
 * metadata store, the uploader retries its commit by itself, and no acknowledged record is lost:
 * a second broker with an empty WAL, reading only through the PostgreSQL index and the objects,
 * returns every record.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import t from 'tap';
import { type RunningBroker, startBroker } from '../../../src/broker/broker.js';
import { PostgresMetadataStore } from '../../../src/metadata/postgres-metadata-store.js';
import {
  dropSchema,
  getTestPostgresUrl,
  newSchemaName,
  stopTestPostgres,
  terminateConnections,
  withAdmin,
  withSchema,
} from '../../support/postgres.js';

const { Kafka, logLevel } = kafkajs;

const baseUrl = await getTestPostgresUrl();
t.teardown(stopTestPostgres);

const TOPIC = 'pg-orders';
const PARTITIONS = 2;

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('broker on PostgreSQL: connections cut mid-production lose no acknowledged record', async (t) => {
  const schema = newSchemaName('sh_e2e');
  const appName = `sh_e2e_${process.pid}`;
  const url = new URL(withSchema(baseUrl, schema));
  url.searchParams.set('application_name', appName);
  const metadataUrl = url.toString();
  const dir = await mkdtemp(join(tmpdir(), 'streamhouse-pg-e2e-'));
  const objectStoreUrl = `file://${join(dir, 'objects')}`;
  t.teardown(async () => {
    await dropSchema(baseUrl, schema);
    await rm(dir, { recursive: true, force: true });
  });

  const brokers: RunningBroker[] = [];
  t.teardown(async () => {
    for (const b of brokers) await b.close().catch(() => undefined);
  });
  const broker = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    dataDir: join(dir, 'broker1'),
    metadataUrl,
    objectStoreUrl,
    uploadMaxAgeMs: 50,
    logLevel: 'silent',
  });
  brokers.push(broker);

  const kafka = new Kafka({
    clientId: 'pg-e2e',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  t.teardown(() => producer.disconnect().catch(() => undefined));

  const acked: string[] = [];
  let sequence = 0;
  async function produceRound(): Promise<void> {
    const messages = Array.from({ length: 10 }, () => {
      const value = `m-${sequence++}`;
      return { key: value, value, partition: sequence % PARTITIONS };
    });
    await producer.send({ topic: TOPIC, acks: -1, messages });
    for (const m of messages) acked.push(m.value);
  }

  for (let i = 0; i < 10; i++) await produceRound();
  await broker.context.log.flush();

  // 1. The uploader's commit is in flight (held behind a lock on the partition rows) when its
  //    connection is terminated; production goes on meanwhile.
  const failuresBefore = broker.context.log.stats.uploadFailures;
  await withAdmin(baseUrl, async (lockHolder) => {
    await lockHolder.query('BEGIN');
    await lockHolder.query(`SELECT * FROM ${schema}.partitions FOR UPDATE`);
    await produceRound();
    await waitFor('the uploader to wait on the partition lock', async () => {
      const { rows } = await lockHolder.query(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
        [appName],
      );
      return rows.length > 0;
    });
    for (let i = 0; i < 5; i++) await produceRound(); // acknowledged while the commit hangs
    t.ok((await terminateConnections(baseUrl, appName)) >= 1, 'broker connections terminated');
    for (let i = 0; i < 5; i++) await produceRound();
    await lockHolder.query('ROLLBACK');
  });
  await waitFor('the uploader to see its commit fail', async () => {
    return broker.context.log.stats.uploadFailures > failuresBefore;
  });

  // 2. Idle connections cut between uploads.
  for (let i = 0; i < 5; i++) await produceRound();
  await terminateConnections(baseUrl, appName);
  for (let i = 0; i < 10; i++) await produceRound();

  // The uploader recovers alone: everything acknowledged gets indexed.
  await waitFor(
    'every acknowledged record to be indexed',
    async () => {
      const store = await PostgresMetadataStore.open(metadataUrl);
      try {
        const states = await store.listPartitionStates();
        return states.reduce((sum, s) => sum + s.indexedEndOffset, 0) === acked.length;
      } finally {
        await store.close();
      }
    },
    20_000,
  );
  t.ok(
    broker.context.log.stats.uploadFailures > failuresBefore,
    'at least one index commit failed and was retried',
  );
  await producer.disconnect();
  await broker.close();
  brokers.length = 0;

  // A second broker with an empty WAL: every record must come from the PostgreSQL index + objects.
  const reader = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    dataDir: join(dir, 'broker2'),
    metadataUrl,
    objectStoreUrl,
    logLevel: 'silent',
  });
  brokers.push(reader);
  const readKafka = new Kafka({
    clientId: 'pg-e2e-reader',
    brokers: [reader.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
  });
  const consumer = readKafka.consumer({ groupId: `pg-e2e-${process.pid}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect().catch(() => undefined));
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  // Counted, not asserted unique: a rebalance under load may redeliver (at-least-once reads).
  const seen = new Map<string, number>();
  let done: () => void = () => undefined;
  const allSeen = new Promise<void>((resolve) => {
    done = resolve;
  });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = message.value?.toString() ?? '';
      seen.set(value, (seen.get(value) ?? 0) + 1);
      if (seen.size >= acked.length) done();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allSeen, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
  clearTimeout(timer);
  await consumer.disconnect();
  const missing = acked.filter((v) => !seen.has(v));
  t.same(missing, [], 'no acknowledged record lost');
  t.equal(seen.size, acked.length, `all ${acked.length} records read back`);
});
