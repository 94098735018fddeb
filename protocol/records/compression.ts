/**
 * Compression codecs of record batches (attributes bits 0-2) and their on-the-wire formats.
 *
 *   0 none
 *   1 gzip   := one or more RFC 1952 members
 *   2 snappy := raw-block                                   (librdkafka, kafkajs-snappy, Sarama write this)
 *             | 0x82 "SNAPPY" 0x00, INT32 version, INT32 compatibleVersion,
 *               { INT32 blockLength, raw-block }*           (xerial framing: Java's SnappyOutputStream)
 *      raw-block := UNSIGNED_VARINT uncompressedLength, snappy elements...
 *   3 lz4    := one LZ4 frame: u32le 0x184D2204, FLG, BD, [u64le contentSize], [u32le dictId], HC,
 *               { u32le blockSize (bit 31 = stored uncompressed), data, [u32le blockChecksum] }*,
 *               u32le 0 (end mark), [u32le contentChecksum]
 *   4 zstd   := one or more zstd frames (RFC 8878)
 *
 * Decoding accepts both snappy forms; encoding writes a plain raw block, as librdkafka does.
 *
 * Decompression is bounded by `maxBytes` *before* the output is allocated wherever the format allows
 * it (snappy and lz4 declare or imply their exact output size; zstd is streamed in bounded chunks;
 * gzip uses zlib's `maxOutputLength`), so a compression bomb costs at most `maxBytes` of memory.
 *
 * Errors: every failure is a ProtocolError — 'UNSUPPORTED_COMPRESSION' (unknown codec id, or its
 * native module failed to load), 'INVALID_LENGTH' (output would exceed `maxBytes`),
 * 'CORRUPT_RECORDS' (anything the codec rejects).
 *
 * Native codec modules are loaded lazily through createRequire, so a missing prebuilt binary only
 * disables its own codec.
 */
import { constants as bufferConstants } from 'node:buffer';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type * as Lz4Module from 'lz4-napi';
import type * as SnappyModule from 'snappy';
import type * as ZstdModule from 'zstd-napi';
import type * as ZstdBindingModule from 'zstd-napi/binding.js';
import { ProtocolError } from '../primitives/errors.js';
import { readUnsignedVarint } from '../primitives/varint.js';

/** Codec ids as carried in attributes bits 0-2. */
export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof CompressionCodec;
export type CompressionCodecId = (typeof CompressionCodec)[CompressionName];

const CODEC_NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The codec name for an attributes codec id, or undefined for ids 5-7 (and anything else). */
export function compressionName(id: number): CompressionName | undefined {
  return CODEC_NAMES[id];
}

function resolveCodec(codec: CompressionName | number): CompressionCodecId {
  const id = typeof codec === 'number' ? codec : CompressionCodec[codec];
  if (id === undefined || !Number.isInteger(id) || id < 0 || id >= CODEC_NAMES.length) {
    throw new ProtocolError('UNSUPPORTED_COMPRESSION', `unknown compression codec ${String(codec)}`);
  }
  return id as CompressionCodecId;
}

// ---------------------------------------------------------------------------------------------
// Lazy native modules

const nodeRequire = createRequire(import.meta.url);

type Loaded<T> = { module: T } | { error: string };

function lazyModule<T>(packageName: string, codecName: string): () => T {
  let loaded: Loaded<T> | undefined;
  return () => {
    if (loaded === undefined) {
      try {
        loaded = { module: nodeRequire(packageName) as T };
      } catch (err) {
        loaded = { error: err instanceof Error ? err.message : String(err) };
      }
    }
    if ('error' in loaded) {
      throw new ProtocolError(
        'UNSUPPORTED_COMPRESSION',
        `${codecName} is unavailable: ${packageName} failed to load (${loaded.error})`,
      );
    }
    return loaded.module;
  };
}

const snappyModule = lazyModule<typeof SnappyModule>('snappy', 'snappy');
const lz4Module = lazyModule<typeof Lz4Module>('lz4-napi', 'lz4');
const zstdModule = lazyModule<typeof ZstdModule>('zstd-napi', 'zstd');
const zstdBinding = lazyModule<typeof ZstdBindingModule>('zstd-napi/binding', 'zstd');

