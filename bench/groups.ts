/**
 * Group coordinator benchmark (a script, not a test):
 *   npm run build && node dist/bench/groups.js [--members 10] [--rounds 20] [--consumers 100]
 *     [--seconds 5] [--commits-only] [--broker-json '{...}'] [--dir DATA_ROOT]
 *
 * Driven by raw-protocol clients (test/support/group-client.ts over KafkaTestClient: one TCP
 * connection per member, each request encoded by the project's codec), against a broker in a child
 * process on a temporary data dir (SQLite metadata with synchronous=FULL, WAL fsync on).
 *
 * 1. Rebalance time of an N-member group, protocol cost only (no heartbeat wait: members rejoin as
 *    soon as the trigger is sent, as a client does on REBALANCE_IN_PROGRESS):
 *    - form: N members join an empty group at once (JoinGroup v7: MEMBER_ID_REQUIRED, JoinGroup,
 *      then SyncGroup) until every SyncGroup is answered; this includes
 *      group.initial.rebalance.delay.ms, set to 100 ms here (Kafka's default is 3 s);
 *    - rebalance: a Stable group, the leader rejoins; every member rejoins and syncs; until the last
 *      SyncGroup answer. Repeated --rounds times; p50 / p99 / max.
 * 2. Offset commit throughput: --consumers connections commit in a closed loop (one OffsetCommit v8
 *    in flight each, like commitSync) for --seconds: (a) each in its own group (generation -1,
 *    standalone), (b) all members of one Stable group, each committing its own partition under the
 *    group's generation. Commits are durable (SQLite) before each answer. (a) is the many-small-
 *    groups case: the coordinator writes the commits of all groups that arrived together in one
 *    store transaction. --commits-only skips part 1.
 */
import { OffsetCommit } from '../protocol/messages/index.js';
import type { StartBrokerOptions } from '../src/broker/broker.js';
import { RawMember } from '../test/support/group-client.js';
import { KafkaTestClient } from '../test/support/kafka-client.js';
import type { BrokerProcess } from './loadgen/broker-process.js';
import { LoadConnection } from './loadgen/connection.js';
import { brokerOverridesText, hasFlag, machine, numFlag, withBroker } from './loadgen/harness.js';
import { fmt } from './loadgen/stats.js';
import { ensureTopic } from './loadgen/topics.js';

const members = numFlag('members', 10);
const rounds = numFlag('rounds', 20);
const consumers = numFlag('consumers', 100);
const seconds = numFlag('seconds', 5);
const commitsOnly = hasFlag('commits-only');

// A short initial delay: with none, members whose JoinGroup arrives a moment late form a second
// generation while the first is syncing (as in Kafka), and these clients do not heartbeat meanwhile.
const INITIAL_DELAY_MS = 100;
const GROUP_OPTIONS: StartBrokerOptions = {
  groupInitialRebalanceDelayMs: INITIAL_DELAY_MS,
  groupMinSessionTimeoutMs: 1000,
};

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function createTopic(broker: BrokerProcess, name: string, partitions: number): Promise<void> {
  const conn = await LoadConnection.open(broker.host, broker.port);
  await ensureTopic(conn, name, partitions);
  conn.close();
}

async function connectMembers(
  broker: BrokerProcess,
  n: number,
  groupId: string,
  topic: string,
): Promise<RawMember[]> {
  const out: RawMember[] = [];
  for (let i = 0; i < n; i++) {
    const client = await KafkaTestClient.connect(`${broker.host}:${broker.port}`, `bench-member-${i}`);
    out.push(
      new RawMember(client, {
        groupId,
        topics: [topic],
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
      }),
    );
  }
  return out;
}

async function joinAndSync(group: RawMember[], partitions: Record<string, number>): Promise<void> {
  await Promise.all(group.map((m) => m.join()));
  const syncs = await Promise.all(group.map((m) => m.sync(partitions)));
  for (const s of syncs) if (s.errorCode !== 0) throw new Error(`SyncGroup error ${s.errorCode}`);
}

async function rebalanceTimes(n: number): Promise<{ formMs: number[]; rebalanceMs: number[] }> {
  return withBroker(async (broker) => {
    await createTopic(broker, 'bench-groups', 12);
    const formMs: number[] = [];
    for (let r = 0; r < Math.min(rounds, 5); r++) {
      const group = await connectMembers(broker, n, `bench-form-${r}`, 'bench-groups');
      const t0 = performance.now();
      await joinAndSync(group, { 'bench-groups': 12 });
      formMs.push(performance.now() - t0);
      await Promise.all(group.map((m) => m.client.close()));
    }
    const group = await connectMembers(broker, n, 'bench-rebalance', 'bench-groups');
    await joinAndSync(group, { 'bench-groups': 12 });
    const rebalanceMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const leader = group.find((m) => m.isLeader)!;
      const t0 = performance.now();
      // The leader's join starts the rebalance; the others hear REBALANCE_IN_PROGRESS and rejoin.
      const leaderJoin = leader.join();
      const others = group.filter((m) => m !== leader);
      await Promise.all(
        others.map(async (m) => {
          while ((await m.heartbeat()) === 0) {
            // not yet preparing: the leader's join is still in flight
          }
          await m.join();
        }),
      );
      await leaderJoin;
      const syncs = await Promise.all(group.map((m) => m.sync({ 'bench-groups': 12 })));
      rebalanceMs.push(performance.now() - t0);
      if (syncs.some((s) => s.errorCode !== 0))
        throw new Error('SyncGroup failed during the rebalance bench');
    }
    await Promise.all(group.map((m) => m.client.close()));
    return { formMs, rebalanceMs };
  }, GROUP_OPTIONS);
}

