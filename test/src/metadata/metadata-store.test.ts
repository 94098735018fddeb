import t from 'tap';
import {
  isMetadataStoreError,
  METADATA_STORE_ERROR_CODES,
  MetadataStoreError,
} from '../../../src/metadata/metadata-store.js';
import { planObjectCommit } from '../../../src/metadata/store-rules.js';

t.test('every error code is documented and has a retriable flag', async (t) => {
  for (const [code, info] of Object.entries(METADATA_STORE_ERROR_CODES)) {
    t.match(code, /^[A-Z_]+$/, `${code} is an upper-case stable code`);
    t.ok(info.description.length > 10, `${code} has a description`);
    t.type(info.retriable, 'boolean');
  }
  t.equal(METADATA_STORE_ERROR_CODES.METADATA_STORE_UNAVAILABLE.retriable, true);
  t.equal(METADATA_STORE_ERROR_CODES.INDEX_NOT_CONTIGUOUS.retriable, false);
});

t.test('MetadataStoreError carries code, retriable and cause', async (t) => {
  const cause = new Error('disk I/O error');
  const err = new MetadataStoreError('METADATA_STORE_UNAVAILABLE', 'commit failed', { cause });
  t.equal(err.name, 'MetadataStoreError');
  t.equal(err.code, 'METADATA_STORE_UNAVAILABLE');
  t.equal(err.retriable, true);
  t.equal(err.cause, cause);
  t.ok(isMetadataStoreError(err, 'METADATA_STORE_UNAVAILABLE'));
  t.notOk(isMetadataStoreError(err, 'TOPIC_NOT_FOUND'));
  t.notOk(isMetadataStoreError(new Error('x')));
});

t.test('object fingerprints ignore entry order and creation time, not content', async (t) => {
  const e1 = {
    topicId: 'a',
    partition: 0,
    baseOffset: 0,
    lastOffset: 4,
    byteOffset: 0,
    byteLength: 10,
    maxTimestampMs: 5,
    batchCount: 1,
  };
  const e2 = { ...e1, partition: 1, byteOffset: 10 };
  const base = planObjectCommit({ key: 'k', sizeBytes: 20, createdAtMs: 1, entries: [e1, e2] });
  const reordered = planObjectCommit({ key: 'k', sizeBytes: 20, createdAtMs: 2, entries: [e2, e1] });
  const changed = planObjectCommit({
    key: 'k',
    sizeBytes: 20,
    createdAtMs: 1,
    entries: [e1, { ...e2, batchCount: 2 }],
  });
  t.equal(base.fingerprint, reordered.fingerprint);
  t.not(base.fingerprint, changed.fingerprint);
  t.equal(base.partitions.length, 2);
  t.equal(base.entryCount, 2);
});
