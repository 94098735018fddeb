/**
 * StreamHouse's Kafka protocol library: pure codecs (no sockets, no files, never imports src/).
 * Published as `streamhouse/protocol`.
 *
 * Server side:
 *   const { header, body } = decodeRequest(frame);          // frame = bytes after the INT32 size
 *   const chunks = encodeResponse(header, responseBody);    // size prefix included, ready for writev
 * Client side (tests, tools, the load generator):
 *   const chunks = encodeRequest({ apiKey, apiVersion, correlationId, clientId }, body);
 *   const { correlationId, body } = decodeResponse(apiKey, apiVersion, frame);
 *
 * Bodies are plain objects whose fields are the spec's names in lowerCamelCase; their TypeScript
 * types come from the definitions: `RequestOf<typeof Produce>`, `ResponseInput<typeof Fetch>`.
 * Every decoding failure is a `ProtocolError` with a stable `code`.
 */

export { ApiKey, apiKeyName } from './api-keys.js';
export {
  ApiCodec,
  allApiCodecs,
  apiCodec,
  type DecodedRequest,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type ResponseTarget,
} from './codec.js';
export { ErrorCode, type ErrorCodeName, errorInfo, isRetriable } from './error-codes.js';
export { FrameBuffer } from './frame-buffer.js';
export { API_VERSIONS_KEY, peekRequestHeader, type RequestHeader } from './headers.js';
export * as messages from './messages/index.js';
export { API_DEFINITIONS } from './messages/index.js';
export { isProtocolError, ProtocolError, type ProtocolErrorCode } from './primitives/errors.js';
export { Reader, ZERO_UUID } from './primitives/reader.js';
export { Writer } from './primitives/writer.js';
export * as records from './records/index.js';
export type {
  ApiDefinition,
  Decoded,
  Encodable,
  RequestInput,
  RequestOf,
  ResponseInput,
  ResponseOf,
} from './schema/schema.js';
