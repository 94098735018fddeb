import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { AlterConfigs, CreateTopics, DescribeConfigs, Produce } from '../../../protocol/messages/index.js';
import { buildRecordBatch } from '../../../protocol/records/index.js';
import { ConfigResourceType, ConfigSource } from '../../../src/config/topic-configs.js';
import type { KafkaTestClient } from '../../support/kafka-client.js';
import { startHarness } from './helpers.js';

const TOPIC = ConfigResourceType.TOPIC;
const BROKER = ConfigResourceType.BROKER;

async function create(client: KafkaTestClient, name: string, configs: { name: string; value: string }[]) {
  const res = await client.send(CreateTopics, 4, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }],
    timeoutMs: 1000,
  });
  if (res.topics[0]!.errorCode !== 0) throw new Error(`create ${name}: ${res.topics[0]!.errorCode}`);
}

async function overrides(client: KafkaTestClient, topic: string): Promise<Record<string, string | null>> {
  const res = await client.send(DescribeConfigs, 1, {
    resources: [{ resourceType: TOPIC, resourceName: topic, configurationKeys: null }],
    includeSynonyms: false,
  });
  const out: Record<string, string | null> = {};
  for (const c of res.results[0]!.configs)
    if (c.configSource === ConfigSource.TOPIC_CONFIG) out[c.name] = c.value;
  return out;
}

for (const version of [0, 1, 2]) {
  t.test(`v${version} replaces the whole override set, persisted and effective at once`, async (t) => {
    const { broker, client } = await startHarness(t);
    await create(client, 'alt', [
      { name: 'retention.ms', value: '1000' },
      { name: 'segment.ms', value: '5000' },
    ]);
    const res = await client.send(AlterConfigs, version, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: 'alt',
          configs: [
            { name: 'max.message.bytes', value: '200' },
            { name: 'retention.ms', value: '2000' },
          ],
        },
      ],
      validateOnly: false,
    });
    t.same(res.responses, [
      { errorCode: ErrorCode.NONE, errorMessage: null, resourceType: TOPIC, resourceName: 'alt' },
    ]);
    t.same(
      await overrides(client, 'alt'),
      { 'max.message.bytes': '200', 'retention.ms': '2000' },
      'segment.ms removed',
    );
    const stored = await broker.context.metadata.getTopic('alt');
    t.same(stored!.configs, { 'max.message.bytes': '200', 'retention.ms': '2000' }, 'in the metadata store');

    // max.message.bytes is honoured by the very next produce.
    const batch = buildRecordBatch({ baseTimestamp: Date.now(), records: [{ value: 'x'.repeat(500) }] });
    const produced = await client.send(Produce, 7, {
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 'alt', partitionData: [{ index: 0, records: batch }] }],
    });
    t.equal(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  });
}

t.test('validateOnly and errors', async (t) => {
  const { client } = await startHarness(t);
  await create(client, 'v', [{ name: 'retention.ms', value: '1000' }]);
  const dry = await client.send(AlterConfigs, 1, {
    resources: [{ resourceType: TOPIC, resourceName: 'v', configs: [{ name: 'retention.ms', value: '9' }] }],
    validateOnly: true,
  });
  t.equal(dry.responses[0]!.errorCode, ErrorCode.NONE);
  t.same(await overrides(client, 'v'), { 'retention.ms': '1000' }, 'validateOnly changed nothing');

  const res = await client.send(AlterConfigs, 1, {
    resources: [
      { resourceType: TOPIC, resourceName: 'missing', configs: [{ name: 'retention.ms', value: '9' }] },
      { resourceType: TOPIC, resourceName: 'v', configs: [{ name: 'retention.ms', value: '-5' }] },
      { resourceType: TOPIC, resourceName: 'v', configs: [{ name: 'nope', value: '1' }] },
      { resourceType: BROKER, resourceName: '0', configs: [{ name: 'num.partitions', value: '3' }] },
      { resourceType: BROKER, resourceName: '1', configs: [] },
      { resourceType: 8, resourceName: '0', configs: [] },
    ],
    validateOnly: false,
  });
  t.same(
    res.responses.map((r) => [r.resourceType, r.resourceName, r.errorCode]),
    [
      [TOPIC, 'missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [TOPIC, 'v', ErrorCode.INVALID_REQUEST], // named twice
      [TOPIC, 'v', ErrorCode.INVALID_REQUEST],
      [BROKER, '0', ErrorCode.INVALID_REQUEST], // broker configs are read-only
      [BROKER, '1', ErrorCode.INVALID_REQUEST], // not this broker
      [8, '0', ErrorCode.INVALID_REQUEST],
    ],
  );
  t.match(res.responses[3]!.errorMessage, /Cannot update these configs dynamically: num.partitions/);

  const more = await client.send(AlterConfigs, 2, {
    resources: [
      { resourceType: TOPIC, resourceName: 'v', configs: [{ name: 'retention.ms', value: 'x' }] },
      { resourceType: TOPIC, resourceName: 'bad name', configs: [] },
      { resourceType: BROKER, resourceName: '', configs: [] },
      {
        resourceType: TOPIC,
        resourceName: 'w',
        configs: [
          { name: 'a', value: '1' },
          { name: 'a', value: '2' },
        ],
      },
      { resourceType: TOPIC, resourceName: 'x', configs: [{ name: 'retention.ms', value: null }] },
    ],
    validateOnly: false,
  });
  t.same(
    more.responses.map((r) => r.errorCode),
    [
      ErrorCode.INVALID_CONFIG,
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      ErrorCode.NONE,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ],
  );
  t.same(await overrides(client, 'v'), { 'retention.ms': '1000' });
});
