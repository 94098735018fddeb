/**
 * ObjectStore: the immutable-blob storage that holds the log once it leaves the WAL.
 *
 * Implementations: memory (tests), local directory (default), S3 (later). Every implementation
 * passes the one contract suite in test/src/tiering/object-store-contract.ts; the semantics below
 * are what that suite checks, so callers may rely on nothing else.
 *
 * Contract:
 * - put(key, body) stores the whole body under key, replacing any previous object. It is atomic:
 *   a reader (or a process restarted after a crash) sees either no object / the previous object, or
 *   the complete new one, never a prefix. Once put() resolves the object is durable.
 * - get(key, range) returns a Buffer the caller owns. A range must lie wholly inside the object
 *   (INVALID_RANGE otherwise): the caller got the range from the index, so a short object means
 *   corruption or a bug, not something to paper over. A zero-length range of an existing object
 *   returns an empty Buffer.
 * - head(key) is the size in bytes, or null when there is no object under key.
 * - delete(keys) is idempotent: keys without an object are ignored.
 * - list(prefix) yields every object whose key starts with prefix (a plain string prefix, not only
 *   at `/` boundaries), in ascending key order; keys are ASCII, so that is also byte order.
 * - After close() resolves, every method rejects with OBJECT_STORE_CLOSED; close() is idempotent.
 *
 * Keys (checked by every implementation through assertValidObjectKey, so a key that works with one
 * store works with all): 1..1024 characters from `A-Z a-z 0-9 . _ - = + , @ ~` and `/`; `/` separates
 * non-empty segments of at most 255 characters (a file name's limit); a segment never starts with
 * `.` (those names are left to the stores for their own bookkeeping, e.g. temp files).
 * Callers must not store both `a` and `a/b`: a directory-backed store cannot hold a file and a
 * directory under one name and rejects the second with KEY_CONFLICT (S3 would accept both). The
 * broker's keys (hashed prefix + unique name) never do that.
 *
 * Thread-safety: every method may be called concurrently with any other; concurrent puts to one
 * key end with one of the bodies, whole.
 */

/** A byte range inside an object: `length` bytes starting at byte `start`. */
export interface ByteRange {
  readonly start: number;
  readonly length: number;
}

/** One object as list() reports it. */
export interface ObjectInfo {
  readonly key: string;
  readonly sizeBytes: number;
  readonly lastModified: Date;
}

export interface ObjectStore {
  /** Store `body` (one buffer, or several written back to back) under `key`, atomically and durably. */
  put(key: string, body: Buffer | readonly Buffer[]): Promise<void>;
  /** The whole object, or the given range of it. OBJECT_NOT_FOUND when absent. */
  get(key: string, range?: ByteRange): Promise<Buffer>;
  /** Size in bytes, or null when there is no object under key. */
  head(key: string): Promise<number | null>;
  /** Delete the objects under `keys`; absent keys are ignored. Not atomic across keys. */
  delete(keys: readonly string[]): Promise<void>;
  /** Every object whose key starts with `prefix` (may be empty), in ascending key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Wait for operations in flight, release resources. Later calls reject with OBJECT_STORE_CLOSED. */
  close(): Promise<void>;
}

/**
 * Stable error codes. `retriable` tells the caller (uploader, fetch path) whether trying the same
 * call again later can succeed.
 */
export const OBJECT_STORE_ERROR_CODES = {
  OBJECT_NOT_FOUND: { retriable: false, description: 'no object is stored under the key' },
  INVALID_KEY: { retriable: false, description: 'the key or prefix breaks the key rules of object-store.ts' },
  INVALID_RANGE: {
    retriable: false,
    description: 'the requested byte range is negative, non-integral or reaches past the end of the object',
  },
  KEY_CONFLICT: {
    retriable: false,
    description: 'the key collides with a key that is a path prefix of it (or the reverse): `a` versus `a/b`',
  },
  OBJECT_STORE_UNAVAILABLE: {
    retriable: true,
    description: 'the backing storage failed or is unreachable (I/O error, network, throttling)',
  },
  OBJECT_STORE_CLOSED: { retriable: false, description: 'the store was closed' },
  UNSUPPORTED_URL: {
    retriable: false,
    description: 'the URL names a store kind that does not exist or is not yet supported',
  },
  INVALID_URL: { retriable: false, description: 'the URL could not be parsed into a store location' },
} as const satisfies Record<string, { retriable: boolean; description: string }>;

