/**
 * CRC-32C (Castagnoli), the checksum of a magic-2 record batch over bytes [21, end of batch).
 *
 * Grammar: reflected CRC, polynomial 0x1EDC6F41 (reversed 0x82F63B78), initial value and final
 * XOR 0xFFFFFFFF; check value of "123456789" is 0xE3069283.
 *
 * `crc32c(buf, previous)` continues a CRC: crc32c(b, crc32c(a)) === crc32c(a ‖ b).
 *
 * The native `@node-rs/crc32` (prebuilt, SSE4.2 / ARMv8 CRC instructions) is used when it loads;
 * otherwise a pure-JS slicing-by-8 table implementation (about a quarter of the speed) takes over,
 * so the protocol layer never depends on a native build being present.
 */
import { createRequire } from 'node:module';

export type Crc32cFunction = (buf: Uint8Array, initial?: number) => number;

const REVERSED_POLYNOMIAL = 0x82f63b78;

/**
 * 8 tables of 256 entries, laid out back to back: table k at [k * 256, k * 256 + 256). Int32Array,
 * not Uint32Array: entries ≥ 2^31 would otherwise be read as doubles and slow the loop down.
 */
const TABLES: Int32Array = (() => {
  const tables = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ REVERSED_POLYNOMIAL : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!;
    for (let k = 1; k < 8; k++) {
      c = tables[c & 0xff]! ^ (c >>> 8);
      tables[k * 256 + n] = c;
    }
  }
  return tables;
})();

/** Pure-JS CRC-32C, slicing-by-8. Always available; used when the native module is not. */
export function crc32cJs(buf: Uint8Array, initial = 0): number {
  const t = TABLES;
  let crc = ~initial;
  let i = 0;
  const len = buf.length;
  const end8 = len - (len & 7);
  while (i < end8) {
    const lo = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
    i += 8;
  }
  while (i < len) {
    crc = t[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
    i++;
  }
  return ~crc >>> 0;
}

function loadNative(): Crc32cFunction | null {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@node-rs/crc32') as {
      crc32c?: (input: Uint8Array, initialState?: number) => number;
    };
    const fn = mod.crc32c;
    if (typeof fn !== 'function') return null;
    // Refuse a binding that does not compute what we expect (wrong polynomial or seeding).
    if (fn(new TextEncoder().encode('123456789'), 0) >>> 0 !== 0xe3069283) return null;
    return (buf, initial = 0) => fn(buf, initial) >>> 0;
  } catch {
    return null;
  }
}

/** The native implementation, or null when `@node-rs/crc32` could not be loaded. */
export const crc32cNative: Crc32cFunction | null = loadNative();

/** Which implementation `crc32c` uses. */
export const crc32cImplementation: 'native' | 'js' = crc32cNative ? 'native' : 'js';

/** CRC-32C of `buf`, continuing from `initial` (0 to start). Returns an unsigned 32-bit number. */
export const crc32c: Crc32cFunction = crc32cNative ?? crc32cJs;
