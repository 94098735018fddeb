// Transaction and admin APIs (keys 22-33, 44, 48-51, 65, 66): random bodies for every version, both
// directions, encode → decode → same values, every byte consumed, and re-encode to the same bytes.
// Plus a few hand-built byte checks for the shapes that are easy to get wrong (FLOAT64 quotas, the
// v3/v4 split of AddPartitionsToTxn, v0-only fields).
import t from 'tap';
import { InitProducerId } from '../../../protocol/messages/22-init-producer-id.js';
import { AddPartitionsToTxn } from '../../../protocol/messages/24-add-partitions-to-txn.js';
import { AddOffsetsToTxn } from '../../../protocol/messages/25-add-offsets-to-txn.js';
import { EndTxn } from '../../../protocol/messages/26-end-txn.js';
import { TxnOffsetCommit } from '../../../protocol/messages/28-txn-offset-commit.js';
import { DescribeAcls } from '../../../protocol/messages/29-describe-acls.js';
import { CreateAcls } from '../../../protocol/messages/30-create-acls.js';
import { DeleteAcls } from '../../../protocol/messages/31-delete-acls.js';
import { DescribeConfigs } from '../../../protocol/messages/32-describe-configs.js';
import { AlterConfigs } from '../../../protocol/messages/33-alter-configs.js';
import { IncrementalAlterConfigs } from '../../../protocol/messages/44-incremental-alter-configs.js';
import { DescribeClientQuotas } from '../../../protocol/messages/48-describe-client-quotas.js';
import { AlterClientQuotas } from '../../../protocol/messages/49-alter-client-quotas.js';
import { DescribeUserScramCredentials } from '../../../protocol/messages/50-describe-user-scram-credentials.js';
import { AlterUserScramCredentials } from '../../../protocol/messages/51-alter-user-scram-credentials.js';
import { DescribeTransactions } from '../../../protocol/messages/65-describe-transactions.js';
import { ListTransactions } from '../../../protocol/messages/66-list-transactions.js';
import { compileDecoder, compileEncoder, Reader, Writer } from '../../../protocol/schema/compile.js';
import {
  type ApiDefinition,
  type Fields,
  inVersions,
  parseVersions,
} from '../../../protocol/schema/schema.js';
import { diffStruct, makeRng, randomStruct } from '../support/random-values.js';

const DEFINITIONS: readonly ApiDefinition[] = [
  InitProducerId,
  AddPartitionsToTxn,
  AddOffsetsToTxn,
  EndTxn,
  TxnOffsetCommit,
  DescribeAcls,
  CreateAcls,
  DeleteAcls,
  DescribeConfigs,
  AlterConfigs,
  IncrementalAlterConfigs,
  DescribeClientQuotas,
  AlterClientQuotas,
  DescribeUserScramCredentials,
  AlterUserScramCredentials,
  DescribeTransactions,
  ListTransactions,
];

const CASES_PER_VERSION = 40;

function encode(fields: Fields, version: number, flexible: boolean, value: Record<string, unknown>): Buffer {
  const w = new Writer();
  compileEncoder(fields, version, flexible)(w, value);
  return w.toBuffer();
}

function decode(fields: Fields, version: number, flexible: boolean, buf: Buffer) {
  const r = new Reader(buf);
  const value = compileDecoder(fields, version, flexible)(r);
  return { value, consumed: r.offset };
}

