/**
 * S3ObjectStore: the ObjectStore contract (object-store.ts) over Amazon S3 or an S3-compatible
 * server (MinIO, s3rver, ...) with @aws-sdk/client-s3 v3.
 *
 * URL: s3://BUCKET[/PREFIX][?param=value&...]   (parseS3Url; unknown parameters are rejected)
 *   endpoint=URL               custom endpoint (MinIO, s3rver); default: AWS for the region
 *   region=R                   default: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1
 *   path_style=true|false      path-style addressing (needed by most S3-compatible servers)
 *   checksums=when_required|when_supported   SDK request checksums and response validation;
 *                              default when_required (older S3-compatible servers reject the
 *                              aws-chunked trailing checksums the SDK sends when_supported)
 *   payload_integrity=crc32c|sha256   how an upload's bytes are protected on the wire. crc32c
 *                              (default): the body is sent as UNSIGNED-PAYLOAD with an
 *                              x-amz-checksum-crc32c header (per part for multipart, created with
 *                              ChecksumAlgorithm CRC32C) that S3 verifies before it stores anything;
 *                              the CRC is native and ~3x cheaper than SHA-256, which the broker
 *                              would otherwise compute on its event loop for every byte uploaded.
 *                              sha256: SigV4 signs the payload hash (servers that reject
 *                              UNSIGNED-PAYLOAD or unknown checksum headers).
 *   access_key_id=…&secret_access_key=…   static credentials, FOR LOCAL TESTING ONLY (s3rver,
 *                              MinIO on a laptop): a URL ends up in logs and process listings.
 *                              Without them the SDK's standard credential chain is used (env,
 *                              shared config/SSO, web identity, container/instance metadata).
 *   multipart_threshold_bytes, part_size_bytes, multipart_concurrency
 *   request_timeout_ms, max_attempts, retry_base_ms, retry_cap_ms,
 *   breaker_failures, breaker_cooldown_ms,
 *   {put,get,list,delete}_rate, {put,get,list,delete}_concurrency   see s3-resilience.ts
 *
 * Keys live under PREFIX + '/' (none when PREFIX is empty); list() strips it again.
 *
 * Semantics on S3 (why the contract holds):
 * - put: one PutObject up to multipartThresholdBytes, else a multipart upload; both become visible
 *   atomically on success (S3 never shows a partial object), and a failed multipart upload is
 *   aborted so its parts do not linger (billing). Concurrent puts: last writer wins, whole.
 * - get: a range becomes an HTTP Range header; S3 shortens a range that runs past the end, so a
 *   short answer is INVALID_RANGE here, as is S3's InvalidRange (start past the end). A zero-length
 *   range cannot be expressed in HTTP: it is a HEAD plus a bounds check.
 * - delete: DeleteObjects in batches of 1000 (the S3 maximum), quiet mode; S3 reports no error for
 *   missing keys, so deletion is idempotent.
 * - list: ListObjectsV2 pages; S3 lists in ascending UTF-8 byte order and keys are ASCII. Each page
 *   is also sorted locally because some compatible servers (s3rver) answer in directory order.
 *
 * Errors: NoSuchKey/404 → OBJECT_NOT_FOUND; InvalidRange/416 → INVALID_RANGE; 5xx, 503 SlowDown,
 * 429, timeouts and network errors → OBJECT_STORE_UNAVAILABLE after retries (retriable); other 4xx
 * (AccessDenied, NoSuchBucket) → OBJECT_STORE_UNAVAILABLE at once (retriable for the caller, since
 * fixing permissions needs no restart, but not retried here).
 * Thread-safety: every method may run concurrently; close() waits for calls in flight.
 */

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { crc32c } from '../../protocol/records/crc32c.js';
import {
  assertRangeWithin,
  assertValidListPrefix,
  assertValidObjectKey,
  type ByteRange,
  bodyLength,
  type ObjectInfo,
  type ObjectStore,
  ObjectStoreError,
} from './object-store.js';
import {
  AttemptTimeoutError,
  DEFAULT_S3_RESILIENCE,
  type FailureVerdict,
  type OperationLimit,
  S3_OPERATION_KINDS,
  type S3OperationKind,
  S3Resilience,
  type S3ResilienceOptions,
  type S3ResilienceStats,
} from './s3-resilience.js';

