// Shared test helpers for protocol/records: a seeded RNG and handles on kafkajs's own codecs.
import { createRequire } from 'node:module';

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(rng: () => number, maxExclusive: number): number {
  return Math.floor(rng() * maxExclusive);
}

export function randomBytes(rng: () => number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (rng() * 256) | 0;
  return buf;
}

/** Text-like bytes that compress well. */
export function compressibleBytes(rng: () => number, length: number): Buffer {
  const words = ['kafka', 'stream', 'house', 'record', 'batch', 'offset', ' ', ' ', '\n', '{"id":', '}'];
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const w = words[randomInt(rng, words.length)]!;
    parts.push(w);
    size += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}

export const nodeRequire = createRequire(import.meta.url);

/** kafkajs internals used to produce and consume real client bytes. */
export interface KafkajsInternals {
  RecordBatch: (args: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
  Record: (args: Record<string, unknown>) => unknown;
  RecordBatchDecoder: (decoder: unknown) => Promise<KafkajsDecodedBatch>;
  Decoder: new (buffer: Buffer) => unknown;
  Codecs: Record<
    number,
    () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> }
  >;
  Types: { None: number; GZIP: number; Snappy: number; LZ4: number; ZSTD: number };
  MessageSet: (args: Record<string, unknown>) => { buffer: Buffer };
  Long: { fromValue(v: unknown): unknown; fromString(s: string): unknown };
}

export interface KafkajsDecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  timestampType: number;
  records: {
    key: Buffer | null;
    value: Buffer | null;
    offset: string;
    timestamp: string;
    headers: Record<string, Buffer | Buffer[] | null>;
  }[];
}

export function loadKafkajs(): KafkajsInternals {
  const base = 'kafkajs/src/';
  const batchModule = nodeRequire(`${base}protocol/recordBatch/v0/index.js`);
  const compression = nodeRequire(`${base}protocol/message/compression/index.js`);
  return {
    RecordBatch: batchModule.RecordBatch,
    Record: nodeRequire(`${base}protocol/recordBatch/record/v0/index.js`),
    RecordBatchDecoder: nodeRequire(`${base}protocol/recordBatch/v0/decoder.js`),
    Decoder: nodeRequire(`${base}protocol/decoder.js`),
    Codecs: compression.Codecs,
    Types: compression.Types,
    MessageSet: nodeRequire(`${base}protocol/messageSet/index.js`),
    Long: nodeRequire(`${base}utils/long.js`),
  };
}
