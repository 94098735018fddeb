import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { DescribeCluster } from '../../../protocol/messages/index.js';
import { startHarness } from './helpers.js';

t.test('v0 and v1: this broker is the cluster and its controller', async (t) => {
  const { broker, client } = await startHarness(t, { nodeId: 2 });
  for (const version of [0, 1]) {
    const res = await client.send(DescribeCluster, version, {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
    });
    t.match(res, {
      errorCode: ErrorCode.NONE,
      clusterId: broker.context.clusterId,
      controllerId: 2,
      brokers: [{ brokerId: 2, host: broker.host, port: broker.port, rack: null }],
      clusterAuthorizedOperations: -2147483648,
    });
    if (version === 1) t.equal(res.endpointType, 1);
  }
  const withOps = await client.send(DescribeCluster, 1, {
    includeClusterAuthorizedOperations: true,
    endpointType: 1,
  });
  // CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE
  t.equal(withOps.clusterAuthorizedOperations, 8096);
});

t.test('v1 endpoint types other than brokers', async (t) => {
  const { client } = await startHarness(t);
  const controllers = await client.send(DescribeCluster, 1, {
    includeClusterAuthorizedOperations: false,
    endpointType: 2,
  });
  t.equal(controllers.errorCode, ErrorCode.MISMATCHED_ENDPOINT_TYPE);
  const unknown = await client.send(DescribeCluster, 1, {
    includeClusterAuthorizedOperations: false,
    endpointType: 9,
  });
  t.equal(unknown.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
});
