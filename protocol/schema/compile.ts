/**
 * Compiles a field map (schema.ts) into a specialised decoder and encoder for one version.
 *
 * Codecs are generated as JavaScript source and instantiated with `new Function` on first use of a
 * (message, version), then cached: each generated function is straight-line code over the Reader /
 * Writer methods with no per-field interpretation at run time (why: docs/adr/0001-compiled-codecs.md;
 * bench/protocol.ts measures the result). Generated decoders build object literals with a fixed field order,
 * so V8 sees one hidden class per (message, version).
 *
 * Decoders throw only ProtocolError (from Reader, or here for structural problems). Encoders throw
 * ProtocolError('INVALID_VALUE') for values a version cannot carry (e.g. null where not nullable).
 */
import { ProtocolError } from '../primitives/errors.js';
import { Reader, ZERO_UUID } from '../primitives/reader.js';
import { Writer } from '../primitives/writer.js';
import { type Field, type Fields, inVersions, type PrimitiveType } from './schema.js';

export type DecodeFn = (r: Reader) => Record<string, unknown>;
export type EncodeFn = (w: Writer, value: Record<string, unknown>) => void;

const EMPTY_BUFFER = Buffer.alloc(0);

interface Context {
  version: number;
  flexible: boolean;
  functions: string[];
  counter: number;
}

function isTaggedIn(field: Field, ctx: Context): boolean {
  if (field.options.tag === undefined || !ctx.flexible) return false;
  return inVersions(field.options.tagged ?? field.versions, ctx.version);
}

function isNullableIn(field: Field, ctx: Context): boolean {
  const n = field.options.nullable;
  return n !== undefined && inVersions(n, ctx.version);
}

function isCompact(field: Field, ctx: Context): boolean {
  if (!ctx.flexible) return false;
  const override = field.options.flexible;
  return override === undefined || inVersions(override, ctx.version);
}

const FIXED_SIZE: Partial<Record<PrimitiveType, number>> = {
  bool: 1,
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  int64: 8,
  float64: 8,
  uuid: 16,
};

/** Smallest number of bytes one struct can occupy on the wire at this version. */
function minStructBytes(fields: Fields, ctx: Context): number {
  let n = ctx.flexible ? 1 : 0;
  for (const f of Object.values(fields)) {
    if (!inVersions(f.versions, ctx.version) || isTaggedIn(f, ctx)) continue;
    n += minFieldBytes(f, ctx);
  }
  return n;
}

function minFieldBytes(f: Field, ctx: Context): number {
  const compact = isCompact(f, ctx);
  if (f.kind === 'primitive') {
    const fixed = FIXED_SIZE[f.type];
    if (fixed !== undefined) return fixed;
    if (f.type === 'string') return compact ? 1 : 2;
    return compact ? 1 : 4; // bytes, records
  }
  if (f.kind === 'array') return compact ? 1 : 4;
  return isNullableIn(f, ctx) ? 1 : minStructBytes(f.fields, ctx);
}

function minElementBytes(element: PrimitiveType | Fields, ctx: Context, compact: boolean): number {
  if (typeof element === 'string') {
    const fixed = FIXED_SIZE[element];
    if (fixed !== undefined) return fixed;
    return element === 'string' ? (compact ? 1 : 2) : compact ? 1 : 4;
  }
  return minStructBytes(element, ctx);
}

// ---- defaults ---------------------------------------------------------------------------------

function literal(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  throw new Error(`unsupported default ${String(v)}`);
}

function primitiveDefault(type: PrimitiveType, explicit: unknown): string {
  if (explicit !== undefined) {
    if (type === 'int64' && typeof explicit === 'number') return `${explicit}n`;
    if (type === 'int64' && typeof explicit === 'string') return `${BigInt(explicit)}n`;
    return literal(explicit);
  }
  switch (type) {
    case 'bool':
      return 'false';
    case 'int64':
      return '0n';
    case 'string':
      return '""';
    case 'bytes':
      return 'EMPTY';
    case 'uuid':
      return 'ZERO_UUID';
    case 'records':
      return 'null';
    default:
      return '0';
  }
}

