import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CreateTopics, DeleteRecords, ListOffsets } from '../../../protocol/messages/index.js';
import type { KafkaTestClient } from '../../support/kafka-client.js';
import { produce, startHarness } from './helpers.js';

async function create(
  client: KafkaTestClient,
  name: string,
  configs: { name: string; value: string }[] = [],
) {
  const res = await client.send(CreateTopics, 4, {
    topics: [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs }],
    timeoutMs: 1000,
  });
  if (res.topics[0]!.errorCode !== 0) throw new Error(`create ${name}: ${res.topics[0]!.errorCode}`);
}

async function earliest(client: KafkaTestClient, topic: string, partition: number): Promise<bigint> {
  const res = await client.send(ListOffsets, 1, {
    replicaId: -1,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -2n }] }],
  });
  return res.topics[0]!.partitions[0]!.offset;
}

for (const version of [0, 1, 2]) {
  t.test(`v${version}: moves the log start, answers the low watermark`, async (t) => {
    const { broker, client } = await startHarness(t);
    await create(client, 'trim');
    await produce(client, 'trim', 0, 5);
    await broker.context.log.flush(); // part uploaded, part in memory: both must honour the new start
    await produce(client, 'trim', 0, 5);
    const res = await client.send(DeleteRecords, version, {
      topics: [
        {
          name: 'trim',
          partitions: [
            { partitionIndex: 0, offset: 3n },
            { partitionIndex: 1, offset: 0n },
          ],
        },
      ],
      timeoutMs: 1000,
    });
    t.same(res.topics[0]!.partitions, [
      { partitionIndex: 0, lowWatermark: 3n, errorCode: ErrorCode.NONE },
      { partitionIndex: 1, lowWatermark: 0n, errorCode: ErrorCode.NONE },
    ]);
    t.equal(await earliest(client, 'trim', 0), 3n);

    // Below the current start: nothing changes, the current start is answered.
    const again = await client.send(DeleteRecords, version, {
      topics: [{ name: 'trim', partitions: [{ partitionIndex: 0, offset: 1n }] }],
      timeoutMs: 1000,
    });
    t.equal(again.topics[0]!.partitions[0]!.lowWatermark, 3n);

    // -1 means the high watermark.
    const all = await client.send(DeleteRecords, version, {
      topics: [{ name: 'trim', partitions: [{ partitionIndex: 0, offset: -1n }] }],
      timeoutMs: 1000,
    });
    t.same(all.topics[0]!.partitions[0], { partitionIndex: 0, lowWatermark: 10n, errorCode: ErrorCode.NONE });
    t.equal(await earliest(client, 'trim', 0), 10n);
  });
}

t.test('errors: beyond the high watermark, negative, unknown, compact-only', async (t) => {
  const { client } = await startHarness(t);
  await create(client, 'plain');
  await create(client, 'compacted', [{ name: 'cleanup.policy', value: 'compact' }]);
  await create(client, 'both', [{ name: 'cleanup.policy', value: 'compact,delete' }]);
  await produce(client, 'plain', 0, 4);
  await produce(client, 'compacted', 0, 4);
  await produce(client, 'both', 0, 4);
  const res = await client.send(DeleteRecords, 2, {
    topics: [
      {
        name: 'plain',
        partitions: [
          { partitionIndex: 0, offset: 5n },
          { partitionIndex: 0, offset: -2n },
          { partitionIndex: 0, offset: 2n ** 62n },
          { partitionIndex: 9, offset: 0n },
        ],
      },
      { name: 'nope', partitions: [{ partitionIndex: 0, offset: 0n }] },
      { name: 'compacted', partitions: [{ partitionIndex: 0, offset: 1n }] },
      { name: 'both', partitions: [{ partitionIndex: 0, offset: 1n }] },
    ],
    timeoutMs: 1000,
  });
  t.same(
    res.topics.map((x) => x.partitions.map((p) => [p.errorCode, p.lowWatermark])),
    [
      [
        [ErrorCode.OFFSET_OUT_OF_RANGE, -1n],
        [ErrorCode.OFFSET_OUT_OF_RANGE, -1n],
        [ErrorCode.OFFSET_OUT_OF_RANGE, -1n],
        [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
      ],
      [[ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n]],
      [[ErrorCode.POLICY_VIOLATION, -1n]],
      [[ErrorCode.NONE, 1n]],
    ],
  );
  t.equal(await earliest(client, 'plain', 0), 0n);
});
