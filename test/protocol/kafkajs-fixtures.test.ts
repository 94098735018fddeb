// Byte-level compatibility with a real client: kafkajs 2.2.4's own protocol encoders and decoders.
//
// Requests: for every API kafkajs implements (its requests/index.js) that is in our registry, and
// every version of it both sides support, kafkajs builds a frame from realistic arguments (Produce
// carries real record batches made by kafkajs's RecordBatch/MessageSet encoders, uncompressed and
// compressed); we decode it with decodeRequest, which must consume every byte, and compare every
// field with what was given to kafkajs. Our encoder must then reproduce kafkajs's bytes exactly.
// Responses: we encode a realistic body with encodeResponse; kafkajs's `decode` + `parse` for the
// same API/version read it, and the fields kafkajs exposes must carry our values.
//
// kafkajs ships only gzip; snappy, lz4 and zstd are registered in its codec table from
// protocol/records (so for those three the batch framing is what is cross-checked, not the codec).
// APIs of kafkajs not (yet) in the registry are skipped with a note.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import t from 'tap';
import { apiCodec, decodeRequest, encodeRequest, encodeResponse } from '../../protocol/codec.js';
import {
  buildRecordBatch,
  compressSync,
  decodeMessageSet,
  decompressSync,
  iterateRecords,
  readBatchHeader,
  splitBatches,
  validateBatch,
} from '../../protocol/records/index.js';

type Obj = Record<string, unknown>;
/** A custom check inside an expected value: returns a description of the problem, or null. */
type Matcher = (actual: unknown) => string | null;