/** JS expression producing a fresh default value for a field. */
function defaultExpr(f: Field, ctx: Context): string {
  if (f.kind === 'primitive') return primitiveDefault(f.type, f.options.default);
  if (f.kind === 'array') return f.options.default === null ? 'null' : '[]';
  if (f.options.default === null) return 'null';
  return `${structDefaults(f.fields, ctx)}()`;
}

function structDefaults(fields: Fields, ctx: Context): string {
  const name = `dflt${ctx.counter++}`;
  const parts = Object.entries(fields).map(([k, f]) => `${JSON.stringify(k)}: ${defaultExpr(f, ctx)}`);
  ctx.functions.push(`function ${name}() { return { ${parts.join(', ')} }; }`);
  return name;
}

// ---- decoder ----------------------------------------------------------------------------------

function primitiveDecodeExpr(type: PrimitiveType, nullable: boolean, compact: boolean): string {
  switch (type) {
    case 'string':
      return compact
        ? nullable
          ? 'r.compactNullableString()'
          : 'r.compactString()'
        : nullable
          ? 'r.nullableString()'
          : 'r.string()';
    case 'bytes':
      return compact
        ? nullable
          ? 'r.compactNullableBytes()'
          : 'r.compactBytes()'
        : nullable
          ? 'r.nullableBytes()'
          : 'r.bytes()';
    case 'records':
      return compact ? 'r.compactNullableBytes()' : 'r.nullableBytes()';
    default:
      return `r.${type}()`;
  }
}

/** Emit statements that decode field `f` into the local variable `target`. */
function decodeFieldInto(f: Field, name: string, target: string, ctx: Context, out: string[]): void {
  const nullable = isNullableIn(f, ctx);
  const compact = isCompact(f, ctx);
  if (f.kind === 'primitive') {
    out.push(`${target} = ${primitiveDecodeExpr(f.type, nullable, compact)};`);
    return;
  }
  if (f.kind === 'struct') {
    const fn = structDecoder(f.fields, ctx);
    out.push(nullable ? `${target} = r.int8() < 0 ? null : ${fn}(r);` : `${target} = ${fn}(r);`);
    return;
  }
  const n = `n${ctx.counter++}`;
  const i = `i${ctx.counter++}`;
  const a = `a${ctx.counter++}`;
  const min = minElementBytes(f.element, ctx, compact);
  out.push(`const ${n} = ${compact ? `r.compactArrayLength(${min})` : `r.arrayLength(${min})`};`);
  out.push(`if (${n} < 0) {`);
  out.push(
    nullable
      ? `${target} = null;`
      : `throw new ProtocolError('INVALID_LENGTH', ${JSON.stringify(`null array in non-nullable field ${name}`)});`,
  );
  out.push(`} else { const ${a} = [];`);
  const elem =
    typeof f.element === 'string'
      ? primitiveDecodeExpr(f.element, false, compact)
      : `${structDecoder(f.element, ctx)}(r)`;
  out.push(`for (let ${i} = 0; ${i} < ${n}; ${i}++) ${a}.push(${elem});`);
  out.push(`${target} = ${a}; }`);
}

function structDecoder(fields: Fields, ctx: Context): string {
  const name = `dec${ctx.counter++}`;
  const body: string[] = [];
  const entries = Object.entries(fields);
  const locals: string[] = [];
  const tagged: { tag: number; field: Field; local: string; name: string }[] = [];
  entries.forEach(([fieldName, f], idx) => {
    const local = `f${idx}`;
    locals.push(`${JSON.stringify(fieldName)}: ${local}`);
    if (!inVersions(f.versions, ctx.version)) {
      body.push(`const ${local} = ${defaultExpr(f, ctx)};`);
      return;
    }
    if (isTaggedIn(f, ctx)) {
      body.push(`let ${local} = ${defaultExpr(f, ctx)};`);
      tagged.push({ tag: f.options.tag!, field: f, local, name: fieldName });
      return;
    }
    body.push(`let ${local};`);
    decodeFieldInto(f, fieldName, local, ctx, body);
  });
  body.push('let unknownTags;');
  if (ctx.flexible) {
    body.push('{ const count = r.unsignedVarint();');
    body.push('for (let k = 0; k < count; k++) {');
    body.push('const tag = r.unsignedVarint(); const size = r.unsignedVarint(); r.need(size);');
    body.push('const end = r.offset + size; const outerEnd = r.end; r.end = end;');
    body.push('switch (tag) {');
    for (const t of tagged) {
      const stmts: string[] = [];
      decodeFieldInto(t.field, t.name, t.local, ctx, stmts);
      body.push(`case ${t.tag}: { ${stmts.join(' ')} break; }`);
    }
    body.push('default: (unknownTags ??= []).push({ tag, data: r.raw(size) });');
    body.push('}');
    body.push(
      "if (r.offset !== end) throw new ProtocolError('INVALID_LENGTH', 'tagged field ' + tag + ' size mismatch');",
    );
    body.push('r.end = outerEnd; } }');
  }
  body.push(`const o = { ${locals.join(', ')} };`);
  body.push('if (unknownTags !== undefined) o._unknownTaggedFields = unknownTags;');
  body.push('return o;');
  ctx.functions.push(`function ${name}(r) {\n${body.join('\n')}\n}`);
  return name;
}

