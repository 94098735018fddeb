// OffsetDelete (key 47), serves 0. Deletes committed offsets of partitions the group is not
// consuming: a topic that a live consumer-protocol member subscribes to answers
// GROUP_SUBSCRIBED_TO_TOPIC for its partitions; a live group of another protocol type
// NON_EMPTY_GROUP; an unknown group GROUP_ID_NOT_FOUND.
import { ErrorCode } from '../../protocol/error-codes.js';
import { OffsetDelete } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

export const offsetDeleteHandler = defineHandler(
  OffsetDelete,
  { min: 0, max: 0 },
  {
    async handle(ctx, req) {
      const { groups } = ctx.broker;
      const group = groups.group(req.groupId, false);
      const committed = await groups.fetchOffsets(req.groupId);
      if ((group === undefined || group.state === 'Dead') && committed.size === 0) {
        return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, throttleTimeMs: 0, topics: [] };
      }
      const live = group !== undefined && group.members.size > 0;
      const subscribed = live ? group.subscribedTopics() : new Set<string>();
      // A live group of another protocol type: Kafka cannot tell what it consumes.
      if (subscribed === null) return { errorCode: ErrorCode.NON_EMPTY_GROUP, throttleTimeMs: 0, topics: [] };
      const toDelete: { topic: string; partition: number }[] = [];
      const topics = req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (subscribed.has(t.name))
            return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
          if (ctx.broker.log.partition(t.name, p.partitionIndex) === undefined) {
            return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          }
          toDelete.push({ topic: t.name, partition: p.partitionIndex });
          return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE };
        }),
      }));
      if (toDelete.length > 0) await groups.deleteOffsets(req.groupId, toDelete);
      return { errorCode: ErrorCode.NONE, throttleTimeMs: 0, topics };
    },
    errorResponse(_req, errorCode) {
      return { errorCode };
    },
  },
);
