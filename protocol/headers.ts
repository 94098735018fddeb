/**
 * Request and response headers, and the frame (INT32 size prefix).
 *
 *   Frame            := size INT32 (bytes after this field), header, body
 *   RequestHeader v1 := api_key INT16, api_version INT16, correlation_id INT32, client_id NULLABLE_STRING
 *   RequestHeader v2 := v1 + TAG_BUFFER        (client_id stays a non-compact INT16 string)
 *   ResponseHeader v0 := correlation_id INT32
 *   ResponseHeader v1 := v0 + TAG_BUFFER
 *
 * Header v2/v1 are used when the API version is flexible (KIP-482), except that the ApiVersions
 * response header is always v0 (KIP-511), so a client can parse it before knowing our versions.
 * Request header v0 (no client_id) is only used by ControlledShutdown v0, which we do not serve.
 */
import { ProtocolError } from './primitives/errors.js';
import type { Reader } from './primitives/reader.js';
import type { Writer } from './primitives/writer.js';
import type { UnknownTaggedField } from './schema/schema.js';

export const API_VERSIONS_KEY = 18;

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** Tagged fields of a v2 header (none are defined today; kept so nothing is lost). */
  taggedFields?: UnknownTaggedField[];
}

/** Read the first 8 bytes of a request (key, version, correlation id) without validating more. */
export function peekRequestHeader(frame: Buffer): {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
} {
  if (frame.length < 8)
    throw new ProtocolError('TRUNCATED', `request of ${frame.length} bytes has no header`);
  return {
    apiKey: frame.readInt16BE(0),
    apiVersion: frame.readInt16BE(2),
    correlationId: frame.readInt32BE(4),
  };
}

/** Decode a request header; `flexible` says whether the API version uses header v2. */
export function readRequestHeader(r: Reader, flexible: boolean): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const clientId = r.nullableString();
  const header: RequestHeader = { apiKey, apiVersion, correlationId, clientId };
  if (flexible) {
    const tags = readUnknownTags(r);
    if (tags.length > 0) header.taggedFields = tags;
  }
  return header;
}

export function writeRequestHeader(w: Writer, h: RequestHeader, flexible: boolean): void {
  w.int16(h.apiKey);
  w.int16(h.apiVersion);
  w.int32(h.correlationId);
  w.nullableString(h.clientId);
  if (flexible) writeUnknownTags(w, h.taggedFields);
}

export function responseHeaderIsFlexible(apiKey: number, bodyFlexible: boolean): boolean {
  return bodyFlexible && apiKey !== API_VERSIONS_KEY;
}

export function readResponseHeader(r: Reader, flexible: boolean): { correlationId: number } {
  const correlationId = r.int32();
  if (flexible) readUnknownTags(r);
  return { correlationId };
}

export function writeResponseHeader(w: Writer, correlationId: number, flexible: boolean): void {
  w.int32(correlationId);
  if (flexible) w.unsignedVarint(0);
}

function readUnknownTags(r: Reader): UnknownTaggedField[] {
  const count = r.unsignedVarint();
  const out: UnknownTaggedField[] = [];
  for (let i = 0; i < count; i++) {
    const tag = r.unsignedVarint();
    const size = r.unsignedVarint();
    out.push({ tag, data: r.raw(size) });
  }
  return out;
}

function writeUnknownTags(w: Writer, tags: UnknownTaggedField[] | undefined): void {
  if (tags === undefined || tags.length === 0) {
    w.unsignedVarint(0);
    return;
  }
  w.unsignedVarint(tags.length);
  for (const t of [...tags].sort((a, b) => a.tag - b.tag)) {
    w.unsignedVarint(t.tag);
    w.unsignedVarint(t.data.length);
    w.raw(t.data);
  }
}