for (const def of DEFINITIONS) {
  t.test(`${def.name} (key ${def.apiKey})`, async (t) => {
    const { min, max } = parseVersions(def.versions);
    const rng = makeRng(def.apiKey * 7919 + 17);
    for (let version = min; version <= max; version++) {
      const flexible = inVersions(def.flexible, version);
      for (const [side, fields] of [
        ['request', def.request],
        ['response', def.response],
      ] as const) {
        let failures = 0;
        for (let i = 0; i < CASES_PER_VERSION && failures === 0; i++) {
          const value = randomStruct(fields, version, rng);
          const buf = encode(fields, version, flexible, value);
          const { value: decoded, consumed } = decode(fields, version, flexible, buf);
          if (consumed !== buf.length) {
            failures++;
            t.fail(`${side} v${version}: consumed ${consumed} of ${buf.length} bytes`);
          }
          const diff = diffStruct(fields, version, value, decoded);
          if (diff) {
            failures++;
            t.fail(`${side} v${version}: ${diff}`);
          }
          if (!encode(fields, version, flexible, decoded).equals(buf)) {
            failures++;
            t.fail(`${side} v${version}: re-encoding differs`);
          }
        }
        t.equal(failures, 0, `${side} v${version} round-trips`);
      }
    }
  });
}

