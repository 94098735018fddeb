// DescribeCluster (key 60), versions 0-1, flexible 0+: v1 adds the endpoint type (1 = brokers, 2 = controllers) to request and response.
import { array, bool, defineApi, int8, int16, int32, string } from '../schema/schema.js';

export const DescribeCluster = defineApi({
  apiKey: 60,
  name: 'DescribeCluster',
  versions: '0-1',
  flexible: '0+',
  request: {
    includeClusterAuthorizedOperations: bool(),
    endpointType: int8('1+', { default: 1 }),
  },
  response: {
    throttleTimeMs: int32(),
    errorCode: int16(),
    errorMessage: string('0+', { nullable: '0+', default: null }),
    endpointType: int8('1+', { default: 1 }),
    clusterId: string(),
    controllerId: int32('0+', { default: -1 }),
    brokers: array({
      brokerId: int32(),
      host: string(),
      port: int32(),
      rack: string('0+', { nullable: '0+', default: null }),
    }),
    clusterAuthorizedOperations: int32('0+', { default: -2147483648 }),
  },
});
