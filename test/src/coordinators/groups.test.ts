// The group coordinator over TCP, raw protocol (KafkaTestClient): JoinGroup/SyncGroup/Heartbeat/
// LeaveGroup as Kafka's classic coordinator answers them, static membership, the admin group APIs,
// OffsetCommit/OffsetFetch, and committed offsets surviving a broker restart. Every subtest has a
// time limit; rebalance delays and session timeouts are shortened through BrokerConfig.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import {
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetDelete,
  OffsetFetch,
  SyncGroup,
} from '../../../protocol/messages/index.js';
import { type RunningBroker, type StartBrokerOptions, startBroker } from '../../../src/broker/broker.js';
import { decodeAssignment, encodeSubscription, RawMember } from '../../support/group-client.js';
import { KafkaTestClient } from '../../support/kafka-client.js';

const INITIAL_DELAY_MS = 200;
const BROKER_OPTIONS: StartBrokerOptions = {
  listen: { host: '127.0.0.1', port: 0 },
  admin: null,
  logLevel: 'silent',
  groupInitialRebalanceDelayMs: INITIAL_DELAY_MS,
  groupMinSessionTimeoutMs: 100,
};

const broker = await startBroker({
  ...BROKER_OPTIONS,
  dataDir: null,
  metadataUrl: 'memory://',
  objectStoreUrl: 'memory://',
});
const clients: KafkaTestClient[] = [];
t.teardown(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await broker.close();
});
await broker.context.log.createTopic('tA', 4, {});
await broker.context.log.createTopic('tB', 2, {});

async function connect(b: RunningBroker = broker, clientId = 'groups-test'): Promise<KafkaTestClient> {
  const c = await KafkaTestClient.connect(b.bootstrap, clientId);
  clients.push(c);
  return c;
}

async function member(
  opts: ConstructorParameters<typeof RawMember>[1],
  b: RunningBroker = broker,
): Promise<RawMember> {
  return new RawMember(await connect(b, `client-${opts.groupInstanceId ?? 'dyn'}`), opts);
}

const admin = await connect();

async function describe(groupId: string) {
  const res = await admin.send(DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false });
  return res.groups[0]!;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Join every member together (one generation), then sync them all; returns the join responses. */
async function formGroup(members: RawMember[], partitions: Record<string, number>) {
  const joins = await Promise.all(members.map((m) => m.join()));
  const syncs = await Promise.all(members.map((m) => m.sync(partitions)));
  for (const s of syncs) if (s.errorCode !== 0) throw new Error(`SyncGroup error ${s.errorCode}`);
  return joins;
}

async function standaloneCommit(
  groupId: string,
  topic: string,
  partition: number,
  offset: number,
  metadata = '',
) {
  const res = await admin.send(OffsetCommit, 8, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: topic,
        partitions: [
          {
            partitionIndex: partition,
            committedOffset: BigInt(offset),
            committedLeaderEpoch: 3,
            committedMetadata: metadata,
          },
        ],
      },
    ],
  });
  return res.topics[0]!.partitions[0]!.errorCode;
}

t.test('FindCoordinator names this broker for groups', { timeout: 10_000 }, async (t) => {
  const res = await admin.send(FindCoordinator, 3, { key: 'any', keyType: 0 });
  t.equal(res.errorCode, 0);
  t.equal(`${res.host}:${res.port}`, broker.bootstrap);
});

