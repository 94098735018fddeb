// Interop with a real client's record-batch code: kafkajs 2.2.4's RecordBatch encoder and decoder
// (node_modules/kafkajs/src/protocol/recordBatch/v0) and its Fetch v4 message decoding.
// kafkajs ships only a GZIP codec; snappy, lz4 and zstd are plugins (kafkajs-snappy, kafkajs-lz4,
// @kafkajs/zstd), registered here the way those plugins do, backed by the same native packages.
import t from 'tap';
import { readBatchHeader, splitBatches, validateBatch } from '../../../protocol/records/batch.js';
import { buildRecordBatch, iterateRecords } from '../../../protocol/records/record.js';
import { compressibleBytes, loadKafkajs, makeRng, nodeRequire, randomBytes, randomInt } from './helpers.js';

const kafkajs = loadKafkajs();
const { Types, Codecs, Long } = kafkajs;
const snappy = nodeRequire('snappy') as typeof import('snappy');
const lz4 = nodeRequire('lz4-napi') as typeof import('lz4-napi');
const zstd = nodeRequire('zstd-napi') as typeof import('zstd-napi');
const LIMIT = { maxDecompressedBytes: 16 << 20 };

/** Java's SnappyOutputStream framing (xerial), 32 KiB blocks. */
function xerialSnappy(data: Buffer): Buffer {
  const parts: Buffer[] = [
    Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]),
  ];
  for (let pos = 0; pos < data.length; pos += 32_768) {
    const block = snappy.compressSync(data.subarray(pos, pos + 32_768));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

function snappyDecodeEither(data: Buffer): Buffer {
  const magic = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  if (!data.subarray(0, 8).equals(magic)) return snappy.uncompressSync(data) as Buffer;
  const out: Buffer[] = [];
  for (let pos = 16; pos < data.length; ) {
    const length = data.readInt32BE(pos);
    out.push(snappy.uncompressSync(data.subarray(pos + 4, pos + 4 + length)) as Buffer);
    pos += 4 + length;
  }
  return Buffer.concat(out);
}

type SnappyFlavour = 'raw' | 'xerial';
function registerPluginCodecs(snappyFlavour: SnappyFlavour): void {
  Codecs[Types.Snappy] = () => ({
    compress: async (encoder) =>
      snappyFlavour === 'raw' ? snappy.compressSync(encoder.buffer) : xerialSnappy(encoder.buffer),
    decompress: async (buffer) => snappyDecodeEither(buffer),
  });
  Codecs[Types.LZ4] = () => ({
    compress: async (encoder) => lz4.compressFrameSync(encoder.buffer),
    decompress: async (buffer) => lz4.decompressFrameSync(buffer),
  });
  Codecs[Types.ZSTD] = () => ({
    compress: async (encoder) => zstd.compress(encoder.buffer),
    decompress: async (buffer) => zstd.decompress(buffer),
  });
}

interface Message {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers: Record<string, Buffer | string | Buffer[]>;
  timestamp: number;
}

function randomMessages(rng: () => number, count: number, baseTimestamp: number): Message[] {
  return Array.from(
    { length: count },
    (_, i): Message => ({
      key: i % 5 === 0 ? null : `key-${i}`,
      value:
        i % 7 === 3
          ? null
          : rng() < 0.5
            ? compressibleBytes(rng, randomInt(rng, 2000))
            : randomBytes(rng, randomInt(rng, 300)),
      headers: i % 3 === 0 ? {} : { 'x-trace': `t${i}`, multi: [Buffer.from('one'), Buffer.from('two')] },
      timestamp: baseTimestamp + randomInt(rng, 5000),
    }),
  );
}

/** What kafkajs's Produce v3+ partition encoder does (requests/produce/v3/request.js). */
async function kafkajsBatch(
  messages: Message[],
  compression: number,
  extra: { producerId: bigint; producerEpoch: number; firstSequence: number; transactional: boolean },
): Promise<Buffer> {
  const timestamps = messages.map((m) => m.timestamp).sort((a, b) => a - b);
  const firstTimestamp = timestamps[0]!;
  const maxTimestamp = timestamps[timestamps.length - 1]!;
  const records = messages.map((m, i) =>
    kafkajs.Record({ ...m, offsetDelta: i, timestampDelta: m.timestamp - firstTimestamp }),
  );
  const encoder = await kafkajs.RecordBatch({
    compression,
    records,
    firstTimestamp,
    maxTimestamp,
    producerId: Long.fromValue(extra.producerId),
    producerEpoch: extra.producerEpoch,
    firstSequence: extra.firstSequence,
    transactional: extra.transactional,
    lastOffsetDelta: records.length - 1,
  });
  return encoder.buffer;
}

function headerPairs(headers: Message['headers']): { key: string; value: Buffer }[] {
  return Object.entries(headers).flatMap(([key, v]) =>
    (Array.isArray(v) ? v : [v]).map((value) => ({ key, value: Buffer.from(value) })),
  );
}

const CODECS: [string, number, SnappyFlavour][] = [
  ['none', Types.None, 'raw'],
  ['gzip (kafkajs built-in codec)', Types.GZIP, 'raw'],
  ['snappy raw block (kafkajs-snappy, librdkafka)', Types.Snappy, 'raw'],
  ['snappy xerial framing (Java)', Types.Snappy, 'xerial'],
  ['lz4 frame', Types.LZ4, 'raw'],
  ['zstd', Types.ZSTD, 'raw'],
];

t.test('batches encoded by kafkajs validate and decode field for field', async (t) => {
  const rng = makeRng(21);
  for (const [label, codec, flavour] of CODECS) {
    registerPluginCodecs(flavour);
    for (const count of [1, 9, 120]) {
      const base = 1_700_000_000_000 + randomInt(rng, 1e6);
      const messages = randomMessages(rng, count, base);
      const extra = {
        producerId: 123456789n,
        producerEpoch: 3,
        firstSequence: 40,
        transactional: count === 9,
      };
      const bytes = await kafkajsBatch(messages, codec, extra);

      const result = validateBatch(bytes);
      t.ok(result.ok, `${label} × ${count}: validateBatch`);
      if (!result.ok) t.comment(result.reason);
      const timestamps = messages.map((m) => m.timestamp);
      const firstTimestamp = Math.min(...timestamps);
      t.match(readBatchHeader(bytes), {
        baseOffset: 0n,
        compression: codec,
        producerId: 123456789n,
        producerEpoch: 3,
        baseSequence: 40,
        isTransactional: extra.transactional,
        lastOffsetDelta: count - 1,
        recordsCount: count,
        baseTimestamp: BigInt(firstTimestamp),
        maxTimestamp: BigInt(Math.max(...timestamps)),
      });
      const decoded = Array.from(iterateRecords(bytes, { ...LIMIT, verifyCrc: true }));
      t.same(
        decoded,
        messages.map((m, i) => ({
          offsetDelta: i,
          timestampDelta: m.timestamp - firstTimestamp,
          offset: BigInt(i),
          timestamp: BigInt(m.timestamp),
          key: m.key === null ? null : Buffer.from(m.key),
          value: m.value === null ? null : Buffer.from(m.value),
          headers: headerPairs(m.headers),
        })),
        `${label} × ${count}: every record field`,
      );
    }
  }
});

t.test("our builder's batches decode with kafkajs's RecordBatch decoder", async (t) => {
  const rng = makeRng(22);
  const names = ['none', 'gzip', 'snappy', 'snappy', 'lz4', 'zstd'] as const;
  for (let c = 0; c < CODECS.length; c++) {
    const [label, , flavour] = CODECS[c]!;
    registerPluginCodecs(flavour);
    const baseTimestamp = 1_690_000_000_000;
    const records = Array.from({ length: 50 }, (_, i) => ({
      key: i % 4 === 0 ? null : `k${i}`,
      value: i % 9 === 0 ? null : compressibleBytes(rng, randomInt(rng, 1500)),
      headers:
        i % 2 === 0
          ? []
          : [
              { key: 'a', value: `v${i}` },
              { key: 'b', value: Buffer.from([i]) },
            ],
      timestampDelta: i * 10,
    }));
    const batch = buildRecordBatch({
      baseOffset: 1000n,
      partitionLeaderEpoch: 4,
      baseTimestamp,
      records,
      compression: names[c]!,
      producerId: 77n,
      producerEpoch: 1,
      baseSequence: 5,
      isTransactional: true,
    });
    const decoded = await kafkajs.RecordBatchDecoder(new kafkajs.Decoder(batch));
    t.match(
      decoded,
      {
        firstOffset: '1000',
        partitionLeaderEpoch: 4,
        inTransaction: true,
        isControlBatch: false,
        lastOffsetDelta: 49,
        producerId: '77',
        producerEpoch: 1,
        firstSequence: 5,
        firstTimestamp: String(baseTimestamp),
        maxTimestamp: String(baseTimestamp + 490),
      },
      `${label}: batch fields`,
    );
    t.equal(decoded.records.length, 50);
    for (let i = 0; i < 50; i++) {
      const got = decoded.records[i]!;
      const want = records[i]!;
      t.equal(got.offset, String(1000 + i));
      t.equal(got.timestamp, String(baseTimestamp + i * 10));
      t.same(got.key, want.key === null ? null : Buffer.from(want.key));
      t.same(got.value, want.value);
      t.same(got.headers, i % 2 === 0 ? {} : { a: Buffer.from(`v${i}`), b: Buffer.from([i]) });
    }
  }
});

t.test('a Fetch v4 records blob with a trailing partial batch: kafkajs and splitBatches agree', async (t) => {
  registerPluginCodecs('raw');
  const decodeMessages = nodeRequire('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (
    decoder: unknown,
  ) => Promise<{ offset: string; value: Buffer | null }[]>;
  const a = buildRecordBatch({
    baseOffset: 0,
    baseTimestamp: 1,
    records: [{ value: 'a0' }, { value: 'a1' }],
  });
  const b = buildRecordBatch({
    baseOffset: 2,
    baseTimestamp: 1,
    compression: 'zstd',
    records: [{ value: 'b0' }],
  });
  const c = buildRecordBatch({
    baseOffset: 3,
    baseTimestamp: 1,
    records: [{ value: 'c0' }, { value: 'c1' }],
  });
  const blob = Buffer.concat([a, b, c.subarray(0, c.length - 5)]);
  const framed = Buffer.concat([Buffer.alloc(4), blob]);
  framed.writeInt32BE(blob.length, 0);
  const fromKafkajs = await decodeMessages(new kafkajs.Decoder(framed));
  t.same(
    fromKafkajs.map((r) => [r.offset, r.value?.toString()]),
    [
      ['0', 'a0'],
      ['1', 'a1'],
      ['2', 'b0'],
    ],
  );
  const split = splitBatches(blob);
  t.equal(split.batches.length, 2);
  t.equal(split.partial?.length, c.length - 5);
});
