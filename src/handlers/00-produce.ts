// Produce (key 0), serves 0-11; v0-2 (MessageSet formats) are advertised, as Kafka 4 does so that
// older librdkafka enables compression, but answered UNSUPPORTED_VERSION. acks=0 gets no response.
// Replies after the WAL fsync for acks=1 and acks=-1 (single broker: the ISR is this broker).
// Transactional batches pass the transaction coordinator's guard first (src/log/log-store.ts, ADR 0008).
import { ErrorCode } from '../../protocol/error-codes.js';
import { Produce } from '../../protocol/messages/index.js';
import type { ProducePart, ProducePartResult } from '../log/log-store.js';
import { defineHandler, NO_RESPONSE } from './handler.js';

export const produceHandler = defineHandler(
  Produce,
  { min: 0, max: 11 },
  {
    async handle(ctx, req) {
      const version = ctx.header.apiVersion;
      const acks = req.acks;
      let failAll: number | null = null;
      if (version < 3) failAll = ErrorCode.UNSUPPORTED_VERSION;
      else if (acks !== 0 && acks !== 1 && acks !== -1) failAll = ErrorCode.INVALID_REQUIRED_ACKS;

      const parts: ProducePart[] = [];
      for (const t of req.topicData) {
        for (const p of t.partitionData)
          parts.push({ topic: t.name, partition: p.index, records: p.records });
      }
      // Offsets are assigned inside produce() before its first await: request order = offset order.
      const results: ProducePartResult[] =
        failAll === null
          ? await ctx.broker.log.produce(parts, req.timeoutMs)
          : parts.map(() => ({
              errorCode: failAll,
              baseOffset: -1,
              logAppendTimeMs: -1,
              logStartOffset: -1,
              errorMessage: null,
            }));
      if (acks === 0) return NO_RESPONSE;
      // A request that waited for upload backlog reports the wait, so clients back off.
      const throttleTimeMs = results.reduce((ms, r) => Math.max(ms, r.throttleTimeMs ?? 0), 0);
      let i = 0;
      return {
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => {
            const r = results[i++]!;
            return {
              index: p.index,
              errorCode: r.errorCode,
              baseOffset: BigInt(r.baseOffset),
              logAppendTimeMs: BigInt(r.logAppendTimeMs),
              logStartOffset: BigInt(r.logStartOffset),
              recordErrors: [],
              errorMessage: r.errorMessage,
            };
          }),
        })),
        throttleTimeMs,
      };
    },
    errorResponse(req, errorCode) {
      return {
        responses: req.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode, baseOffset: -1n })),
        })),
      };
    },
  },
);
