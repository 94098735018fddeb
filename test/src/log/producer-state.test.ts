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

// ---- transactions ---------------------------------------------------------------------------------

t.test('a transactional batch opens its producer transaction once; a marker closes it', async (t) => {
  const s = new ProducerStateTable();
  s.beginTxn(1, 10);
  s.beginTxn(1, 15); // a later batch of the same transaction: first offset stays
  t.same([...s.openTxns], [[1, 10]]);
  t.equal(s.firstUnstableOffset(100), 10);
  s.applyMarker(1, 0, 20, true, 0);
  t.same([...s.openTxns], [], 'commit closes');
  t.same(s.aborted, [], 'a commit leaves nothing in the aborted index');
  t.equal(s.firstUnstableOffset(21), Number.POSITIVE_INFINITY, 'stable once the marker is durable');
  t.equal(s.firstUnstableOffset(20), 10, 'a marker not yet durable still holds the transaction back');
});

t.test('interleaved producers: LSO follows the earliest open transaction, aborts are indexed', async (t) => {
  const s = new ProducerStateTable();
  s.beginTxn(1, 0);
  s.beginTxn(2, 3);
  s.beginTxn(3, 5);
  t.equal(s.firstUnstableOffset(100), 0);
  s.applyMarker(2, 0, 8, false, 0); // abort 2 while 1 and 3 are open
  t.equal(s.firstUnstableOffset(100), 0);
  s.applyMarker(1, 0, 9, true, 0);
  t.equal(s.firstUnstableOffset(100), 5, 'producer 3 is the earliest still open');
  s.beginTxn(1, 10); // producer 1's next transaction
  s.applyMarker(3, 0, 11, false, 0);
  t.equal(s.firstUnstableOffset(100), 10);
  t.same(s.aborted, [
    { producerId: 2, firstOffset: 3, lastOffset: 8 },
    { producerId: 3, firstOffset: 5, lastOffset: 11 },
  ]);
  // A reader of [9, 12) must drop producer 3's records from 5 on; producer 2's abort ended at 8.
  t.same(s.abortedBetween(9, 12), [{ producerId: 3, firstOffset: 5 }]);
  t.same(s.abortedBetween(0, 4), [{ producerId: 2, firstOffset: 3 }], 'txn 3 starts past the data');
  t.same(s.abortedBetween(12, 20), []);
});

t.test('a marker with no open transaction is ignored by the bookkeeping', async (t) => {
  const s = new ProducerStateTable();
  s.applyMarker(4, 0, 3, false, 0);
  t.same(s.aborted, []);
  t.equal(s.firstUnstableOffset(10), Number.POSITIVE_INFINITY);
});

t.test('markers never touch sequences; a newer epoch in a marker fences the old one', async (t) => {
  const s = new ProducerStateTable();
  s.record(batch(1, 0, 0, 3), 0, 2, 1);
  s.beginTxn(1, 0);
  s.applyMarker(1, 0, 3, true, 2);
  t.equal(s.check(batch(1, 0, 3)).kind, 'append', 'same epoch: the sequence continues after the marker');
  s.beginTxn(1, 4);
  s.record(batch(1, 0, 3), 4, 4, 3);
  s.applyMarker(1, 1, 5, false, 4); // the coordinator bumped the epoch (timeout) and aborted
  const fenced = s.check(batch(1, 0, 4));
  t.equal(fenced.kind === 'error' && fenced.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  t.equal(s.check(batch(1, 1, 0)).kind, 'append', 'the new epoch starts afresh');
});

t.test('snapshot as of an end: later batches and markers are not in it', async (t) => {
  const s = new ProducerStateTable();
  s.beginTxn(1, 0);
  s.beginTxn(2, 2);
  s.applyMarker(2, 0, 4, false, 0); // aborted at 4
  s.applyMarker(1, 0, 6, false, 0); // aborted at 6, past the snapshot end
  s.beginTxn(3, 7); // opened past the end
  const snap = s.txnSnapshot(5);
  t.same(snap.open, [[1, 0]], 'producer 1 was still open at 5; producer 3 had not started');
  t.same(snap.aborted, [[2, 2, 4]]);
  t.ok(s.txnChangedSince(5), 'what happened at or past the end is not covered');
  s.snapshotSaved(5);
  const restored = new ProducerStateTable();
  restored.loadTxns(JSON.parse(JSON.stringify(snap)));
  // Replaying what followed the end gives back the state in memory.
  restored.applyMarker(1, 0, 6, false, 0);
  restored.beginTxn(3, 7);
  t.same(restored.aborted, s.aborted);
  t.same([...restored.openTxns], [...s.openTxns]);
  t.same(s.txnSnapshot(8), restored.txnSnapshot(8));
});

t.test('aborted index pruned below the log start; old snapshots have no transactions', async (t) => {
  const s = new ProducerStateTable();
  s.beginTxn(1, 0);
  s.applyMarker(1, 0, 3, false, 0);
  s.beginTxn(1, 4);
  s.applyMarker(1, 0, 6, false, 0);
  s.pruneAborted(4);
  t.same(s.aborted, [{ producerId: 1, firstOffset: 4, lastOffset: 6 }]);
  const old = new ProducerStateTable();
  old.loadTxns(undefined);
  t.same(old.aborted, []);
  t.equal(old.openTxns.size, 0);
});

t.test('a producer with an open transaction does not expire', async (t) => {
  const s = new ProducerStateTable();
  s.record(batch(1, 0, 0), 0, 0, 1000);
  s.beginTxn(1, 0);
  t.equal(s.expire(1_000_000, 10), 0);
  s.applyMarker(1, 0, 1, true, 1000);
  t.equal(s.expire(1_000_000, 10), 1);
});