interface CommitRun {
  commits: number;
  seconds: number;
  latencyMs: number[];
  errors: number;
}

/** `clients.length` closed loops of OffsetCommit for `seconds`. */
async function commitLoops(commitOnce: (() => Promise<boolean>)[]): Promise<CommitRun> {
  let running = true;
  let commits = 0;
  let errors = 0;
  const latencyMs: number[] = [];
  const warmupEnd = performance.now() + 1000;
  let measuredFrom = 0;
  const loops = commitOnce.map(async (commit) => {
    while (running) {
      const t0 = performance.now();
      const ok = await commit();
      const t1 = performance.now();
      if (t0 < warmupEnd) continue;
      if (measuredFrom === 0) measuredFrom = t0;
      if (!ok) errors++;
      else {
        commits++;
        latencyMs.push(t1 - t0);
      }
    }
  });
  await new Promise((r) => setTimeout(r, 1000 + seconds * 1000));
  running = false;
  const end = performance.now();
  await Promise.all(loops);
  return {
    commits,
    seconds: (end - Math.max(measuredFrom, warmupEnd)) / 1000,
    latencyMs: latencyMs.sort((a, b) => a - b),
    errors,
  };
}

async function commitThroughput(): Promise<{ separate: CommitRun; shared: CommitRun }> {
  return withBroker(async (broker) => {
    await createTopic(broker, 'bench-commits', consumers);
    const bootstrap = `${broker.host}:${broker.port}`;
    const clients = await Promise.all(
      Array.from({ length: consumers }, (_, i) => KafkaTestClient.connect(bootstrap, `bench-committer-${i}`)),
    );
    let offset = 0;
    const separate = await commitLoops(
      clients.map((c, i) => async () => {
        const res = await c.send(OffsetCommit, 8, {
          groupId: `bench-standalone-${i}`,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          topics: [
            {
              name: 'bench-commits',
              partitions: [{ partitionIndex: i, committedOffset: BigInt(++offset), committedMetadata: '' }],
            },
          ],
        });
        return res.topics[0]!.partitions[0]!.errorCode === 0;
      }),
    );
    const group = clients.map(
      (c) =>
        new RawMember(c, {
          groupId: 'bench-shared',
          topics: ['bench-commits'],
          sessionTimeoutMs: 60_000,
          rebalanceTimeoutMs: 60_000,
        }),
    );
    await joinAndSync(group, { 'bench-commits': consumers });
    const shared = await commitLoops(
      group.map((m) => async () => {
        const partition = m.assignment['bench-commits']?.[0] ?? 0;
        const codes = await m.commit([{ topic: 'bench-commits', partition, offset: ++offset }]);
        return codes.every((c) => c === 0);
      }),
    );
    await Promise.all(clients.map((c) => c.close()));
    return { separate, shared };
  }, GROUP_OPTIONS);
}

function line(label: string, values: readonly number[]): string {
  return `  ${label.padEnd(58)} p50 ${fmt(percentile(values, 50), 1).padStart(6)} ms  p99 ${fmt(percentile(values, 99), 1).padStart(6)} ms  max ${fmt(values[values.length - 1] ?? 0, 1).padStart(6)} ms  (${values.length} runs)`;
}

function commitLine(label: string, r: CommitRun): string {
  return `  ${label.padEnd(58)} ${fmt(r.commits / r.seconds).padStart(8)} commits/s  latency p50 ${fmt(percentile(r.latencyMs, 50), 2)} ms  p99 ${fmt(percentile(r.latencyMs, 99), 2)} ms${r.errors > 0 ? `  ERRORS ${r.errors}` : ''}`;
}

async function main(): Promise<void> {
  console.log(
    '\nGroup coordinator (raw-protocol clients, one connection per member; broker in a child process)',
  );
  console.log(`  ${machine()}`);
  console.log(`  broker options: ${brokerOverridesText()} + ${JSON.stringify(GROUP_OPTIONS)}`);
  for (const n of commitsOnly ? [] : [members, ...(members === 10 ? [100] : [])]) {
    const { formMs, rebalanceMs } = await rebalanceTimes(n);
    console.log(
      line(
        `${n} members: empty → Stable (incl. ${INITIAL_DELAY_MS} ms initial delay)`,
        formMs.sort((a, b) => a - b),
      ),
    );
    console.log(
      line(
        `${n} members: Stable → rebalance → Stable (leader rejoins)`,
        rebalanceMs.sort((a, b) => a - b),
      ),
    );
  }
  const { separate, shared } = await commitThroughput();
  console.log(commitLine(`${consumers} consumers, one group each (standalone commits)`, separate));
  console.log(commitLine(`${consumers} members of one group (generation-checked commits)`, shared));
}

await main();
