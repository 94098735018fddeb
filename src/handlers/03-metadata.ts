// Metadata (key 3), serves 0-12. One broker leads every partition (leader epoch 0). Unknown topics
// are created when auto.create.topics.enable is on and the client allows it (v4+ flag; always for
// v0-3). v10+ may name topics by id; v1+ null topic list means "all topics".
import { ErrorCode } from '../../protocol/error-codes.js';
import { Metadata } from '../../protocol/messages/index.js';
import { ZERO_UUID } from '../../protocol/primitives/reader.js';
import { validateTopicName } from '../broker/topic-names.js';
import type { TopicState } from '../log/partition.js';
import { defineHandler } from './handler.js';

export const metadataHandler = defineHandler(
  Metadata,
  { min: 0, max: 12 },
  {
    async handle(ctx, req) {
      const { broker } = ctx;
      const nodeId = broker.nodeId;
      const version = ctx.header.apiVersion;
      const describe = (t: TopicState) => ({
        errorCode: ErrorCode.NONE,
        name: t.name,
        topicId: t.topicId,
        isInternal: false,
        partitions: t.partitions.map((p) => ({
          errorCode: ErrorCode.NONE,
          partitionIndex: p.id,
          leaderId: nodeId,
          leaderEpoch: 0,
          replicaNodes: [nodeId],
          isrNodes: [nodeId],
          offlineReplicas: [],
        })),
      });
      const topics = [];
      const all = req.topics === null || (version === 0 && req.topics.length === 0);
      if (all) {
        for (const t of broker.log.topics()) topics.push(describe(t));
      } else {
        for (const requested of req.topics ?? []) {
          if (requested.name === null || requested.name === '') {
            const byId =
              requested.topicId !== ZERO_UUID ? broker.log.topicById(requested.topicId) : undefined;
            if (byId) topics.push(describe(byId));
            else
              topics.push({
                errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
                name: null,
                topicId: requested.topicId,
                partitions: [],
              });
            continue;
          }
          const name = requested.name;
          let topic = broker.log.topic(name);
          if (topic === undefined) {
            const invalid = validateTopicName(name);
            if (invalid !== null) {
              topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name, partitions: [] });
              continue;
            }
            const allowed =
              broker.config.autoCreateTopicsEnable && (version < 4 || req.allowAutoTopicCreation);
            if (allowed) {
              try {
                topic = await broker.log.createTopic(name, broker.config.numPartitions, {});
              } catch (err) {
                // A concurrent request may have created it first.
                topic = broker.log.topic(name);
                if (topic === undefined) throw err;
              }
            }
          }
          if (topic === undefined)
            topics.push({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, partitions: [] });
          else topics.push(describe(topic));
        }
      }
      return {
        throttleTimeMs: 0,
        brokers: [{ nodeId, host: broker.advertised.host, port: broker.advertised.port, rack: null }],
        clusterId: broker.clusterId,
        controllerId: nodeId,
        topics,
      };
    },
  },
);