/** Whether each codec's implementation loads on this machine (loads them all). */
export function compressionAvailability(): Record<CompressionName, boolean> {
  const probe = (load: () => unknown): boolean => {
    try {
      load();
      return true;
    } catch {
      return false;
    }
  };
  return {
    none: true,
    gzip: true,
    snappy: probe(snappyModule),
    lz4: probe(lz4Module),
    zstd: probe(zstdModule) && probe(zstdBinding),
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function corrupt(codec: string, detail: string): ProtocolError {
  return new ProtocolError('CORRUPT_RECORDS', `${codec}: ${detail}`);
}

function tooLarge(codec: string, maxBytes: number): ProtocolError {
  return new ProtocolError(
    'INVALID_LENGTH',
    `${codec}: decompressed size exceeds the limit of ${maxBytes} bytes`,
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkMaxBytes(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new ProtocolError('INVALID_VALUE', `maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
}

// ---------------------------------------------------------------------------------------------
// gzip

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

function gunzipOptions(maxBytes: number): zlib.ZlibOptions {
  // maxOutputLength must be ≥ 1; an output of 1 byte against maxBytes = 0 is caught afterwards.
  return { maxOutputLength: Math.max(1, Math.min(maxBytes, bufferConstants.MAX_LENGTH)) };
}

function gzipError(err: unknown, maxBytes: number): ProtocolError {
  if (err instanceof ProtocolError) return err;
  if ((err as { code?: unknown } | null)?.code === 'ERR_BUFFER_TOO_LARGE') return tooLarge('gzip', maxBytes);
  return corrupt('gzip', messageOf(err));
}

function checkedGunzipOutput(out: Buffer, maxBytes: number): Buffer {
  if (out.length > maxBytes) throw tooLarge('gzip', maxBytes);
  return out;
}

// ---------------------------------------------------------------------------------------------
// snappy (raw block or xerial framing)

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00] as const;
const XERIAL_HEADER_SIZE = 16;

function isXerialFramed(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_SIZE) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** The raw snappy blocks of `data` and their declared uncompressed lengths, checked against maxBytes. */
function snappyBlocks(
  data: Uint8Array,
  maxBytes: number,
): { blocks: Buffer[]; lengths: number[]; total: number } {
  const buf = asBuffer(data);
  const blocks: Buffer[] = [];
  const lengths: number[] = [];
  let total = 0;
  const addBlock = (block: Buffer): void => {
    let declared: number;
    try {
      declared = readUnsignedVarint(block, 0);
    } catch (err) {
      throw corrupt('snappy', `bad block length preamble (${messageOf(err)})`);
    }
    total += declared;
    if (total > maxBytes) throw tooLarge('snappy', maxBytes);
    blocks.push(block);
    lengths.push(declared);
  };
  if (!isXerialFramed(buf)) {
    addBlock(buf);
    return { blocks, lengths, total };
  }
  let pos = XERIAL_HEADER_SIZE;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) throw corrupt('snappy', `xerial block length truncated at byte ${pos}`);
    const blockLength = buf.readInt32BE(pos);
    pos += 4;
    if (blockLength <= 0 || pos + blockLength > buf.length) {
      throw corrupt('snappy', `xerial block length ${blockLength} at byte ${pos - 4} does not fit`);
    }
    addBlock(buf.subarray(pos, pos + blockLength));
    pos += blockLength;
  }
  return { blocks, lengths, total };
}

function joinSnappyOutputs(outputs: Buffer[], lengths: number[], total: number): Buffer {
  for (let i = 0; i < outputs.length; i++) {
    if (outputs[i]!.length !== lengths[i])
      throw corrupt('snappy', 'block decoded to a different length than declared');
  }
  if (outputs.length === 1) return outputs[0]!;
  return Buffer.concat(outputs, total);
}

function snappyDecompressSync(data: Uint8Array, maxBytes: number): Buffer {
  const { blocks, lengths, total } = snappyBlocks(data, maxBytes);
  const snappy = snappyModule();
  const outputs = blocks.map((block) => {
    try {
      return snappy.uncompressSync(block, { asBuffer: true }) as Buffer;
    } catch (err) {
      throw corrupt('snappy', messageOf(err));
    }
  });
  return joinSnappyOutputs(outputs, lengths, total);
}

async function snappyDecompressAsync(data: Uint8Array, maxBytes: number): Promise<Buffer> {
  const { blocks, lengths, total } = snappyBlocks(data, maxBytes);
  const snappy = snappyModule();
  const outputs = await Promise.all(
    blocks.map(async (block) => {
      try {
        return (await snappy.uncompress(block, { asBuffer: true })) as Buffer;
      } catch (err) {
        throw corrupt('snappy', messageOf(err));
      }
    }),
  );
  return joinSnappyOutputs(outputs, lengths, total);
}

// ---------------------------------------------------------------------------------------------
// lz4 (frame format)

const LZ4_FRAME_MAGIC = 0x184d2204;
/** Block maximum size by BD bits 4-6; ids 0-3 are reserved. */
const LZ4_BLOCK_MAX_SIZES = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20] as const;

/**
 * Exact decompressed size of one LZ4 block in data[start, end), found by walking its sequences
 * without producing output. Stops early (returning a value > budget) once `budget` is exceeded.
 */
function lz4BlockDecompressedSize(data: Uint8Array, start: number, end: number, budget: number): number {
  let pos = start;
  let produced = 0;
  for (;;) {
    if (pos >= end) throw corrupt('lz4', 'block ends without a final literal run');
    const token = data[pos++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (pos >= end) throw corrupt('lz4', 'literal length runs past the block');
        b = data[pos++]!;
        literals += b;
      } while (b === 255);
    }
    pos += literals;
    produced += literals;
    if (pos > end) throw corrupt('lz4', 'literals run past the block');
    if (pos === end) return produced; // the last sequence carries literals only
    if (pos + 2 > end) throw corrupt('lz4', 'match offset truncated');
    if (data[pos] === 0 && data[pos + 1] === 0) throw corrupt('lz4', 'zero match offset');
    pos += 2;
    let matchLength = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (pos >= end) throw corrupt('lz4', 'match length runs past the block');
        b = data[pos++]!;
        matchLength += b;
      } while (b === 255);
    }
    produced += matchLength;
    if (produced > budget) return produced;
  }
}

/** Walk one LZ4 frame (which must span all of `data`) and return its exact decompressed size. */
function lz4FrameDecompressedSize(data: Uint8Array, maxBytes: number): number {
  const buf = asBuffer(data);
  if (buf.length < 7) throw corrupt('lz4', `frame of ${buf.length} bytes is too short`);
  if (buf.readUInt32LE(0) !== LZ4_FRAME_MAGIC) throw corrupt('lz4', 'missing LZ4 frame magic 0x184D2204');
  const flg = buf[4]!;
  const bd = buf[5]!;
  if (flg >>> 6 !== 1) throw corrupt('lz4', `unsupported frame version ${flg >>> 6}`);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw corrupt('lz4', 'reserved frame descriptor bits set');
  if ((flg & 0x01) !== 0) throw corrupt('lz4', 'frames with a dictionary id are not supported');
  const hasBlockChecksums = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const hasContentChecksum = (flg & 0x04) !== 0;
  const blockMaxSize = LZ4_BLOCK_MAX_SIZES[(bd >>> 4) & 7]!;
  if (blockMaxSize === 0) throw corrupt('lz4', `reserved block maximum size id ${(bd >>> 4) & 7}`);
  let pos = 6 + (hasContentSize ? 8 : 0) + 1; // + header checksum byte
  let total = 0;
  for (;;) {
    if (pos + 4 > buf.length) throw corrupt('lz4', 'frame truncated before its end mark');
    const word = buf.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const stored = word >>> 31 === 1;
    const size = word & 0x7fffffff;
    if (size > blockMaxSize)
      throw corrupt('lz4', `block of ${size} bytes exceeds the frame's ${blockMaxSize}`);
    if (pos + size > buf.length) throw corrupt('lz4', 'block truncated');
    total += stored ? size : lz4BlockDecompressedSize(buf, pos, pos + size, maxBytes - total);
    if (total > maxBytes) throw tooLarge('lz4', maxBytes);
    pos += size + (hasBlockChecksums ? 4 : 0);
  }
  pos += hasContentChecksum ? 4 : 0;
  if (pos !== buf.length) {
    throw corrupt(
      'lz4',
      pos > buf.length ? 'content checksum truncated' : 'bytes after the end of the frame',
    );
  }
  return total;
}

function checkedLz4Output(out: Buffer, expected: number): Buffer {
  if (out.length !== expected)
    throw corrupt('lz4', `frame decoded to ${out.length} bytes, expected ${expected}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// zstd

/** Window sizes up to 2^23 are what zstd levels ≤ 19 use on unknown-size input; 2^27 is zstd's own cap. */
function zstdWindowLogMax(maxBytes: number): number {
  return Math.min(27, Math.max(23, Math.ceil(Math.log2(Math.max(maxBytes, 1)))));
}

let zstdContext: ZstdBindingModule.DCtx | undefined;

function zstdDecompressSync(data: Uint8Array, maxBytes: number): Buffer {
  const z = zstdBinding();
  if (data.length === 0) throw corrupt('zstd', 'empty input');
  zstdContext ??= new z.DCtx();
  const dctx = zstdContext;
  try {
    dctx.reset(z.ResetDirective.sessionAndParameters);
    dctx.setParameter(z.DParameter.windowLogMax, zstdWindowLogMax(maxBytes));

    // Fast path: every frame declares its content size, so allocate once and decode in one call.
    let declaredTotal = 0;
    let frame: Uint8Array = data;
    while (frame.length > 0) {
      const contentSize = z.getFrameContentSize(frame);
      if (contentSize === null) {
        declaredTotal = -1;
        break;
      }
      declaredTotal += contentSize;
      if (declaredTotal > maxBytes) throw tooLarge('zstd', maxBytes);
      frame = frame.subarray(z.findFrameCompressedSize(frame));
    }
    if (declaredTotal >= 0) {
      const out = Buffer.allocUnsafe(declaredTotal);
      const written = dctx.decompress(out, data);
      if (written !== declaredTotal) throw corrupt('zstd', 'frame decoded to a different size than declared');
      return out;
    }

    // Streaming path, in bounded chunks.
    const chunks: Buffer[] = [];
    let total = 0;
    let input: Uint8Array = data;
    const chunkSize = z.dStreamOutSize();
    for (;;) {
      // One byte more than the remaining budget is enough to detect an overflow.
      const out = Buffer.allocUnsafe(Math.min(chunkSize, maxBytes - total + 1));
      const [remaining, produced, consumed] = dctx.decompressStream(out, input);
      total += produced;
      if (total > maxBytes) throw tooLarge('zstd', maxBytes);
      if (produced > 0) chunks.push(out.subarray(0, produced));
      input = input.subarray(consumed);
      if (input.length === 0 && remaining === 0) break; // last frame complete
      if (input.length === 0 && produced < out.length) throw corrupt('zstd', 'frame truncated');
      if (produced === 0 && consumed === 0) throw corrupt('zstd', 'decoder made no progress');
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw corrupt('zstd', messageOf(err));
  } finally {
    try {
      dctx.reset(z.ResetDirective.sessionOnly);
    } catch {
      // a context that cannot reset is replaced on the next call
      zstdContext = undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Compress `data` with `codec` (synchronously, on the calling thread). `none` returns a view. */
export function compressSync(codec: CompressionName | number, data: Uint8Array): Buffer {
  switch (resolveCodec(codec)) {
    case 0:
      return asBuffer(data);
    case 1:
      return zlib.gzipSync(data);
    case 2:
      return snappyModule().compressSync(data);
    case 3:
      return lz4Module().compressFrameSync(asBuffer(data));
    case 4:
      return zstdModule().compress(data);
  }
}

/**
 * Decompress `data` compressed with `codec`, refusing (ProtocolError 'INVALID_LENGTH') output
 * larger than `maxBytes`. `none` returns a view of `data`.
 */
export function decompressSync(codec: CompressionName | number, data: Uint8Array, maxBytes: number): Buffer {
  checkMaxBytes(maxBytes);
  switch (resolveCodec(codec)) {
    case 0:
      if (data.length > maxBytes) throw tooLarge('none', maxBytes);
      return asBuffer(data);
    case 1:
      try {
        return checkedGunzipOutput(zlib.gunzipSync(data, gunzipOptions(maxBytes)), maxBytes);
      } catch (err) {
        throw gzipError(err, maxBytes);
      }
    case 2:
      return snappyDecompressSync(data, maxBytes);
    case 3: {
      const expected = lz4FrameDecompressedSize(data, maxBytes);
      try {
        return checkedLz4Output(lz4Module().decompressFrameSync(asBuffer(data)), expected);
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        throw corrupt('lz4', messageOf(err));
      }
    }
    case 4:
      return zstdDecompressSync(data, maxBytes);
  }
}

/** Like compressSync, but gzip, snappy and lz4 run on the libuv thread pool. */
export async function compress(codec: CompressionName | number, data: Uint8Array): Promise<Buffer> {
  switch (resolveCodec(codec)) {
    case 1:
      return gzipAsync(data);
    case 2:
      return snappyModule().compress(data);
    case 3:
      return lz4Module().compressFrame(data);
    default:
      return compressSync(codec, data);
  }
}

/** Like decompressSync, but gzip, snappy and lz4 decode on the libuv thread pool. */
export async function decompress(
  codec: CompressionName | number,
  data: Uint8Array,
  maxBytes: number,
): Promise<Buffer> {
  checkMaxBytes(maxBytes);
  switch (resolveCodec(codec)) {
    case 1:
      try {
        return checkedGunzipOutput(await gunzipAsync(data, gunzipOptions(maxBytes)), maxBytes);
      } catch (err) {
        throw gzipError(err, maxBytes);
      }
    case 2:
      return snappyDecompressAsync(data, maxBytes);
    case 3: {
      const expected = lz4FrameDecompressedSize(data, maxBytes);
      try {
        return checkedLz4Output(await lz4Module().decompressFrame(data), expected);
      } catch (err) {
        if (err instanceof ProtocolError) throw err;
        throw corrupt('lz4', messageOf(err));
      }
    }
    default:
      return decompressSync(codec, data, maxBytes);
  }
}
