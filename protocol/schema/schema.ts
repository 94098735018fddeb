/**
 * The project's compact message-definition language.
 *
 * One definition per Kafka API (protocol/messages/NN-<api>.ts) declares the request and response
 * bodies as ordered field maps. Each field carries the versions it is on the wire, the versions in
 * which it may be null, and, for KIP-482 tagged fields, its tag. From a definition, schema/compile.ts
 * builds one specialised decoder and encoder per (API, version), and the TypeScript types of the
 * decoded bodies are inferred from the same objects, so there is exactly one place to change.
 *
 * Version ranges use the spec's notation: "3+", "0-12", "7", "none".
 * Field order is the property order of the object literal (string keys keep insertion order).
 *
 * Value mapping: INT8/16/32, UINT16, FLOAT64 → number; INT64 → bigint; STRING → string;
 * BYTES → Buffer (a view of the input); UUID → canonical hex string; RECORDS → Buffer when decoded,
 * Buffer | Buffer[] (written without copying) when encoded.
 */

export type PrimitiveType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'uuid'
  | 'records';

export interface FieldOptions {
  /** Versions in which the field may be null (`nullableVersions`). */
  nullable?: string;
  /** KIP-482 tag number; the field is then written in the tagged section, never in sequence. */
  tag?: number;
  /** Versions in which the tagged field exists (`taggedVersions`); defaults to the field's versions. */
  tagged?: string;
  /** Value when absent from a version (and the value a tagged field is omitted at). */
  default?: unknown;
  /** Field-level override of the message's flexible versions (only RequestHeader.ClientId uses it). */
  flexible?: string;
  /** The spec's `ignorable`: informational here, since encoders always drop what a version lacks. */
  ignorable?: boolean;
}

interface FieldBase {
  readonly versions: string;
  readonly options: FieldOptions;
}

export interface PrimitiveField<P extends PrimitiveType = PrimitiveType, N extends boolean = boolean>
  extends FieldBase {
  readonly kind: 'primitive';
  readonly type: P;
  /** Type-level marker only. */
  readonly nullableMarker?: N;
}

export interface StructField<S extends Fields = Fields, N extends boolean = boolean> extends FieldBase {
  readonly kind: 'struct';
  readonly fields: S;
  readonly nullableMarker?: N;
}

export interface ArrayField<
  E extends PrimitiveType | Fields = PrimitiveType | Fields,
  N extends boolean = boolean,
> extends FieldBase {
  readonly kind: 'array';
  readonly element: E;
  readonly nullableMarker?: N;
}

export type Field = PrimitiveField | StructField | ArrayField;
export type Fields = { readonly [name: string]: Field };

// ---- builders ---------------------------------------------------------------------------------

type IsNullable<O> = O extends { nullable: string } ? true : false;

function primitive<P extends PrimitiveType>(type: P) {
  return <O extends FieldOptions = FieldOptions>(
    versions = '0+',
    options?: O,
  ): PrimitiveField<P, IsNullable<O>> => ({
    kind: 'primitive',
    type,
    versions,
    options: options ?? {},
  });
}

export const bool = primitive('bool');
export const int8 = primitive('int8');
export const int16 = primitive('int16');
export const uint16 = primitive('uint16');
export const int32 = primitive('int32');
export const int64 = primitive('int64');
export const float64 = primitive('float64');
export const string = primitive('string');
export const bytes = primitive('bytes');
export const uuid = primitive('uuid');
export const records = primitive('records');

/** An array of a primitive type or of structs (given as a field map). */
export function array<E extends PrimitiveType | Fields, O extends FieldOptions = FieldOptions>(
  element: E,
  versions = '0+',
  options?: O,
): ArrayField<E, IsNullable<O>> {
  return { kind: 'array', element, versions, options: options ?? {} };
}

/** A single nested struct (not an array). Nullable structs carry an INT8 presence marker. */
export function struct<S extends Fields, O extends FieldOptions = FieldOptions>(
  fields: S,
  versions = '0+',
  options?: O,
): StructField<S, IsNullable<O>> {
  return { kind: 'struct', fields, versions, options: options ?? {} };
}

// ---- API definitions --------------------------------------------------------------------------

