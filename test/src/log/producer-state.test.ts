// The idempotent-producer rules of ProducerStateTable, one by one.
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { MAX_CACHED_BATCHES, ProducerStateTable } from '../../../src/log/producer-state.js';

const batch = (producerId: number, producerEpoch: number, baseSequence: number, count = 1) => ({
  producerId,
  producerEpoch,
  baseSequence,
  lastOffsetDelta: count - 1,
});

t.test('unknown producer: any first sequence is accepted', async (t) => {
  const s = new ProducerStateTable();
  t.equal(s.check(batch(7, 0, 0)).kind, 'append');
  t.equal(s.check(batch(7, 0, 42)).kind, 'append');
});

t.test('in-sequence batches append; a retried batch is a duplicate with its original offsets', async (t) => {
  const s = new ProducerStateTable();
  s.record(batch(1, 0, 0, 3), 100, 102, 1);
  t.equal(s.check(batch(1, 0, 3, 2)).kind, 'append');
  s.record(batch(1, 0, 3, 2), 103, 104, 2);
  const dup = s.check(batch(1, 0, 0, 3));
  t.equal(dup.kind, 'duplicate');
  if (dup.kind === 'duplicate') t.same([dup.batch.firstOffset, dup.batch.lastOffset], [100, 102]);
});

t.test('a gap is OUT_OF_ORDER_SEQUENCE_NUMBER', async (t) => {
  const s = new ProducerStateTable();
  s.record(batch(1, 0, 0, 1), 0, 0, 1);
  const r = s.check(batch(1, 0, 2));
  t.equal(r.kind, 'error');
  if (r.kind === 'error') t.equal(r.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
});

t.test('an older epoch is INVALID_PRODUCER_EPOCH; a newer epoch must restart at 0', async (t) => {
  const s = new ProducerStateTable();
  s.record(batch(1, 3, 0), 0, 0, 1);
  const old = s.check(batch(1, 2, 1));
  t.equal(old.kind === 'error' && old.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  const bumpedWrong = s.check(batch(1, 4, 5));
  t.equal(bumpedWrong.kind === 'error' && bumpedWrong.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  t.equal(s.check(batch(1, 4, 0)).kind, 'append');
  s.record(batch(1, 4, 0), 1, 1, 2);
  t.equal(s.producers.get(1)?.epoch, 4);
  t.equal(s.producers.get(1)?.batches.length, 1, 'a new epoch forgets the old batches');
});

t.test('sequences wrap from INT32 max to 0', async (t) => {
  const s = new ProducerStateTable();
  s.record(batch(1, 0, 2147483646, 2), 0, 1, 1);
  t.equal(s.check(batch(1, 0, 0)).kind, 'append');
});

t.test('only the last 5 batches are remembered', async (t) => {
  const s = new ProducerStateTable();
  for (let i = 0; i < 8; i++) s.record(batch(1, 0, i), i, i, i);
  t.equal(s.producers.get(1)?.batches.length, MAX_CACHED_BATCHES);
  t.equal(s.check(batch(1, 0, 7)).kind, 'duplicate');
  t.equal(s.check(batch(1, 0, 1)).kind, 'error', 'too old to recognise: out of order');
});

t.test('expiry and JSON round trip', async (t) => {
  const s = new ProducerStateTable();
  s.record(batch(1, 0, 0), 0, 0, 1000);
  s.record(batch(2, 0, 0), 1, 1, 5000);
  t.equal(s.expire(6000, 2000), 1);
  const copy = ProducerStateTable.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
  t.same([...copy.producers.keys()], [2]);
  t.equal(copy.check(batch(2, 0, 0)).kind, 'duplicate');
});
