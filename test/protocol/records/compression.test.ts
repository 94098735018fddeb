import t from 'tap';
import { ProtocolError } from '../../../protocol/primitives/errors.js';
import {
  type CompressionName,
  compress,
  compressionAvailability,
  compressionName,
  compressSync,
  decompress,
  decompressSync,
} from '../../../protocol/records/compression.js';
import { compressibleBytes, makeRng, nodeRequire, randomBytes, randomInt } from './helpers.js';

const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const COMPRESSED: CompressionName[] = ['gzip', 'snappy', 'lz4', 'zstd'];
const MiB = 1 << 20;

const snappy = nodeRequire('snappy') as typeof import('snappy');
const lz4 = nodeRequire('lz4-napi') as typeof import('lz4-napi');
const zstd = nodeRequire('zstd-napi') as typeof import('zstd-napi');

t.test('every codec loads here', async (t) => {
  t.same(compressionAvailability(), { none: true, gzip: true, snappy: true, lz4: true, zstd: true });
  t.equal(compressionName(4), 'zstd');
  t.equal(compressionName(5), undefined);
});

t.test('round trips, sync and async, many sizes', async (t) => {
  const rng = makeRng(1);
  const inputs = [
    Buffer.alloc(0),
    Buffer.from('x'),
    compressibleBytes(rng, 1000),
    randomBytes(rng, 5000),
    compressibleBytes(rng, 300_000),
    randomBytes(rng, 200_000),
  ];
  for (const codec of CODECS) {
    for (const input of inputs) {
      const label = `${codec} ${input.length} bytes`;
      const packed = compressSync(codec, input);
      t.same(decompressSync(codec, packed, input.length), input, `${label}: sync`);
      t.same(
        await decompress(codec, packed, input.length),
        input,
        `${label}: compressSync → async decompress`,
      );
      const packedAsync = await compress(codec, input);
      t.same(decompressSync(codec, packedAsync, input.length), input, `${label}: async compress → sync`);
    }
  }
});

t.test('codec ids work as well as names', async (t) => {
  const input = Buffer.from('id based codec selection '.repeat(20));
  for (let id = 0; id <= 4; id++) t.same(decompressSync(id, compressSync(id, input), 10_000), input);
});

t.test('unknown codecs are UNSUPPORTED_COMPRESSION', async (t) => {
  for (const id of [5, 6, 7, -1, 1.5]) {
    t.throws(() => decompressSync(id, Buffer.from('abc'), 100), { code: 'UNSUPPORTED_COMPRESSION' });
    t.throws(() => compressSync(id, Buffer.from('abc')), { code: 'UNSUPPORTED_COMPRESSION' });
    await t.rejects(decompress(id, Buffer.from('abc'), 100), { code: 'UNSUPPORTED_COMPRESSION' });
  }
});

t.test('snappy: encode is a plain raw block, decode accepts raw and xerial framing', async (t) => {
  const rng = makeRng(2);
  const input = compressibleBytes(rng, 100_000);
  const raw = compressSync('snappy', input);
  t.notSame(
    raw.subarray(0, 8),
    Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]),
    'no xerial header',
  );
  t.same(raw, snappy.compressSync(input), 'same bytes as a raw snappy block');

  // xerial framing as Java's SnappyOutputStream writes it: 32 KiB chunks, each a raw block.
  const parts: Buffer[] = [
    Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]),
  ];
  for (let pos = 0; pos < input.length; pos += 32_768) {
    const block = snappy.compressSync(input.subarray(pos, pos + 32_768));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length);
    parts.push(len, block);
  }
  const xerial = Buffer.concat(parts);
  t.same(decompressSync('snappy', xerial, input.length), input, 'xerial, sync');
  t.same(await decompress('snappy', xerial, input.length), input, 'xerial, async');
  t.throws(
    () => decompressSync('snappy', xerial, input.length - 1),
    { code: 'INVALID_LENGTH' },
    'xerial bomb',
  );
  t.throws(
    () => decompressSync('snappy', xerial.subarray(0, xerial.length - 3), input.length),
    ProtocolError,
  );
});