const MiB = 1024 * 1024;
/** S3's ceiling on keys per DeleteObjects request. */
const DELETE_BATCH_KEYS = 1000;
/** Commands whose body carries an x-amz-checksum-crc32c under payload_integrity=crc32c. */
const UNSIGNED_COMMANDS = new Set(['PutObjectCommand', 'UploadPartCommand']);

export type ChecksumMode = 'WHEN_REQUIRED' | 'WHEN_SUPPORTED';
/** How uploaded bytes are protected: see payload_integrity in the header. */
export type PayloadIntegrity = 'crc32c' | 'sha256';

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Key prefix without trailing slash; '' for the bucket root. */
  readonly prefix: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  /** Static credentials (local testing); undefined = the SDK's default provider chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly checksums: ChecksumMode;
  readonly payloadIntegrity: PayloadIntegrity;
  /** Bodies larger than this go up as a multipart upload. */
  readonly multipartThresholdBytes: number;
  /** Size of every part but the last (S3 requires >= 5 MiB except for the last part). */
  readonly partSizeBytes: number;
  /** Parts of one upload in flight at once. */
  readonly multipartConcurrency: number;
  readonly resilience: S3ResilienceOptions;
}

export const DEFAULT_S3_OPTIONS = {
  region: 'us-east-1',
  forcePathStyle: false,
  checksums: 'WHEN_REQUIRED' as ChecksumMode,
  payloadIntegrity: 'crc32c' as PayloadIntegrity,
  multipartThresholdBytes: 16 * MiB,
  partSizeBytes: 8 * MiB,
  multipartConcurrency: 4,
  resilience: DEFAULT_S3_RESILIENCE,
};

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  /** '' or 'prefix/': prepended to every key. */
  readonly keyPrefix: string;
  private readonly client: S3Client;
  private readonly resilience: S3Resilience;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;

  constructor(readonly options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.keyPrefix = options.prefix === '' ? '' : `${options.prefix}/`;
    const maxSockets = S3_OPERATION_KINDS.reduce((n, k) => n + options.resilience.limits[k].maxConcurrent, 0);
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      // Retries belong to S3Resilience (limiter-aware, breaker-aware); the SDK makes one attempt.
      maxAttempts: 1,
      requestChecksumCalculation: options.checksums,
      responseChecksumValidation: options.checksums,
      requestHandler: {
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
      },
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.credentials !== undefined) config.credentials = { ...options.credentials };
    this.client = new S3Client(config);
    if (options.payloadIntegrity === 'crc32c') {
      // Uploads carry their own CRC-32C (set per command below): tell the signer not to hash the body.
      this.client.middlewareStack.add(
        (next, context) => (args) => {
          const request = args.request as { headers?: Record<string, string> } | undefined;
          if (UNSIGNED_COMMANDS.has(context.commandName ?? '') && request?.headers !== undefined) {
            request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
          }
          return next(args);
        },
        { step: 'build', name: 'streamhouseUnsignedPayload' },
      );
    }
    this.resilience = new S3Resilience(options.resilience);
  }

  /** Request counts, retries, throttling and breaker state, for metrics. */
  get stats(): S3ResilienceStats {
    return this.resilience.stats;
  }

  put(key: string, body: Buffer | readonly Buffer[]): Promise<void> {
    return this.track(async () => {
      assertValidObjectKey(key);
      const size = bodyLength(body);
      if (size > this.options.multipartThresholdBytes) {
        await this.putMultipart(key, body, size);
        return;
      }
      // One contiguous body: the SDK signs and (re)sends it whole on every attempt.
      const bytes = Buffer.isBuffer(body) ? body : Buffer.concat(body as Buffer[], size);
      await this.call('PUT', `put ${key}`, (abortSignal) =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: this.keyPrefix + key,
            Body: bytes,
            ContentLength: size,
            ...this.checksumOf(bytes),
          }),
          { abortSignal },
        ),
      );
    });
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.track(async () => {
      assertValidObjectKey(key);
      if (range === undefined) {
        return this.call('GET', `get ${key}`, async (abortSignal) => {
          const res = await this.client.send(
            new GetObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }),
            { abortSignal },
          );
          return readBody(res.Body);
        });
      }
      // Integer and sign checks; the end is checked against the object below.
      assertRangeWithin(key, range, Number.MAX_SAFE_INTEGER);
      const { start, length } = range;
      if (length === 0) {
        const size = await this.headSize(key);
        if (size === null) throw notFound(key);
        assertRangeWithin(key, range, size);
        return Buffer.alloc(0);
      }
      const got = await this.call('GET', `get ${key}`, async (abortSignal) => {
        const res = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.keyPrefix + key,
            Range: `bytes=${start}-${start + length - 1}`,
          }),
          { abortSignal },
        );
        const body = await readBody(res.Body);
        // Some compatible servers (s3rver with `bytes=0-0`) ignore the end and send more: trim it,
        // provided the answer starts where we asked.
        const answeredStart = /^bytes (\d+)-/.exec(res.ContentRange ?? '')?.[1];
        if (
          body.length > length &&
          (answeredStart === undefined ? start === 0 : Number(answeredStart) === start)
        ) {
          return Buffer.from(body.subarray(0, length));
        }
        return body;
      });
      if (got.length !== length) {
        throw new ObjectStoreError(
          'INVALID_RANGE',
          `range ${start}+${length} reaches past the end of ${key} (got ${got.length} bytes)`,
        );
      }
      return got;
    });
  }

  head(key: string): Promise<number | null> {
    return this.track(async () => {
      assertValidObjectKey(key);
      return this.headSize(key);
    });
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.track(async () => {
      for (const key of keys) assertValidObjectKey(key);
      const unique = [...new Set(keys)];
      const batches: string[][] = [];
      for (let i = 0; i < unique.length; i += DELETE_BATCH_KEYS) {
        batches.push(unique.slice(i, i + DELETE_BATCH_KEYS));
      }
      await Promise.all(
        batches.map((batch) =>
          this.call('DELETE', `delete ${batch.length} keys`, async (abortSignal) => {
            const res = await this.client.send(
              new DeleteObjectsCommand({
                Bucket: this.bucket,
                Delete: { Objects: batch.map((k) => ({ Key: this.keyPrefix + k })), Quiet: true },
              }),
              { abortSignal },
            );
            const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
            if (failed.length > 0) {
              const first = failed[0]!;
              // Per-key errors arrive inside a 200; treat them like a failed request (retried).
              throw new PerKeyDeleteError(
                `${failed.length} of ${batch.length} deletes failed, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`,
              );
            }
          }),
        ),
      );
    });
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.listPages(prefix);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      await this.resilience.stop();
      this.client.destroy();
    })();
    return this.closing;
  }

  // ---- internals ------------------------------------------------------------------------------

  private async *listPages(prefix: string): AsyncGenerator<ObjectInfo> {
    this.assertOpen();
    assertValidListPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.track(() =>
        this.call('LIST', `list ${prefix}`, (abortSignal) =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: this.keyPrefix + prefix,
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
            { abortSignal },
          ),
        ),
      );
      const infos: ObjectInfo[] = [];
      for (const obj of page.Contents ?? []) {
        if (obj.Key === undefined || !obj.Key.startsWith(this.keyPrefix)) continue;
        infos.push({
          key: obj.Key.slice(this.keyPrefix.length),
          sizeBytes: obj.Size ?? 0,
          lastModified: obj.LastModified ?? new Date(0),
        });
      }
      infos.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      yield* infos;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** The x-amz-checksum-crc32c of a body (base64 of the big-endian CRC), under payload_integrity=crc32c. */
  private checksumOf(bytes: Buffer): { ChecksumCRC32C?: string } {
    if (this.options.payloadIntegrity !== 'crc32c') return {};
    const crc = Buffer.allocUnsafe(4);
    crc.writeUInt32BE(crc32c(bytes) >>> 0);
    return { ChecksumCRC32C: crc.toString('base64') };
  }

  private async headSize(key: string): Promise<number | null> {
    try {
      return await this.call('GET', `head ${key}`, async (abortSignal) => {
        const res = await this.client.send(
          new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }),
          { abortSignal },
        );
        return res.ContentLength ?? 0;
      });
    } catch (err) {
      if (err instanceof ObjectStoreError && err.code === 'OBJECT_NOT_FOUND') return null;
      throw err;
    }
  }

  private async putMultipart(key: string, body: Buffer | readonly Buffer[], size: number): Promise<void> {
    const fullKey = this.keyPrefix + key;
    const created = await this.call('PUT', `put ${key} (create multipart)`, (abortSignal) =>
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: fullKey,
          ...(this.options.payloadIntegrity === 'crc32c' ? { ChecksumAlgorithm: 'CRC32C' as const } : {}),
        }),
        { abortSignal },
      ),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) {
      throw new ObjectStoreError(
        'OBJECT_STORE_UNAVAILABLE',
        `put ${key}: CreateMultipartUpload returned no UploadId`,
      );
    }
    try {
      const partSize = this.options.partSizeBytes;
      const partCount = Math.ceil(size / partSize);
      const etags: string[] = new Array(partCount);
      const partChecksums: (string | undefined)[] = new Array(partCount);
      let next = 0;
      // A few workers pull part numbers; each part is cut from the body only when it is sent.
      const worker = async () => {
        while (next < partCount) {
          const index = next++;
          const part = sliceBody(body, index * partSize, Math.min(partSize, size - index * partSize));
          const checksum = this.checksumOf(part);
          partChecksums[index] = checksum.ChecksumCRC32C;
          const res = await this.call('PUT', `put ${key} (part ${index + 1}/${partCount})`, (abortSignal) =>
            this.client.send(
              new UploadPartCommand({
                Bucket: this.bucket,
                Key: fullKey,
                UploadId: uploadId,
                PartNumber: index + 1,
                Body: part,
                ContentLength: part.length,
                ...checksum,
              }),
              { abortSignal },
            ),
          );
          if (res.ETag === undefined) {
            throw new ObjectStoreError(
              'OBJECT_STORE_UNAVAILABLE',
              `put ${key}: part ${index + 1} has no ETag`,
            );
          }
          etags[index] = res.ETag;
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(this.options.multipartConcurrency, partCount) }, () => worker()),
      );
      await this.call('PUT', `put ${key} (complete multipart)`, (abortSignal) =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: fullKey,
            UploadId: uploadId,
            MultipartUpload: {
              Parts: etags.map((ETag, i) => {
                const crc = partChecksums[i];
                return crc === undefined
                  ? { ETag, PartNumber: i + 1 }
                  : { ETag, PartNumber: i + 1, ChecksumCRC32C: crc };
              }),
            },
          }),
          { abortSignal },
        ),
      );
    } catch (err) {
      // Best effort: a leftover upload only costs storage, and a bucket lifecycle rule
      // (AbortIncompleteMultipartUpload) cleans up what this misses.
      await this.call('PUT', `put ${key} (abort multipart)`, (abortSignal) =>
        this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: fullKey, UploadId: uploadId }),
          { abortSignal },
        ),
      ).catch(() => undefined);
      throw err;
    }
  }

  private call<T>(
    kind: S3OperationKind,
    what: string,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return this.resilience.run(kind, what, attempt, (err) => classifyS3Error(err, what));
  }

  /** Runs `fn` unless closed, and remembers it so close() can wait for it. */
  private track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing !== null) {
      return Promise.reject(new ObjectStoreError('OBJECT_STORE_CLOSED', 'the S3 object store was closed'));
    }
    const p = fn();
    this.inFlight.add(p);
    p.then(
      () => this.inFlight.delete(p),
      () => this.inFlight.delete(p),
    );
    return p;
  }

  private assertOpen(): void {
    if (this.closing !== null)
      throw new ObjectStoreError('OBJECT_STORE_CLOSED', 'the S3 object store was closed');
  }
}

