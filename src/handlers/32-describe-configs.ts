// DescribeConfigs (key 32), serves 0-4. Resources: TOPIC (2) — every catalogue config
// (src/config/topic-configs.ts) with its effective value and source (TOPIC_CONFIG when set on the
// topic, STATIC_BROKER_CONFIG when the broker config changes the default, else DEFAULT_CONFIG) — and
// BROKER (4) named by this node's id — the read-only broker catalogue (src/config/broker-configs.ts).
// A BROKER resource with an empty name means the cluster-wide dynamic defaults, of which StreamHouse
// has none (an empty list, as Kafka answers when none are set); any other broker id, or another
// resource type, is INVALID_REQUEST. configurationKeys filters (null/empty = all). v0 reports
// isDefault; v1+ configSource and synonyms (when includeSynonyms); v3+ configType always and
// documentation when includeDocumentation. Sensitive values are never sent.
import { ErrorCode } from '../../protocol/error-codes.js';
import { DescribeConfigs } from '../../protocol/messages/index.js';
import type { RequestOf } from '../../protocol/schema/schema.js';
import type { BrokerContext } from '../broker/context.js';
import { validateTopicName } from '../broker/topic-names.js';
import { describeBrokerConfigs } from '../config/broker-configs.js';
import {
  CONFIG_TYPE_ID,
  ConfigResourceType,
  ConfigSource,
  type ConfigView,
  describeTopicConfigs,
} from '../config/topic-configs.js';
import { defineHandler } from './handler.js';

type Resource = RequestOf<typeof DescribeConfigs>['resources'][number];

export const describeConfigsHandler = defineHandler(
  DescribeConfigs,
  { min: 0, max: 4 },
  {
    handle(ctx, req) {
      const { broker } = ctx;
      const results = req.resources.map((r) => {
        const described = describeResource(broker, r);
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        if ('errorCode' in described)
          return { ...base, errorCode: described.errorCode, errorMessage: described.message, configs: [] };
        const keys = r.configurationKeys;
        const wanted =
          keys === null || keys.length === 0 ? described : described.filter((v) => keys.includes(v.name));
        return {
          ...base,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          configs: wanted.map((v) => entry(v, req.includeSynonyms, req.includeDocumentation)),
        };
      });
      return { throttleTimeMs: 0, results };
    },
    errorResponse(req, errorCode) {
      return {
        results: req.resources.map((r) => ({
          errorCode,
          errorMessage: null,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: [],
        })),
      };
    },
  },
);

function describeResource(
  broker: BrokerContext,
  r: Resource,
): ConfigView[] | { errorCode: number; message: string } {
  switch (r.resourceType) {
    case ConfigResourceType.TOPIC: {
      const invalid = validateTopicName(r.resourceName);
      if (invalid !== null) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: invalid };
      const topic = broker.log.topic(r.resourceName);
      if (topic === undefined) {
        return {
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          message: `Topic '${r.resourceName}' does not exist.`,
        };
      }
      return describeTopicConfigs(topic.configs, broker.config);
    }
    case ConfigResourceType.BROKER: {
      if (r.resourceName === '') return [];
      const problem = checkBrokerResourceName(r.resourceName, broker.nodeId);
      if (problem !== null) return { errorCode: ErrorCode.INVALID_REQUEST, message: problem };
      return describeBrokerConfigs(broker.config, broker.advertised);
    }
    default:
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: `Unsupported resource type: ${r.resourceType}`,
      };
  }
}

/** A BROKER resource name must be this node's id (as a decimal string). Null when it is. */
export function checkBrokerResourceName(name: string, nodeId: number): string | null {
  if (!/^-?\d+$/.test(name)) return `Broker id must be an integer, but it is: ${name}`;
  if (Number(name) !== nodeId)
    return `Unexpected broker id, expected ${nodeId} or empty string, but received ${name}`;
  return null;
}

function entry(v: ConfigView, includeSynonyms: boolean, includeDocumentation: boolean) {
  return {
    name: v.name,
    value: v.sensitive ? null : v.value,
    readOnly: v.readOnly,
    isDefault: v.source === ConfigSource.DEFAULT_CONFIG,
    configSource: v.source,
    isSensitive: v.sensitive,
    synonyms: includeSynonyms
      ? v.synonyms.map((s) => ({ name: s.name, value: v.sensitive ? null : s.value, source: s.source }))
      : [],
    configType: CONFIG_TYPE_ID[v.type],
    documentation: includeDocumentation ? v.doc : null,
  };
}
