/**
 * Frame-level codec: request/response frames ↔ { header, body }, in both directions, for every API
 * in the definition registry (protocol/messages/index.ts).
 *
 * A frame here is the bytes AFTER the 4-byte size prefix on the way in (the server's framer strips
 * it), and a list of chunks INCLUDING the size prefix on the way out (ready for writev).
 *
 * Per (API, version) codecs are compiled on first use and cached (schema/compile.ts).
 */

import {
  type RequestHeader,
  readRequestHeader,
  readResponseHeader,
  responseHeaderIsFlexible,
  writeRequestHeader,
  writeResponseHeader,
} from './headers.js';
import { API_DEFINITIONS } from './messages/index.js';
import { ProtocolError } from './primitives/errors.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { compileDecoder, compileEncoder, type DecodeFn, type EncodeFn } from './schema/compile.js';
import { type ApiDefinition, inVersions, parseVersions } from './schema/schema.js';

interface VersionCodecs {
  decodeRequest?: DecodeFn;
  encodeRequest?: EncodeFn;
  decodeResponse?: DecodeFn;
  encodeResponse?: EncodeFn;
}

/** Compiled codecs of one API, version by version. */
export class ApiCodec {
  readonly def: ApiDefinition;
  readonly minVersion: number;
  readonly maxVersion: number;
  private readonly byVersion: VersionCodecs[] = [];

  constructor(def: ApiDefinition) {
    this.def = def;
    const r = parseVersions(def.versions);
    this.minVersion = r.min;
    this.maxVersion = r.max;
  }

  supports(version: number): boolean {
    return version >= this.minVersion && version <= this.maxVersion;
  }

  isFlexible(version: number): boolean {
    return inVersions(this.def.flexible, version);
  }

  private codecs(version: number): VersionCodecs {
    if (!this.supports(version)) {
      throw new ProtocolError(
        'UNSUPPORTED_VERSION',
        `${this.def.name} v${version} is outside ${this.def.versions}`,
      );
    }
    let c = this.byVersion[version];
    if (c === undefined) {
      c = {};
      this.byVersion[version] = c;
    }
    return c;
  }

  decodeRequestBody(version: number, r: Reader): Record<string, unknown> {
    const c = this.codecs(version);
    c.decodeRequest ??= compileDecoder(this.def.request, version, this.isFlexible(version));
    return c.decodeRequest(r);
  }

  encodeRequestBody(version: number, w: Writer, body: object): void {
    const c = this.codecs(version);
    c.encodeRequest ??= compileEncoder(this.def.request, version, this.isFlexible(version));
    c.encodeRequest(w, body as Record<string, unknown>);
  }

  decodeResponseBody(version: number, r: Reader): Record<string, unknown> {
    const c = this.codecs(version);
    c.decodeResponse ??= compileDecoder(this.def.response, version, this.isFlexible(version));
    return c.decodeResponse(r);
  }

  encodeResponseBody(version: number, w: Writer, body: object): void {
    const c = this.codecs(version);
    c.encodeResponse ??= compileEncoder(this.def.response, version, this.isFlexible(version));
    c.encodeResponse(w, body as Record<string, unknown>);
  }
}

const codecsByKey: (ApiCodec | undefined)[] = [];
for (const def of API_DEFINITIONS) {
  if (codecsByKey[def.apiKey] !== undefined)
    throw new Error(`duplicate definition for api key ${def.apiKey}`);
  codecsByKey[def.apiKey] = new ApiCodec(def);
}

/** The codec for an API key, or undefined if the key is unknown to this library. */
export function apiCodec(apiKey: number): ApiCodec | undefined {
  return apiKey >= 0 ? codecsByKey[apiKey] : undefined;
}

export function allApiCodecs(): ApiCodec[] {
  return codecsByKey.filter((c): c is ApiCodec => c !== undefined);
}

function requireCodec(apiKey: number): ApiCodec {
  const c = apiCodec(apiKey);
  if (c === undefined) throw new ProtocolError('UNKNOWN_API', `unknown api key ${apiKey}`);
  return c;
}

export interface DecodedRequest<B = Record<string, unknown>> {
  header: RequestHeader;
  body: B;
}

/**
 * Decode a request frame (bytes after the size prefix). Throws ProtocolError with code UNKNOWN_API,
 * UNSUPPORTED_VERSION, TRUNCATED, TRAILING_BYTES, ... The server peeks the header first
 * (headers.ts peekRequestHeader) so it can still answer with the right correlation id.
 */
export function decodeRequest(frame: Buffer): DecodedRequest {
  if (frame.length < 8)
    throw new ProtocolError('TRUNCATED', `request of ${frame.length} bytes has no header`);
  const codec = requireCodec(frame.readInt16BE(0));
  const version = frame.readInt16BE(2);
  if (!codec.supports(version)) {
    throw new ProtocolError(
      'UNSUPPORTED_VERSION',
      `${codec.def.name} v${version} is outside ${codec.def.versions}`,
    );
  }
  const r = new Reader(frame);
  const header = readRequestHeader(r, codec.isFlexible(version));
  const body = codec.decodeRequestBody(version, r);
  if (r.offset !== r.end) {
    throw new ProtocolError(
      'TRAILING_BYTES',
      `${codec.def.name} v${version}: ${r.end - r.offset} bytes left after body`,
    );
  }
  return { header, body };
}

/** Encode a request frame, size prefix included, as chunks ready for writev. */
export function encodeRequest(header: RequestHeader, body: object): Buffer[] {
  const codec = requireCodec(header.apiKey);
  const w = new Writer(256);
  w.int32(0); // size, patched below
  writeRequestHeader(w, header, codec.isFlexible(header.apiVersion));
  codec.encodeRequestBody(header.apiVersion, w, body);
  w.patchInt32(0, w.length - 4);
  return w.finish();
}

export interface ResponseTarget {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

/** Encode a response frame, size prefix included, as chunks ready for writev. */
export function encodeResponse(target: ResponseTarget, body: object, initialCapacity = 256): Buffer[] {
  const codec = requireCodec(target.apiKey);
  const w = new Writer(initialCapacity);
  w.int32(0);
  writeResponseHeader(
    w,
    target.correlationId,
    responseHeaderIsFlexible(target.apiKey, codec.isFlexible(target.apiVersion)),
  );
  codec.encodeResponseBody(target.apiVersion, w, body);
  w.patchInt32(0, w.length - 4);
  return w.finish();
}

/** Decode a response frame (bytes after the size prefix) for a request we sent. */
export function decodeResponse(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: Record<string, unknown> } {
  const codec = requireCodec(apiKey);
  const r = new Reader(frame);
  const { correlationId } = readResponseHeader(
    r,
    responseHeaderIsFlexible(apiKey, codec.isFlexible(apiVersion)),
  );
  const body = codec.decodeResponseBody(apiVersion, r);
  if (r.offset !== r.end) {
    throw new ProtocolError(
      'TRAILING_BYTES',
      `${codec.def.name} v${apiVersion} response: ${r.end - r.offset} bytes left`,
    );
  }
  return { correlationId, body };
}
