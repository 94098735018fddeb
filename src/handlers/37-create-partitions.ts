// CreatePartitions (key 37), serves 0-3 (one layout; v2+ flexible). Grows a topic to `count`
// partitions: a count that is not larger than the current one is INVALID_PARTITIONS; manual
// assignments must list one replica set per new partition, naming only this broker. validateOnly
// checks without changing anything. A topic named twice is INVALID_REQUEST for both.
// Gap: no CreateTopicPolicy / controller-mutation quota; timeoutMs is ignored (the change is synchronous).
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreatePartitions } from '../../protocol/messages/index.js';
import { validateTopicName } from '../broker/topic-names.js';
import { LogStoreError } from '../log/log-store.js';
import { isMetadataStoreError } from '../metadata/metadata-store.js';
import { checkReplicas, MAX_PARTITIONS_PER_REQUEST } from './19-create-topics.js';
import { defineHandler } from './handler.js';

export const createPartitionsHandler = defineHandler(
  CreatePartitions,
  { min: 0, max: 3 },
  {
    async handle(ctx, req) {
      const { broker } = ctx;
      const occurrences = new Map<string, number>();
      for (const t of req.topics) occurrences.set(t.name, (occurrences.get(t.name) ?? 0) + 1);

      const results = [];
      let partitionBudget = MAX_PARTITIONS_PER_REQUEST;
      for (const t of req.topics) {
        const fail = (errorCode: number, errorMessage: string) =>
          results.push({ name: t.name, errorCode, errorMessage });
        if (occurrences.get(t.name)! > 1) {
          fail(ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.');
          continue;
        }
        const invalidName = validateTopicName(t.name);
        if (invalidName !== null) {
          fail(ErrorCode.INVALID_TOPIC_EXCEPTION, invalidName);
          continue;
        }
        const topic = broker.log.topic(t.name);
        if (topic === undefined) {
          fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`);
          continue;
        }
        const current = topic.partitions.length;
        if (t.count <= current) {
          fail(
            ErrorCode.INVALID_PARTITIONS,
            t.count === current
              ? `Topic already has ${current} partitions.`
              : `Topic currently has ${current} partitions, which is higher than the requested ${t.count}.`,
          );
          continue;
        }
        const added = t.count - current;
        if (t.assignments !== null) {
          if (t.assignments.length !== added) {
            fail(
              ErrorCode.INVALID_REPLICA_ASSIGNMENT,
              `Increasing the partition count by ${added} needs ${added} assignments, but ${t.assignments.length} were given.`,
            );
            continue;
          }
          const problem = t.assignments
            .map((a) => checkReplicas(a.brokerIds, broker.nodeId))
            .find((p) => p !== null);
          if (problem !== undefined) {
            fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem);
            continue;
          }
        }
        if (added > partitionBudget) {
          fail(
            ErrorCode.POLICY_VIOLATION,
            `A request may create at most ${MAX_PARTITIONS_PER_REQUEST} partitions.`,
          );
          continue;
        }
        partitionBudget -= added;
        if (!req.validateOnly) {
          try {
            await broker.log.createPartitions(t.name, t.count);
          } catch (err) {
            // A concurrent request changed the topic in between.
            if (isMetadataStoreError(err, 'INVALID_PARTITIONS')) {
              fail(ErrorCode.INVALID_PARTITIONS, err.message);
              continue;
            }
            if (isMetadataStoreError(err, 'TOPIC_NOT_FOUND') || err instanceof LogStoreError) {
              fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`);
              continue;
            }
            throw err;
          }
        }
        results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
      }
      return { throttleTimeMs: 0, results };
    },
    errorResponse(req, errorCode) {
      return { results: req.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) };
    },
  },
);
