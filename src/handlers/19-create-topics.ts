// CreateTopics (key 19), serves 0-7. v1+ validateOnly; v5+ answers the created topic's partition
// count, replication factor and effective configs (with sources); v7 its topic id. One broker: the
// replication factor is 1 (or -1 = default.replication.factor), and manual assignments may only
// name this broker. Checks run in Kafka's order: duplicate names → name rules → existence and
// '.'/'_' collisions → configs (via src/config/topic-configs.ts) → partitions/replication.
// Gap: no CreateTopicPolicy, no controller-mutation quota; timeoutMs is ignored (creation is synchronous).
import { ErrorCode } from '../../protocol/error-codes.js';
import { CreateTopics } from '../../protocol/messages/index.js';
import { ZERO_UUID } from '../../protocol/primitives/reader.js';
import type { RequestOf } from '../../protocol/schema/schema.js';
import type { BrokerContext } from '../broker/context.js';
import { validateTopicName } from '../broker/topic-names.js';
import { describeTopicConfigs, validateTopicConfigs } from '../config/topic-configs.js';
import { LogStoreError } from '../log/log-store.js';
import type { TopicState } from '../log/partition.js';
import { isMetadataStoreError } from '../metadata/metadata-store.js';
import { defineHandler } from './handler.js';

/** Partitions one admin request may create in total (Kafka's controller caps a batch the same way). */
export const MAX_PARTITIONS_PER_REQUEST = 10_000;

type CreatableTopic = RequestOf<typeof CreateTopics>['topics'][number];

interface Failure {
  errorCode: number;
  message: string;
}

interface Plan {
  partitionCount: number;
  configs: Record<string, string>;
}

export const createTopicsHandler = defineHandler(
  CreateTopics,
  { min: 0, max: 7 },
  {
    async handle(ctx, req) {
      const { broker } = ctx;
      const validateOnly = ctx.header.apiVersion >= 1 && req.validateOnly;
      const occurrences = new Map<string, number>();
      for (const t of req.topics) occurrences.set(t.name, (occurrences.get(t.name) ?? 0) + 1);

      const topics = [];
      const reportedDuplicates = new Set<string>();
      let partitionBudget = MAX_PARTITIONS_PER_REQUEST;
      for (const t of req.topics) {
        if (occurrences.get(t.name)! > 1) {
          // One answer per duplicated name, as Kafka's keyed result collection gives.
          if (!reportedDuplicates.has(t.name)) {
            reportedDuplicates.add(t.name);
            topics.push(
              failed(t.name, { errorCode: ErrorCode.INVALID_REQUEST, message: 'Duplicate topic name.' }),
            );
          }
          continue;
        }
        const plan = planTopic(broker, t);
        if ('errorCode' in plan) {
          topics.push(failed(t.name, plan));
          continue;
        }
        if (plan.partitionCount > partitionBudget) {
          topics.push(
            failed(t.name, {
              errorCode: ErrorCode.POLICY_VIOLATION,
              message: `A request may create at most ${MAX_PARTITIONS_PER_REQUEST} partitions.`,
            }),
          );
          continue;
        }
        partitionBudget -= plan.partitionCount;

        let topicId = ZERO_UUID; // validateOnly creates nothing, so there is no id to report
        if (!validateOnly) {
          let created: TopicState;
          try {
            created = await broker.log.createTopic(t.name, plan.partitionCount, plan.configs);
          } catch (err) {
            const exists =
              isMetadataStoreError(err, 'TOPIC_ALREADY_EXISTS') ||
              (err instanceof LogStoreError && err.code === 'TOPIC_ALREADY_EXISTS');
            if (!exists) throw err;
            topics.push(failed(t.name, alreadyExists(t.name))); // lost a race with another creator
            continue;
          }
          // The log store joins concurrent creations of one name (e.g. an auto-create from Metadata):
          // if the topic that came back is not the one asked for, another creator won.
          if (
            created.partitions.length !== plan.partitionCount ||
            !sameConfigs(created.configs, plan.configs)
          ) {
            topics.push(failed(t.name, alreadyExists(t.name)));
            continue;
          }
          topicId = created.topicId;
        }
        topics.push({
          name: t.name,
          topicId,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          numPartitions: plan.partitionCount,
          replicationFactor: 1,
          configs: describeTopicConfigs(plan.configs, broker.config).map((v) => ({
            name: v.name,
            value: v.value,
            readOnly: v.readOnly,
            configSource: v.source,
            isSensitive: v.sensitive,
          })),
        });
      }
      return { throttleTimeMs: 0, topics };
    },
    errorResponse(req, errorCode) {
      return { topics: req.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) };
    },
  },
);