t.test(
  'JoinGroup v4+ without a member id: MEMBER_ID_REQUIRED with an id, then joined with it',
  { timeout: 10_000 },
  async (t) => {
    const m = await member({ groupId: 'g-join', topics: ['tA'] });
    const first = await m.joinOnce();
    t.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    t.not(first.memberId, '', 'the broker chose a member id');
    t.match(first.memberId, /^client-dyn-/, 'member id starts with the client id, as in Kafka');
    const second = await m.joinOnce();
    t.equal(second.errorCode, 0);
    t.equal(second.memberId, first.memberId, 'joined under the id it was given');
    t.equal(second.generationId, 1);
    t.equal(second.leader, first.memberId, 'sole member leads');
    t.equal(second.protocolName, 'range');
    t.same(
      second.members.map((x) => x.memberId),
      [first.memberId],
    );

    // v3 and below: no MEMBER_ID_REQUIRED round trip.
    const old = await member({ groupId: 'g-join-v3', topics: ['tA'], joinVersion: 3 });
    const r = await old.joinOnce();
    t.equal(r.errorCode, 0, 'v3 joins at once');
    t.not(r.memberId, '');

    // A made-up member id is not a member; it does not create the group either.
    const ghost = new RawMember(admin, { groupId: 'g-ghost', topics: ['tA'] });
    ghost.memberId = 'nobody';
    t.equal((await ghost.joinOnce()).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    t.equal((await describe('g-ghost')).groupState, 'Dead', 'no group was created');
  },
);

t.test(
  'two members: leader sees both subscriptions, follower none; SyncGroup hands out assignments',
  { timeout: 15_000 },
  async (t) => {
    const a = await member({ groupId: 'g-two', topics: ['tA'] });
    const b = await member({ groupId: 'g-two', topics: ['tA', 'tB'] });
    const [ja, jb] = await Promise.all([a.join(), b.join()]);
    t.equal(ja.generationId, jb.generationId, 'one generation for both');
    t.equal(ja.leader, jb.leader, 'both name the same leader');
    const [leader, follower] = a.isLeader ? [ja, jb] : [jb, ja];
    t.equal(leader.members.length, 2, 'leader gets every member');
    t.equal(follower.members.length, 0, 'follower gets no member list');
    const meta = new Map(leader.members.map((m) => [m.memberId, m.metadata]));
    t.same(meta.get(a.memberId), encodeSubscription(['tA']), "a's subscription as sent");
    t.same(meta.get(b.memberId), encodeSubscription(['tA', 'tB']), "b's subscription as sent");

    // The follower's SyncGroup waits for the leader's.
    const followerMember = a.isLeader ? b : a;
    const leaderMember = a.isLeader ? a : b;
    const followerSync = followerMember.sync();
    await sleep(50);
    t.equal((await describe('g-two')).groupState, 'CompletingRebalance');
    const leaderSync = await leaderMember.sync({ tA: 4 });
    const fs = await followerSync;
    t.equal(leaderSync.errorCode, 0);
    t.equal(fs.errorCode, 0);
    t.equal(fs.protocolName, 'range');
    const all = [...(a.assignment.tA ?? []), ...(b.assignment.tA ?? [])].sort();
    t.same(all, [0, 1, 2, 3], 'the 4 partitions split between the two');
    t.equal(a.assignment.tA?.length, 2);

    const d = await describe('g-two');
    t.equal(d.groupState, 'Stable');
    t.equal(d.protocolType, 'consumer');
    t.equal(d.protocolData, 'range');
    t.same(
      d.members.map((m) => JSON.stringify(decodeAssignment(m.memberAssignment))).sort(),
      [a.assignment, b.assignment].map((x) => JSON.stringify(x)).sort(),
      'DescribeGroups shows the assignments',
    );
    t.equal(await a.heartbeat(), 0);
    t.equal(await b.heartbeat(), 0);
  },
);

t.test(
  'rebalance: heartbeats answer REBALANCE_IN_PROGRESS; commits need the current generation',
  { timeout: 15_000 },
  async (t) => {
    const a = await member({ groupId: 'g-rebal', topics: ['tA'] });
    const b = await member({ groupId: 'g-rebal', topics: ['tA'] });
    await formGroup([a, b], { tA: 4 });
    const gen1 = a.generationId;
    t.same(await a.commit([{ topic: 'tA', partition: 0, offset: 10 }]), [0], 'Stable: commit accepted');

    const c = await member({ groupId: 'g-rebal', topics: ['tA'] });
    const cJoin = c.join();
    await waitFor(
      'PreparingRebalance',
      async () => (await describe('g-rebal')).groupState === 'PreparingRebalance',
    );
    t.equal(await a.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS, 'heartbeat during rebalance');
    t.equal(await b.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
    // Consumers commit what they processed before rejoining: Kafka accepts that (same generation).
    t.same(
      await a.commit([{ topic: 'tA', partition: 0, offset: 11 }]),
      [0],
      'commit while preparing a rebalance',
    );

    const [ja, jb, jc] = await Promise.all([a.join(), b.join(), cJoin]);
    t.equal(ja.generationId, gen1 + 1, 'next generation');
    t.equal(jb.generationId, gen1 + 1);
    t.equal(jc.generationId, gen1 + 1);
    const leader = [ja, jb, jc].find((j) => j.members.length > 0)!;
    t.equal(leader.members.length, 3);

    // Between JoinGroup and SyncGroup a current-generation commit must wait.
    t.same(await a.commit([{ topic: 'tA', partition: 0, offset: 12 }]), [ErrorCode.REBALANCE_IN_PROGRESS]);
    const stale = new RawMember(a.client, a.options);
    stale.memberId = a.memberId;
    stale.generationId = gen1;
    t.same(
      await stale.commit([{ topic: 'tA', partition: 0, offset: 13 }]),
      [ErrorCode.ILLEGAL_GENERATION],
      'stale generation',
    );
    t.equal(await stale.heartbeat(), ErrorCode.ILLEGAL_GENERATION);

    await Promise.all([a.sync({ tA: 4 }), b.sync({ tA: 4 }), c.sync({ tA: 4 })]);
    t.same(await a.commit([{ topic: 'tA', partition: 0, offset: 14 }]), [0]);
    const fetched = await admin.send(OffsetFetch, 7, {
      groupId: 'g-rebal',
      topics: [{ name: 'tA', partitionIndexes: [0] }],
      requireStable: true,
    });
    t.equal(fetched.topics[0]!.partitions[0]!.committedOffset, 14n);
  },
);

t.test(
  'session timeout: a silent member is expelled (UNKNOWN_MEMBER_ID), the rest rebalance',
  { timeout: 15_000 },
  async (t) => {
    const quiet = await member({ groupId: 'g-expire', topics: ['tA'], sessionTimeoutMs: 400 });
    const alive = await member({ groupId: 'g-expire', topics: ['tA'], sessionTimeoutMs: 400 });
    await formGroup([quiet, alive], { tA: 4 });
    const gen = alive.generationId;
    // `alive` heartbeats; `quiet` does not.
    let code = 0;
    const deadline = Date.now() + 5000;
    while (code === 0 && Date.now() < deadline) {
      await sleep(100);
      code = await alive.heartbeat();
    }
    t.equal(code, ErrorCode.REBALANCE_IN_PROGRESS, 'the survivor is told to rejoin');
    t.equal(await quiet.heartbeat(), ErrorCode.UNKNOWN_MEMBER_ID, 'the expelled member is unknown');
    t.same(await quiet.commit([{ topic: 'tA', partition: 1, offset: 1 }]), [ErrorCode.UNKNOWN_MEMBER_ID]);
    const j = await alive.join();
    t.equal(j.generationId, gen + 1);
    t.same(
      j.members.map((m) => m.memberId),
      [alive.memberId],
      'only the survivor',
    );
    await alive.sync({ tA: 4 });
    t.same(alive.assignment.tA, [0, 1, 2, 3]);

    // The last member expiring leaves the group Empty.
    await waitFor('Empty', async () => (await describe('g-expire')).groupState === 'Empty', 5000);
    t.equal(await alive.heartbeat(), ErrorCode.UNKNOWN_MEMBER_ID);
  },
);

t.test(
  'static membership: a restart within the session timeout keeps the generation; the old id is fenced',
  { timeout: 15_000 },
  async (t) => {
    const s1 = await member({
      groupId: 'g-static',
      topics: ['tA'],
      groupInstanceId: 'inst-1',
      joinVersion: 7,
    });
    const dyn = await member({ groupId: 'g-static', topics: ['tA'] });
    // s1 joins first, so it leads.
    const p1 = s1.join();
    await sleep(20);
    await Promise.all([p1, dyn.join()]);
    t.ok(s1.isLeader, 'the static member leads');
    await Promise.all([s1.sync({ tA: 4 }), dyn.sync({ tA: 4 })]);
    const gen = s1.generationId;
    const oldId = s1.memberId;
    const oldAssignment = s1.assignment;
    t.match(oldId, /^inst-1-/, 'a static member id starts with the instance id');

    // Restart: new connection, no member id, same instance id, and different user data (a restarted
    // sticky consumer owns nothing any more): still no rebalance.
    const s1b = await member({
      groupId: 'g-static',
      topics: ['tA'],
      groupInstanceId: 'inst-1',
      joinVersion: 7,
      userData: Buffer.from('restarted'),
    });
    const rejoin = await s1b.joinOnce();
    t.equal(rejoin.errorCode, 0, 'rejoined at once');
    t.equal(rejoin.generationId, gen, 'same generation: no rebalance');
    t.not(rejoin.memberId, oldId, 'under a new member id');
    t.equal(rejoin.leader, oldId, 'v<9: the old leader id, so the restarted leader does not reassign');
    t.same(rejoin.members, [], 'and no member list');
    t.equal((await describe('g-static')).groupState, 'Stable', 'group stays Stable');
    t.equal(await dyn.heartbeat(), 0, 'the other member sees no rebalance');
    const sync = await s1b.sync({ tA: 4 });
    t.equal(sync.errorCode, 0);
    t.same(s1b.assignment, oldAssignment, 'the restarted member gets its old assignment back');

    t.equal(await s1.heartbeat(), ErrorCode.FENCED_INSTANCE_ID, 'the old member id is fenced');
    t.same(await s1.commit([{ topic: 'tA', partition: 0, offset: 1 }]), [ErrorCode.FENCED_INSTANCE_ID]);
    t.equal((await s1.joinOnce()).errorCode, ErrorCode.FENCED_INSTANCE_ID, 'and cannot join');
    t.equal(await s1b.heartbeat(), 0);

    // A v9 client is told it leads but must skip the assignment (KIP-814).
    const s1c = await member({
      groupId: 'g-static',
      topics: ['tA'],
      groupInstanceId: 'inst-1',
      joinVersion: 9,
    });
    const r9 = await s1c.joinOnce();
    t.equal(r9.errorCode, 0);
    t.equal(r9.generationId, gen, 'still no rebalance');
    t.equal(r9.leader, r9.memberId, 'v9: leads');
    t.equal(r9.skipAssignment, true, 'v9: skipAssignment');
    t.equal(r9.members.length, 2, 'v9 leader gets the member list');
    t.equal((await s1c.sync({ tA: 4 })).errorCode, 0);
    t.same(s1c.assignment, oldAssignment);
    t.equal(await dyn.heartbeat(), 0);

    // A static member leaving by instance id (admin removal) does rebalance.
    const left = await admin.send(LeaveGroup, 4, {
      groupId: 'g-static',
      members: [{ memberId: '', groupInstanceId: 'inst-1' }],
    });
    t.equal(left.members[0]!.errorCode, 0);
    t.equal(await dyn.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
  },
);

t.test(
  'LeaveGroup v3+ removes a batch of members with per-member errors, one rebalance',
  { timeout: 15_000 },
  async (t) => {
    const a = await member({ groupId: 'g-leave', topics: ['tA'] });
    const b = await member({ groupId: 'g-leave', topics: ['tA'] });
    const c = await member({ groupId: 'g-leave', topics: ['tA'], groupInstanceId: 'leave-static' });
    await formGroup([a, b, c], { tA: 4 });
    const gen = b.generationId;
    const res = await admin.send(LeaveGroup, 3, {
      groupId: 'g-leave',
      members: [
        { memberId: a.memberId, groupInstanceId: null },
        { memberId: '', groupInstanceId: 'leave-static' },
        { memberId: 'no-such-member', groupInstanceId: null },
        { memberId: 'wrong-id', groupInstanceId: 'unknown-instance' },
      ],
    });
    t.equal(res.errorCode, 0);
    t.same(
      res.members.map((m) => m.errorCode),
      [0, 0, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID],
    );
    t.equal(await b.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
    t.equal(await a.heartbeat(), ErrorCode.UNKNOWN_MEMBER_ID);
    const j = await b.join();
    t.equal(j.generationId, gen + 1, 'one rebalance');
    t.same(
      j.members.map((m) => m.memberId),
      [b.memberId],
    );

    // v0-2: one member, top-level error.
    const v1 = await admin.send(LeaveGroup, 1, { groupId: 'g-leave', memberId: 'nobody' });
    t.equal(v1.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    await b.sync({ tA: 4 });
    const v2 = await admin.send(LeaveGroup, 2, { groupId: 'g-leave', memberId: b.memberId });
    t.equal(v2.errorCode, 0);
    await waitFor('Empty', async () => (await describe('g-leave')).groupState === 'Empty');
  },
);

t.test(
  'DescribeGroups, ListGroups (state filter), OffsetDelete, DeleteGroups',
  { timeout: 15_000 },
  async (t) => {
    const a = await member({ groupId: 'g-admin', topics: ['tA'] });
    await formGroup([a], { tA: 4 });
    t.same(
      await a.commit([
        { topic: 'tA', partition: 0, offset: 5 },
        { topic: 'tB', partition: 0, offset: 6 },
      ]),
      [0, 0],
    );
    t.equal(await standaloneCommit('g-simple', 'tB', 1, 42), 0, 'standalone commit to a new group');

    const d = await describe('g-admin');
    t.equal(d.groupState, 'Stable');
    t.equal(d.members.length, 1);
    t.equal(d.members[0]!.clientId, 'client-dyn');
    t.same(d.members[0]!.memberMetadata, encodeSubscription(['tA']));
    t.equal((await describe('g-never-seen')).groupState, 'Dead', 'unknown group: Dead, no error');

    const list = async (states: string[]) =>
      (await admin.send(ListGroups, 5, { statesFilter: states, typesFilter: [] })).groups;
    const stable = await list(['Stable']);
    t.ok(
      stable.some(
        (g) => g.groupId === 'g-admin' && g.protocolType === 'consumer' && g.groupState === 'Stable',
      ),
    );
    t.notOk(
      stable.some((g) => g.groupId === 'g-simple'),
      'the offsets-only group is not Stable',
    );
    const empty = await list(['empty']);
    t.ok(
      empty.some((g) => g.groupId === 'g-simple' && g.protocolType === ''),
      'state filter is case-insensitive',
    );
    t.notOk(empty.some((g) => g.groupId === 'g-admin'));
    const all = await list([]);
    t.ok(all.some((g) => g.groupId === 'g-admin') && all.some((g) => g.groupId === 'g-simple'));
    const v0 = await admin.send(ListGroups, 0, {});
    t.ok(v0.groups.some((g) => g.groupId === 'g-admin'));

    const del = await admin.send(OffsetDelete, 0, {
      groupId: 'g-admin',
      topics: [
        { name: 'tA', partitions: [{ partitionIndex: 0 }] },
        { name: 'tB', partitions: [{ partitionIndex: 0 }] },
      ],
    });
    t.equal(del.errorCode, 0);
    t.equal(
      del.topics[0]!.partitions[0]!.errorCode,
      ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
      'subscribed topic kept',
    );
    t.equal(del.topics[1]!.partitions[0]!.errorCode, 0, 'unsubscribed topic deleted');
    const after = await admin.send(OffsetFetch, 7, {
      groupId: 'g-admin',
      topics: null,
      requireStable: false,
    });
    t.same(
      after.topics.map((tp) => [tp.name, tp.partitions.map((p) => Number(p.committedOffset))]),
      [['tA', [5]]],
      'only tA/0 left',
    );
    const unknownDel = await admin.send(OffsetDelete, 0, { groupId: 'g-never-seen', topics: [] });
    t.equal(unknownDel.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    const busy = await admin.send(DeleteGroups, 2, { groupsNames: ['g-admin', 'g-never-seen', 'g-simple'] });
    t.same(
      busy.results.map((r) => [r.groupId, r.errorCode]),
      [
        ['g-admin', ErrorCode.NON_EMPTY_GROUP],
        ['g-never-seen', ErrorCode.GROUP_ID_NOT_FOUND],
        ['g-simple', 0],
      ],
    );
    t.equal(await a.leave(), 0);
    await waitFor('Empty', async () => (await describe('g-admin')).groupState === 'Empty');
    const ok = await admin.send(DeleteGroups, 1, { groupsNames: ['g-admin'] });
    t.equal(ok.results[0]!.errorCode, 0, 'an empty group can be deleted');
    t.equal((await describe('g-admin')).groupState, 'Dead');
    const gone = await admin.send(OffsetFetch, 7, { groupId: 'g-admin', topics: null, requireStable: false });
    t.same(gone.topics, [], 'its offsets are gone');
    t.notOk(
      (await list([])).some((g) => g.groupId === 'g-admin' || g.groupId === 'g-simple'),
      'and it is not listed',
    );
  },
);

t.test(
  'OffsetFetch v7 (one group) and v8 (many groups, null topics = all)',
  { timeout: 10_000 },
  async (t) => {
    t.equal(await standaloneCommit('f1', 'tA', 0, 5, 'meta-0'), 0);
    t.equal(await standaloneCommit('f1', 'tA', 1, 7), 0);
    t.equal(await standaloneCommit('f1', 'tB', 0, 9), 0);
    t.equal(await standaloneCommit('f2', 'tB', 1, 3), 0);

    const v7 = await admin.send(OffsetFetch, 7, {
      groupId: 'f1',
      topics: [{ name: 'tA', partitionIndexes: [0, 1, 2] }],
      requireStable: true,
    });
    t.equal(v7.errorCode, 0);
    const p = v7.topics[0]!.partitions;
    t.same(
      p.map((x) => Number(x.committedOffset)),
      [5, 7, -1],
      'uncommitted partition: -1',
    );
    t.equal(p[0]!.metadata, 'meta-0');
    t.equal(p[0]!.committedLeaderEpoch, 3);
    t.equal(p[2]!.committedLeaderEpoch, -1);

    const v7all = await admin.send(OffsetFetch, 7, { groupId: 'f1', topics: null, requireStable: false });
    const flat = v7all.topics
      .flatMap((tp) => tp.partitions.map((x) => `${tp.name}/${x.partitionIndex}=${x.committedOffset}`))
      .sort();
    t.same(flat, ['tA/0=5', 'tA/1=7', 'tB/0=9'], 'null topics: every committed partition');

    const v8 = await admin.send(OffsetFetch, 8, {
      groups: [
        { groupId: 'f1', topics: null },
        { groupId: 'f2', topics: [{ name: 'tB', partitionIndexes: [0, 1] }] },
        { groupId: 'f-unknown', topics: null },
      ],
      requireStable: false,
    });
    t.same(
      v8.groups.map((g) => [g.groupId, g.errorCode]),
      [
        ['f1', 0],
        ['f2', 0],
        ['f-unknown', 0],
      ],
    );
    t.equal(v8.groups[0]!.topics.flatMap((tp) => tp.partitions).length, 3);
    t.same(
      v8.groups[1]!.topics[0]!.partitions.map((x) => Number(x.committedOffset)),
      [-1, 3],
    );
    t.same(v8.groups[2]!.topics, [], 'unknown group: nothing committed');
  },
);

t.test(
  'pending MEMBER_ID_REQUIRED members are waited for: one rebalance, not two',
  { timeout: 15_000 },
  async (t) => {
    const a = await member({ groupId: 'g-pending', topics: ['tA'] });
    await formGroup([a], { tA: 4 });
    const gen = a.generationId;
    const b = await member({ groupId: 'g-pending', topics: ['tA'] });
    t.equal((await b.joinOnce()).errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    // The leader rejoins (a rebalance) while b still holds an unused member id: Kafka waits for it.
    const aJoin = a.join();
    await sleep(100);
    const [ja, jb] = await Promise.all([aJoin, b.join()]);
    t.equal(ja.generationId, gen + 1);
    t.equal(jb.generationId, gen + 1, 'b joined the same generation');
    t.equal(ja.members.length, 2);
  },
);

t.test(
  'members joining during the initial delay extend it: one generation for all',
  { timeout: 15_000 },
  async (t) => {
    const ms = await Promise.all([0, 1, 2].map(() => member({ groupId: 'g-initial', topics: ['tA'] })));
    const joins: Promise<unknown>[] = [];
    for (const m of ms) {
      joins.push(m.join());
      await sleep(INITIAL_DELAY_MS / 2);
    }
    await Promise.all(joins);
    t.same(
      ms.map((m) => m.generationId),
      [1, 1, 1],
      'all in generation 1',
    );
  },
);

t.test('a leader that never syncs is removed after the rebalance timeout', { timeout: 15_000 }, async (t) => {
  const a = await member({ groupId: 'g-nosync', topics: ['tA'], rebalanceTimeoutMs: 500 });
  const b = await member({ groupId: 'g-nosync', topics: ['tA'], rebalanceTimeoutMs: 500 });
  await Promise.all([a.join(), b.join()]);
  const [leader, follower] = a.isLeader ? [a, b] : [b, a];
  const gen = follower.generationId;
  // The leader heartbeats but never sends SyncGroup; the follower waits in SyncGroup.
  const waiting = follower.sync();
  const started = Date.now();
  const beat = setInterval(() => void leader.heartbeat().catch(() => undefined), 100);
  const res = await waiting;
  clearInterval(beat);
  t.equal(res.errorCode, ErrorCode.REBALANCE_IN_PROGRESS, 'the follower is told to rejoin');
  t.ok(Date.now() - started < 3000, 'within about the rebalance timeout');
  t.equal(await leader.heartbeat(), ErrorCode.UNKNOWN_MEMBER_ID, 'the silent leader is gone');
  const j = await follower.join();
  t.equal(j.generationId, gen + 1);
  t.equal(j.leader, follower.memberId);
});

t.test('JoinGroup and SyncGroup argument errors', { timeout: 10_000 }, async (t) => {
  const badSession = await admin.send(JoinGroup, 5, {
    groupId: 'g-args',
    sessionTimeoutMs: 10,
    rebalanceTimeoutMs: 1000,
    memberId: '',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeSubscription(['tA']) }],
  });
  t.equal(badSession.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
  const emptyId = await admin.send(JoinGroup, 5, {
    groupId: '',
    sessionTimeoutMs: 1000,
    memberId: '',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
  });
  t.equal(emptyId.errorCode, ErrorCode.INVALID_GROUP_ID);

  const a = await member({ groupId: 'g-args', topics: ['tA'], protocols: ['range'] });
  await a.join();
  // Another member with no protocol in common: INCONSISTENT_GROUP_PROTOCOL.
  const b = await member({ groupId: 'g-args', topics: ['tA'], protocols: ['roundrobin'] });
  t.equal(
    (await b.joinOnce()).errorCode,
    ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    'checked before MEMBER_ID_REQUIRED',
  );
  const wrongName = await a.client.send(SyncGroup, 5, {
    groupId: 'g-args',
    generationId: a.generationId,
    memberId: a.memberId,
    protocolType: 'consumer',
    protocolName: 'roundrobin',
    assignments: [],
  });
  t.equal(wrongName.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  const wrongGen = await a.client.send(SyncGroup, 5, {
    groupId: 'g-args',
    generationId: a.generationId + 5,
    memberId: a.memberId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [],
  });
  t.equal(wrongGen.errorCode, ErrorCode.ILLEGAL_GENERATION);
  t.equal((await a.sync({ tA: 4 })).errorCode, 0);
  t.same(await a.commit([{ topic: 'no-such-topic', partition: 0, offset: 1 }]), [
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ]);
  t.same(await a.commit([{ topic: 'tA', partition: 0, offset: 1 }], 2), [0], 'OffsetCommit v2');
  t.equal(
    await standaloneCommit('g-args', 'tA', 0, 1),
    ErrorCode.UNKNOWN_MEMBER_ID,
    'a generation -1 commit to a group with members',
  );
});

t.test('committed offsets survive a broker restart; members must rejoin', { timeout: 30_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'streamhouse-groups-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const open = () => startBroker({ ...BROKER_OPTIONS, dataDir });
  let b = await open();
  try {
    await b.context.log.createTopic('durable', 3, {});
    const m = await member({ groupId: 'g-durable', topics: ['durable'] }, b);
    await formGroup([m], { durable: 3 });
    t.same(
      await m.commit([
        { topic: 'durable', partition: 0, offset: 100 },
        { topic: 'durable', partition: 2, offset: 300 },
      ]),
      [0, 0],
    );
    // Many commits at once to one partition: the last one wins, durably.
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => m.commit([{ topic: 'durable', partition: 1, offset: 1000 + i }])),
    );
    await m.client.close();
    await b.close();

    b = await open();
    const c = await connect(b);
    const res = await c.send(OffsetFetch, 8, {
      groups: [{ groupId: 'g-durable', topics: null }],
      requireStable: false,
    });
    const got = Object.fromEntries(
      res.groups[0]!.topics.flatMap((tp) =>
        tp.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)]),
      ),
    );
    t.same(got, { 0: 100, 1: 1049, 2: 300 }, 'offsets as committed before the restart');

    // Membership is not durable: the old member is unknown and rejoins.
    const old = new RawMember(c, m.options);
    old.memberId = m.memberId;
    old.generationId = m.generationId;
    t.equal(await old.heartbeat(), ErrorCode.UNKNOWN_MEMBER_ID);
    t.same(
      await old.commit([{ topic: 'durable', partition: 0, offset: 1 }]),
      [ErrorCode.ILLEGAL_GENERATION],
      'v8: ILLEGAL_GENERATION',
    );
    t.same(
      await old.commit([{ topic: 'durable', partition: 0, offset: 1 }], 9),
      [ErrorCode.GROUP_ID_NOT_FOUND],
      'v9: GROUP_ID_NOT_FOUND',
    );
    const fresh = new RawMember(c, m.options);
    await formGroup([fresh], { durable: 3 });
    t.same(await fresh.commit([{ topic: 'durable', partition: 0, offset: 101 }]), [0]);
    const list = await c.send(ListGroups, 4, { statesFilter: [] });
    t.ok(list.groups.some((g) => g.groupId === 'g-durable'));
  } finally {
    await b.close();
  }
});