// ---- encoder ----------------------------------------------------------------------------------

function primitiveEncodeStmt(
  type: PrimitiveType,
  nullable: boolean,
  compact: boolean,
  v: string,
  w: string,
  fieldName: string,
): string {
  const nullCheck = `if (${v} === null) throw new ProtocolError('INVALID_VALUE', ${JSON.stringify(`null in non-nullable field ${fieldName}`)});`;
  switch (type) {
    case 'string':
      if (nullable) return `${w}.${compact ? 'compactNullableString' : 'nullableString'}(${v});`;
      return `${nullCheck} ${w}.${compact ? 'compactString' : 'string'}(${v});`;
    case 'bytes':
      if (nullable) return `${w}.${compact ? 'compactNullableBytes' : 'nullableBytes'}(${v});`;
      return `${nullCheck} ${w}.${compact ? 'compactBytes' : 'bytes'}(${v});`;
    case 'records':
      return `${w}.records(${v}, ${compact});`;
    default:
      return `${w}.${type}(${v});`;
  }
}

function encodeFieldStmts(
  f: Field,
  fieldName: string,
  v: string,
  w: string,
  ctx: Context,
  out: string[],
): void {
  const nullable = isNullableIn(f, ctx);
  const compact = isCompact(f, ctx);
  const nullError = `throw new ProtocolError('INVALID_VALUE', ${JSON.stringify(`null in non-nullable field ${fieldName}`)});`;
  if (f.kind === 'primitive') {
    out.push(primitiveEncodeStmt(f.type, nullable, compact, v, w, fieldName));
    return;
  }
  if (f.kind === 'struct') {
    const fn = structEncoder(f.fields, ctx);
    if (nullable) out.push(`if (${v} === null) ${w}.int8(-1); else { ${w}.int8(1); ${fn}(${w}, ${v}); }`);
    else out.push(`if (${v} === null) ${nullError} ${fn}(${w}, ${v});`);
    return;
  }
  const e = `e${ctx.counter++}`;
  const nullStmt = nullable ? (compact ? `${w}.unsignedVarint(0);` : `${w}.int32(-1);`) : nullError;
  out.push(`if (${v} === null) { ${nullStmt} } else {`);
  out.push(compact ? `${w}.compactArrayLength(${v}.length);` : `${w}.arrayLength(${v}.length);`);
  const elemStmt =
    typeof f.element === 'string'
      ? primitiveEncodeStmt(f.element, false, compact, e, w, `${fieldName}[]`)
      : `${structEncoder(f.element, ctx)}(${w}, ${e});`;
  out.push(`for (const ${e} of ${v}) { ${elemStmt} } }`);
}

/** Expression true when a tagged field's value must be written (it differs from its default). */
function taggedPresentExpr(f: Field, v: string, ctx: Context): string {
  if (f.kind === 'primitive') {
    const d = defaultExpr(f, ctx);
    if (f.type === 'int64') return `(${v} !== undefined && BigInt(${v}) !== ${d})`;
    if (f.type === 'bytes' || f.type === 'records')
      return `(${v} !== undefined && ${v} !== null && ${v}.length > 0)`;
    return `(${v} !== undefined && ${v} !== ${d})`;
  }
  if (f.kind === 'array')
    return `(${v} !== undefined && (${v} === null ? ${f.options.default !== null} : ${v}.length > 0))`;
  return `(${v} !== undefined && ${v} !== null && !${structIsDefault(f.fields, ctx)}(${v}))`;
}