t.test('lz4: frame format (magic 0x184D2204), and frames with checksums or stored blocks', async (t) => {
  const rng = makeRng(3);
  const input = compressibleBytes(rng, 200_000);
  const frame = compressSync('lz4', input);
  t.equal(frame.readUInt32LE(0), 0x184d2204, 'LZ4 frame magic');
  t.same(lz4.decompressFrameSync(frame), input, 'lz4-napi frame decoder reads ours');
  const checked = lz4.compressFrameSync(input, { contentChecksum: true, blockChecksums: true });
  t.same(decompressSync('lz4', checked, input.length), input, 'block and content checksums');
  const incompressible = randomBytes(rng, 150_000);
  const stored = lz4.compressFrameSync(incompressible);
  t.same(decompressSync('lz4', stored, incompressible.length), incompressible, 'stored blocks');
  const badHeaderChecksum = Buffer.from(checked);
  badHeaderChecksum[6]! ^= 0xff;
  t.throws(() => decompressSync('lz4', badHeaderChecksum, input.length), { code: 'CORRUPT_RECORDS' });
  const badContentChecksum = Buffer.from(checked);
  badContentChecksum[badContentChecksum.length - 1]! ^= 1;
  t.throws(() => decompressSync('lz4', badContentChecksum, input.length), { code: 'CORRUPT_RECORDS' });
  const twoFrames = Buffer.concat([frame, frame]);
  t.throws(
    () => decompressSync('lz4', twoFrames, 2 * input.length),
    { code: 'CORRUPT_RECORDS' },
    'trailing bytes',
  );
});

t.test('zstd: frames with and without a declared content size, and several frames', async (t) => {
  const rng = makeRng(4);
  const input = compressibleBytes(rng, 500_000);
  const compressor = new zstd.Compressor();
  compressor.setParameters({ contentSizeFlag: false });
  const unknownSize = compressor.compress(input);
  t.same(decompressSync('zstd', unknownSize, input.length), input, 'streamed path');
  t.throws(() => decompressSync('zstd', unknownSize, input.length - 1), { code: 'INVALID_LENGTH' });
  const known = zstd.compress(input);
  t.same(
    decompressSync('zstd', Buffer.concat([known, unknownSize]), 2 * input.length),
    Buffer.concat([input, input]),
  );
  t.throws(() => decompressSync('zstd', unknownSize.subarray(0, unknownSize.length - 10), MiB), {
    code: 'CORRUPT_RECORDS',
  });
  // the shared decoder context still works after errors
  t.same(decompressSync('zstd', known, input.length), input);
});

t.test('compression bombs stop at maxBytes with INVALID_LENGTH, sync and async', async (t) => {
  const bomb = Buffer.alloc(20 * MiB);
  for (const codec of CODECS) {
    const packed = compressSync(codec, bomb);
    if (codec !== 'none')
      t.ok(packed.length < MiB, `${codec} packs 20 MiB of zeros into ${packed.length} bytes`);
    t.throws(() => decompressSync(codec, packed, MiB), { code: 'INVALID_LENGTH' }, `${codec} sync`);
    await t.rejects(decompress(codec, packed, MiB), { code: 'INVALID_LENGTH' }, `${codec} async`);
    t.throws(
      () => decompressSync(codec, packed, bomb.length - 1),
      { code: 'INVALID_LENGTH' },
      `${codec}: one byte over`,
    );
    t.equal(decompressSync(codec, packed, bomb.length).length, bomb.length, `${codec}: exactly at the limit`);
    t.throws(() => decompressSync(codec, packed, 0), { code: 'INVALID_LENGTH' }, `${codec}: limit 0`);
  }
  t.throws(() => decompressSync('gzip', compressSync('gzip', bomb), -1), { code: 'INVALID_VALUE' });
});

t.test('corrupt compressed input is a ProtocolError, never another error', async (t) => {
  const rng = makeRng(5);
  const samples = [compressibleBytes(rng, 5000), randomBytes(rng, 3000), compressibleBytes(rng, 70_000)];
  let checked = 0;
  for (const codec of COMPRESSED) {
    const garbage = [Buffer.alloc(0), Buffer.from([5]), randomBytes(rng, 10), randomBytes(rng, 5000)];
    for (const g of garbage) {
      t.throws(() => decompressSync(codec, g, MiB), ProtocolError, `${codec}: garbage of ${g.length} bytes`);
      await t.rejects(decompress(codec, g, MiB), ProtocolError);
    }
    for (const sample of samples) {
      const packed = compressSync(codec, sample);
      t.throws(() => decompressSync(codec, packed.subarray(0, packed.length >> 1), MiB), ProtocolError);
      for (let i = 0; i < 150; i++) {
        const mutated = Buffer.from(packed);
        const flips = 1 + randomInt(rng, 4);
        for (let f = 0; f < flips; f++) mutated[randomInt(rng, mutated.length)] = randomInt(rng, 256);
        for (const run of [
          () => decompressSync(codec, mutated, MiB),
          () => decompress(codec, mutated, MiB),
        ]) {
          try {
            await run(); // some mutations (e.g. inside stored literals) still decode: fine
          } catch (err) {
            checked++;
            if (!(err instanceof ProtocolError)) {
              t.fail(`${codec}: ${String(err)} is not a ProtocolError`);
              return;
            }
          }
        }
      }
    }
  }
  t.ok(checked > 1000, `${checked} corrupt inputs rejected with ProtocolError`);
});
