// DeleteTopics (key 20), serves 0-6. v0-5 name topics; v6 names a topic by name or by id (never
// both: INVALID_REQUEST). Unknown names answer UNKNOWN_TOPIC_OR_PARTITION, unknown ids
// UNKNOWN_TOPIC_ID; a name or id given twice (or a name resolving to an id also given) is
// INVALID_REQUEST, as Kafka's controller answers. Deletion is immediate: the topic's data becomes
// unreferenced and is swept by the log store.
// Gap: no delete.topic.enable switch; results come in request order (Kafka shuffles them).
import { ErrorCode } from '../../protocol/error-codes.js';
import { DeleteTopics } from '../../protocol/messages/index.js';
import { ZERO_UUID } from '../../protocol/primitives/reader.js';
import type { TopicState } from '../log/partition.js';
import { isMetadataStoreError } from '../metadata/metadata-store.js';
import { defineHandler } from './handler.js';

interface Target {
  name: string | null;
  topicId: string;
}

export const deleteTopicsHandler = defineHandler(
  DeleteTopics,
  { min: 0, max: 6 },
  {
    async handle(ctx, req) {
      const { log } = ctx.broker;
      const targets: Target[] =
        ctx.header.apiVersion >= 6
          ? req.topics
          : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));

      const nameCount = new Map<string, number>();
      const idCount = new Map<string, number>();
      for (const t of targets) {
        if (t.name !== null && t.topicId === ZERO_UUID)
          nameCount.set(t.name, (nameCount.get(t.name) ?? 0) + 1);
        if (t.name === null && t.topicId !== ZERO_UUID)
          idCount.set(t.topicId, (idCount.get(t.topicId) ?? 0) + 1);
      }

      // Resolve every entry first, then delete, so a topic named twice (by name and by id) is caught
      // whatever the order.
      type Outcome =
        | {
            kind: 'reply';
            name: string | null;
            topicId: string;
            errorCode: number;
            errorMessage: string | null;
          }
        | { kind: 'delete'; topic: TopicState; byName: boolean };
      const outcomes: Outcome[] = [];
      const reply = (name: string | null, topicId: string, errorCode: number, errorMessage: string | null) =>
        outcomes.push({ kind: 'reply', name, topicId, errorCode, errorMessage });
      const reported = new Set<string>();
      const chosenIds = new Set<string>();
      for (const t of targets) {
        if (t.name === null && t.topicId === ZERO_UUID) {
          reply(null, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.');
          continue;
        }
        if (t.name !== null && t.topicId !== ZERO_UUID) {
          reply(
            t.name,
            t.topicId,
            ErrorCode.INVALID_REQUEST,
            'You may not specify both topic name and topic id.',
          );
          continue;
        }
        const byName = t.name !== null;
        const key = byName ? `n:${t.name}` : `i:${t.topicId}`;
        if ((byName ? nameCount.get(t.name!) : idCount.get(t.topicId))! > 1) {
          if (!reported.has(key)) {
            reported.add(key);
            reply(
              t.name,
              byName ? ZERO_UUID : t.topicId,
              ErrorCode.INVALID_REQUEST,
              `Duplicate topic ${byName ? 'name' : 'id'}.`,
            );
          }
          continue;
        }
        const topic = byName ? log.topic(t.name!) : log.topicById(t.topicId);
        if (topic === undefined) {
          if (byName)
            reply(
              t.name,
              ZERO_UUID,
              ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              `Topic '${t.name}' does not exist.`,
            );
          else reply(null, t.topicId, ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${t.topicId} does not exist.`);
          continue;
        }
        if (chosenIds.has(topic.topicId)) {
          reply(
            t.name,
            topic.topicId,
            ErrorCode.INVALID_REQUEST,
            'The topic was already named in this request by its name or id.',
          );
          continue;
        }
        chosenIds.add(topic.topicId);
        outcomes.push({ kind: 'delete', topic, byName });
      }

      const nullName = ctx.header.apiVersion >= 6 ? null : '';
      const responses = [];
      for (const o of outcomes) {
        if (o.kind === 'reply') {
          responses.push({
            name: o.name ?? nullName,
            topicId: o.topicId,
            errorCode: o.errorCode,
            errorMessage: o.errorMessage,
          });
          continue;
        }
        const { topic } = o;
        let errorCode: number = ErrorCode.NONE;
        try {
          await log.deleteTopic(topic.name);
        } catch (err) {
          if (!isMetadataStoreError(err, 'TOPIC_NOT_FOUND')) throw err;
          // Deleted concurrently by another request.
          errorCode = o.byName ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.UNKNOWN_TOPIC_ID;
        }
        responses.push({ name: topic.name, topicId: topic.topicId, errorCode, errorMessage: null });
      }
      return { throttleTimeMs: 0, responses };
    },
    errorResponse(req, errorCode) {
      const names =
        req.topicNames.length > 0 ? req.topicNames.map((name) => ({ name, topicId: ZERO_UUID })) : req.topics;
      return { responses: names.map((t) => ({ name: t.name ?? '', topicId: t.topicId, errorCode })) };
    },
  },
);
