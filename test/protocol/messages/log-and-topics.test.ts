// Log and topic APIs (Fetch, ListOffsets, Metadata, CreateTopics, DeleteTopics, DeleteRecords,
// OffsetForLeaderEpoch, CreatePartitions, DescribeCluster, DescribeProducers,
// DescribeTopicPartitions): random bodies round-trip through the compiled codecs for every version
// in both directions, plus byte-level checks of the layouts that matter most (Fetch records,
// nullable structs).
import t from 'tap';
import { Fetch } from '../../../protocol/messages/01-fetch.js';
import { ListOffsets } from '../../../protocol/messages/02-list-offsets.js';
import { Metadata } from '../../../protocol/messages/03-metadata.js';
import { CreateTopics } from '../../../protocol/messages/19-create-topics.js';
import { DeleteTopics } from '../../../protocol/messages/20-delete-topics.js';
import { DeleteRecords } from '../../../protocol/messages/21-delete-records.js';
import { OffsetForLeaderEpoch } from '../../../protocol/messages/23-offset-for-leader-epoch.js';
import { CreatePartitions } from '../../../protocol/messages/37-create-partitions.js';
import { DescribeCluster } from '../../../protocol/messages/60-describe-cluster.js';
import { DescribeProducers } from '../../../protocol/messages/61-describe-producers.js';
import { DescribeTopicPartitions } from '../../../protocol/messages/75-describe-topic-partitions.js';
import { compileDecoder, compileEncoder, Reader, Writer } from '../../../protocol/schema/compile.js';
import {
  type ApiDefinition,
  type Fields,
  inVersions,
  parseVersions,
} from '../../../protocol/schema/schema.js';
import { diffStruct, makeRng, randomStruct } from '../support/random-values.js';

const DEFINITIONS: readonly ApiDefinition[] = [
  Fetch,
  ListOffsets,
  Metadata,
  CreateTopics,
  DeleteTopics,
  DeleteRecords,
  OffsetForLeaderEpoch,
  CreatePartitions,
  DescribeCluster,
  DescribeProducers,
  DescribeTopicPartitions,
];

const CASES_PER_VERSION = 25;

function encode(fields: Fields, version: number, flexible: boolean, value: Record<string, unknown>): Buffer {
  const w = new Writer();
  compileEncoder(fields, version, flexible)(w, value);
  return w.toBuffer();
}

for (const def of DEFINITIONS) {
  t.test(`${def.name} (key ${def.apiKey}) round-trips every version`, async (t) => {
    const { min, max } = parseVersions(def.versions);
    const rng = makeRng(def.apiKey * 7919 + 17);
    for (let version = min; version <= max; version++) {
      const flexible = inVersions(def.flexible, version);
      for (const [direction, fields] of [
        ['request', def.request],
        ['response', def.response],
      ] as const) {
        const decode = compileDecoder(fields, version, flexible);
        for (let i = 0; i < CASES_PER_VERSION; i++) {
          const value = randomStruct(fields, version, rng);
          const buf = encode(fields, version, flexible, value);
          const reader = new Reader(buf);
          const decoded = decode(reader);
          if (reader.offset !== buf.length)
            t.fail(`${direction} v${version}: consumed ${reader.offset} of ${buf.length} bytes`);
          const diff = diffStruct(fields, version, value, decoded);
          if (diff) t.fail(`${direction} v${version}: ${diff}`);
          if (!encode(fields, version, flexible, decoded).equals(buf))
            t.fail(`${direction} v${version}: re-encoding differs`);
        }
        t.pass(`${direction} v${version}`);
      }
    }
  });
}

t.test('Fetch response records are written from chunks without copying', async (t) => {
  const a = Buffer.alloc(4096, 1);
  const b = Buffer.alloc(3000, 2);
  for (const version of [4, 11, 12, 17]) {
    const flexible = inVersions(Fetch.flexible, version);
    const w = new Writer();
    compileEncoder(
      Fetch.response,
      version,
      flexible,
    )(w, {
      responses: [
        { topic: 't', topicId: '00000000-0000-0000-0000-000000000001', partitions: [{ records: [a, b] }] },
      ],
    });
    const chunks = w.finish();
    t.ok(
      chunks.some((c) => c === a),
      `v${version}: first chunk referenced`,
    );
    t.ok(
      chunks.some((c) => c === b),
      `v${version}: second chunk referenced`,
    );
    const buf = Buffer.concat(chunks);
    const reader = new Reader(buf);
    const decoded = compileDecoder(Fetch.response, version, flexible)(reader) as {
      responses: { partitions: { records: Buffer | null }[] }[];
    };
    t.equal(reader.offset, buf.length);
    t.ok(
      decoded.responses[0]?.partitions[0]?.records?.equals(Buffer.concat([a, b])),
      `v${version}: records intact`,
    );
  }
});

