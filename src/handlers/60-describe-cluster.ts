// DescribeCluster (key 60), serves 0-1. The cluster is this broker: it is listed as the only broker
// and reported as the controller. v1 endpointType: 1 (brokers) is served; 2 (controllers) answers
// MISMATCHED_ENDPOINT_TYPE and anything else UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker does.
// There is no authorizer, so clusterAuthorizedOperations (when asked for) is every cluster operation.
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeCluster } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

const ENDPOINT_BROKERS = 1;
const ENDPOINT_CONTROLLERS = 2;
/** "Not requested" on the wire. */
const OPERATIONS_OMITTED = -2147483648;
/** Bit per AclOperation code the CLUSTER resource supports: CREATE 5, ALTER 7, DESCRIBE 8,
 * CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12. */
const CLUSTER_OPERATIONS = [5, 7, 8, 9, 10, 11, 12].reduce((bits, op) => bits | (1 << op), 0);

export const describeClusterHandler = defineHandler(
  DescribeCluster,
  { min: 0, max: 1 },
  {
    handle(ctx, req) {
      const { broker } = ctx;
      if (req.endpointType !== ENDPOINT_BROKERS) {
        const controllers = req.endpointType === ENDPOINT_CONTROLLERS;
        return {
          throttleTimeMs: 0,
          errorCode: controllers ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
          errorMessage: controllers
            ? 'The request was sent to a broker endpoint, but asked for controllers.'
            : `Unknown endpoint type ${req.endpointType}.`,
          clusterId: broker.clusterId,
          brokers: [],
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        endpointType: ENDPOINT_BROKERS,
        clusterId: broker.clusterId,
        controllerId: broker.nodeId,
        brokers: [
          { brokerId: broker.nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: null },
        ],
        clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
          ? CLUSTER_OPERATIONS
          : OPERATIONS_OMITTED,
      };
    },
  },
);
