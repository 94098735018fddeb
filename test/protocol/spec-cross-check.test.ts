// Every definition in the registry against Apache Kafka's JSON message specs (reference only, read
// from ../shared/kafka-protocol/messages next to the repository; never copied into the project).
//
// For the request and the response of each API it checks apiKey, validVersions, flexibleVersions
// and, struct by struct, the field list: count and order, names (lowerCamelCase of the spec name),
// types (primitives, arrays of primitives or structs, structs resolved inline or via commonStructs),
// versions, nullableVersions, tag / taggedVersions, field-level flexibleVersions and defaults.
// Version ranges are compared as sets clipped to the API's valid versions, so "0+" and "0-11" agree
// for an API whose versions are 0-11. Every mismatch is reported with its path, not just the first.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { allApiCodecs } from '../../protocol/codec.js';
import { type Field, type Fields, parseVersions } from '../../protocol/schema/schema.js';

const PRIMITIVES = new Set([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'int64',
  'float64',
  'string',
  'bytes',
  'uuid',
  'records',
]);

interface SpecField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  flexibleVersions?: string;
  ignorable?: boolean;
  fields?: SpecField[];
}

interface SpecMessage {
  apiKey: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: SpecField[];
  commonStructs?: { name: string; versions?: string; fields: SpecField[] }[];
}

/** The repository root: the first directory above this file that holds package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test file');
    dir = up;
  }
}

/** Remove `//` and `/* *\/` comments outside string literals. */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 1;
    } else out += c;
  }
  return out;
}

const lowerCamel = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

interface Range {
  min: number;
  max: number;
}

function clip(spec: string | undefined, within: Range): Range | null {
  if (spec === undefined) return null;
  const r = parseVersions(spec);
  const min = Math.max(r.min, within.min);
  const max = Math.min(r.max, within.max);
  return min > max ? null : { min, max };
}

function showRange(r: Range | null): string {
  if (r === null) return 'none';
  return r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
}

function sameRange(a: Range | null, b: Range | null): boolean {
  if (a === null || b === null) return a === b;
  return a.min === b.min && a.max === b.max;
}

/** A spec default (or the implied one when absent) as the JS value our definitions use. */
function specDefault(f: SpecField, isNullableSomewhere: boolean): unknown {
  const d = f.default;
  const type = f.type;
  if (type.startsWith('[]')) return d === 'null' ? null : 'EMPTY_ARRAY';
  if (!PRIMITIVES.has(type)) return d === 'null' ? null : 'STRUCT_DEFAULTS';
  if (d === undefined) {
    switch (type) {
      case 'bool':
        return false;
      case 'int64':
        return 0n;
      case 'string':
        return '';
      case 'bytes':
        return 'EMPTY_BYTES';
      case 'uuid':
        return '00000000-0000-0000-0000-000000000000';
      case 'records':
        return null;
      default:
        return 0;
    }
  }
  if (d === 'null' && isNullableSomewhere) return null;
  switch (type) {
    case 'bool':
      return d === true || d === 'true';
    case 'int64':
      return BigInt(String(d).trim());
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'float64':
      return Number(String(d).trim());
    default:
      return d;
  }
}

/** Our field's default, normalised the same way (undefined means "the type's implied default"). */
function ourDefault(f: Field): unknown {
  const d = f.options.default;
  if (f.kind === 'array') return d === null ? null : d === undefined ? 'EMPTY_ARRAY' : d;
  if (f.kind === 'struct') return d === null ? null : d === undefined ? 'STRUCT_DEFAULTS' : d;
  if (d !== undefined) {
    if (f.type === 'int64' && (typeof d === 'number' || typeof d === 'string')) return BigInt(d);
    return d;
  }
  switch (f.type) {
    case 'bool':
      return false;
    case 'int64':
      return 0n;
    case 'string':
      return '';
    case 'bytes':
      return 'EMPTY_BYTES';
    case 'uuid':
      return '00000000-0000-0000-0000-000000000000';
    case 'records':
      return null;
    default:
      return 0;
  }
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  return JSON.stringify(v) ?? String(v);
}

