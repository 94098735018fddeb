// DeleteRecords (key 21), serves 0-2 (one layout; v2 flexible). Moves a partition's log start
// offset forward to `offset` (-1 = the high watermark) and answers the new low watermark. An offset
// below the current log start changes nothing; one beyond the high watermark, or negative other than
// -1, is OFFSET_OUT_OF_RANGE. Topics whose cleanup.policy lacks "delete" refuse with
// POLICY_VIOLATION, as Kafka does. Data below the new start is dropped from the index at once and its
// objects are swept once nothing references them.
import { ErrorCode } from '../../protocol/error-codes.js';
import { DeleteRecords } from '../../protocol/messages/index.js';
import { LogStoreError } from '../log/log-store.js';
import { defineHandler } from './handler.js';

const HIGH_WATERMARK = -1n;

export const deleteRecordsHandler = defineHandler(
  DeleteRecords,
  { min: 0, max: 2 },
  {
    async handle(ctx, req) {
      const { log } = ctx.broker;
      const topics = [];
      for (const t of req.topics) {
        const partitions: { partitionIndex: number; lowWatermark: bigint; errorCode: number }[] = [];
        const topic = log.topic(t.name);
        const policy =
          topic === undefined ? [] : (log.topicConfig(topic, 'cleanup.policy') ?? 'delete').split(',');
        for (const rp of t.partitions) {
          const answer = (errorCode: number, lowWatermark = -1n) =>
            partitions.push({ partitionIndex: rp.partitionIndex, lowWatermark, errorCode });
          const p = log.partition(t.name, rp.partitionIndex);
          if (p === undefined) {
            answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
            continue;
          }
          if (!policy.includes('delete')) {
            answer(ErrorCode.POLICY_VIOLATION);
            continue;
          }
          // Compare as bigint before narrowing: anything past the high watermark is out of range anyway.
          if ((rp.offset < 0n && rp.offset !== HIGH_WATERMARK) || rp.offset > BigInt(p.highWatermark)) {
            answer(ErrorCode.OFFSET_OUT_OF_RANGE);
            continue;
          }
          try {
            answer(ErrorCode.NONE, BigInt(await log.deleteRecords(p, Number(rp.offset))));
          } catch (err) {
            if (!(err instanceof LogStoreError && err.code === 'OFFSET_OUT_OF_RANGE')) throw err;
            answer(ErrorCode.OFFSET_OUT_OF_RANGE);
          }
        }
        topics.push({ name: t.name, partitions });
      }
      return { throttleTimeMs: 0, topics };
    },
    errorResponse(req, errorCode) {
      return {
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            lowWatermark: -1n,
            errorCode,
          })),
        })),
      };
    },
  },
);
