// The two LogStore behaviours that make catalogue configs "honoured" beyond what produce already
// checked: cleanup.policy without "delete" turns time/size retention off, and segment.bytes caps a
// batch (RECORD_LIST_TOO_LARGE).
import t, { type Test } from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { buildRecordBatch } from '../../../protocol/records/index.js';
import { startBroker } from '../../../src/broker/broker.js';

async function broker(t: Test) {
  const b = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    dataDir: null,
    metadataUrl: 'memory://',
    objectStoreUrl: 'memory://',
    logLevel: 'silent',
  });
  t.teardown(() => b.close());
  return b.context.log;
}

const batch = (bytes: number, timestampMs = 1000) =>
  buildRecordBatch({ baseTimestamp: timestampMs, records: [{ value: Buffer.alloc(bytes, 1) }] });
/** Compacted topics refuse records without a key (as Kafka does). */
const keyedBatch = (bytes: number, timestampMs = 1000) =>
  buildRecordBatch({ baseTimestamp: timestampMs, records: [{ key: 'k', value: Buffer.alloc(bytes, 1) }] });

t.test('cleanup.policy=compact keeps data past retention.ms; delete and compact,delete do not', async (t) => {
  const log = await broker(t);
  for (const [name, policy] of [
    ['compact-only', 'compact'],
    ['delete-only', 'delete'],
    ['both', 'compact,delete'],
  ] as const) {
    await log.createTopic(name, 1, { 'cleanup.policy': policy, 'retention.ms': '1' });
    const [r] = await log.produce([{ topic: name, partition: 0, records: keyedBatch(10) }], 1000);
    t.equal(r!.errorCode, ErrorCode.NONE);
  }
  await log.flush();
  await log.runRetention(Date.now());
  t.equal(log.partition('compact-only', 0)!.logStartOffset, 0);
  t.equal(log.partition('delete-only', 0)!.logStartOffset, 1);
  t.equal(log.partition('both', 0)!.logStartOffset, 1);
});

t.test('a batch larger than segment.bytes is RECORD_LIST_TOO_LARGE', async (t) => {
  const log = await broker(t);
  await log.createTopic('small-segments', 1, { 'segment.bytes': '200' });
  const [big] = await log.produce([{ topic: 'small-segments', partition: 0, records: batch(300) }], 1000);
  t.equal(big!.errorCode, ErrorCode.RECORD_LIST_TOO_LARGE);
  const [small] = await log.produce([{ topic: 'small-segments', partition: 0, records: batch(50) }], 1000);
  t.equal(small!.errorCode, ErrorCode.NONE);
});
