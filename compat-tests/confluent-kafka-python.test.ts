// confluent-kafka-python (librdkafka 2.0) against a StreamHouse broker process: a Producer with a
// delivery report per message (every one acknowledged with its partition and offset, no errors),
// with each codec, keys, values, headers and explicit timestamps over 3 partitions; then a Consumer
// assign()ed to every partition from offset 0 (no group membership: StreamHouse has no group
// coordinator yet) reads everything back byte for byte. The broker's own Fetch agrees.
import t from 'tap';
import type { CompressionName } from '../protocol/records/compression.js';
import { spawnBroker, teardownBroker } from './support/broker-process.js';
import { checkFetched, checkReport, type PythonJob, runPythonJob } from './support/python-client.js';
import { checkStoredCodec, sampleRecords } from './support/records.js';
import { pythonModuleMissing, skipFile } from './support/tools.js';
import {
  advertisedApis,
  librdkafkaEffectiveCodec,
  readPartition,
  WireClient,
} from './support/wire-client.js';

t.setTimeout(240_000);

const missing = pythonModuleMissing('confluent_kafka');
if (missing !== null) skipFile(t, `${missing} (Debian package python3-confluent-kafka)`);

const PARTITIONS = 3;
const CLIENT_ID = 'compat-confluent-kafka-python';
const broker = await spawnBroker({ config: { numPartitions: PARTITIONS } });
t.teardown(teardownBroker(broker));
const wire = await WireClient.connect(broker.bootstrap);
t.teardown(() => wire.destroy());
const apis = await advertisedApis(wire);
const BASE_TS = Date.now() - 600_000;

for (const [i, codec] of (['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]).entries()) {
  t.test(`Producer (compression.type=${codec}) with delivery reports, Consumer with assign()`, async (t) => {
    const job: PythonJob = {
      bootstrap: broker.bootstrap,
      topic: `confluent-${codec}`,
      partitions: PARTITIONS,
      compression: codec,
      clientId: CLIENT_ID,
      timeoutS: 30,
      records: sampleRecords(500 + i, 150, { maxValueBytes: 32 * 1024 }),
      baseTimestamp: BASE_TS,
    };
    const report = await runPythonJob('confluent_kafka_client.py', job);
    t.comment(report.client);
    checkReport(t, job, report);
    const effective = librdkafkaEffectiveCodec(codec, apis);
    if (effective !== codec)
      t.comment(
        `librdkafka sends ${codec} as ${effective}: the broker does not advertise FindCoordinator v0`,
      );
    for (let p = 0; p < PARTITIONS; p++) {
      const fetched = await readPartition(wire, job.topic, p);
      checkFetched(t, job, p, fetched);
      checkStoredCodec(t, fetched, effective, `partition ${p}`);
    }
  });
}

t.test('broker stops cleanly; versions librdkafka used', async (t) => {
  wire.destroy();
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  const ours = (exit.requests ?? []).filter((r) => r.clientId === CLIENT_ID);
  t.ok(ours.length > 0, 'the broker recorded the client requests');
  for (const r of ours)
    t.comment(`confluent-kafka-python ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
});
