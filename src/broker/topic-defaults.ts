/**
 * Topic config defaults derived from broker config (Kafka's log.* → topic-level names). Topics
 * override these with their own configs. The full catalogue with docs lives in
 * src/config/topic-configs.ts.
 */
import type { BrokerConfig } from '../config/broker-config.js';

export function topicConfigDefaults(config: BrokerConfig): Record<string, string> {
  return {
    'retention.ms': String(config.logRetentionMs),
    'retention.bytes': String(config.logRetentionBytes),
    'max.message.bytes': String(config.messageMaxBytes),
    'segment.bytes': String(config.logSegmentBytes),
    'message.timestamp.type': config.logMessageTimestampType,
    'cleanup.policy': config.logCleanupPolicy,
  };
}