/** Name of a generated predicate: does a struct value equal the struct's defaults everywhere? */
function structIsDefault(fields: Fields, ctx: Context): string {
  const name = `isdflt${ctx.counter++}`;
  const checks = Object.entries(fields).map(([k, f]) => {
    const v = `s[${JSON.stringify(k)}]`;
    return `(${v} === undefined || !${taggedPresentExpr(f, v, ctx)})`;
  });
  ctx.functions.push(`function ${name}(s) { return ${checks.length ? checks.join(' && ') : 'true'}; }`);
  return name;
}

function structEncoder(fields: Fields, ctx: Context): string {
  const name = `enc${ctx.counter++}`;
  const body: string[] = ['let v;'];
  const tagged: { tag: number; field: Field; name: string }[] = [];
  for (const [fieldName, f] of Object.entries(fields)) {
    if (!inVersions(f.versions, ctx.version)) continue;
    if (isTaggedIn(f, ctx)) {
      tagged.push({ tag: f.options.tag!, field: f, name: fieldName });
      continue;
    }
    body.push(`v = o[${JSON.stringify(fieldName)}]; if (v === undefined) v = ${defaultExpr(f, ctx)};`);
    encodeFieldStmts(f, fieldName, 'v', 'w', ctx, body);
  }
  if (ctx.flexible) {
    body.push('let tags;');
    for (const t of tagged.sort((a, b) => a.tag - b.tag)) {
      const stmts: string[] = [];
      encodeFieldStmts(t.field, t.name, 'v', 'tw', ctx, stmts);
      body.push(`v = o[${JSON.stringify(t.name)}];`);
      body.push(
        `if (${taggedPresentExpr(t.field, 'v', ctx)}) { const tw = new Writer(64); ${stmts.join(' ')} (tags ??= []).push({ tag: ${t.tag}, data: tw.toBuffer() }); }`,
      );
    }
    body.push('const unknown = o._unknownTaggedFields;');
    body.push('if (unknown !== undefined && unknown.length > 0) { tags = (tags ?? []).concat(unknown); }');
    body.push('if (tags === undefined) w.unsignedVarint(0); else {');
    body.push('tags.sort((a, b) => a.tag - b.tag); w.unsignedVarint(tags.length);');
    body.push(
      'for (const t of tags) { w.unsignedVarint(t.tag); w.unsignedVarint(t.data.length); w.raw(t.data); } }',
    );
  }
  ctx.functions.push(`function ${name}(w, o) {\n${body.join('\n')}\n}`);
  return name;
}

// ---- entry points -----------------------------------------------------------------------------

function instantiate<T>(ctx: Context, entry: string): T {
  const src = `${ctx.functions.join('\n')}\nreturn ${entry};`;
  const factory = new Function('ProtocolError', 'Writer', 'EMPTY', 'ZERO_UUID', src) as (
    ...args: unknown[]
  ) => T;
  return factory(ProtocolError, Writer, EMPTY_BUFFER, ZERO_UUID);
}

export function compileDecoder(fields: Fields, version: number, flexible: boolean): DecodeFn {
  const ctx: Context = { version, flexible, functions: [], counter: 0 };
  const entry = structDecoder(fields, ctx);
  return instantiate<DecodeFn>(ctx, entry);
}

export function compileEncoder(fields: Fields, version: number, flexible: boolean): EncodeFn {
  const ctx: Context = { version, flexible, functions: [], counter: 0 };
  const entry = structEncoder(fields, ctx);
  return instantiate<EncodeFn>(ctx, entry);
}

/** Source of the generated decoder, for debugging (`node -e` + console.log). */
export function decoderSource(fields: Fields, version: number, flexible: boolean): string {
  const ctx: Context = { version, flexible, functions: [], counter: 0 };
  const entry = structDecoder(fields, ctx);
  return `${ctx.functions.join('\n')}\n// entry: ${entry}`;
}

export { Reader, Writer };