export type ObjectStoreErrorCode = keyof typeof OBJECT_STORE_ERROR_CODES;

export class ObjectStoreError extends Error {
  override readonly name = 'ObjectStoreError';
  readonly code: ObjectStoreErrorCode;
  readonly retriable: boolean;
  constructor(code: ObjectStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retriable = OBJECT_STORE_ERROR_CODES[code].retriable;
  }
}

export function isObjectStoreError(err: unknown, code?: ObjectStoreErrorCode): err is ObjectStoreError {
  return err instanceof ObjectStoreError && (code === undefined || err.code === code);
}

export const MAX_OBJECT_KEY_LENGTH = 1024;
export const MAX_OBJECT_KEY_SEGMENT_LENGTH = 255;

const KEY_CHARS = /^[A-Za-z0-9._\-=+,@~/]*$/;

/** Throws INVALID_KEY unless `key` follows the key rules in the header of this file. */
export function assertValidObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_OBJECT_KEY_LENGTH) {
    throw new ObjectStoreError('INVALID_KEY', `object key must be 1..${MAX_OBJECT_KEY_LENGTH} characters`);
  }
  if (!KEY_CHARS.test(key)) {
    throw new ObjectStoreError(
      'INVALID_KEY',
      `object key ${JSON.stringify(key)} has a character outside the key set`,
    );
  }
  for (const segment of key.split('/')) {
    if (
      segment.length === 0 ||
      segment.length > MAX_OBJECT_KEY_SEGMENT_LENGTH ||
      segment.charCodeAt(0) === 0x2e /* '.' */
    ) {
      throw new ObjectStoreError(
        'INVALID_KEY',
        `object key ${JSON.stringify(key)} has an empty or over-long segment, or one starting with '.'`,
      );
    }
  }
}

/**
 * Throws INVALID_KEY unless `prefix` uses only key characters (it may be empty). A well-formed
 * prefix that no valid key can start with (e.g. `a//`) is allowed and simply lists nothing.
 */
export function assertValidListPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || prefix.length > MAX_OBJECT_KEY_LENGTH || !KEY_CHARS.test(prefix)) {
    throw new ObjectStoreError(
      'INVALID_KEY',
      `list prefix ${JSON.stringify(prefix)} is not a valid key prefix`,
    );
  }
}

/** True when `segment` may appear between slashes in a key. */
export function isValidKeySegment(segment: string): boolean {
  return (
    segment.length > 0 &&
    segment.length <= MAX_OBJECT_KEY_SEGMENT_LENGTH &&
    segment.charCodeAt(0) !== 0x2e &&
    !segment.includes('/') &&
    KEY_CHARS.test(segment)
  );
}

/**
 * Checks a range against an object of `sizeBytes` bytes and throws INVALID_RANGE when it does not lie
 * wholly inside it.
 */
export function assertRangeWithin(key: string, range: ByteRange, sizeBytes: number): void {
  const { start, length } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0) {
    throw new ObjectStoreError(
      'INVALID_RANGE',
      `range start=${start} length=${length} is not two integers >= 0`,
    );
  }
  if (start + length > sizeBytes) {
    throw new ObjectStoreError(
      'INVALID_RANGE',
      `range ${start}+${length} reaches past the end of ${key} (${sizeBytes} bytes)`,
    );
  }
}

/** Total byte length of a put() body. */
export function bodyLength(body: Buffer | readonly Buffer[]): number {
  if (Buffer.isBuffer(body)) return body.length;
  let total = 0;
  for (const part of body) total += part.length;
  return total;
}
