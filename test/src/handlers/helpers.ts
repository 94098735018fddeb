// Shared by the admin-API handler tests: a broker on memory:// stores and a connected test client,
// torn down with the tap test; a Produce helper.
import type { Test } from 'tap';
import { Produce } from '../../../protocol/messages/index.js';
import { buildRecordBatch } from '../../../protocol/records/index.js';
import { type RunningBroker, type StartBrokerOptions, startBroker } from '../../../src/broker/broker.js';
import { KafkaTestClient } from '../../support/kafka-client.js';

export interface Harness {
  broker: RunningBroker;
  client: KafkaTestClient;
}

export async function startHarness(t: Test, options: StartBrokerOptions = {}): Promise<Harness> {
  const broker = await startBroker({
    listen: { host: '127.0.0.1', port: 0 },
    admin: null,
    dataDir: null,
    metadataUrl: 'memory://',
    objectStoreUrl: 'memory://',
    logLevel: 'silent',
    ...options,
  });
  const client = await KafkaTestClient.connect(broker.bootstrap);
  t.teardown(async () => {
    await client.close();
    await broker.close();
  });
  return { broker, client };
}

/** Produce `count` records (one batch) to a partition with acks=1; returns the base offset. */
export async function produce(
  client: KafkaTestClient,
  topic: string,
  partition: number,
  count: number,
  timestampMs = Date.now(),
) {
  const records = Array.from({ length: count }, (_, i) => ({
    key: `k${i}`,
    value: `v${i}`,
    timestampDelta: i,
  }));
  const batch = buildRecordBatch({ baseTimestamp: timestampMs, records });
  const res = await client.send(Produce, 7, {
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  if (p.errorCode !== 0) throw new Error(`produce to ${topic}/${partition} failed with error ${p.errorCode}`);
  return p.baseOffset;
}