class Checker {
  readonly problems: string[] = [];
  constructor(
    private readonly valid: Range,
    private readonly structs: Map<string, SpecField[]>,
  ) {}

  private report(path: string, what: string): void {
    this.problems.push(`${path}: ${what}`);
  }

  /** The spec's fields of a struct type: inline `fields`, else the named commonStruct. */
  private structFields(f: SpecField, typeName: string, path: string): SpecField[] | null {
    if (f.fields !== undefined) return f.fields;
    const common = this.structs.get(typeName);
    if (common === undefined) this.report(path, `struct type ${typeName} has no fields in the spec`);
    return common ?? null;
  }

  compareFields(spec: SpecField[], ours: Fields, path: string): void {
    const ourNames = Object.keys(ours);
    const specNames = spec.map((s) => lowerCamel(s.name));
    if (ourNames.join() !== specNames.join()) {
      const missing = specNames.filter((n) => !ourNames.includes(n));
      const extra = ourNames.filter((n) => !specNames.includes(n));
      this.report(
        path,
        `fields [${ourNames.join(', ')}] != spec [${specNames.join(', ')}]` +
          (ourNames.length !== specNames.length ? ` (count ${ourNames.length} != ${specNames.length})` : '') +
          (missing.length ? `; missing: ${missing.join(', ')}` : '') +
          (extra.length ? `; not in the spec: ${extra.join(', ')}` : '') +
          (!missing.length && !extra.length ? '; same names, different order' : ''),
      );
    }
    // Field details are compared by name, so one misplaced field does not cascade.
    for (const s of spec) {
      const name = lowerCamel(s.name);
      const field = ours[name];
      if (field !== undefined) this.field(s, field, `${path}.${name}`);
    }
  }

  private field(s: SpecField, o: Field, path: string): void {
    const fieldVersions = clip(s.versions ?? '0+', this.valid);
    const ourVersions = clip(o.versions, this.valid);
    if (!sameRange(fieldVersions, ourVersions))
      this.report(
        path,
        `versions ${showRange(ourVersions)} != spec ${s.versions} (${showRange(fieldVersions)})`,
      );
    const within = fieldVersions ?? this.valid;

    const specNullable = clip(s.nullableVersions, within);
    const ourNullable = clip(o.options.nullable, within);
    if (!sameRange(specNullable, ourNullable))
      this.report(
        path,
        `nullableVersions ${showRange(ourNullable)} != spec ${s.nullableVersions ?? 'none'} (${showRange(specNullable)})`,
      );

    if (s.tag !== o.options.tag) this.report(path, `tag ${o.options.tag} != spec ${s.tag}`);
    if (s.tag !== undefined || o.options.tag !== undefined) {
      const specTagged = clip(s.taggedVersions, within);
      const ourTagged = clip(o.options.tagged ?? o.versions, within);
      if (!sameRange(specTagged, ourTagged))
        this.report(
          path,
          `taggedVersions ${showRange(ourTagged)} != spec ${s.taggedVersions} (${showRange(specTagged)})`,
        );
    }

    if (s.flexibleVersions !== undefined || o.options.flexible !== undefined) {
      const a = clip(s.flexibleVersions ?? '0+', within);
      const b = clip(o.options.flexible ?? '0+', within);
      if (!sameRange(a, b))
        this.report(path, `flexibleVersions ${o.options.flexible} != spec ${s.flexibleVersions}`);
    }

    if (o.options.ignorable !== undefined && o.options.ignorable !== (s.ignorable ?? false))
      this.report(path, `ignorable ${o.options.ignorable} != spec ${s.ignorable ?? false}`);

    const sd = specDefault(s, s.nullableVersions !== undefined);
    const od = ourDefault(o);
    if (!Object.is(sd, od))
      this.report(
        path,
        `default ${show(od)} != spec ${s.default === undefined ? '(none)' : show(s.default)} (${show(sd)})`,
      );

    this.type(s, o, path);
  }

