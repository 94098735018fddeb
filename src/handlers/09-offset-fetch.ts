// OffsetFetch (key 9), serves 0-9. v0-7 ask for one group, v8+ for many. A null topic list (v2+)
// means every partition the group has committed. Partitions without a commit answer offset -1.
// requireStable (v7+) needs no waiting: there are no pending transactional commits.
import { ErrorCode } from '../../protocol/error-codes.js';
import { OffsetFetch } from '../../protocol/messages/index.js';
import type { GroupCoordinator } from '../coordinators/groups/group-coordinator.js';
import { defineHandler } from './handler.js';

interface TopicRequest {
  name: string;
  partitionIndexes: number[];
}

async function fetchGroup(groups: GroupCoordinator, groupId: string, topics: TopicRequest[] | null) {
  const committed = await groups.fetchOffsets(groupId);
  const byTopic = new Map<
    string,
    {
      partitionIndex: number;
      committedOffset: bigint;
      committedLeaderEpoch: number;
      metadata: string | null;
      errorCode: number;
    }[]
  >();
  const add = (topic: string, partition: number) => {
    const c = committed.get(`${topic}\0${partition}`);
    let list = byTopic.get(topic);
    if (list === undefined) {
      list = [];
      byTopic.set(topic, list);
    }
    list.push({
      partitionIndex: partition,
      committedOffset: BigInt(c?.offset ?? -1),
      committedLeaderEpoch: c?.leaderEpoch ?? -1,
      metadata: c === undefined ? '' : (c.metadata ?? ''),
      errorCode: ErrorCode.NONE,
    });
  };
  if (topics === null) {
    for (const c of committed.values()) add(c.topic, c.partition);
  } else {
    for (const t of topics) {
      if (!byTopic.has(t.name)) byTopic.set(t.name, []);
      for (const p of t.partitionIndexes) add(t.name, p);
    }
  }
  return [...byTopic].map(([name, partitions]) => ({ name, partitions }));
}

export const offsetFetchHandler = defineHandler(
  OffsetFetch,
  { min: 0, max: 9 },
  {
    async handle(ctx, req) {
      const { groups } = ctx.broker;
      if (ctx.header.apiVersion < 8) {
        const topics = await fetchGroup(groups, req.groupId, req.topics);
        return { throttleTimeMs: 0, topics, errorCode: ErrorCode.NONE };
      }
      const out = [];
      for (const g of req.groups) {
        out.push({
          groupId: g.groupId,
          topics: await fetchGroup(groups, g.groupId, g.topics),
          errorCode: ErrorCode.NONE,
        });
      }
      return { throttleTimeMs: 0, groups: out };
    },
    errorResponse(req, errorCode) {
      return { errorCode, groups: req.groups.map((g) => ({ groupId: g.groupId, errorCode })) };
    },
  },
);
