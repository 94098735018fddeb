import { randomUUID } from 'node:crypto';
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CreateTopics, DeleteTopics, Metadata } from '../../../protocol/messages/index.js';
import { ZERO_UUID } from '../../../protocol/primitives/reader.js';
import type { KafkaTestClient } from '../../support/kafka-client.js';
import { produce, startHarness } from './helpers.js';

async function create(client: KafkaTestClient, ...names: string[]) {
  const res = await client.send(CreateTopics, 4, {
    topics: names.map((name) => ({
      name,
      numPartitions: 2,
      replicationFactor: 1,
      assignments: [],
      configs: [],
    })),
    timeoutMs: 1000,
  });
  for (const r of res.topics) if (r.errorCode !== 0) throw new Error(`create ${r.name}: ${r.errorCode}`);
}

t.test('v1 deletes by name; unknown names are UNKNOWN_TOPIC_OR_PARTITION', async (t) => {
  const { broker, client } = await startHarness(t);
  await create(client, 'gone', 'kept');
  await produce(client, 'gone', 0, 3);
  const res = await client.send(DeleteTopics, 1, { topicNames: ['gone', 'never-was'], timeoutMs: 1000 });
  t.same(
    res.responses.map((r) => [r.name, r.errorCode]),
    [
      ['gone', ErrorCode.NONE],
      ['never-was', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ],
  );
  t.equal(broker.context.log.topic('gone'), undefined);
  const md = await client.send(Metadata, 1, { topics: null });
  t.same(
    md.topics.map((x) => x.name),
    ['kept'],
  );
});

t.test('v0 and v5 by name (v5 has error messages)', async (t) => {
  const { client } = await startHarness(t);
  await create(client, 'a', 'b');
  const v0 = await client.send(DeleteTopics, 0, { topicNames: ['a'], timeoutMs: 1000 });
  t.same(v0.responses, [{ name: 'a', topicId: ZERO_UUID, errorCode: 0, errorMessage: null }]);
  const v5 = await client.send(DeleteTopics, 5, { topicNames: ['b', 'a'], timeoutMs: 1000 });
  t.equal(v5.responses[0]!.errorCode, ErrorCode.NONE);
  t.equal(v5.responses[1]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  t.match(v5.responses[1]!.errorMessage, /does not exist/);
});

t.test('v6 by id and by name; unknown ids are UNKNOWN_TOPIC_ID', async (t) => {
  const { broker, client } = await startHarness(t);
  await create(client, 'by-id', 'by-name');
  const id = broker.context.log.topic('by-id')!.topicId;
  const nameId = broker.context.log.topic('by-name')!.topicId;
  const unknownId = randomUUID();
  const res = await client.send(DeleteTopics, 6, {
    topics: [
      { name: null, topicId: id },
      { name: 'by-name', topicId: ZERO_UUID },
      { name: null, topicId: unknownId },
    ],
    timeoutMs: 1000,
  });
  t.same(res.responses, [
    { name: 'by-id', topicId: id, errorCode: ErrorCode.NONE, errorMessage: null },
    { name: 'by-name', topicId: nameId, errorCode: ErrorCode.NONE, errorMessage: null },
    {
      name: null,
      topicId: unknownId,
      errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
      errorMessage: `Topic id ${unknownId} does not exist.`,
    },
  ]);
  t.equal(broker.context.log.topics().length, 0);
});

t.test('v6 invalid combinations are INVALID_REQUEST', async (t) => {
  const { broker, client } = await startHarness(t);
  await create(client, 'x', 'y');
  const xId = broker.context.log.topic('x')!.topicId;
  const res = await client.send(DeleteTopics, 6, {
    topics: [
      { name: null, topicId: ZERO_UUID },
      { name: 'x', topicId: xId },
      { name: 'y', topicId: ZERO_UUID },
      { name: 'y', topicId: ZERO_UUID },
      { name: 'x', topicId: ZERO_UUID },
      { name: null, topicId: xId },
    ],
    timeoutMs: 1000,
  });
  t.same(
    res.responses.map((r) => [r.name, r.errorCode]),
    [
      [null, ErrorCode.INVALID_REQUEST], // neither
      ['x', ErrorCode.INVALID_REQUEST], // both
      ['y', ErrorCode.INVALID_REQUEST], // duplicate name, answered once
      ['x', ErrorCode.NONE],
      [null, ErrorCode.INVALID_REQUEST], // id of a topic already named
    ],
  );
  t.ok(broker.context.log.topic('y'), 'a duplicated name is not deleted');
});