class PerKeyDeleteError extends Error {
  override readonly name = 'PerKeyDeleteError';
}

function notFound(key: string): ObjectStoreError {
  return new ObjectStoreError('OBJECT_NOT_FOUND', `no object under ${key}`);
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** Maps an SDK / network failure to the ObjectStoreError and retry decision (see the header). */
export function classifyS3Error(err: unknown, what: string): FailureVerdict {
  if (err instanceof ObjectStoreError) {
    return { error: err, retriable: false, breakerFailure: false, throttled: false };
  }
  const e = err as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  const detail = `${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${e?.message ?? String(err)}`;
  const unavailable = (retriable: boolean, breakerFailure: boolean, throttled = false): FailureVerdict => ({
    error: new ObjectStoreError('OBJECT_STORE_UNAVAILABLE', `${what}: ${detail}`, { cause: err }),
    retriable,
    breakerFailure,
    throttled,
  });
  if (err instanceof AttemptTimeoutError) return unavailable(true, true);
  if (err instanceof PerKeyDeleteError) return unavailable(true, false);
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    if (name === 'NoSuchBucket') return unavailable(false, false);
    return {
      error: new ObjectStoreError('OBJECT_NOT_FOUND', `${what}: no such object`, { cause: err }),
      retriable: false,
      breakerFailure: false,
      throttled: false,
    };
  }
  if (name === 'InvalidRange' || status === 416) {
    return {
      error: new ObjectStoreError('INVALID_RANGE', `${what}: ${detail}`, { cause: err }),
      retriable: false,
      breakerFailure: false,
      throttled: false,
    };
  }
  if (name === 'SlowDown' || status === 503 || status === 429) return unavailable(true, true, true);
  if (status !== undefined && status >= 500) return unavailable(true, true);
  if (status === 408 || name === 'RequestTimeout') return unavailable(true, true);
  if (status !== undefined && status >= 300) return unavailable(false, false);
  // No HTTP status: the request never got an answer (reset, refused, aborted, DNS, bad response).
  if (NETWORK_ERROR_CODES.has(e?.code ?? '') || name === 'TimeoutError' || name === 'AbortError') {
    return unavailable(true, true);
  }
  return unavailable(true, true);
}