function sameConfigs(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function failed(name: string, f: Failure) {
  return { name, errorCode: f.errorCode, errorMessage: f.message };
}

function alreadyExists(name: string): Failure {
  return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${name}' already exists.` };
}

function planTopic(broker: BrokerContext, t: CreatableTopic): Plan | Failure {
  const invalidName = validateTopicName(t.name);
  if (invalidName !== null) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: invalidName };
  if (broker.log.topic(t.name) !== undefined) return alreadyExists(t.name);
  // Kafka's metric names turn '.' into '_', so "a.b" and "a_b" may not both exist.
  const collisionKey = t.name.replaceAll('.', '_');
  if (t.name.includes('.') || t.name.includes('_')) {
    for (const other of broker.log.topics()) {
      if (other.name.replaceAll('.', '_') === collisionKey) {
        return {
          errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
          message: `Topic '${t.name}' collides with existing topic: ${other.name}`,
        };
      }
    }
  }

  const requested: Record<string, string> = {};
  for (const c of t.configs) {
    if (c.value === null) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: `Null value not supported for topic configs: ${c.name}`,
      };
    }
    requested[c.name] = c.value; // a repeated name: the last one wins, as in Kafka
  }
  const checked = validateTopicConfigs(requested, broker.config);
  if ('errorCode' in checked) return checked;

  let partitionCount: number;
  if (t.assignments.length > 0) {
    if (t.replicationFactor !== -1) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: 'A manual partition assignment was given, but the replication factor was not -1.',
      };
    }
    if (t.numPartitions !== -1) {
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: 'A manual partition assignment was given, but the number of partitions was not -1.',
      };
    }
    const seen = new Set<number>();
    for (const a of t.assignments) {
      if (seen.has(a.partitionIndex)) {
        return invalidAssignment(`Partition ${a.partitionIndex} is assigned more than once.`);
      }
      seen.add(a.partitionIndex);
      const problem = checkReplicas(a.brokerIds, broker.nodeId);
      if (problem !== null) return invalidAssignment(problem);
    }
    for (let i = 0; i < seen.size; i++) {
      if (!seen.has(i))
        return invalidAssignment('Assigned partitions must be numbered 0, 1, 2, ... without gaps.');
    }
    partitionCount = seen.size;
  } else {
    const replicationFactor =
      t.replicationFactor === -1 ? broker.config.defaultReplicationFactor : t.replicationFactor;
    if (replicationFactor <= 0) {
      return {
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        message: 'Replication factor must be larger than 0, or -1 to use the default value.',
      };
    }
    if (replicationFactor > 1) {
      return {
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        message: `Unable to replicate the partition ${replicationFactor} time(s): this cluster has 1 broker.`,
      };
    }
    partitionCount = t.numPartitions === -1 ? broker.config.numPartitions : t.numPartitions;
    if (partitionCount <= 0) {
      return {
        errorCode: ErrorCode.INVALID_PARTITIONS,
        message: 'Number of partitions must be larger than 0, or -1 to use the default value.',
      };
    }
  }
  return { partitionCount, configs: checked.configs };
}

function invalidAssignment(message: string): Failure {
  return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message };
}

/** A partition's replica list in a manual assignment: this broker, once. Null when valid. */
export function checkReplicas(brokerIds: readonly number[], nodeId: number): string | null {
  if (brokerIds.length === 0) return 'A manual partition assignment includes an empty replica list.';
  for (const id of brokerIds) {
    if (id !== nodeId)
      return `A manual partition assignment names broker ${id}, but this cluster has only broker ${nodeId}.`;
  }
  if (brokerIds.length > 1) return `A manual partition assignment names broker ${nodeId} more than once.`;
  return null;
}
