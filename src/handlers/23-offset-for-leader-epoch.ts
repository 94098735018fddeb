// OffsetForLeaderEpoch (key 23), serves 0-4. Every partition has had one leader epoch, 0, since
// offset 0. Following Kafka's epoch cache lookup: requested epoch 0 → (epoch 0, end offset = high
// watermark, the end of what clients can read); an epoch this broker never had (> 0, or -1 =
// undefined) → no error with epoch -1 and offset -1, which is what Kafka answers for an epoch larger
// than any it knows. v2+ currentLeaderEpoch fences: > 0 is UNKNOWN_LEADER_EPOCH (the client has seen
// a newer leader than exists), below 0 other than -1 (= no check) is FENCED_LEADER_EPOCH.
// v3+ replicaId is accepted and ignored (there are no followers).
import { ErrorCode } from '../../protocol/error-codes.js';
import { OffsetForLeaderEpoch } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

const LEADER_EPOCH = 0;
const NO_EPOCH = -1;

export const offsetForLeaderEpochHandler = defineHandler(
  OffsetForLeaderEpoch,
  { min: 0, max: 4 },
  {
    handle(ctx, req) {
      const { log } = ctx.broker;
      const topics = req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((rp) => {
          const answer = (errorCode: number, leaderEpoch = NO_EPOCH, endOffset = -1n) => ({
            errorCode,
            partition: rp.partition,
            leaderEpoch,
            endOffset,
          });
          const p = log.partition(t.topic, rp.partition);
          if (p === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          if (rp.currentLeaderEpoch !== NO_EPOCH) {
            if (rp.currentLeaderEpoch > LEADER_EPOCH) return answer(ErrorCode.UNKNOWN_LEADER_EPOCH);
            if (rp.currentLeaderEpoch < LEADER_EPOCH) return answer(ErrorCode.FENCED_LEADER_EPOCH);
          }
          if (rp.leaderEpoch !== LEADER_EPOCH) return answer(ErrorCode.NONE);
          return answer(ErrorCode.NONE, LEADER_EPOCH, BigInt(p.highWatermark));
        }),
      }));
      return { throttleTimeMs: 0, topics };
    },
    errorResponse(req, errorCode) {
      return {
        topics: req.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => ({
            errorCode,
            partition: p.partition,
            leaderEpoch: NO_EPOCH,
            endOffset: -1n,
          })),
        })),
      };
    },
  },
);
