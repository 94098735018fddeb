// kafka-python against a StreamHouse broker process: KafkaProducer.send() + flush() with keys,
// values, headers and explicit timestamps over 3 partitions (every future resolves to the expected
// partition and offset), then a KafkaConsumer without a group_id, assign()ed to every partition,
// seek_to_beginning(), polled until everything is back byte for byte. kafka-python picks its API
// versions by guessing the broker release from ApiVersions, so this also checks that guess lands on
// versions the broker serves. Codecs: whichever kafka-python can load (gzip always; snappy, lz4 and
// zstd need optional Python modules).
import t from 'tap';
import type { CompressionName } from '../protocol/records/compression.js';
import { spawnBroker, teardownBroker } from './support/broker-process.js';
import { checkFetched, checkReport, type PythonJob, runPythonJob } from './support/python-client.js';
import { checkStoredCodec, sampleRecords } from './support/records.js';
import { pythonModuleMissing, run, SYSTEM_PYTHON, skipFile } from './support/tools.js';
import { readPartition, WireClient } from './support/wire-client.js';

t.setTimeout(240_000);

const missing = pythonModuleMissing('kafka');
if (missing !== null) skipFile(t, `${missing} (Debian package python3-kafka)`);

const probe = await run(SYSTEM_PYTHON, [
  '-c',
  'import json, kafka.codec as c; print(json.dumps({"gzip": c.has_gzip(), "snappy": c.has_snappy(), "lz4": c.has_lz4(), "zstd": c.has_zstd()}))',
]);
const codecsAvailable = JSON.parse(probe.stdout.toString('utf8')) as Record<string, boolean>;

const PARTITIONS = 3;
const CLIENT_ID = 'compat-kafka-python';
const broker = await spawnBroker({ config: { numPartitions: PARTITIONS } });
t.teardown(teardownBroker(broker));
const wire = await WireClient.connect(broker.bootstrap);
t.teardown(() => wire.destroy());
const BASE_TS = Date.now() - 600_000;

for (const [i, codec] of (['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]).entries()) {
  const skip =
    codec === 'none' || codecsAvailable[codec]
      ? false
      : `kafka-python cannot load its ${codec} module here (optional Python dependency)`;
  t.test(
    `KafkaProducer (compression_type=${codec}), KafkaConsumer assign + seek_to_beginning`,
    { skip },
    async (t) => {
      const job: PythonJob = {
        bootstrap: broker.bootstrap,
        topic: `kafka-python-${codec}`,
        partitions: PARTITIONS,
        compression: codec,
        clientId: CLIENT_ID,
        timeoutS: 30,
        records: sampleRecords(700 + i, 120, { maxValueBytes: 32 * 1024 }),
        baseTimestamp: BASE_TS,
      };
      const report = await runPythonJob('kafka_python_client.py', job);
      t.comment(report.client);
      checkReport(t, job, report);
      for (let p = 0; p < PARTITIONS; p++) {
        const fetched = await readPartition(wire, job.topic, p);
        checkFetched(t, job, p, fetched);
        checkStoredCodec(t, fetched, codec, `partition ${p}`);
      }
    },
  );
}

t.test('broker stops cleanly; versions kafka-python used', async (t) => {
  wire.destroy();
  const exit = await broker.stop();
  t.equal(exit.code, 0, 'broker exit code 0 after SIGTERM');
  const ours = (exit.requests ?? []).filter((r) => r.clientId === CLIENT_ID);
  t.ok(ours.length > 0, 'the broker recorded the client requests');
  for (const r of ours) t.comment(`kafka-python ${r.api} (key ${r.apiKey}) v${r.versions.join(',')}`);
});