t.test('Fetch response partition layout, v4 (non-flexible) and v12 (flexible)', async (t) => {
  const records = Buffer.from([9, 8, 7]);
  const partition = {
    partitionIndex: 2,
    errorCode: 0,
    highWatermark: 10n,
    lastStableOffset: 9n,
    logStartOffset: 1n,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records,
  };
  const v4 = encode(Fetch.response, 4, false, {
    throttleTimeMs: 0,
    responses: [{ topic: 'ab', partitions: [partition] }],
  });
  t.same(
    [...v4],
    [
      ...[0, 0, 0, 0], // throttleTimeMs
      ...[0, 0, 0, 1], // responses count
      ...[0, 2, 0x61, 0x62], // topic
      ...[0, 0, 0, 1], // partitions count
      ...[0, 0, 0, 2], // partitionIndex
      ...[0, 0], // errorCode
      ...[0, 0, 0, 0, 0, 0, 0, 10], // highWatermark
      ...[0, 0, 0, 0, 0, 0, 0, 9], // lastStableOffset
      ...[0xff, 0xff, 0xff, 0xff], // abortedTransactions: null
      ...[0, 0, 0, 3, 9, 8, 7], // records
    ],
  );
  const v12 = encode(Fetch.response, 12, true, {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [
      { topic: 'ab', partitions: [{ ...partition, currentLeader: { leaderId: 3, leaderEpoch: 4 } }] },
    ],
  });
  t.same(
    [...v12],
    [
      ...[0, 0, 0, 0], // throttleTimeMs
      ...[0, 0], // errorCode
      ...[0, 0, 0, 0], // sessionId
      2, // responses: compact count 1
      ...[3, 0x61, 0x62], // topic
      2, // partitions: compact count 1
      ...[0, 0, 0, 2],
      ...[0, 0],
      ...[0, 0, 0, 0, 0, 0, 0, 10],
      ...[0, 0, 0, 0, 0, 0, 0, 9],
      ...[0, 0, 0, 0, 0, 0, 0, 1], // logStartOffset
      0, // abortedTransactions: compact null
      ...[0xff, 0xff, 0xff, 0xff], // preferredReadReplica
      ...[4, 9, 8, 7], // records: compact
      ...[1, 1, 9, 0, 0, 0, 3, 0, 0, 0, 4, 0], // tagged: CurrentLeader (tag 1, 9 bytes)
      0, // topic tagged fields
      0, // top-level tagged fields
    ],
  );
});

t.test('DescribeTopicPartitions nullable cursor is an INT8 marker', async (t) => {
  const base = { topics: [], responsePartitionLimit: 2000 };
  const limit = [0, 0, 0x07, 0xd0];
  const absent = encode(DescribeTopicPartitions.request, 0, true, base);
  t.same([...absent], [1, ...limit, 0xff, 0]);
  const nulled = encode(DescribeTopicPartitions.request, 0, true, { ...base, cursor: null });
  t.same([...nulled], [1, ...limit, 0xff, 0]);
  const present = encode(DescribeTopicPartitions.request, 0, true, {
    ...base,
    cursor: { topicName: 't', partitionIndex: 5 },
  });
  t.same([...present], [1, ...limit, 1, 2, 0x74, 0, 0, 0, 5, 0, 0]);
  const decode = compileDecoder(DescribeTopicPartitions.request, 0, true);
  t.equal(decode(new Reader(absent)).cursor, null);
  t.same(decode(new Reader(present)).cursor, { topicName: 't', partitionIndex: 5 });
  const res = compileDecoder(
    DescribeTopicPartitions.response,
    0,
    true,
  )(new Reader(encode(DescribeTopicPartitions.response, 0, true, { throttleTimeMs: 0, topics: [] })));
  t.equal(res.nextCursor, null, 'nextCursor defaults to null');
});

t.test('defaults fill fields absent from old versions', async (t) => {
  const fetch = compileDecoder(
    Fetch.request,
    0,
    false,
  )(new Reader(encode(Fetch.request, 0, false, { replicaId: -1, maxWaitMs: 1, minBytes: 1, topics: [] })));
  t.equal(fetch.maxBytes, 2147483647);
  t.equal(fetch.sessionEpoch, -1);
  t.equal(fetch.clusterId, null);
  t.equal(fetch.rackId, '');
  const meta = compileDecoder(Metadata.request, 0, false)(new Reader(encode(Metadata.request, 0, false, {})));
  t.equal(meta.allowAutoTopicCreation, true);
  const ofle = compileDecoder(
    OffsetForLeaderEpoch.request,
    0,
    false,
  )(new Reader(encode(OffsetForLeaderEpoch.request, 0, false, { topics: [] })));
  t.equal(ofle.replicaId, -2);
  const cluster = compileDecoder(
    DescribeCluster.response,
    0,
    true,
  )(new Reader(encode(DescribeCluster.response, 0, true, { clusterId: 'c', brokers: [] })));
  t.equal(cluster.endpointType, 1);
  t.equal(cluster.controllerId, -1);
  t.equal(cluster.clusterAuthorizedOperations, -2147483648);
});

t.test('Metadata request topics may be null from v1, not in v0', async (t) => {
  const v1 = encode(Metadata.request, 1, false, { topics: null });
  t.same([...v1], [0xff, 0xff, 0xff, 0xff]);
  t.throws(() => encode(Metadata.request, 0, false, { topics: null }));
});
