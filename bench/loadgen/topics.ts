/**
 * Setup calls of the load generator: create the benchmark topic (or accept that it exists) and
 * learn its id and partition count. Plain request/response through the project's codec; not timed.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import type { LoadConnection } from './connection.js';

const CREATE_TOPICS_KEY = 19;
const METADATA_KEY = 3;

export interface TopicInfo {
  name: string;
  topicId: string;
  partitions: number;
}

/** Create `name` with `partitions` partitions unless it exists; answer its id and partition count. */
export async function ensureTopic(
  conn: LoadConnection,
  name: string,
  partitions: number,
): Promise<TopicInfo> {
  const created = (await conn.request(CREATE_TOPICS_KEY, 7, {
    topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  })) as { topics: { errorCode: number; errorMessage: string | null }[] };
  const code = created.topics[0]?.errorCode ?? -1;
  if (code !== ErrorCode.NONE && code !== ErrorCode.TOPIC_ALREADY_EXISTS) {
    throw new Error(`CreateTopics ${name}: error ${code} ${created.topics[0]?.errorMessage ?? ''}`);
  }
  const metadata = (await conn.request(METADATA_KEY, 12, {
    topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  })) as { topics: { errorCode: number; topicId: string; partitions: unknown[] }[] };
  const topic = metadata.topics[0];
  if (topic === undefined || topic.errorCode !== ErrorCode.NONE) {
    throw new Error(`Metadata ${name}: error ${topic?.errorCode ?? 'no topic'}`);
  }
  return { name, topicId: topic.topicId, partitions: topic.partitions.length };
}
