// Random, valid values for any message definition at a given version: the source of the
// round-trip tests (every API × version × direction) and of the fuzz corpus.
import { type Field, type Fields, inVersions } from '../../../protocol/schema/schema.js';

export type Rng = () => number;

/** Small deterministic PRNG (mulberry32) so failures reproduce from the seed. */
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

function randomString(rng: Rng): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_.é€😀';
  let s = '';
  const n = int(rng, 0, 12);
  for (let i = 0; i < n; i++) s += [...alphabet][int(rng, 0, [...alphabet].length - 1)];
  return s;
}

function randomUuid(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => int(rng, 0, 15).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function randomPrimitive(type: string, rng: Rng): unknown {
  switch (type) {
    case 'bool':
      return rng() < 0.5;
    case 'int8':
      return int(rng, -128, 127);
    case 'int16':
      return int(rng, -32768, 32767);
    case 'uint16':
      return int(rng, 0, 65535);
    case 'int32':
      return int(rng, -2147483648, 2147483647);
    case 'int64':
      return BigInt.asIntN(64, (BigInt(int(rng, 0, 0xffffffff)) << 32n) | BigInt(int(rng, 0, 0xffffffff)));
    case 'float64':
      return (rng() - 0.5) * 1e6;
    case 'string':
      return randomString(rng);
    case 'bytes':
    case 'records':
      return Buffer.from(Array.from({ length: int(rng, 0, 20) }, () => int(rng, 0, 255)));
    case 'uuid':
      return randomUuid(rng);
    default:
      throw new Error(`unknown type ${type}`);
  }
}

function randomField(f: Field, version: number, rng: Rng, depth: number): unknown {
  const nullable = f.options.nullable !== undefined && inVersions(f.options.nullable, version);
  if (nullable && rng() < 0.2) return null;
  if (f.kind === 'primitive') return randomPrimitive(f.type, rng);
  if (f.kind === 'struct') return randomStruct(f.fields, version, rng, depth + 1);
  const n = depth > 3 ? 0 : int(rng, 0, 3);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      typeof f.element === 'string'
        ? randomPrimitive(f.element, rng)
        : randomStruct(f.element, version, rng, depth + 1),
    );
  }
  return out;
}

/** A value with every field that exists at `version` set (tagged fields sometimes left out). */
export function randomStruct(fields: Fields, version: number, rng: Rng, depth = 0): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(fields)) {
    if (!inVersions(f.versions, version)) continue;
    if (f.options.tag !== undefined && rng() < 0.3) continue;
    o[name] = randomField(f, version, rng, depth);
  }
  return o;
}

/**
 * Compare a decoded value with the value that was encoded, looking only at fields that exist at
 * `version`. Returns a path describing the first difference, or null.
 */
export function diffStruct(
  fields: Fields,
  version: number,
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
  path = '',
): string | null {
  for (const [name, f] of Object.entries(fields)) {
    if (!inVersions(f.versions, version)) continue;
    if (!(name in expected)) continue; // omitted tagged field: decoder supplies the default
    const d = diffValue(f, version, expected[name], actual[name], `${path}.${name}`);
    if (d) return d;
  }
  return null;
}

function diffValue(
  f: Field | string | Fields,
  version: number,
  e: unknown,
  a: unknown,
  path: string,
): string | null {
  if (e === null || a === null) return e === a ? null : `${path}: expected ${String(e)} got ${String(a)}`;
  if (typeof f === 'string' || (typeof f === 'object' && 'kind' in f && f.kind === 'primitive')) {
    if (Buffer.isBuffer(e)) return Buffer.isBuffer(a) && e.equals(a) ? null : `${path}: bytes differ`;
    if (typeof e === 'bigint' || typeof a === 'bigint')
      return BigInt(e as bigint) === BigInt(a as bigint) ? null : `${path}: ${e} != ${a}`;
    return Object.is(e, a) ? null : `${path}: expected ${JSON.stringify(e)} got ${JSON.stringify(a)}`;
  }
  if (!('kind' in f))
    return diffStruct(f as Fields, version, e as Record<string, unknown>, a as Record<string, unknown>, path);
  const field = f as Field;
  if (field.kind === 'struct')
    return diffStruct(
      field.fields,
      version,
      e as Record<string, unknown>,
      a as Record<string, unknown>,
      path,
    );
  if (field.kind === 'array') {
    const ea = e as unknown[];
    const aa = a as unknown[];
    if (!Array.isArray(aa) || ea.length !== aa.length) return `${path}: array length differs`;
    for (let i = 0; i < ea.length; i++) {
      const d = diffValue(field.element as string | Fields, version, ea[i], aa[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  return null;
}
