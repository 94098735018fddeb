// GroupCoordinator without a broker: group-committed offsets reach the store in arrival order even
// when one store write is slow; commits of many groups share one store write, and an invalid group
// fails alone; offsets of long-empty groups expire (offsets.retention.minutes); Empty groups without
// offsets are forgotten; a group with members keeps its offsets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { GROUP_DEFAULTS, GroupCoordinator } from '../../../src/coordinators/groups/group-coordinator.js';
import { MemoryMetadataStore } from '../../../src/metadata/memory-metadata-store.js';
import type {
  GroupOffsetCommit,
  MetadataStore,
  OffsetCommitEntry,
} from '../../../src/metadata/metadata-store.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite-metadata-store.js';

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

const silent = pino({ level: 'silent' });

function entry(partition: number, offset: number, commitTimestampMs = Date.now()): OffsetCommitEntry {
  return { topic: 't', partition, offset, leaderEpoch: -1, metadata: null, commitTimestampMs };
}

function coordinator(store: MetadataStore = new MemoryMetadataStore(), options = {}) {
  const c = new GroupCoordinator(store, { ...GROUP_DEFAULTS, ...options }, silent);
  t.teardown(() => c.close());
  return { c, store };
}

t.test('commits of one partition land in arrival order even if a store write is slow', async (t) => {
  const store = new MemoryMetadataStore();
  const commit = store.commitOffsetsMany.bind(store);
  let calls = 0;
  // The first write takes 50 ms, later ones none: without one-flush-at-a-time the second commit
  // would be written first and then overwritten by the first.
  store.commitOffsetsMany = async (commits) => {
    if (calls++ === 0) await new Promise((r) => setTimeout(r, 50));
    return commit(commits);
  };
  const { c } = coordinator(store);
  const first = c.commitOffsets('g', [entry(0, 1)]);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const second = c.commitOffsets('g', [entry(0, 2)]);
  await Promise.all([first, second]);
  t.equal((await store.fetchOffsets('g'))[0]?.offset, 2, 'the store has the later commit');
  t.equal((await c.fetchOffsets('g')).get('t\u00000')?.offset, 2, 'and so does the cache');
  t.ok(calls >= 2, 'two flushes');

  // Many concurrent commits share few store writes.
  calls = 0;
  await Promise.all(Array.from({ length: 100 }, (_, i) => c.commitOffsets('g', [entry(i % 4, 100 + i)])));
  t.ok(calls <= 2, `100 commits in ${calls} store write(s)`);
  const offsets = [...(await c.fetchOffsets('g')).values()].map((o) => o.offset).sort();
  t.same(offsets, [196, 197, 198, 199], 'the last commit of each partition wins');
});

t.test('a failed store write fails exactly the commits of that flush', async (t) => {
  const store = new MemoryMetadataStore();
  const commit = store.commitOffsetsMany.bind(store);
  let fail = true;
  store.commitOffsetsMany = async (commits) => {
    if (fail) throw new Error('disk full');
    return commit(commits);
  };
  const { c } = coordinator(store);
  const results = await Promise.allSettled([
    c.commitOffsets('g', [entry(0, 5)]),
    c.commitOffsets('other', [entry(0, 5)]),
  ]);
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
    'every group of the failed write',
  );
  t.match(results[0], { reason: /disk full/ });
  t.equal((await c.fetchOffsets('g')).size, 0, 'nothing cached');
  t.equal((await c.fetchOffsets('other')).size, 0, 'nothing cached');
  fail = false;
  await c.commitOffsets('g', [entry(0, 6)]);
  t.equal((await c.fetchOffsets('g')).get('t\u00000')?.offset, 6);
});

/** A SQLite file store (fsync on commit) that records every offset write it receives. */
async function countingSqliteStore(t: TapTest) {
  const dir = await mkdtemp(join(tmpdir(), 'streamhouse-groups-'));
  const store = SqliteMetadataStore.open(join(dir, 'meta.db'));
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const writes: string[][] = [];
  const many = store.commitOffsetsMany.bind(store);
  store.commitOffsetsMany = async (commits: readonly GroupOffsetCommit[]) => {
    writes.push(commits.map((c) => c.groupId));
    return many(commits);
  };
  const single = store.commitOffsets.bind(store);
  store.commitOffsets = async (groupId, offsets) => {
    writes.push([groupId]);
    return single(groupId, offsets);
  };
  return { store, writes };
}

