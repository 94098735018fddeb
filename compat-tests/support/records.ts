/**
 * Test records for the compatibility tests: deterministic (seeded) keys, values and headers that
 * stress the byte-for-byte round trip (binary bytes, multi-byte UTF-8, empty vs null, large
 * compressible values), and a comparison that names the first difference.
 */
import { CompressionCodec, type CompressionName } from '../../protocol/records/compression.js';
import type { TapTest } from './tools.js';
import type { ReadRecord } from './wire-client.js';

export interface TestHeader {
  key: string;
  value: Buffer;
}

export interface TestRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: TestHeader[];
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
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

export function randomBytes(rng: () => number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (rng() * 256) | 0;
  return buf;
}

const WORDS = [
  'stream',
  'house',
  'kafka',
  'offset',
  'batch',
  'Grüße',
  '日本語',
  'emoji 🚀',
  '{"id":',
  '}',
  ' ',
  '\n',
];

function text(rng: () => number, length: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const w = WORDS[Math.floor(rng() * WORDS.length)]!;
    parts.push(w);
    size += Buffer.byteLength(w);
  }
  return Buffer.from(parts.join(''), 'utf8');
}

export interface SampleOptions {
  /** Allow null keys and values (not every client tool can express them). Default true. */
  nulls?: boolean;
  /** Allow bytes that are not valid UTF-8 in keys and values. Default true. */
  binary?: boolean;
  /** Largest value, in bytes. Default 64 KiB. */
  maxValueBytes?: number;
  /** Allow header values that are not valid UTF-8. Default true. */
  binaryHeaders?: boolean;
}

/**
 * `count` records from `seed`: record i's key and value vary by i so every special case shows up
 * in any run of a dozen or more.
 */
export function sampleRecords(seed: number, count: number, options: SampleOptions = {}): TestRecord[] {
  const rng = makeRng(seed);
  const nulls = options.nulls ?? true;
  const binary = options.binary ?? true;
  const binaryHeaders = options.binaryHeaders ?? true;
  const maxValueBytes = options.maxValueBytes ?? 64 * 1024;
  const bytes = (n: number) => (binary && rng() < 0.5 ? randomBytes(rng, n) : text(rng, n).subarray(0, n));
  return Array.from({ length: count }, (_, i): TestRecord => {
    let key: Buffer | null;
    if (nulls && i % 6 === 1) key = null;
    else if (i % 6 === 2) key = Buffer.alloc(0);
    else key = i % 2 === 0 ? Buffer.from(`key-${i}-ключ`, 'utf8') : bytes(1 + Math.floor(rng() * 40));
    let value: Buffer | null;
    // A null value only with a key (a tombstone): kafka-python refuses a record with neither.
    if (nulls && i % 11 === 5 && key !== null) value = null;
    else if (i % 11 === 7) value = Buffer.alloc(0);
    else if (i % 17 === 3) value = text(rng, maxValueBytes).subarray(0, maxValueBytes);
    else value = bytes(1 + Math.floor(rng() * 600));
    const headers: TestHeader[] = [];
    if (i % 3 !== 0) headers.push({ key: 'trace-id', value: Buffer.from(`t-${seed}-${i}`) });
    if (i % 4 === 1) headers.push({ key: 'ünïcode-кey', value: Buffer.from('välue ✓', 'utf8') });
    if (binaryHeaders && i % 5 === 2) headers.push({ key: 'bin', value: randomBytes(rng, 16) });
    if (i % 7 === 4)
      headers.push(
        { key: 'trace-id', value: Buffer.from('repeated key') },
        { key: 'empty', value: Buffer.alloc(0) },
      );
    return { key, value, headers };
  });
}

function show(b: Buffer | null): string {
  if (b === null) return 'null';
  const hex = b.subarray(0, 24).toString('hex');
  return `${b.length} bytes ${hex}${b.length > 24 ? '…' : ''}`;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

/** Null if `got` has exactly `want`'s keys, values and headers, in order; else the first difference. */
export function firstDifference(
  got: readonly Pick<ReadRecord, 'key' | 'value' | 'headers' | 'offset'>[],
  want: readonly TestRecord[],
): string | null {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (g === undefined) return `record ${i}: missing (got ${got.length} of ${want.length})`;
    if (w === undefined)
      return `record ${i} (offset ${g.offset}): unexpected extra record (want ${want.length})`;
    const where = `record ${i} (offset ${g.offset})`;
    if (!sameBytes(g.key, w.key)) return `${where}: key ${show(g.key)} ≠ ${show(w.key)}`;
    if (!sameBytes(g.value, w.value)) return `${where}: value ${show(g.value)} ≠ ${show(w.value)}`;
    if (g.headers.length !== w.headers.length)
      return `${where}: ${g.headers.length} headers ≠ ${w.headers.length}`;
    for (let h = 0; h < w.headers.length; h++) {
      const gh = g.headers[h]!;
      const wh = w.headers[h]!;
      if (gh.key !== wh.key)
        return `${where}: header ${h} key ${JSON.stringify(gh.key)} ≠ ${JSON.stringify(wh.key)}`;
      if (!sameBytes(gh.value, wh.value))
        return `${where}: header ${h} value ${show(gh.value)} ≠ ${show(wh.value)}`;
    }
  }
  return null;
}

/** Offsets `from`, `from + 1`, ... ? Null if so, else the first gap. */
export function offsetGap(got: readonly { offset: bigint }[], from = 0n): string | null {
  for (let i = 0; i < got.length; i++) {
    if (got[i]!.offset !== from + BigInt(i))
      return `record ${i} has offset ${got[i]!.offset}, expected ${from + BigInt(i)}`;
  }
  return null;
}

/**
 * Assert the batches of `fetched` carry `codec`. Clients may send a batch uncompressed when
 * compressing did not shrink it (kafka-python's _maybe_compress, librdkafka likewise), so
 * uncompressed batches are allowed as long as at least one batch used the codec.
 */
export function checkStoredCodec(
  t: TapTest,
  fetched: readonly ReadRecord[],
  codec: CompressionName,
  what: string,
): void {
  const seen = [...new Set(fetched.map((r) => r.batchAttributes & 0x07))].sort();
  const id = CompressionCodec[codec];
  t.ok(
    seen.includes(id) && seen.every((c) => c === id || c === 0),
    `${what}: batches stored as ${codec} (or none where that is smaller)`,
    { seen },
  );
}
