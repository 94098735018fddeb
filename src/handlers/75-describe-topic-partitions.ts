// DescribeTopicPartitions (key 75, KIP-966), serves 0. Topics by name (an empty list = every topic),
// sorted by name, paged by partition count: at most min(responsePartitionLimit, 2000) partitions per
// response, and when a topic does not fit, nextCursor names the first partition left out (Kafka's
// paging rules). The cursor's topic must be among the requested names (INVALID_REQUEST otherwise);
// topics sorting before it are skipped, and it starts at the cursor's partition. Leader, replicas
// and ISR are this broker, leader epoch 0; no ELR (eligibleLeaderReplicas/lastKnownElr empty).
// Unknown topics answer UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an illegal name).
// There is no authorizer, so topicAuthorizedOperations is every topic operation.
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeTopicPartitions } from '../../protocol/messages/index.js';
import { ZERO_UUID } from '../../protocol/primitives/reader.js';
import { validateTopicName } from '../broker/topic-names.js';
import { defineHandler } from './handler.js';

/** Kafka's max.request.partition.size.limit default. */
const MAX_PARTITIONS_PER_RESPONSE = 2000;
/** Bit per AclOperation code the TOPIC resource supports: READ 3, WRITE 4, CREATE 5, DELETE 6,
 * ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11. */
const TOPIC_OPERATIONS = [3, 4, 5, 6, 7, 8, 10, 11].reduce((bits, op) => bits | (1 << op), 0);

export const describeTopicPartitionsHandler = defineHandler(
  DescribeTopicPartitions,
  { min: 0, max: 0 },
  {
    handle(ctx, req) {
      const { broker } = ctx;
      const nodeId = broker.nodeId;
      const cursor = req.cursor;
      const cursorTopic = cursor?.topicName ?? '';
      const all = req.topics.length === 0;
      const requested = all ? broker.log.topics().map((t) => t.name) : req.topics.map((t) => t.name);
      const names = [...new Set(requested.filter((n) => n >= cursorTopic))].sort();
      if (!all && cursor !== null && !names.includes(cursor.topicName)) {
        return {
          throttleTimeMs: 0,
          topics: requested.map((name) => ({
            errorCode: ErrorCode.INVALID_REQUEST,
            name,
            topicId: ZERO_UUID,
            partitions: [],
          })),
          nextCursor: null,
        };
      }

      let remaining = Math.min(req.responsePartitionLimit, MAX_PARTITIONS_PER_RESPONSE);
      const topics = [];
      let nextCursor: { topicName: string; partitionIndex: number } | null = null;
      for (const name of names) {
        if (remaining <= 0) {
          // The previous topic fitted exactly: continue from the start of this one.
          if (remaining === 0) nextCursor = { topicName: name, partitionIndex: 0 };
          break;
        }
        const topic = broker.log.topic(name);
        if (topic === undefined) {
          if (all) continue;
          const invalid = validateTopicName(name) !== null;
          topics.push({
            errorCode: invalid ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            name,
            topicId: ZERO_UUID,
            isInternal: false,
            partitions: [],
          });
          continue;
        }
        const first = cursor !== null && name === cursor.topicName ? Math.max(0, cursor.partitionIndex) : 0;
        const end = Math.min(topic.partitions.length, first + remaining);
        const partitions = [];
        for (let i = first; i < end; i++) {
          partitions.push({
            errorCode: ErrorCode.NONE,
            partitionIndex: i,
            leaderId: nodeId,
            leaderEpoch: 0,
            replicaNodes: [nodeId],
            isrNodes: [nodeId],
            eligibleLeaderReplicas: [],
            lastKnownElr: [],
            offlineReplicas: [],
          });
        }
        topics.push({
          errorCode: ErrorCode.NONE,
          name,
          topicId: topic.topicId,
          isInternal: false,
          partitions,
          topicAuthorizedOperations: TOPIC_OPERATIONS,
        });
        if (end < topic.partitions.length) {
          nextCursor = { topicName: name, partitionIndex: end };
          break;
        }
        remaining -= partitions.length;
      }
      return { throttleTimeMs: 0, topics, nextCursor };
    },
    errorResponse(req, errorCode) {
      return {
        topics: req.topics.map((t) => ({ errorCode, name: t.name, topicId: ZERO_UUID, partitions: [] })),
      };
    },
  },
);
