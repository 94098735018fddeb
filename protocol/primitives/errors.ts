/**
 * The one error type that protocol decoding throws. Anything else escaping a decoder is a bug.
 *
 * `code` is stable and machine-readable; callers (the server) map it to a Kafka error code or to
 * "close this connection".
 */
export type ProtocolErrorCode =
  | 'TRUNCATED' // fewer bytes than a length or fixed-size field promised
  | 'INVALID_LENGTH' // a negative/oversized length or count that cannot be valid
  | 'INVALID_VARINT' // a varint longer than its maximum encoded size
  | 'INVALID_UTF8' // string bytes that are not valid UTF-8 (only where checked)
  | 'TRAILING_BYTES' // a message decoded without consuming every byte
  | 'UNKNOWN_API' // api key not known to this codec
  | 'UNSUPPORTED_VERSION' // api version outside the definition's range
  | 'INVALID_VALUE' // a value the encoding cannot represent (e.g. null in a non-nullable field)
  | 'CORRUPT_RECORDS' // record batch framing/CRC/attribute failure
  | 'UNSUPPORTED_COMPRESSION'; // compression codec not known

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