/** Reads an SDK response body (a Node stream with the SDK's mixins) into one Buffer. */
async function readBody(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    chunks.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** `length` bytes at `start` of a body given as one buffer or several back to back (copies once). */
function sliceBody(body: Buffer | readonly Buffer[], start: number, length: number): Buffer {
  if (Buffer.isBuffer(body)) return body.subarray(start, start + length);
  const out = Buffer.allocUnsafe(length);
  let pos = 0; // offset of the current chunk within the body
  let written = 0;
  for (const chunk of body) {
    const end = pos + chunk.length;
    if (end > start && pos < start + length) {
      const from = Math.max(0, start - pos);
      const to = Math.min(chunk.length, start + length - pos);
      written += chunk.copy(out, written, from, to);
    }
    pos = end;
    if (pos >= start + length) break;
  }
  return out;
}

// ---- URL -------------------------------------------------------------------------------------

const INTEGER_PARAMS = {
  multipart_threshold_bytes: 'multipartThresholdBytes',
  part_size_bytes: 'partSizeBytes',
  multipart_concurrency: 'multipartConcurrency',
} as const;

const RESILIENCE_PARAMS = {
  request_timeout_ms: 'requestTimeoutMs',
  max_attempts: 'maxAttempts',
  retry_base_ms: 'retryBaseMs',
  retry_cap_ms: 'retryCapMs',
  breaker_failures: 'breakerFailureThreshold',
  breaker_cooldown_ms: 'breakerCoolDownMs',
} as const;

/** Parses `s3://BUCKET/PREFIX?...` (see the header) into options. Throws INVALID_URL. */
export function parseS3Url(url: string, env: NodeJS.ProcessEnv = process.env): S3ObjectStoreOptions {
  const invalid = (why: string) =>
    new ObjectStoreError('INVALID_URL', `${why} in object store URL ${redact(url)}`);
  const m = /^s3:\/\/([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/is.exec(url);
  if (m === null) throw invalid('not s3://BUCKET/PREFIX');
  const bucket = m[1]!;
  // Bucket naming rules (3-63 chars, lowercase, digits, dots, hyphens): checked here so a typo
  // fails at startup, not at the first upload.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw invalid(`bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name`);
  let prefix: string;
  try {
    prefix = decodeURIComponent(m[2] ?? '').replace(/\/+$/, '');
  } catch (err) {
    throw new ObjectStoreError('INVALID_URL', `malformed percent-encoding in ${redact(url)}`, { cause: err });
  }
  if (prefix !== '') {
    try {
      assertValidObjectKey(prefix);
    } catch {
      throw invalid(`prefix ${JSON.stringify(prefix)} breaks the key rules`);
    }
  }
  const params = new URLSearchParams(m[3] ?? '');
  let region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? DEFAULT_S3_OPTIONS.region;
  let endpoint: string | undefined;
  let forcePathStyle = DEFAULT_S3_OPTIONS.forcePathStyle;
  let checksums = DEFAULT_S3_OPTIONS.checksums;
  let payloadIntegrity = DEFAULT_S3_OPTIONS.payloadIntegrity;
  let accessKeyId: string | undefined;
  let secretAccessKey: string | undefined;
  const numbers: Record<string, number> = {};
  const resilience: Record<string, number> = {};
  const limits: Record<S3OperationKind, OperationLimit> = { ...DEFAULT_S3_RESILIENCE.limits };
  const positiveInt = (name: string, value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
      throw invalid(`${name}=${value} is not a positive integer`);
    }
    return Number(value);
  };
  for (const [name, value] of params) {
    const limitMatch = /^(put|get|list|delete)_(rate|concurrency)$/.exec(name);
    if (name === 'endpoint') {
      try {
        const u = new URL(value);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
      } catch {
        throw invalid(`endpoint=${value} is not an http(s) URL`);
      }
      endpoint = value;
    } else if (name === 'region' && /^[a-z0-9-]+$/.test(value)) region = value;
    else if (name === 'path_style' && (value === 'true' || value === 'false'))
      forcePathStyle = value === 'true';
    else if (name === 'checksums' && (value === 'when_required' || value === 'when_supported'))
      checksums = value === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
    else if (name === 'payload_integrity' && (value === 'crc32c' || value === 'sha256'))
      payloadIntegrity = value;
    else if (name === 'access_key_id' && value !== '') accessKeyId = value;
    else if (name === 'secret_access_key' && value !== '') secretAccessKey = value;
    else if (name in INTEGER_PARAMS)
      numbers[INTEGER_PARAMS[name as keyof typeof INTEGER_PARAMS]] = positiveInt(name, value);
    else if (name in RESILIENCE_PARAMS)
      resilience[RESILIENCE_PARAMS[name as keyof typeof RESILIENCE_PARAMS]] = positiveInt(name, value);
    else if (limitMatch !== null) {
      const kind = limitMatch[1]!.toUpperCase() as S3OperationKind;
      const n = positiveInt(name, value);
      limits[kind] =
        limitMatch[2] === 'rate' ? { ...limits[kind], ratePerSec: n } : { ...limits[kind], maxConcurrent: n };
    } else throw invalid(`unknown or invalid parameter ${name}`);
  }
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw invalid('access_key_id and secret_access_key must be given together');
  }
  const options: S3ObjectStoreOptions = {
    bucket,
    prefix,
    region,
    forcePathStyle,
    checksums,
    payloadIntegrity,
    multipartThresholdBytes: numbers.multipartThresholdBytes ?? DEFAULT_S3_OPTIONS.multipartThresholdBytes,
    partSizeBytes: numbers.partSizeBytes ?? DEFAULT_S3_OPTIONS.partSizeBytes,
    multipartConcurrency: numbers.multipartConcurrency ?? DEFAULT_S3_OPTIONS.multipartConcurrency,
    resilience: { ...DEFAULT_S3_RESILIENCE, ...resilience, limits },
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(accessKeyId === undefined || secretAccessKey === undefined
      ? {}
      : { credentials: { accessKeyId, secretAccessKey } }),
  };
  if (options.resilience.retryCapMs < options.resilience.retryBaseMs)
    throw invalid('retry_cap_ms is below retry_base_ms');
  return options;
}

/** The URL with the secret replaced, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/(secret_access_key=)[^&]*/gi, '$1***');
}
