// IncrementalAlterConfigs (key 44), serves 0-1 (v1 flexible). Per config an operation: SET (0),
// DELETE (1: drop the override; deleting one that is not set is a no-op), APPEND (2) and SUBTRACT (3)
// for list configs only (INVALID_CONFIG otherwise; APPEND starts from the effective value and skips
// items already present). The resulting override set is validated whole through the catalogue and
// persisted through LogStore.alterTopicConfigs, in effect at once; validateOnly changes nothing.
// Shared rules with AlterConfigs (handlers/33-alter-configs.ts): duplicate resources or keys, an
// unknown operation, or a null value for anything but DELETE are INVALID_REQUEST; BROKER resources
// are read-only (INVALID_REQUEST for any change); other resource types are INVALID_REQUEST.
import { ErrorCode } from '../../protocol/error-codes.js';
import { IncrementalAlterConfigs } from '../../protocol/messages/index.js';
import type { RequestOf } from '../../protocol/schema/schema.js';
import type { BrokerContext } from '../broker/context.js';
import { ConfigResourceType, isListConfig, topicConfigDefault } from '../config/topic-configs.js';
import {
  alterBroker,
  checkCommon,
  countResources,
  failure,
  type ResourceResult,
  replaceTopicConfigs,
} from './33-alter-configs.js';
import { defineHandler } from './handler.js';

const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;
const OPERATION_NAMES = ['SET', 'DELETE', 'APPEND', 'SUBTRACT'];

type Resource = RequestOf<typeof IncrementalAlterConfigs>['resources'][number];

export const incrementalAlterConfigsHandler = defineHandler(
  IncrementalAlterConfigs,
  { min: 0, max: 1 },
  {
    async handle(ctx, req) {
      const seen = countResources(req.resources);
      const responses = [];
      for (const r of req.resources) {
        const base = { resourceType: r.resourceType, resourceName: r.resourceName };
        responses.push({ ...base, ...(await alterResource(ctx.broker, r, seen, req.validateOnly)) });
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
  r: Resource,
  seen: Map<string, number>,
  validateOnly: boolean,
): Promise<ResourceResult> {
  const common = checkCommon(
    r,
    seen,
    r.configs.map((c) => c.name),
  );
  if (common !== null) return common;
  const unknownOp = r.configs.find((c) => c.configOperation < SET || c.configOperation > SUBTRACT);
  if (unknownOp !== undefined)
    return failure(ErrorCode.INVALID_REQUEST, `Unknown operations type ${unknownOp.configOperation}`);
  const nulls = r.configs.filter((c) => c.configOperation !== DELETE && c.value === null).map((c) => c.name);
  if (nulls.length > 0)
    return failure(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${nulls.join(', ')}`);
  if (r.resourceType === ConfigResourceType.BROKER)
    return alterBroker(
      broker,
      r.resourceName,
      r.configs.map((c) => c.name),
    );

  return replaceTopicConfigs(
    broker,
    r.resourceName,
    (current) => {
      const next: Record<string, string> = { ...current };
      for (const c of r.configs) {
        if (c.configOperation === SET) next[c.name] = c.value!;
        else if (c.configOperation === DELETE) delete next[c.name];
        else {
          if (!isListConfig(c.name)) {
            return failure(
              ErrorCode.INVALID_CONFIG,
              `Can't ${OPERATION_NAMES[c.configOperation]} to key ${c.name} because its type is not LIST.`,
            );
          }
          const base = next[c.name] ?? topicConfigDefault(c.name, broker.config).value ?? '';
          const items = splitItems(base);
          for (const item of splitItems(c.value!)) {
            if (c.configOperation === APPEND) {
              if (!items.includes(item)) items.push(item);
            } else {
              const at = items.indexOf(item);
              if (at >= 0) items.splice(at, 1);
            }
          }
          next[c.name] = items.join(',');
        }
      }
      return { configs: next };
    },
    validateOnly,
  );
}

function splitItems(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