interface KafkajsEncoder {
  buffer: Buffer;
}
interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<KafkajsEncoder>;
}
interface KafkajsResponse {
  decode(payload: Buffer): Promise<unknown>;
  parse(data: unknown): Promise<unknown>;
}
interface KafkajsDefinition {
  versions: string[];
  protocol(o: { version: number }): (args: unknown) => { request: KafkajsRequest; response: KafkajsResponse };
}
interface KafkajsCodec {
  compress(encoder: KafkajsEncoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const require = createRequire(import.meta.url);
const kafkajsDir = dirname(require.resolve('kafkajs/package.json'));
const load = <T>(path: string): T => require(join(kafkajsDir, 'src', path)) as T;

const { requests } = load<{ requests: Record<string, KafkajsDefinition> }>('protocol/requests/index.js');
const apiKeys = load<Record<string, number>>('protocol/requests/apiKeys.js');
const createRequest =
  load<(o: { correlationId: number; clientId: string; request: KafkajsRequest }) => Promise<KafkajsEncoder>>(
    'protocol/request.js',
  );
const Encoder =
  load<new () => KafkajsEncoder & { writeBytes(b: Buffer): KafkajsEncoder }>('protocol/encoder.js');
const MessageSet = load<(o: { messageVersion: number; entries: Obj[] }) => KafkajsEncoder>(
  'protocol/messageSet/index.js',
);
const compression = load<{ Types: Record<string, number>; Codecs: Record<number, () => KafkajsCodec> }>(
  'protocol/message/compression/index.js',
);
const C = compression.Types as { None: number; GZIP: number; Snappy: number; LZ4: number; ZSTD: number };

// kafkajs only ships gzip: plug in ours for the other codecs so compressed batches can be built.
const MAX_DECOMPRESSED = 64 * 1024 * 1024;
for (const [id, name] of [
  [C.Snappy, 'snappy'],
  [C.LZ4, 'lz4'],
  [C.ZSTD, 'zstd'],
] as const) {
  compression.Codecs[id] = () => ({
    compress: async (encoder) => compressSync(name, encoder.buffer),
    decompress: async (buffer) => decompressSync(name, buffer, MAX_DECOMPRESSED),
  });
}

// ---- comparison ---------------------------------------------------------------------------------

function norm(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v !== null && typeof v === 'object' && typeof (v as { value?: unknown }).value === 'bigint')
    return (v as { value: bigint }).value.toString(); // kafkajs Long
  return v;
}

function show(v: unknown): string {
  if (Buffer.isBuffer(v)) return `<Buffer ${v.toString('hex')}>`;
  if (typeof v === 'bigint') return `${v}n`;
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
}

/**
 * Check that `actual` carries everything in `expected` (extra fields in `actual` are ignored).
 * Arrays must match in length. int64 values compare by decimal text (bigint, string or kafkajs
 * Long). `$throttle: n` matches kafkajs's throttle field whatever its name in that version.
 */
function diff(expected: unknown, actual: unknown, path: string, out: string[]): void {
  if (typeof expected === 'function') {
    const problem = (expected as Matcher)(actual);
    if (problem) out.push(`${path}: ${problem}`);
    return;
  }
  if (Buffer.isBuffer(expected)) {
    if (!Buffer.isBuffer(actual) || !expected.equals(actual))
      out.push(`${path}: expected ${show(expected)}, got ${show(actual)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) {
      out.push(`${path}: expected an array, got ${show(actual)}`);
      return;
    }
    if (actual.length !== expected.length) {
      out.push(`${path}: expected ${expected.length} elements, got ${actual.length}: ${show(actual)}`);
      return;
    }
    for (let i = 0; i < expected.length; i++) diff(expected[i], actual[i], `${path}[${i}]`, out);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object') {
      out.push(`${path}: expected an object, got ${show(actual)}`);
      return;
    }
    const a = actual as Obj;
    for (const [k, e] of Object.entries(expected as Obj)) {
      if (k === '$throttle') {
        const seen = [a.throttleTime, a.clientSideThrottleTime, a.throttleTimeMs];
        if (!seen.includes(e)) out.push(`${path}: throttle time ${show(e)} not found in ${show(seen)}`);
        continue;
      }
      if (!(k in a)) {
        out.push(`${path}.${k}: missing (expected ${show(e)})`);
        continue;
      }
      diff(e, a[k], `${path}.${k}`, out);
    }
    return;
  }
  if (norm(expected) !== norm(actual)) out.push(`${path}: expected ${show(expected)}, got ${show(actual)}`);
}

/** `cond ? fields : {}`, for version-dependent fields in object literals. */
const at = (cond: boolean, fields: Obj): Obj => (cond ? fields : {});
const buf = (s: string) => Buffer.from(s, 'utf8');

// ---- records ------------------------------------------------------------------------------------

const T0 = 1_700_000_000_000;

interface Message {
  key: string | Buffer | null;
  value: string | Buffer | null;
  timestamp: number;
  headers?: Record<string, string | string[]>;
}

const ORDERS_P0: Message[] = [
  { key: 'user-1', value: '{"amount":12}', timestamp: T0, headers: { 'trace-id': 'abc-123', source: 'web' } },
  { key: null, value: 'no key here', timestamp: T0 + 5 },
  { key: 'user-2', value: Buffer.from([0, 255, 1, 254]), timestamp: T0 + 7, headers: { multi: ['a', 'b'] } },
];
const ORDERS_P3: Message[] = [
  { key: 'bulk', value: 'lorem ipsum dolor sit amet '.repeat(200), timestamp: T0 + 11, headers: { n: '1' } },
  { key: 'bulk', value: 'consectetur adipiscing elit '.repeat(100), timestamp: T0 + 12 },
];
const PAYMENTS_P1: Message[] = [{ key: 'p', value: 'paid', timestamp: T0 + 20 }];

const asBytes = (v: string | Buffer | null): Buffer | null => (v === null ? null : Buffer.from(v));

function headerList(m: Message): { key: string; value: Buffer }[] {
  return Object.entries(m.headers ?? {}).flatMap(([key, v]) =>
    (Array.isArray(v) ? v : [v]).map((x) => ({ key, value: buf(x) })),
  );
}

interface BatchExpectation {
  codec: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
}

/** Matcher for the records of one Produce partition (v3+): exactly one valid batch holding `messages`. */
function recordBatchMatcher(messages: Message[], e: BatchExpectation): Matcher {
  return (actual) => {
    if (!Buffer.isBuffer(actual)) return `expected a records Buffer, got ${show(actual)}`;
    const { batches, partial } = splitBatches(actual);
    if (batches.length !== 1 || partial !== null)
      return `expected exactly one batch, got ${batches.length} and ${partial?.length ?? 0} partial bytes`;
    const batch = batches[0]!;
    const valid = validateBatch(batch);
    if (!valid.ok) return `batch does not validate: ${valid.errorCode} ${valid.reason}`;
    const h = readBatchHeader(batch);
    const out: string[] = [];
    const expectHeader = {
      magic: 2,
      baseOffset: 0n,
      compression: e.codec,
      producerId: e.producerId,
      producerEpoch: e.producerEpoch,
      baseSequence: e.baseSequence,
      isTransactional: e.transactional,
      isControl: false,
      recordsCount: messages.length,
      lastOffsetDelta: messages.length - 1,
      baseTimestamp: BigInt(Math.min(...messages.map((m) => m.timestamp))),
      maxTimestamp: BigInt(Math.max(...messages.map((m) => m.timestamp))),
    };
    diff(expectHeader, h, 'batch', out);
    const records = [...iterateRecords(batch, { maxDecompressedBytes: MAX_DECOMPRESSED, verifyCrc: true })];
    diff(
      messages.map((m, i) => ({
        offsetDelta: i,
        timestamp: BigInt(m.timestamp),
        key: asBytes(m.key),
        value: asBytes(m.value),
        headers: headerList(m),
      })),
      records,
      'records',
      out,
    );
    return out.length ? out.join('; ') : null;
  };
}

/** Matcher for a legacy MessageSet (Produce v0-2). */
function messageSetMatcher(messages: Message[], magic: 0 | 1): Matcher {
  return (actual) => {
    if (!Buffer.isBuffer(actual)) return `expected a records Buffer, got ${show(actual)}`;
    const { messages: decoded, partial } = decodeMessageSet(actual, {
      maxDecompressedBytes: MAX_DECOMPRESSED,
    });
    if (partial !== null) return `${partial.length} bytes of a partial message`;
    const out: string[] = [];
    diff(
      messages.map((m) => ({
        magic,
        key: asBytes(m.key),
        value: asBytes(m.value),
        ...at(magic === 1, { timestamp: BigInt(m.timestamp) }),
      })),
      decoded,
      'messages',
      out,
    );
    return out.length ? out.join('; ') : null;
  };
}

// ---- fixtures -----------------------------------------------------------------------------------

interface RequestCase {
  label: string;
  /** Arguments for kafkajs's `protocol({ version })(args)`. */
  args: unknown;
  /** Expected decoded request body (our field names). */
  request: Obj;
}

interface Fixture {
  requests(v: number): RequestCase[];
  /** A response body for our encoder. */
  response(v: number): Obj;
  /** What kafkajs's decode + parse must expose for it. */
  parsed(v: number): Obj;
}

const one = (args: unknown, request: Obj): RequestCase[] => [{ label: 'typical', args, request }];

const PRODUCER_ID = '4611686018427387904'; // 2^62: beyond a double's exact range
const ACL = {
  resourceType: 2,
  resourceName: 'orders',
  resourcePatternType: 3,
  principal: 'User:alice',
  host: '*',
  operation: 3,
  permissionType: 3,
};

const FIXTURES: Record<string, Fixture> = {
  Produce: {
    requests(v) {
      const codecs: [string, number][] =
        v < 2
          ? [['none', C.None]]
          : v === 2
            ? [
                ['none', C.None],
                ['gzip', C.GZIP],
              ]
            : [
                ['none', C.None],
                ['gzip', C.GZIP],
                ['snappy', C.Snappy],
                ['lz4', C.LZ4],
                ...(v >= 7 ? ([['zstd', C.ZSTD]] as [string, number][]) : []),
              ];
      return codecs.map(([label, codec], i) => {
        const transactional = v >= 3 && i % 2 === 1;
        const batch = (messages: Message[], baseSequence: number): unknown =>
          v >= 3
            ? recordBatchMatcher(messages, {
                codec,
                producerId: transactional ? BigInt(PRODUCER_ID) : -1n,
                producerEpoch: transactional ? 3 : 0,
                baseSequence,
                transactional,
              })
            : messageSetMatcher(messages, v === 2 ? 1 : 0);
        return {
          label: `${label}${transactional ? ', transactional' : ''}`,
          args: {
            acks: -1,
            timeout: 30000,
            compression: codec,
            ...(transactional
              ? { transactionalId: 'txn-orders', producerId: PRODUCER_ID, producerEpoch: 3 }
              : { producerId: '-1', producerEpoch: 0 }),
            topicData: [
              {
                topic: 'orders',
                partitions: [
                  { partition: 0, firstSequence: transactional ? 10 : 0, messages: ORDERS_P0 },
                  { partition: 3, firstSequence: 0, messages: ORDERS_P3 },
                ],
              },
              { topic: 'payments', partitions: [{ partition: 1, firstSequence: 0, messages: PAYMENTS_P1 }] },
            ],
          },
          request: {
            ...at(v >= 3, { transactionalId: transactional ? 'txn-orders' : null }),
            acks: -1,
            timeoutMs: 30000,
            topicData: [
              {
                name: 'orders',
                partitionData: [
                  { index: 0, records: batch(ORDERS_P0, transactional ? 10 : 0) },
                  { index: 3, records: batch(ORDERS_P3, 0) },
                ],
              },
              { name: 'payments', partitionData: [{ index: 1, records: batch(PAYMENTS_P1, 0) }] },
            ],
          },
        };
      });
    },
    response: () => ({
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            { index: 0, errorCode: 0, baseOffset: 1234n, logAppendTimeMs: -1n, logStartOffset: 17n },
            { index: 3, errorCode: 0, baseOffset: 9_007_199_254_740_993n, logAppendTimeMs: BigInt(T0) },
          ],
        },
      ],
      throttleTimeMs: 5,
    }),
    parsed: (v) => ({
      topics: [
        {
          topicName: 'orders',
          partitions: [
            {
              partition: 0,
              errorCode: 0,
              ...(v >= 3
                ? { baseOffset: '1234', logAppendTime: '-1' }
                : { offset: '1234', ...at(v === 2, { timestamp: '-1' }) }),
              ...at(v >= 5, { logStartOffset: '17' }),
            },
            {
              partition: 3,
              errorCode: 0,
              ...(v >= 3
                ? { baseOffset: '9007199254740993', logAppendTime: String(T0) }
                : { offset: '9007199254740993', ...at(v === 2, { timestamp: String(T0) }) }),
              ...at(v >= 5, { logStartOffset: '-1' }),
            },
          ],
        },
      ],
      ...at(v >= 1, { $throttle: 5 }),
    }),
  },

  Fetch: {
    requests: (v) =>
      one(
        {
          replicaId: -1,
          maxWaitTime: 500,
          minBytes: 1,
          maxBytes: 10485760,
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          rackId: 'rack-a',
          topics: [
            {
              topic: 'orders',
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: 5,
                  fetchOffset: '42',
                  logStartOffset: '3',
                  maxBytes: 1048576,
                },
                { partition: 2, fetchOffset: '9007199254740993', maxBytes: 65536 },
              ],
            },
          ],
          forgottenTopics: [{ topic: 'old-topic', partitions: [1, 2] }],
        },
        {
          replicaId: -1,
          maxWaitMs: 500,
          minBytes: 1,
          ...at(v >= 3, { maxBytes: 10485760 }),
          ...at(v >= 4, { isolationLevel: 0 }),
          ...at(v >= 7, { sessionId: 0, sessionEpoch: -1 }),
          topics: [
            {
              topic: 'orders',
              partitions: [
                {
                  partition: 0,
                  ...at(v >= 9, { currentLeaderEpoch: 5 }),
                  fetchOffset: 42n,
                  ...at(v >= 5, { logStartOffset: 3n }),
                  partitionMaxBytes: 1048576,
                },
                {
                  partition: 2,
                  ...at(v >= 9, { currentLeaderEpoch: -1 }),
                  fetchOffset: 9_007_199_254_740_993n,
                  ...at(v >= 5, { logStartOffset: -1n }),
                  partitionMaxBytes: 65536,
                },
              ],
            },
          ],
          ...at(v >= 7, { forgottenTopicsData: [{ topic: 'old-topic', partitions: [1, 2] }] }),
          ...at(v >= 11, { rackId: 'rack-a' }),
        },
      ),
    response: (v) => ({
      throttleTimeMs: 9,
      errorCode: 0,
      sessionId: 77,
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              highWatermark: 100n,
              lastStableOffset: 90n,
              logStartOffset: 1n,
              abortedTransactions: [{ producerId: 7n, firstOffset: 50n }],
              preferredReadReplica: -1,
              records: v >= 4 ? fetchBatches() : fetchMessageSet(v >= 2 ? 1 : 0),
            },
          ],
        },
      ],
    }),
    parsed: (v) => ({
      responses: [
        {
          topicName: 'orders',
          partitions: [
            {
              partition: 0,
              errorCode: 0,
              highWatermark: '100',
              ...at(v >= 4, {
                lastStableOffset: '90',
                abortedTransactions: [{ producerId: '7', firstOffset: '50' }],
              }),
              ...at(v >= 5, { lastStartOffset: '1' }),
              ...at(v >= 11, { preferredReadReplica: -1 }),
              messages:
                v >= 4
                  ? FETCH_RECORDS.map((r, i) => ({
                      offset: String(40 + i),
                      timestamp: String(T0 + r.timestampDelta),
                      key: asBytes(r.key),
                      value: asBytes(r.value),
                      headers: Object.fromEntries(r.headers.map((h) => [h.key, buf(h.value)])),
                    }))
                  : FETCH_RECORDS.map((r) => ({ key: asBytes(r.key), value: asBytes(r.value) })),
            },
          ],
        },
      ],
      ...at(v >= 7, { errorCode: 0, sessionId: 77 }),
      ...at(v >= 1, { $throttle: 9 }),
    }),
  },

  ListOffsets: {
    requests: (v) =>
      one(
        {
          replicaId: -1,
          isolationLevel: 1,
          topics: [
            {
              topic: 'orders',
              partitions: [
                { partition: 0, timestamp: -1 },
                { partition: 1, timestamp: T0 },
              ],
            },
          ],
        },
        {
          replicaId: -1,
          ...at(v >= 2, { isolationLevel: 1 }),
          topics: [
            {
              name: 'orders',
              partitions: [
                { partitionIndex: 0, timestamp: -1n, ...at(v === 0, { maxNumOffsets: 1 }) },
                { partitionIndex: 1, timestamp: BigInt(T0), ...at(v === 0, { maxNumOffsets: 1 }) },
              ],
            },
          ],
        },
      ),
    response: () => ({
      throttleTimeMs: 3,
      topics: [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 0,
              oldStyleOffsets: [55n, 0n],
              timestamp: BigInt(T0),
              offset: 55n,
            },
          ],
        },
      ],
    }),
    parsed: (v) => ({
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partition: 0,
              errorCode: 0,
              ...(v === 0 ? { offsets: ['55', '0'] } : { timestamp: String(T0), offset: '55' }),
            },
          ],
        },
      ],
      ...at(v >= 2, { $throttle: 3 }),
    }),
  },

  Metadata: {
    requests: (v) => [
      {
        label: 'named topics',
        args: { topics: ['orders', 'payments'], allowAutoTopicCreation: false },
        request: {
          topics: [{ name: 'orders' }, { name: 'payments' }],
          ...at(v >= 4, { allowAutoTopicCreation: false }),
        },
      },
      {
        label: 'all topics',
        args: { topics: [] },
        // kafkajs writes an empty list as null (= all topics) from v1 on
        request: { topics: v >= 1 ? null : [], ...at(v >= 4, { allowAutoTopicCreation: true }) },
      },
    ],
    response: () => ({
      throttleTimeMs: 2,
      brokers: [
        { nodeId: 1, host: 'broker-1.local', port: 9092, rack: 'rack-a' },
        { nodeId: 2, host: 'broker-2.local', port: 9093, rack: null },
      ],
      clusterId: 'cluster-xyz',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 4,
              replicaNodes: [1, 2, 3],
              isrNodes: [1, 2],
              offlineReplicas: [3],
            },
          ],
        },
      ],
    }),
    parsed: (v) => ({
      brokers: [
        { nodeId: 1, host: 'broker-1.local', port: 9092, ...at(v >= 1, { rack: 'rack-a' }) },
        { nodeId: 2, host: 'broker-2.local', port: 9093, ...at(v >= 1, { rack: null }) },
      ],
      ...at(v >= 1, { controllerId: 1 }),
      ...at(v >= 2, { clusterId: 'cluster-xyz' }),
      topicMetadata: [
        {
          topicErrorCode: 0,
          topic: 'orders',
          ...at(v >= 1, { isInternal: false }),
          partitionMetadata: [
            {
              partitionErrorCode: 0,
              partitionId: 0,
              leader: 1,
              replicas: [1, 2, 3],
              isr: [1, 2],
              ...at(v >= 5, { offlineReplicas: [3] }),
            },
          ],
        },
      ],
      ...at(v >= 3, { $throttle: 2 }),
    }),
  },

  OffsetCommit: {
    requests: (v) =>
      one(
        {
          groupId: 'group-1',
          groupGenerationId: 12,
          memberId: 'member-1',
          retentionTime: 86400000,
          topics: [
            {
              topic: 'orders',
              partitions: [
                { partition: 0, offset: '100', metadata: 'meta', timestamp: T0 },
                { partition: 1, offset: '7', timestamp: T0 },
              ],
            },
          ],
        },
        {
          groupId: 'group-1',
          ...at(v >= 1, { generationIdOrMemberEpoch: 12, memberId: 'member-1' }),
          ...at(v >= 2 && v <= 4, { retentionTimeMs: 86400000n }),
          topics: [
            {
              name: 'orders',
              partitions: [
                {
                  partitionIndex: 0,
                  committedOffset: 100n,
                  ...at(v === 1, { commitTimestamp: BigInt(T0) }),
                  committedMetadata: 'meta',
                },
                {
                  partitionIndex: 1,
                  committedOffset: 7n,
                  ...at(v === 1, { commitTimestamp: BigInt(T0) }),
                  committedMetadata: null,
                },
              ],
            },
          ],
        },
      ),
    response: () => ({
      throttleTimeMs: 4,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, errorCode: 0 },
            { partitionIndex: 1, errorCode: 0 },
          ],
        },
      ],
    }),
    parsed: (v) => ({
      responses: [
        {
          topic: 'orders',
          partitions: [
            { partition: 0, errorCode: 0 },
            { partition: 1, errorCode: 0 },
          ],
        },
      ],
      ...at(v >= 3, { $throttle: 4 }),
    }),
  },

  OffsetFetch: {
    requests: (v) => [
      {
        label: 'named partitions',
        args: {
          groupId: 'group-1',
          topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 2 }] }],
        },
        request: { groupId: 'group-1', topics: [{ name: 'orders', partitionIndexes: [0, 2] }] },
      },
      {
        label: 'all partitions',
        args: { groupId: 'group-1', topics: [] },
        request: { groupId: 'group-1', topics: v >= 3 ? null : [] },
      },
    ],
    response: () => ({
      throttleTimeMs: 1,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 0, committedOffset: 100n, metadata: 'meta', errorCode: 0 },
            { partitionIndex: 2, committedOffset: -1n, metadata: '', errorCode: 0 },
          ],
        },
      ],
      errorCode: 0,
    }),
    parsed: (v) => ({
      responses: [
        {
          topic: 'orders',
          partitions: [
            { partition: 0, offset: '100', metadata: 'meta', errorCode: 0 },
            { partition: 2, offset: '-1', metadata: '', errorCode: 0 },
          ],
        },
      ],
      ...at(v >= 2, { errorCode: 0 }),
      ...at(v >= 3, { $throttle: 1 }),
    }),
  },

  GroupCoordinator: {
    requests: (v) =>
      one({ groupId: 'group-1', coordinatorType: 1 }, { key: 'group-1', ...at(v >= 1, { keyType: 1 }) }),
    response: () => ({
      throttleTimeMs: 6,
      errorCode: 0,
      errorMessage: null,
      nodeId: 2,
      host: 'broker-2.local',
      port: 9093,
    }),
    parsed: (v) => ({
      errorCode: 0,
      coordinator: { nodeId: 2, host: 'broker-2.local', port: 9093 },
      ...at(v >= 1, { errorMessage: null, $throttle: 6 }),
    }),
  },

  JoinGroup: {
    requests: (v) =>
      one(
        {
          groupId: 'group-1',
          sessionTimeout: 30000,
          rebalanceTimeout: 60000,
          memberId: '',
          groupInstanceId: null,
          protocolType: 'consumer',
          groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, 6]) }],
        },
        {
          groupId: 'group-1',
          sessionTimeoutMs: 30000,
          ...at(v >= 1, { rebalanceTimeoutMs: 60000 }),
          memberId: '',
          ...at(v >= 5, { groupInstanceId: null }),
          protocolType: 'consumer',
          protocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, 6]) }],
        },
      ),
    response: () => ({
      throttleTimeMs: 8,
      errorCode: 0,
      generationId: 3,
      protocolName: 'RoundRobinAssigner',
      leader: 'member-1',
      memberId: 'member-1',
      members: [{ memberId: 'member-1', groupInstanceId: null, metadata: Buffer.from([9, 8, 7]) }],
    }),
    parsed: (v) => ({
      errorCode: 0,
      generationId: 3,
      groupProtocol: 'RoundRobinAssigner',
      leaderId: 'member-1',
      memberId: 'member-1',
      members: [
        {
          memberId: 'member-1',
          memberMetadata: Buffer.from([9, 8, 7]),
          ...at(v >= 5, { groupInstanceId: null }),
        },
      ],
      ...at(v >= 2, { $throttle: 8 }),
    }),
  },

  Heartbeat: {
    requests: (v) =>
      one(
        { groupId: 'group-1', groupGenerationId: 3, memberId: 'member-1', groupInstanceId: 'instance-1' },
        {
          groupId: 'group-1',
          generationId: 3,
          memberId: 'member-1',
          ...at(v >= 3, { groupInstanceId: 'instance-1' }),
        },
      ),
    response: () => ({ throttleTimeMs: 1, errorCode: 0 }),
    parsed: (v) => ({ errorCode: 0, ...at(v >= 1, { $throttle: 1 }) }),
  },

  LeaveGroup: {
    requests: (v) =>
      one(
        { groupId: 'group-1', memberId: 'member-1', groupInstanceId: 'instance-1' },
        v >= 3
          ? { groupId: 'group-1', members: [{ memberId: 'member-1', groupInstanceId: 'instance-1' }] }
          : { groupId: 'group-1', memberId: 'member-1' },
      ),
    response: () => ({
      throttleTimeMs: 2,
      errorCode: 0,
      members: [{ memberId: 'member-1', groupInstanceId: 'instance-1', errorCode: 0 }],
    }),
    parsed: (v) => ({
      errorCode: 0,
      ...at(v >= 1, { $throttle: 2 }),
      ...at(v >= 3, { members: [{ memberId: 'member-1', groupInstanceId: 'instance-1', errorCode: 0 }] }),
    }),
  },

  SyncGroup: {
    requests: (v) =>
      one(
        {
          groupId: 'group-1',
          generationId: 3,
          memberId: 'member-1',
          groupInstanceId: null,
          groupAssignment: [
            { memberId: 'member-1', memberAssignment: Buffer.from([0, 1, 2]) },
            { memberId: 'member-2', memberAssignment: Buffer.alloc(0) },
          ],
        },
        {
          groupId: 'group-1',
          generationId: 3,
          memberId: 'member-1',
          ...at(v >= 3, { groupInstanceId: null }),
          assignments: [
            { memberId: 'member-1', assignment: Buffer.from([0, 1, 2]) },
            { memberId: 'member-2', assignment: Buffer.alloc(0) },
          ],
        },
      ),
    response: () => ({ throttleTimeMs: 3, errorCode: 0, assignment: Buffer.from([0, 1, 2]) }),
    parsed: (v) => ({
      errorCode: 0,
      memberAssignment: Buffer.from([0, 1, 2]),
      ...at(v >= 1, { $throttle: 3 }),
    }),
  },

  DescribeGroups: {
    requests: () => one({ groupIds: ['group-1', 'group-2'] }, { groups: ['group-1', 'group-2'] }),
    response: () => ({
      throttleTimeMs: 3,
      groups: [
        {
          errorCode: 0,
          groupId: 'group-1',
          groupState: 'Stable',
          protocolType: 'consumer',
          protocolData: 'RoundRobinAssigner',
          members: [
            {
              memberId: 'member-1',
              clientId: 'client-a',
              clientHost: '/10.0.0.1',
              memberMetadata: Buffer.from([1, 2]),
              memberAssignment: Buffer.from([3, 4]),
            },
          ],
        },
      ],
    }),
    parsed: (v) => ({
      groups: [
        {
          errorCode: 0,
          groupId: 'group-1',
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'RoundRobinAssigner',
          members: [
            {
              memberId: 'member-1',
              clientId: 'client-a',
              clientHost: '/10.0.0.1',
              memberMetadata: Buffer.from([1, 2]),
              memberAssignment: Buffer.from([3, 4]),
            },
          ],
        },
      ],
      ...at(v >= 1, { $throttle: 3 }),
    }),
  },

  ListGroups: {
    requests: () => one({}, {}),
    response: () => ({
      throttleTimeMs: 1,
      errorCode: 0,
      groups: [
        { groupId: 'group-1', protocolType: 'consumer' },
        { groupId: 'connect-x', protocolType: 'connect' },
      ],
    }),
    parsed: (v) => ({
      errorCode: 0,
      groups: [
        { groupId: 'group-1', protocolType: 'consumer' },
        { groupId: 'connect-x', protocolType: 'connect' },
      ],
      ...at(v >= 1, { $throttle: 1 }),
    }),
  },

  SaslHandshake: {
    requests: () => one({ mechanism: 'SCRAM-SHA-256' }, { mechanism: 'SCRAM-SHA-256' }),
    response: () => ({ errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-256'] }),
    parsed: () => ({ errorCode: 0, enabledMechanisms: ['PLAIN', 'SCRAM-SHA-256'] }),
  },

  ApiVersions: {
    requests: () => one({}, {}),
    response: () => ({
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 0, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
      throttleTimeMs: 7,
    }),
    parsed: (v) => ({
      errorCode: 0,
      apiVersions: [
        { apiKey: 0, minVersion: 0, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
      ...at(v >= 1, { $throttle: 7 }),
    }),
  },

  CreateTopics: {
    requests: (v) =>
      one(
        {
          topics: [
            {
              topic: 'new-topic',
              numPartitions: 6,
              replicationFactor: 3,
              configEntries: [
                { name: 'cleanup.policy', value: 'compact' },
                { name: 'retention.ms', value: '86400000' },
              ],
            },
            {
              topic: 'assigned',
              replicaAssignment: [
                { partition: 0, replicas: [1, 2] },
                { partition: 1, replicas: [2, 3] },
              ],
            },
          ],
          timeout: 15000,
          validateOnly: true,
        },
        {
          topics: [
            {
              name: 'new-topic',
              numPartitions: 6,
              replicationFactor: 3,
              assignments: [],
              configs: [
                { name: 'cleanup.policy', value: 'compact' },
                { name: 'retention.ms', value: '86400000' },
              ],
            },
            {
              name: 'assigned',
              numPartitions: -1,
              replicationFactor: -1,
              assignments: [
                { partitionIndex: 0, brokerIds: [1, 2] },
                { partitionIndex: 1, brokerIds: [2, 3] },
              ],
              configs: [],
            },
          ],
          timeoutMs: 15000,
          ...at(v >= 1, { validateOnly: true }),
        },
      ),
    response: () => ({
      throttleTimeMs: 2,
      topics: [
        { name: 'new-topic', errorCode: 0, errorMessage: null },
        { name: 'assigned', errorCode: 0, errorMessage: null },
      ],
    }),
    parsed: (v) => ({
      // kafkajs sorts by topic name
      topicErrors: [
        { topic: 'assigned', errorCode: 0, ...at(v >= 1, { errorMessage: null }) },
        { topic: 'new-topic', errorCode: 0, ...at(v >= 1, { errorMessage: null }) },
      ],
      ...at(v >= 2, { $throttle: 2 }),
    }),
  },

  DeleteTopics: {
    requests: () =>
      one({ topics: ['old-a', 'old-b'], timeout: 5000 }, { topicNames: ['old-a', 'old-b'], timeoutMs: 5000 }),
    response: () => ({
      throttleTimeMs: 1,
      responses: [
        { name: 'old-a', errorCode: 0 },
        { name: 'old-b', errorCode: 0 },
      ],
    }),
    parsed: (v) => ({
      topicErrors: [
        { topic: 'old-a', errorCode: 0 },
        { topic: 'old-b', errorCode: 0 },
      ],
      ...at(v >= 1, { $throttle: 1 }),
    }),
  },

  DeleteRecords: {
    requests: () =>
      one(
        { topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '120' }] }], timeout: 5000 },
        { topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, offset: 120n }] }], timeoutMs: 5000 },
      ),
    response: () => ({
      throttleTimeMs: 1,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, lowWatermark: 120n, errorCode: 0 }] }],
    }),
    parsed: () => ({
      topics: [{ topic: 'orders', partitions: [{ partition: 0, lowWatermark: 120n, errorCode: 0 }] }],
      $throttle: 1,
    }),
  },

  InitProducerId: {
    requests: () => [
      {
        label: 'transactional',
        args: { transactionalId: 'txn-orders', transactionTimeout: 60000 },
        request: { transactionalId: 'txn-orders', transactionTimeoutMs: 60000 },
      },
      {
        label: 'idempotent',
        args: { transactionalId: null },
        request: { transactionalId: null, transactionTimeoutMs: 5000 },
      },
    ],
    response: () => ({ throttleTimeMs: 0, errorCode: 0, producerId: BigInt(PRODUCER_ID), producerEpoch: 2 }),
    parsed: () => ({ errorCode: 0, producerId: PRODUCER_ID, producerEpoch: 2, $throttle: 0 }),
  },

  AddPartitionsToTxn: {
    requests: () =>
      one(
        {
          transactionalId: 'txn-orders',
          producerId: PRODUCER_ID,
          producerEpoch: 2,
          topics: [
            { topic: 'orders', partitions: [0, 1] },
            { topic: 'payments', partitions: [4] },
          ],
        },
        {
          v3AndBelowTransactionalId: 'txn-orders',
          v3AndBelowProducerId: BigInt(PRODUCER_ID),
          v3AndBelowProducerEpoch: 2,
          v3AndBelowTopics: [
            { name: 'orders', partitions: [0, 1] },
            { name: 'payments', partitions: [4] },
          ],
        },
      ),
    response: () => ({
      throttleTimeMs: 1,
      resultsByTopicV3AndBelow: [
        {
          name: 'orders',
          resultsByPartition: [
            { partitionIndex: 0, partitionErrorCode: 0 },
            { partitionIndex: 1, partitionErrorCode: 0 },
          ],
        },
      ],
    }),
    parsed: () => ({
      errors: [
        {
          topic: 'orders',
          partitionErrors: [
            { partition: 0, errorCode: 0 },
            { partition: 1, errorCode: 0 },
          ],
        },
      ],
      $throttle: 1,
    }),
  },

  AddOffsetsToTxn: {
    requests: () =>
      one(
        { transactionalId: 'txn-orders', producerId: PRODUCER_ID, producerEpoch: 2, groupId: 'group-1' },
        {
          transactionalId: 'txn-orders',
          producerId: BigInt(PRODUCER_ID),
          producerEpoch: 2,
          groupId: 'group-1',
        },
      ),
    response: () => ({ throttleTimeMs: 2, errorCode: 0 }),
    parsed: () => ({ errorCode: 0, $throttle: 2 }),
  },

  EndTxn: {
    requests: () => [
      {
        label: 'commit',
        args: {
          transactionalId: 'txn-orders',
          producerId: PRODUCER_ID,
          producerEpoch: 2,
          transactionResult: true,
        },
        request: {
          transactionalId: 'txn-orders',
          producerId: BigInt(PRODUCER_ID),
          producerEpoch: 2,
          committed: true,
        },
      },
      {
        label: 'abort',
        args: {
          transactionalId: 'txn-orders',
          producerId: PRODUCER_ID,
          producerEpoch: 2,
          transactionResult: false,
        },
        request: { committed: false },
      },
    ],
    response: () => ({ throttleTimeMs: 3, errorCode: 0 }),
    parsed: () => ({ errorCode: 0, $throttle: 3 }),
  },

  TxnOffsetCommit: {
    requests: () =>
      one(
        {
          transactionalId: 'txn-orders',
          groupId: 'group-1',
          producerId: PRODUCER_ID,
          producerEpoch: 2,
          topics: [
            {
              topic: 'orders',
              partitions: [
                { partition: 0, offset: '55', metadata: null },
                { partition: 1, offset: '66', metadata: 'm' },
              ],
            },
          ],
        },
        {
          transactionalId: 'txn-orders',
          groupId: 'group-1',
          producerId: BigInt(PRODUCER_ID),
          producerEpoch: 2,
          topics: [
            {
              name: 'orders',
              partitions: [
                { partitionIndex: 0, committedOffset: 55n, committedMetadata: null },
                { partitionIndex: 1, committedOffset: 66n, committedMetadata: 'm' },
              ],
            },
          ],
        },
      ),
    response: () => ({
      throttleTimeMs: 4,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
    }),
    parsed: () => ({
      topics: [{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }] }],
      $throttle: 4,
    }),
  },

  DescribeAcls: {
    requests: (v) =>
      one(ACL, {
        resourceTypeFilter: 2,
        resourceNameFilter: 'orders',
        ...at(v >= 1, { patternTypeFilter: 3 }),
        principalFilter: 'User:alice',
        hostFilter: '*',
        operation: 3,
        permissionType: 3,
      }),
    response: () => ({
      throttleTimeMs: 1,
      errorCode: 0,
      errorMessage: null,
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          patternType: 3,
          acls: [{ principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }],
        },
      ],
    }),
    parsed: (v) => ({
      errorCode: 0,
      errorMessage: null,
      resources: [
        {
          resourceType: 2,
          resourceName: 'orders',
          ...at(v >= 1, { resourcePatternType: 3 }),
          acls: [{ principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }],
        },
      ],
      $throttle: 1,
    }),
  },

  CreateAcls: {
    requests: (v) =>
      one(
        { creations: [ACL] },
        {
          creations: [
            {
              resourceType: 2,
              resourceName: 'orders',
              ...at(v >= 1, { resourcePatternType: 3 }),
              principal: 'User:alice',
              host: '*',
              operation: 3,
              permissionType: 3,
            },
          ],
        },
      ),
    response: () => ({ throttleTimeMs: 1, results: [{ errorCode: 0, errorMessage: null }] }),
    parsed: () => ({ creationResponses: [{ errorCode: 0, errorMessage: null }], $throttle: 1 }),
  },

  DeleteAcls: {
    requests: (v) =>
      one(
        { filters: [ACL] },
        {
          filters: [
            {
              resourceTypeFilter: 2,
              resourceNameFilter: 'orders',
              ...at(v >= 1, { patternTypeFilter: 3 }),
              principalFilter: 'User:alice',
              hostFilter: '*',
              operation: 3,
              permissionType: 3,
            },
          ],
        },
      ),
    response: () => ({
      throttleTimeMs: 1,
      filterResults: [
        {
          errorCode: 0,
          errorMessage: null,
          matchingAcls: [
            {
              errorCode: 0,
              errorMessage: null,
              resourceType: 2,
              resourceName: 'orders',
              patternType: 3,
              principal: 'User:alice',
              host: '*',
              operation: 3,
              permissionType: 3,
            },
          ],
        },
      ],
    }),
    parsed: (v) => ({
      filterResponses: [
        {
          errorCode: 0,
          errorMessage: null,
          matchingAcls: [
            {
              errorCode: 0,
              errorMessage: null,
              resourceType: 2,
              resourceName: 'orders',
              ...at(v >= 1, { resourcePatternType: 3 }),
              principal: 'User:alice',
              host: '*',
              operation: 3,
              permissionType: 3,
            },
          ],
        },
      ],
      $throttle: 1,
    }),
  },

  DescribeConfigs: {
    requests: (v) =>
      one(
        {
          resources: [
            { type: 2, name: 'orders', configNames: ['retention.ms', 'cleanup.policy'] },
            { type: 4, name: '1' },
          ],
          includeSynonyms: true,
        },
        {
          resources: [
            {
              resourceType: 2,
              resourceName: 'orders',
              configurationKeys: ['retention.ms', 'cleanup.policy'],
            },
            { resourceType: 4, resourceName: '1', configurationKeys: null },
          ],
          ...at(v >= 1, { includeSynonyms: true }),
        },
      ),
    response: () => ({
      throttleTimeMs: 1,
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'orders',
          configs: [
            {
              name: 'retention.ms',
              value: '604800000',
              readOnly: false,
              isDefault: false,
              configSource: 1,
              isSensitive: false,
              synonyms: [{ name: 'retention.ms', value: '604800000', source: 1 }],
            },
          ],
        },
      ],
    }),
    parsed: (v) => ({
      resources: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 'orders',
          configEntries: [
            {
              configName: 'retention.ms',
              configValue: '604800000',
              readOnly: false,
              isDefault: false,
              isSensitive: false,
              ...at(v >= 1, {
                configSource: 1,
                configSynonyms: [{ configName: 'retention.ms', configValue: '604800000', configSource: 1 }],
              }),
            },
          ],
        },
      ],
      $throttle: 1,
    }),
  },

  AlterConfigs: {
    requests: () =>
      one(
        {
          resources: [{ type: 2, name: 'orders', configEntries: [{ name: 'retention.ms', value: '1000' }] }],
          validateOnly: false,
        },
        {
          resources: [
            { resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1000' }] },
          ],
          validateOnly: false,
        },
      ),
    response: () => ({
      throttleTimeMs: 1,
      responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }],
    }),
    parsed: () => ({
      resources: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }],
      $throttle: 1,
    }),
  },

  SaslAuthenticate: {
    // kafkajs's SASL mechanisms hand over the token already framed as BYTES
    requests: () =>
      one(
        { authBytes: new Encoder().writeBytes(buf('\0alice\0secret')).buffer },
        { authBytes: buf('\0alice\0secret') },
      ),
    response: () => ({
      errorCode: 0,
      errorMessage: null,
      authBytes: buf('server-final'),
      sessionLifetimeMs: 3600000n,
    }),
    parsed: (v) => ({
      errorCode: 0,
      errorMessage: null,
      // and expect it back framed the same way
      authBytes: new Encoder().writeBytes(buf('server-final')).buffer,
      ...at(v >= 1, { sessionLifetimeMs: '3600000' }),
    }),
  },

  CreatePartitions: {
    requests: () =>
      one(
        {
          topicPartitions: [
            {
              topic: 'orders',
              count: 12,
              assignments: [
                [1, 2],
                [2, 3],
              ],
            },
            { topic: 'payments', count: 4 },
          ],
          timeout: 5000,
          validateOnly: false,
        },
        {
          topics: [
            { name: 'orders', count: 12, assignments: [{ brokerIds: [1, 2] }, { brokerIds: [2, 3] }] },
            { name: 'payments', count: 4, assignments: null },
          ],
          timeoutMs: 5000,
          validateOnly: false,
        },
      ),
    response: () => ({
      throttleTimeMs: 1,
      results: [{ name: 'orders', errorCode: 0, errorMessage: null }],
    }),
    parsed: () => ({ topicErrors: [{ topic: 'orders', errorCode: 0, errorMessage: null }], $throttle: 1 }),
  },

  DeleteGroups: {
    requests: () => one(['group-1', 'group-2'], { groupsNames: ['group-1', 'group-2'] }),
    response: () => ({
      throttleTimeMs: 1,
      results: [
        { groupId: 'group-1', errorCode: 0 },
        { groupId: 'group-2', errorCode: 0 },
      ],
    }),
    parsed: () => ({
      results: [
        { groupId: 'group-1', errorCode: 0 },
        { groupId: 'group-2', errorCode: 0 },
      ],
      $throttle: 1,
    }),
  },

  AlterPartitionReassignments: {
    requests: () =>
      one(
        {
          topics: [{ topic: 'orders', partitionAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }],
          timeout: 5000,
        },
        {
          timeoutMs: 5000,
          topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, replicas: [1, 2, 3] }] }],
        },
      ),
    response: () => ({
      throttleTimeMs: 1,
      errorCode: 0,
      errorMessage: null,
      responses: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }] }],
    }),
    parsed: () => ({
      errorCode: 0,
      responses: [{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }] }],
      $throttle: 1,
    }),
  },

  ListPartitionReassignments: {
    requests: () =>
      one(
        { topics: [{ topic: 'orders', partitions: [0, 1] }], timeout: 5000 },
        { timeoutMs: 5000, topics: [{ name: 'orders', partitionIndexes: [0, 1] }] },
      ),
    response: () => ({
      throttleTimeMs: 1,
      errorCode: 0,
      errorMessage: null,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, replicas: [1, 2], addingReplicas: [3], removingReplicas: [] }],
        },
      ],
    }),
    parsed: () => ({
      errorCode: 0,
      topics: [
        {
          name: 'orders',
          partitions: [{ partition: 0, replicas: [1, 2], addingReplicas: [3], removingReplicas: [] }],
        },
      ],
      $throttle: 1,
    }),
  },
};

// Fetch response records: two batches (one gzip) and a trailing partial batch, as chunks.
const FETCH_RECORDS = [
  { key: 'k1', value: 'first', timestampDelta: 0, headers: [{ key: 'h', value: 'x' }] },
  { key: null, value: 'second', timestampDelta: 3, headers: [] },
  { key: 'k3', value: 'third (gzip batch)', timestampDelta: 9, headers: [{ key: 'trace', value: 't-1' }] },
];

function fetchBatches(): Buffer[] {
  const first = buildRecordBatch({
    baseOffset: 40n,
    baseTimestamp: BigInt(T0),
    records: FETCH_RECORDS.slice(0, 2),
  });
  const second = buildRecordBatch({
    baseOffset: 42n,
    baseTimestamp: BigInt(T0 + 9),
    records: [{ ...FETCH_RECORDS[2]!, timestampDelta: 0 }],
    compression: 'gzip',
  });
  const partial = buildRecordBatch({
    baseOffset: 43n,
    baseTimestamp: BigInt(T0),
    records: [{ value: 'cut' }],
  });
  return [first, second, partial.subarray(0, 30)];
}

function fetchMessageSet(messageVersion: 0 | 1): Buffer {
  return MessageSet({
    messageVersion,
    entries: FETCH_RECORDS.map((r) => ({ key: r.key, value: r.value, timestamp: T0 + r.timestampDelta })),
  }).buffer;
}

// ---- the tests ----------------------------------------------------------------------------------

const CLIENT_ID = 'kafkajs-fixture';

for (const [name, definition] of Object.entries(requests)) {
  if (definition.versions.length === 0) continue; // not implemented by kafkajs
  const apiKey = apiKeys[name];
  const codec = apiKey === undefined ? undefined : apiCodec(apiKey);
  const fixture = FIXTURES[name];
  t.test(
    `${name} (key ${apiKey})`,
    { skip: codec ? false : `key ${apiKey} is not in the registry yet` },
    async (t) => {
      if (!codec || apiKey === undefined) return;
      if (!fixture) {
        t.fail(`no fixture written for kafkajs's ${name}`);
        return;
      }
      const versions = definition.versions.map(Number).filter((v) => codec.supports(v));
      t.ok(
        versions.length > 0,
        `kafkajs versions ${definition.versions.join(',')} overlap ours (${codec.def.versions})`,
      );
      for (const v of versions) {
        for (const c of fixture.requests(v)) {
          const { request } = definition.protocol({ version: v })(c.args);
          t.equal(request.apiVersion, v, `kafkajs built v${v}`);
          const correlationId = 1000 + v;
          const frame = (await createRequest({ correlationId, clientId: CLIENT_ID, request })).buffer;
          t.equal(frame.readInt32BE(0), frame.length - 4, `v${v} ${c.label}: size prefix`);
          let decoded: ReturnType<typeof decodeRequest>;
          try {
            decoded = decodeRequest(frame.subarray(4)); // throws TRAILING_BYTES unless every byte is consumed
          } catch (err) {
            t.fail(
              `v${v} ${c.label}: request does not decode: ${String(err)}\n  hex: ${frame.toString('hex')}`,
            );
            continue;
          }
          t.same(
            decoded.header,
            { apiKey, apiVersion: v, correlationId, clientId: CLIENT_ID },
            `v${v} ${c.label}: request header`,
          );
          const problems: string[] = [];
          diff(c.request, decoded.body, 'body', problems);
          for (const p of problems) t.fail(`request v${v} ${c.label}: ${p}`);
          if (problems.length === 0) t.pass(`request v${v} ${c.label}: every field as given to kafkajs`);
          const again = Buffer.concat(encodeRequest(decoded.header, decoded.body));
          t.ok(again.equals(frame), `request v${v} ${c.label}: our encoder reproduces kafkajs's bytes`);
        }

        const { response } = definition.protocol({ version: v })(fixture.requests(v)[0]!.args);
        const correlationId = 2000 + v;
        const frame = Buffer.concat(
          encodeResponse({ apiKey, apiVersion: v, correlationId }, fixture.response(v)),
        );
        t.equal(frame.readInt32BE(4), correlationId, `response v${v}: correlation id`);
        // As kafkajs's connection does: drop the size and correlation id, hand the rest to decode.
        let parsed: unknown;
        try {
          parsed = await response.parse(await response.decode(frame.subarray(8)));
        } catch (err) {
          t.fail(`response v${v}: kafkajs cannot read it: ${String(err)}\n  hex: ${frame.toString('hex')}`);
          continue;
        }
        const problems: string[] = [];
        diff(fixture.parsed(v), parsed, 'parsed', problems);
        for (const p of problems) t.fail(`response v${v}: ${p}`);
        if (problems.length === 0) t.pass(`response v${v}: kafkajs reads every field back`);
      }
    },
  );
}

t.test('every fixture belongs to an API kafkajs implements', async (t) => {
  for (const name of Object.keys(FIXTURES)) t.ok(requests[name]?.versions.length, name);
});