t.test('AlterClientQuotas v0 request carries quota values as big-endian IEEE doubles', async (t) => {
  const body = {
    entries: [
      { entity: [{ entityType: 'user', entityName: null }], ops: [{ key: 'k', value: 1.5, remove: false }] },
    ],
    validateOnly: true,
  };
  const buf = encode(AlterClientQuotas.request, 0, false, body);
  const expected = Buffer.concat([
    Buffer.from([0, 0, 0, 1]), // entries
    Buffer.from([0, 0, 0, 1, 0, 4]), // entity[1], entityType length
    Buffer.from('user'),
    Buffer.from([0xff, 0xff]), // entityName null
    Buffer.from([0, 0, 0, 1, 0, 1]), // ops[1], key length
    Buffer.from('k'),
    Buffer.from([0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), // 1.5
    Buffer.from([0, 1]), // remove=false, validateOnly=true
  ]);
  t.same([...buf], [...expected]);
  const { value } = decode(AlterClientQuotas.request, 0, false, buf);
  t.same(value, body);
});

t.test('DescribeClientQuotas response: null entries and fractional values', async (t) => {
  for (const version of [0, 1]) {
    const flexible = version >= 1;
    const nullEntries = { throttleTimeMs: 0, errorCode: 42, errorMessage: 'bad', entries: null };
    const buf = encode(DescribeClientQuotas.response, version, flexible, nullEntries);
    t.same(decode(DescribeClientQuotas.response, version, flexible, buf).value, nullEntries);
    const body = {
      throttleTimeMs: 5,
      errorCode: 0,
      errorMessage: null,
      entries: [
        {
          entity: [{ entityType: 'client-id', entityName: 'c' }],
          values: [
            { key: 'producer_byte_rate', value: 1048576.25 },
            { key: 'request_percentage', value: -0.1 },
          ],
        },
      ],
    };
    const { value } = decode(
      DescribeClientQuotas.response,
      version,
      flexible,
      encode(DescribeClientQuotas.response, version, flexible, body),
    );
    t.same(value, body);
  }
});

t.test('AddPartitionsToTxn: v0-3 carry one transaction, v4+ a batch', async (t) => {
  const body = {
    transactions: [
      {
        transactionalId: 'b',
        producerId: 7n,
        producerEpoch: 1,
        verifyOnly: true,
        topics: [{ name: 'u', partitions: [3] }],
      },
    ],
    v3AndBelowTransactionalId: 'a',
    v3AndBelowProducerId: 5n,
    v3AndBelowProducerEpoch: 2,
    v3AndBelowTopics: [{ name: 't', partitions: [0, 1] }],
  };
  // v3 (flexible): only the v3AndBelow* fields.
  const v3 = encode(AddPartitionsToTxn.request, 3, true, body);
  t.same(
    [...v3],
    [
      ...[2, 0x61], // transactionalId "a"
      ...[0, 0, 0, 0, 0, 0, 0, 5], // producerId
      ...[0, 2], // producerEpoch
      ...[2, 2, 0x74, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0], // topics [{ "t", [0, 1] }] + tags
      0, // top-level tags
    ],
  );
  const d3 = decode(AddPartitionsToTxn.request, 3, true, v3).value;
  t.same(d3.transactions, [], 'v3 decodes no batch');
  t.equal(d3.v3AndBelowTransactionalId, 'a');
  // v4: only the batched transactions.
  const v4 = encode(AddPartitionsToTxn.request, 4, true, body);
  t.same(
    [...v4],
    [
      2, // transactions[1]
      ...[2, 0x62], // transactionalId "b"
      ...[0, 0, 0, 0, 0, 0, 0, 7],
      ...[0, 1],
      1, // verifyOnly
      ...[2, 2, 0x75, 2, 0, 0, 0, 3, 0], // topics [{ "u", [3] }] + tags
      0, // transaction tags
      0, // top-level tags
    ],
  );
  const d4 = decode(AddPartitionsToTxn.request, 4, true, v4).value;
  t.equal(d4.v3AndBelowTransactionalId, '', 'v4 decodes the v3 fields as defaults');
  t.same(d4.v3AndBelowTopics, []);

  const res = {
    throttleTimeMs: 0,
    errorCode: 0,
    resultsByTransaction: [
      {
        transactionalId: 'b',
        topicResults: [{ name: 'u', resultsByPartition: [{ partitionIndex: 3, partitionErrorCode: 0 }] }],
      },
    ],
    resultsByTopicV3AndBelow: [
      { name: 't', resultsByPartition: [{ partitionIndex: 1, partitionErrorCode: 48 }] },
    ],
  };
  const r2 = decode(
    AddPartitionsToTxn.response,
    2,
    false,
    encode(AddPartitionsToTxn.response, 2, false, res),
  ).value;
  t.same(r2.resultsByTransaction, []);
  t.same(r2.resultsByTopicV3AndBelow, res.resultsByTopicV3AndBelow);
  const r5 = decode(
    AddPartitionsToTxn.response,
    5,
    true,
    encode(AddPartitionsToTxn.response, 5, true, res),
  ).value;
  t.same(r5.resultsByTransaction, res.resultsByTransaction);
  t.same(r5.resultsByTopicV3AndBelow, []);
});

t.test('defaults for fields a version lacks', async (t) => {
  const ip = decode(InitProducerId.request, 2, true, encode(InitProducerId.request, 2, true, {})).value;
  t.equal(ip.producerId, -1n);
  t.equal(ip.producerEpoch, -1);
  const lt = decode(ListTransactions.request, 0, true, encode(ListTransactions.request, 0, true, {})).value;
  t.equal(lt.durationFilter, -1n);
  const da = decode(DescribeAcls.request, 0, false, encode(DescribeAcls.request, 0, false, {})).value;
  t.equal(da.patternTypeFilter, 3, 'LITERAL before v1');
  const toc = decode(TxnOffsetCommit.request, 2, false, encode(TxnOffsetCommit.request, 2, false, {})).value;
  t.equal(toc.generationId, -1);
  t.equal(toc.groupInstanceId, null);
  // DescribeConfigs: isDefault exists only in v0; configSource/configType default outside their range.
  const cfg = { name: 'x', value: null, readOnly: false, isDefault: true, isSensitive: true };
  const res = {
    throttleTimeMs: 0,
    results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't', configs: [cfg] }],
  };
  const d0 = decode(
    DescribeConfigs.response,
    0,
    false,
    encode(DescribeConfigs.response, 0, false, res),
  ).value;
  const c0 = (d0.results as { configs: Record<string, unknown>[] }[])[0]?.configs[0];
  t.equal(c0?.isDefault, true);
  t.equal(c0?.configSource, -1);
  const d1 = decode(
    DescribeConfigs.response,
    1,
    false,
    encode(DescribeConfigs.response, 1, false, res),
  ).value;
  const c1 = (d1.results as { configs: Record<string, unknown>[] }[])[0]?.configs[0];
  t.equal(c1?.isDefault, false, 'isDefault is not on the wire after v0');
});
