/**
 * Snappy, LZ4 and ZSTD codecs for kafkajs 2.2.4, backed by the project's protocol/records/
 * compression.ts. kafkajs ships only GZIP; the others are plugins that fill its codec table
 * (`CompressionCodecs[type] = () => codec`). kafkajs calls them as
 *   compress(encoder)   → Promise<Buffer>   (encoder.buffer = the encoded records section)
 *   decompress(buffer)  → Promise<Buffer>   (the compressed records section of a fetched batch)
 * (node_modules/kafkajs/src/protocol/recordBatch/v0/index.js and …/decoder.js).
 *
 * So what kafkajs sends is exactly what our encoder produces (snappy: a plain raw block, as
 * librdkafka writes; lz4: one LZ4 frame; zstd: one frame), and the broker must decode it.
 */
import kafkajs from 'kafkajs';
import {
  type CompressionName,
  compress,
  compressionAvailability,
  decompress,
} from '../../protocol/records/compression.js';

// kafkajs is CommonJS without static named exports: take them from the default export.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/** kafkajs's codec interface (untyped in its .d.ts). */
export interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Decompressed records larger than this are refused (a bound, not a limit tests approach). */
const MAX_DECOMPRESSED_BYTES = 256 << 20;

export function kafkajsCodec(name: CompressionName): KafkajsCodec {
  return {
    compress: (encoder) => compress(name, encoder.buffer),
    decompress: (buffer) => decompress(name, buffer, MAX_DECOMPRESSED_BYTES),
  };
}

/** Register snappy, lz4 and zstd with kafkajs (idempotent). Returns the codecs that are usable. */
export function registerKafkajsCodecs(): CompressionName[] {
  const available = compressionAvailability();
  const table = CompressionCodecs as Record<number, () => KafkajsCodec>;
  const registered: CompressionName[] = ['none', 'gzip'];
  for (const [name, type] of [
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ] as const) {
    if (!available[name]) continue;
    const codec = kafkajsCodec(name);
    table[type] = () => codec;
    registered.push(name);
  }
  return registered;
}
