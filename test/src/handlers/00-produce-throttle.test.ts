// Produce under backpressure reports its wait as throttle_time_ms (clients back off on it); a
// produce that did not wait reports 0. The upload backlog cap is 1 byte and uploads run only when
// forced, so the second produce always queues until the upload it forces frees the cap.
import t from 'tap';
import { Produce } from '../../../protocol/messages/index.js';
import { buildRecordBatch } from '../../../protocol/records/index.js';
import { startHarness } from './helpers.js';

function produceRequest(topic: string, value: string) {
  const batch = buildRecordBatch({ baseTimestamp: Date.now(), records: [{ key: 'k', value }] });
  return {
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
  };
}

t.test('a produce that waited on the upload backlog carries throttleTimeMs > 0', async (t) => {
  const { broker, client } = await startHarness(t, {
    maxUnuploadedBytes: 1,
    backpressureTimeoutMs: 5_000,
    uploadMaxAgeMs: 600_000, // no timed upload: only backpressure forces one
    uploadTargetBytes: 64 * 1024 * 1024,
  });
  await broker.context.log.createTopic('throttled', 1, {});

  const first = await client.send(Produce, 9, produceRequest('throttled', 'a'));
  t.equal(first.responses[0]!.partitionResponses[0]!.errorCode, 0);
  t.equal(first.throttleTimeMs, 0, 'under the cap: not throttled');
  t.ok(broker.context.log.statsSnapshot.unuploadedBytes > 0, 'the backlog is now over the 1-byte cap');

  const second = await client.send(Produce, 9, produceRequest('throttled', 'b'));
  const p = second.responses[0]!.partitionResponses[0]!;
  t.equal(p.errorCode, 0, 'appended once the forced upload freed the cap');
  t.equal(p.baseOffset, 1n);
  t.ok(second.throttleTimeMs > 0, `throttleTimeMs = ${second.throttleTimeMs} (> 0)`);
});
