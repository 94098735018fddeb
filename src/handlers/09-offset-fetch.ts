// OffsetFetch (key 9), serves 0-9. v0-7 ask for one group, v8+ for many. A null topic list (v2+)
// means every partition the group has committed. Partitions without a commit answer offset -1.
// requireStable (v7+): a partition with offsets still pending in an open transaction
// (TxnOffsetCommit not yet committed or aborted) answers UNSTABLE_OFFSET_COMMIT and offset -1, as
// Kafka does; the client retries until the transaction ends.
import { ErrorCode } from '../../protocol/error-codes.js';
import { OffsetFetch } from '../../protocol/messages/index.js';
import type { GroupCoordinator } from '../coordinators/groups/group-coordinator.js';
import type { TransactionCoordinator } from '../coordinators/transactions/transaction-coordinator.js';
import { defineHandler } from './handler.js';

interface TopicRequest {
  name: string;
  partitionIndexes: number[];
}

async function fetchGroup(
  groups: GroupCoordinator,
  groupId: string,
  topics: TopicRequest[] | null,
  /** requireStable: the transaction coordinator to ask about pending offsets; null otherwise. */
  stable: TransactionCoordinator | null,
) {
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
    if (stable?.hasPendingOffsets(groupId, topic, partition) === true) {
      list.push({
        partitionIndex: partition,
        committedOffset: -1n,
        committedLeaderEpoch: -1,
        metadata: '',
        errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT,
      });
      return;
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
      const { groups, transactions } = ctx.broker;
      const stable = ctx.header.apiVersion >= 7 && req.requireStable ? transactions : null;
      if (ctx.header.apiVersion < 8) {
        const topics = await fetchGroup(groups, req.groupId, req.topics, stable);
        return { throttleTimeMs: 0, topics, errorCode: ErrorCode.NONE };
      }
      const out = [];
      for (const g of req.groups) {
        out.push({
          groupId: g.groupId,
          topics: await fetchGroup(groups, g.groupId, g.topics, stable),
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
