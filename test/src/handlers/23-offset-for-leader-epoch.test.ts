import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { CreateTopics, OffsetForLeaderEpoch } from '../../../protocol/messages/index.js';
import { produce, startHarness } from './helpers.js';

t.test(
  'epoch 0 ends at the high watermark; unknown epochs answer -1/-1; fencing by current epoch',
  async (t) => {
    const { client } = await startHarness(t);
    await client.send(CreateTopics, 4, {
      topics: [{ name: 'e', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 1000,
    });
    await produce(client, 'e', 0, 7);

    const ask = (partition: number, leaderEpoch: number, currentLeaderEpoch = -1) => ({
      partition,
      leaderEpoch,
      currentLeaderEpoch,
    });
    for (const version of [2, 3, 4]) {
      const res = await client.send(OffsetForLeaderEpoch, version, {
        replicaId: -1,
        topics: [
          {
            topic: 'e',
            partitions: [ask(0, 0), ask(1, 0, 0), ask(0, 5), ask(0, -1), ask(0, 0, 3), ask(0, 0, -7)],
          },
          { topic: 'missing', partitions: [ask(0, 0)] },
        ],
      });
      t.same(
        res.topics[0]!.partitions.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset]),
        [
          [ErrorCode.NONE, 0, 7n],
          [ErrorCode.NONE, 0, 0n],
          [ErrorCode.NONE, -1, -1n],
          [ErrorCode.NONE, -1, -1n],
          [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1n],
          [ErrorCode.FENCED_LEADER_EPOCH, -1, -1n],
        ],
        `v${version}`,
      );
      t.equal(res.topics[1]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }

    // v0 has neither leader epoch in the response nor the current epoch in the request.
    const v0 = await client.send(OffsetForLeaderEpoch, 0, {
      topics: [{ topic: 'e', partitions: [ask(0, 0)] }],
    });
    t.match(v0.topics[0]!.partitions[0], { errorCode: ErrorCode.NONE, endOffset: 7n });
    const v1 = await client.send(OffsetForLeaderEpoch, 1, {
      topics: [{ topic: 'e', partitions: [ask(0, 0)] }],
    });
    t.match(v1.topics[0]!.partitions[0], { errorCode: ErrorCode.NONE, leaderEpoch: 0, endOffset: 7n });
  },
);