  private type(s: SpecField, o: Field, path: string): void {
    const t = s.type;
    if (t.startsWith('[]')) {
      const element = t.slice(2);
      if (o.kind !== 'array') {
        this.report(path, `type ${o.kind} != spec ${t} (an array)`);
        return;
      }
      if (PRIMITIVES.has(element)) {
        if (o.element !== element)
          this.report(
            path,
            `element ${typeof o.element === 'string' ? o.element : 'struct'} != spec ${element}`,
          );
        return;
      }
      if (typeof o.element === 'string') {
        this.report(path, `element ${o.element} != spec struct ${element}`);
        return;
      }
      const fields = this.structFields(s, element, path);
      if (fields) this.compareFields(fields, o.element, `${path}[]`);
      return;
    }
    if (PRIMITIVES.has(t)) {
      if (o.kind !== 'primitive') this.report(path, `type ${o.kind} != spec ${t}`);
      else if (o.type !== t) this.report(path, `type ${o.type} != spec ${t}`);
      return;
    }
    if (o.kind !== 'struct') {
      this.report(path, `type ${o.kind === 'primitive' ? o.type : o.kind} != spec struct ${t}`);
      return;
    }
    const fields = this.structFields(s, t, path);
    if (fields) this.compareFields(fields, o.fields, path);
  }
}

const root = repoRoot();
const specDir = join(root, '..', 'shared', 'kafka-protocol', 'messages');
const absent = !existsSync(specDir);

t.test(
  'message definitions match the Kafka JSON specs',
  { skip: absent ? `spec folder ${specDir} is absent; nothing to cross-check` : false },
  async (t) => {
    const codecs = allApiCodecs();
    t.ok(codecs.length > 0, 'the registry is not empty');
    for (const codec of codecs) {
      const def = codec.def;
      t.test(`${def.name} (key ${def.apiKey})`, async (t) => {
        const problems: string[] = [];
        const ourValid = parseVersions(def.versions);
        for (const side of ['request', 'response'] as const) {
          const suffix = side === 'request' ? 'Request' : 'Response';
          const file = join(specDir, `${def.name}${suffix}.json`);
          if (!existsSync(file)) {
            problems.push(
              `${def.name}${suffix}: spec file ${file} not found (is the definition's name right?)`,
            );
            continue;
          }
          const spec = JSON.parse(stripJsonComments(readFileSync(file, 'utf8'))) as SpecMessage;
          const where = `${def.name}${suffix}`;
          if (spec.type !== side) problems.push(`${where}: spec type is ${spec.type}`);
          if (spec.apiKey !== def.apiKey)
            problems.push(`${where}: apiKey ${def.apiKey} != spec ${spec.apiKey}`);
          const specValid = parseVersions(spec.validVersions);
          if (!sameRange(specValid, ourValid))
            problems.push(`${where}: validVersions ${def.versions} != spec ${spec.validVersions}`);
          const clipTo: Range = { min: ourValid.min, max: ourValid.max };
          const specFlex = clip(spec.flexibleVersions, clipTo);
          const ourFlex = clip(def.flexible, clipTo);
          if (!sameRange(specFlex, ourFlex))
            problems.push(`${where}: flexibleVersions ${def.flexible} != spec ${spec.flexibleVersions}`);
          const structs = new Map((spec.commonStructs ?? []).map((c) => [c.name, c.fields]));
          const checker = new Checker(clipTo, structs);
          checker.compareFields(spec.fields, side === 'request' ? def.request : def.response, where);
          problems.push(...checker.problems);
        }
        if (problems.length === 0) t.pass(`${def.name} matches the spec`);
        for (const p of problems) t.fail(p);
      });
    }
  },
);

t.test('comment stripping keeps strings intact', async (t) => {
  const text = '{ "a": "x // not a comment", // gone\n "b": 1 /* gone */ }';
  t.same(JSON.parse(stripJsonComments(text)), { a: 'x // not a comment', b: 1 });
});
