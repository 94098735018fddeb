// AlterConfigs (key 33), serves 0-2 (v1 = v0; v2 flexible). The legacy API: the configs sent
// become the resource's whole set of overrides (every override not named is removed), validated as
// a whole through the catalogue (unknown name / bad value → INVALID_CONFIG), persisted through
// LogStore.alterTopicConfigs and in effect at once. validateOnly checks without changing anything.
// Checks, in Kafka's order: a resource named twice, repeated config names and null values are
// INVALID_REQUEST; then the topic name, the configs, and the topic's existence.
// BROKER resources are read-only: StreamHouse has no dynamic broker configs, so any change answers
// INVALID_REQUEST — what Kafka answers for a broker config it cannot update dynamically (its
// POLICY_VIOLATION is reserved for an operator's AlterConfigPolicy, which is not the case here). An
// empty change set on the broker is a no-op. Other resource types are INVALID_REQUEST.
import { ErrorCode } from '../../protocol/error-codes.js';
import { AlterConfigs } from '../../protocol/messages/index.js';
import type { BrokerContext } from '../broker/context.js';
import { validateTopicName } from '../broker/topic-names.js';
import { ConfigResourceType, validateTopicConfigs } from '../config/topic-configs.js';
import { LogStoreError } from '../log/log-store.js';
import { isMetadataStoreError } from '../metadata/metadata-store.js';
import { checkBrokerResourceName } from './32-describe-configs.js';
import { defineHandler } from './handler.js';

export interface ResourceResult {
  errorCode: number;
  errorMessage: string | null;
}

export const OK: Readonly<ResourceResult> = Object.freeze({ errorCode: ErrorCode.NONE, errorMessage: null });

export function failure(errorCode: number, errorMessage: string): ResourceResult {
  return { errorCode, errorMessage };
}

export const alterConfigsHandler = defineHandler(
  AlterConfigs,
  { min: 0, max: 2 },
  {
    async handle(ctx, req) {
      const { broker } = ctx;
      const seen = countResources(req.resources);
      const responses = [];
      for (const r of req.resources) {
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        responses.push({ ...base, ...(await alterResource(broker, r, seen, req.validateOnly)) });
      }
      return { throttleTimeMs: 0, responses };
    },
    errorResponse(req, errorCode) {
      return {
        responses: req.resources.map((r) => ({
          errorCode,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        })),
      };
    },
  },
);

async function alterResource(
  broker: BrokerContext,
  r: { resourceType: number; resourceName: string; configs: { name: string; value: string | null }[] },
  seen: Map<string, number>,
  validateOnly: boolean,
): Promise<ResourceResult> {
  const common = checkCommon(
    r,
    seen,
    r.configs.map((c) => c.name),
  );
  if (common !== null) return common;
  const nulls = r.configs.filter((c) => c.value === null).map((c) => c.name);
  if (nulls.length > 0)
    return failure(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nulls.join(', ')}`);
  if (r.resourceType === ConfigResourceType.BROKER)
    return alterBroker(
      broker,
      r.resourceName,
      r.configs.map((c) => c.name),
    );
  const next: Record<string, string> = {};
  for (const c of r.configs) next[c.name] = c.value!;
  return replaceTopicConfigs(broker, r.resourceName, () => ({ configs: next }), validateOnly);
}

/** How often each (type, name) resource appears in a request. */
export function countResources(
  resources: readonly { resourceType: number; resourceName: string }[],
): Map<string, number> {
  const seen = new Map<string, number>();
  for (const r of resources) {
    const key = `${r.resourceType}\u0000${r.resourceName}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

/** Checks shared by both alter APIs: the resource is named once, each config once, and its type is one we alter. */
export function checkCommon(
  r: { resourceType: number; resourceName: string },
  seen: Map<string, number>,
  configNames: readonly string[],
): ResourceResult | null {
  if (seen.get(`${r.resourceType}\u0000${r.resourceName}`)! > 1) {
    return failure(ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.');
  }
  if (new Set(configNames).size !== configNames.length) {
    return failure(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
  }
  if (r.resourceType !== ConfigResourceType.TOPIC && r.resourceType !== ConfigResourceType.BROKER) {
    return failure(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${r.resourceType}`);
  }
  return null;
}

/** Broker configs are static: only an empty change set succeeds. */
export function alterBroker(
  broker: BrokerContext,
  resourceName: string,
  configNames: readonly string[],
): ResourceResult {
  if (resourceName !== '') {
    const problem = checkBrokerResourceName(resourceName, broker.nodeId);
    if (problem !== null) return failure(ErrorCode.INVALID_REQUEST, problem);
  }
  if (configNames.length === 0) return OK;
  return failure(
    ErrorCode.INVALID_REQUEST,
    `Cannot update these configs dynamically: ${configNames.join(', ')} (StreamHouse broker configs are read-only; ` +
      'change the broker configuration and restart)',
  );
}

/**
 * Compute a topic's new override set from its current one, validate it whole, and (unless
 * validateOnly) persist the difference. `compute` may return a ResourceResult to fail early.
 */
export async function replaceTopicConfigs(
  broker: BrokerContext,
  topicName: string,
  compute: (
    current: Readonly<Record<string, string>>,
  ) => { configs: Record<string, string> } | ResourceResult,
  validateOnly: boolean,
): Promise<ResourceResult> {
  const invalidName = validateTopicName(topicName);
  if (invalidName !== null) return failure(ErrorCode.INVALID_TOPIC_EXCEPTION, invalidName);
  const topic = broker.log.topic(topicName);
  const current = topic?.configs ?? {};
  const next = compute(current);
  if (!('configs' in next)) return next;
  const checked = validateTopicConfigs(next.configs, broker.config);
  if ('errorCode' in checked) return failure(checked.errorCode, checked.message);
  if (topic === undefined)
    return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topicName}' does not exist.`);
  if (validateOnly) return OK;

  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(checked.configs)) if (current[k] !== v) set[k] = v;
  const remove = Object.keys(current).filter((k) => !(k in checked.configs));
  if (Object.keys(set).length === 0 && remove.length === 0) return OK;
  try {
    await broker.log.alterTopicConfigs(topicName, set, remove);
  } catch (err) {
    // Deleted concurrently.
    if (!isMetadataStoreError(err, 'TOPIC_NOT_FOUND') && !(err instanceof LogStoreError)) throw err;
    return failure(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${topicName}' does not exist.`);
  }
  return OK;
}
