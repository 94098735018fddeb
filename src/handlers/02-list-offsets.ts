// ListOffsets (key 2), serves 0-8. Special timestamps: -2 earliest (log start), -1 latest (high
// watermark; the last stable offset for isolation_level 1, read_committed), -3 the record with the largest timestamp (KIP-734), -4 earliest local (= log start:
// the whole log is "local" to this broker's object store). Other timestamps: the first record whose
// timestamp is ≥ the target (records are scanned inside the batch, so the answer is exact).
import { ErrorCode } from '../../protocol/error-codes.js';
import { ListOffsets } from '../../protocol/messages/index.js';
import { defineHandler } from './handler.js';

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;

export const listOffsetsHandler = defineHandler(
  ListOffsets,
  { min: 0, max: 8 },
  {
    async handle(ctx, req) {
      const { log } = ctx.broker;
      const topics = [];
      for (const t of req.topics) {
        const partitions = [];
        for (const rp of t.partitions) {
          const p = log.partition(t.name, rp.partitionIndex);
          if (p === undefined) {
            partitions.push({
              partitionIndex: rp.partitionIndex,
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            });
            continue;
          }
          let offset = -1;
          let timestamp = -1;
          if (rp.timestamp === LATEST)
            offset = req.isolationLevel === 1 ? p.lastStableOffset : p.highWatermark;
          else if (rp.timestamp === EARLIEST || rp.timestamp === EARLIEST_LOCAL) offset = p.logStartOffset;
          else if (rp.timestamp === MAX_TIMESTAMP) {
            const found = await log.offsetOfMaxTimestamp(p);
            if (found !== null) ({ offset, timestamp } = found);
          } else if (rp.timestamp >= 0n) {
            const found = await log.offsetForTimestamp(p, Number(rp.timestamp));
            if (found !== null) ({ offset, timestamp } = found);
          } else {
            partitions.push({ partitionIndex: rp.partitionIndex, errorCode: ErrorCode.INVALID_REQUEST });
            continue;
          }
          partitions.push({
            partitionIndex: rp.partitionIndex,
            errorCode: ErrorCode.NONE,
            oldStyleOffsets: offset >= 0 ? [BigInt(offset)] : [],
            timestamp: BigInt(timestamp),
            offset: BigInt(offset),
            leaderEpoch: 0,
          });
        }
        topics.push({ name: t.name, partitions });
      }
      return { throttleTimeMs: 0, topics };
    },
    errorResponse(req, errorCode) {
      return {
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
        })),
      };
    },
  },
);