export interface ApiDefinition<Req extends Fields = Fields, Res extends Fields = Fields> {
  readonly apiKey: number;
  readonly name: string;
  /** Versions this codec can decode and encode (the spec's `validVersions`). */
  readonly versions: string;
  /** The spec's `flexibleVersions` (KIP-482); "none" if never. */
  readonly flexible: string;
  readonly request: Req;
  readonly response: Res;
}

export function defineApi<Req extends Fields, Res extends Fields>(
  def: ApiDefinition<Req, Res>,
): ApiDefinition<Req, Res> {
  return def;
}

// ---- inferred value types ---------------------------------------------------------------------

export interface UnknownTaggedField {
  tag: number;
  data: Buffer;
}

interface PrimitiveDecoded {
  bool: boolean;
  int8: number;
  int16: number;
  uint16: number;
  int32: number;
  int64: bigint;
  float64: number;
  string: string;
  bytes: Buffer;
  uuid: string;
  records: Buffer;
}

interface PrimitiveEncoded {
  bool: boolean;
  int8: number;
  int16: number;
  uint16: number;
  int32: number;
  int64: bigint | number;
  float64: number;
  string: string;
  bytes: Uint8Array;
  uuid: string;
  records: Uint8Array | readonly Uint8Array[];
}

type Nullable<T, N> = N extends true ? T | null : T;

type DecodedElement<E> = E extends PrimitiveType
  ? PrimitiveDecoded[E]
  : E extends Fields
    ? Decoded<E>
    : never;
type EncodedElement<E> = E extends PrimitiveType
  ? PrimitiveEncoded[E]
  : E extends Fields
    ? Encodable<E>
    : never;

export type DecodedField<F> =
  F extends PrimitiveField<infer P, infer N>
    ? P extends 'records'
      ? Buffer | null
      : Nullable<PrimitiveDecoded[P], N>
    : F extends StructField<infer S, infer N>
      ? Nullable<Decoded<S>, N>
      : F extends ArrayField<infer E, infer N>
        ? Nullable<DecodedElement<E>[], N>
        : never;

export type EncodableField<F> =
  F extends PrimitiveField<infer P, infer N>
    ? P extends 'records'
      ? PrimitiveEncoded['records'] | null
      : Nullable<PrimitiveEncoded[P], N>
    : F extends StructField<infer S, infer N>
      ? Nullable<Encodable<S>, N>
      : F extends ArrayField<infer E, infer N>
        ? Nullable<readonly EncodedElement<E>[], N>
        : never;

/** A decoded struct: every field present (defaults fill fields absent from the version). */
export type Decoded<S extends Fields> = { -readonly [K in keyof S]: DecodedField<S[K]> } & {
  _unknownTaggedFields?: UnknownTaggedField[];
};

/** What an encoder accepts: any field may be omitted and is then written as its default. */
export type Encodable<S extends Fields> = { [K in keyof S]?: EncodableField<S[K]> } & {
  _unknownTaggedFields?: UnknownTaggedField[];
};

export type RequestOf<A> = A extends ApiDefinition<infer Req, Fields> ? Decoded<Req> : never;
export type ResponseOf<A> = A extends ApiDefinition<Fields, infer Res> ? Decoded<Res> : never;
export type RequestInput<A> = A extends ApiDefinition<infer Req, Fields> ? Encodable<Req> : never;
export type ResponseInput<A> = A extends ApiDefinition<Fields, infer Res> ? Encodable<Res> : never;

// ---- version ranges ---------------------------------------------------------------------------

export interface VersionRange {
  min: number;
  /** Inclusive; Infinity for "N+". min > max means "none". */
  max: number;
}

const rangeCache = new Map<string, VersionRange>();

export function parseVersions(spec: string): VersionRange {
  const cached = rangeCache.get(spec);
  if (cached) return cached;
  let r: VersionRange;
  const s = spec.trim();
  if (s === 'none') r = { min: 1, max: 0 };
  else if (s.endsWith('+')) r = { min: Number(s.slice(0, -1)), max: Number.POSITIVE_INFINITY };
  else if (s.includes('-')) {
    const [a, b] = s.split('-');
    r = { min: Number(a), max: Number(b) };
  } else r = { min: Number(s), max: Number(s) };
  if (Number.isNaN(r.min) || Number.isNaN(r.max))
    throw new Error(`bad version range ${JSON.stringify(spec)}`);
  rangeCache.set(spec, r);
  return r;
}

export function inVersions(spec: string, version: number): boolean {
  const r = parseVersions(spec);
  return version >= r.min && version <= r.max;
}
