import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CreateTopics, IncrementalAlterConfigs } from '../../../protocol/messages/index.js';
import { ConfigResourceType } from '../../../src/config/topic-configs.js';
import { startHarness } from './helpers.js';

const TOPIC = ConfigResourceType.TOPIC;
const BROKER = ConfigResourceType.BROKER;
const [SET, DELETE, APPEND, SUBTRACT] = [0, 1, 2, 3];

t.test('SET, DELETE, APPEND, SUBTRACT on v0 and v1', async (t) => {
  const { broker, client } = await startHarness(t);
  await client.send(CreateTopics, 4, {
    topics: [
      {
        name: 'inc',
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [{ name: 'segment.ms', value: '1000' }],
      },
    ],
    timeoutMs: 1000,
  });
  const configs = () => broker.context.log.topic('inc')!.configs;
  const alter = async (
    version: number,
    ops: { name: string; configOperation: number; value: string | null }[],
    validateOnly = false,
  ) => {
    const res = await client.send(IncrementalAlterConfigs, version, {
      resources: [{ resourceType: TOPIC, resourceName: 'inc', configs: ops }],
      validateOnly,
    });
    return res.responses[0]!;
  };

  t.match(await alter(0, [{ name: 'retention.ms', configOperation: SET, value: '5000' }]), {
    errorCode: ErrorCode.NONE,
  });
  t.same(configs(), { 'segment.ms': '1000', 'retention.ms': '5000' }, 'SET keeps the other overrides');

  t.match(await alter(1, [{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }]), {
    errorCode: ErrorCode.NONE,
  });
  t.equal(configs()['cleanup.policy'], 'delete,compact', 'APPEND starts from the effective value');
  t.match(await alter(1, [{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }]), {
    errorCode: ErrorCode.NONE,
  });
  t.equal(configs()['cleanup.policy'], 'delete,compact', 'APPEND skips present items');
  t.match(await alter(1, [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }]), {
    errorCode: ErrorCode.NONE,
  });
  t.equal(configs()['cleanup.policy'], 'compact');
  t.match(await alter(1, [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'compact' }]), {
    errorCode: ErrorCode.INVALID_CONFIG,
  });
  t.equal(configs()['cleanup.policy'], 'compact', 'an empty cleanup.policy is refused');

  t.match(
    await alter(1, [
      { name: 'segment.ms', configOperation: DELETE, value: null },
      { name: 'no.such.config', configOperation: DELETE, value: null },
    ]),
    { errorCode: ErrorCode.NONE },
  );
  t.same(
    configs(),
    { 'retention.ms': '5000', 'cleanup.policy': 'compact' },
    'DELETE drops overrides; unknown names are no-ops',
  );

  t.match(await alter(1, [{ name: 'retention.ms', configOperation: SET, value: '1' }], true), {
    errorCode: ErrorCode.NONE,
  });
  t.equal(configs()['retention.ms'], '5000', 'validateOnly changes nothing');

  t.match(await alter(1, [{ name: 'retention.ms', configOperation: APPEND, value: '1' }]), {
    errorCode: ErrorCode.INVALID_CONFIG,
  });
  t.match(await alter(1, [{ name: 'nope', configOperation: SET, value: '1' }]), {
    errorCode: ErrorCode.INVALID_CONFIG,
  });
  t.match(await alter(1, [{ name: 'retention.ms', configOperation: SET, value: null }]), {
    errorCode: ErrorCode.INVALID_REQUEST,
  });
  t.match(await alter(1, [{ name: 'retention.ms', configOperation: 9, value: '1' }]), {
    errorCode: ErrorCode.INVALID_REQUEST,
  });
  t.match(
    await alter(1, [
      { name: 'retention.ms', configOperation: SET, value: '1' },
      { name: 'retention.ms', configOperation: DELETE, value: null },
    ]),
    { errorCode: ErrorCode.INVALID_REQUEST },
  );
  t.same(
    configs(),
    { 'retention.ms': '5000', 'cleanup.policy': 'compact' },
    'failed requests changed nothing',
  );
});

t.test('broker and unknown resources', async (t) => {
  const { client } = await startHarness(t);
  const res = await client.send(IncrementalAlterConfigs, 1, {
    resources: [
      {
        resourceType: BROKER,
        resourceName: '0',
        configs: [{ name: 'log.retention.ms', configOperation: SET, value: '1' }],
      },
      { resourceType: BROKER, resourceName: '', configs: [] },
      {
        resourceType: TOPIC,
        resourceName: 'missing',
        configs: [{ name: 'retention.ms', configOperation: SET, value: '1' }],
      },
    ],
    validateOnly: false,
  });
  t.same(
    res.responses.map((r) => r.errorCode),
    [ErrorCode.INVALID_REQUEST, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  );
});