t.test('commits of many groups issued together reach the store in one write', async (t) => {
  const { store, writes } = await countingSqliteStore(t);
  const { c } = coordinator(store);
  const groups = Array.from({ length: 50 }, (_, i) => `g${i}`);
  await Promise.all(groups.map((g, i) => c.commitOffsets(g, [entry(0, i), entry(1, 100 + i)])));
  t.equal(writes.length, 1, `50 groups in ${writes.length} store write(s)`);
  t.same([...(writes[0] ?? [])].sort(), [...groups].sort(), 'the one write holds every group');
  for (const [i, g] of groups.entries()) {
    t.same(
      (await store.fetchOffsets(g)).map((o) => o.offset),
      [i, 100 + i],
      `${g} is in the store`,
    );
  }
  t.equal((await c.fetchOffsets('g7')).get('t\u00001')?.offset, 107, 'and in the cache');
});

t.test('an invalid group is rejected alone; the other groups of its flush commit', async (t) => {
  const { store, writes } = await countingSqliteStore(t);
  const { c } = coordinator(store);
  const bad: OffsetCommitEntry = { ...entry(0, 1), offset: 1.5 };
  const results = await Promise.allSettled([
    c.commitOffsets('good-a', [entry(0, 1)]),
    c.commitOffsets('bad', [entry(1, 1), bad]),
    c.commitOffsets('good-b', [entry(0, 2)]),
    c.commitOffsets('bad-topic', [{ ...entry(0, 1), topic: '' }]),
  ]);
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
  );
  t.match(results[1], { reason: { code: 'INVALID_ARGUMENT' } });
  t.match(results[3], { reason: { code: 'INVALID_ARGUMENT' } });
  t.same(writes, [['good-a', 'good-b']], 'one write, of the valid groups only');
  t.same(await store.listGroupsWithOffsets(), ['good-a', 'good-b'], 'nothing of the invalid groups');
  t.equal((await c.fetchOffsets('bad')).size, 0, 'nothing of the invalid group cached');
  t.equal((await c.fetchOffsets('good-b')).get('t\u00000')?.offset, 2);
  // The invalid group is not stuck: its next valid commit goes through.
  await c.commitOffsets('bad', [entry(1, 3)]);
  t.same(
    (await store.fetchOffsets('bad')).map((o) => o.offset),
    [3],
  );
});

t.test('offsets of a long-empty group expire; a group with members keeps them', async (t) => {
  const { c } = coordinator(undefined, { offsetsRetentionMs: 1000 });
  const old = Date.now() - 10_000;
  await c.commitOffsets('idle', [entry(0, 1, old), entry(1, 2, Date.now())]);
  const busy = c.group('busy', true)!;
  void busy.join({
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: 'h',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    requireKnownMemberId: false,
    supportsSkipAssignment: false,
  });
  await c.commitOffsets('busy', [entry(0, 1, old)]);
  t.equal(await c.expireOffsets(Date.now()), 1, 'only the old commit of the idle group');
  t.same([...(await c.fetchOffsets('idle')).keys()], ['t\u00001']);
  t.equal((await c.fetchOffsets('busy')).size, 1, 'a group with members keeps its offsets');
  t.ok((await c.listGroupIds()).includes('idle'));
});

t.test('Empty groups without offsets are forgotten after a while', async (t) => {
  const { c } = coordinator();
  const g = c.group('transient', true)!;
  c.group('with-offsets', true);
  await c.commitOffsets('with-offsets', [entry(0, 1)]);
  t.equal(c.dropIdleGroups(Date.now()), 0, 'not yet');
  t.equal(c.dropIdleGroups(Date.now() + 120_000), 1, 'one dropped');
  t.equal(g.state, 'Dead');
  t.equal(c.group('transient', false), undefined, 'the transient group is gone');
  t.ok(c.group('with-offsets', false), 'the group with offsets stays');
  t.equal(c.group('transient', true)?.state, 'Empty', 'a later join creates it afresh');
});
