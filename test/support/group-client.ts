/**
 * Consumer-group helpers for tests and benches that speak the raw protocol through KafkaTestClient:
 * the consumer protocol's subscription/assignment encodings (what Java/librdkafka consumers put in
 * JoinGroup metadata and SyncGroup assignments), and a member that joins (answering
 * MEMBER_ID_REQUIRED), syncs, heartbeats, commits and leaves.
 *
 * The broker never parses assignments; it parses subscriptions only for OffsetDelete. Encodings:
 *   Subscription v0: version INT16, topics ARRAY(STRING), userData BYTES (nullable)
 *   Assignment v0:   version INT16, partitions ARRAY(topic STRING, partitions ARRAY(INT32)), userData BYTES
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { Heartbeat, JoinGroup, LeaveGroup, OffsetCommit, SyncGroup } from '../../protocol/messages/index.js';
import type { ResponseOf } from '../../protocol/schema/schema.js';
import type { KafkaTestClient } from './kafka-client.js';

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(2 + b.length);
  out.writeInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n, 0);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
}

/** ConsumerProtocolSubscription v0 for `topics` (user data: what sticky assignors put there). */
export function encodeSubscription(topics: readonly string[], userData: Buffer | null = null): Buffer {
  const data = userData === null ? [int32(-1)] : [int32(userData.length), userData];
  return Buffer.concat([int16(0), int32(topics.length), ...topics.map(str), ...data]);
}

export type Assignment = Record<string, number[]>;

/** ConsumerProtocolAssignment v0. */
export function encodeAssignment(assignment: Assignment): Buffer {
  const parts: Buffer[] = [int16(0), int32(Object.keys(assignment).length)];
  for (const [topic, partitions] of Object.entries(assignment)) {
    parts.push(str(topic), int32(partitions.length), ...partitions.map(int32));
  }
  parts.push(int32(-1));
  return Buffer.concat(parts);
}

export function decodeAssignment(buf: Buffer): Assignment {
  const out: Assignment = {};
  if (buf.length < 6) return out;
  let pos = 2;
  const topics = buf.readInt32BE(pos);
  pos += 4;
  for (let i = 0; i < topics; i++) {
    const len = buf.readInt16BE(pos);
    pos += 2;
    const topic = buf.toString('utf8', pos, pos + len);
    pos += len;
    const n = buf.readInt32BE(pos);
    pos += 4;
    const partitions: number[] = [];
    for (let j = 0; j < n; j++, pos += 4) partitions.push(buf.readInt32BE(pos));
    out[topic] = partitions;
  }
  return out;
}

export interface MemberOptions {
  groupId: string;
  topics: readonly string[];
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  groupInstanceId?: string | null;
  /** JoinGroup version (default 7; v4+ answers MEMBER_ID_REQUIRED first, v5+ static membership). */
  joinVersion?: number;
  /** Protocol names offered, most preferred first (default ['range']). */
  protocols?: readonly string[];
  /** Subscription user data (default none). */
  userData?: Buffer | null;
}

export type JoinResponse = ResponseOf<typeof JoinGroup>;

/** One group member over one connection. Tracks its member id and generation. */
export class RawMember {
  memberId = '';
  generationId = -1;
  leader = '';
  assignment: Assignment = {};
  lastJoin: JoinResponse | null = null;

  constructor(
    readonly client: KafkaTestClient,
    readonly options: MemberOptions,
  ) {}

  get groupId(): string {
    return this.options.groupId;
  }

  get isLeader(): boolean {
    return this.memberId !== '' && this.memberId === this.leader;
  }

  /** One JoinGroup request with the current member id (no MEMBER_ID_REQUIRED handling). */
  async joinOnce(): Promise<JoinResponse> {
    const o = this.options;
    const metadata = encodeSubscription(o.topics, o.userData ?? null);
    const res = await this.client.send(JoinGroup, o.joinVersion ?? 7, {
      groupId: o.groupId,
      sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
      rebalanceTimeoutMs: o.rebalanceTimeoutMs ?? 10_000,
      memberId: this.memberId,
      groupInstanceId: o.groupInstanceId ?? null,
      protocolType: 'consumer',
      protocols: (o.protocols ?? ['range']).map((name) => ({ name, metadata })),
    });
    this.lastJoin = res;
    if (res.errorCode === ErrorCode.NONE || res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      this.memberId = res.memberId;
    }
    if (res.errorCode === ErrorCode.NONE) {
      this.generationId = res.generationId;
      this.leader = res.leader;
    }
    return res;
  }

  /** JoinGroup, answering MEMBER_ID_REQUIRED with a second join; throws on any other error. */
  async join(): Promise<JoinResponse> {
    let res = await this.joinOnce();
    if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) res = await this.joinOnce();
    if (res.errorCode !== ErrorCode.NONE)
      throw new Error(`JoinGroup ${this.groupId}: error ${res.errorCode}`);
    return res;
  }

  /**
   * SyncGroup. A leader (unless told to skip) assigns the partitions of `partitionsPerTopic`
   * round-robin over the members its JoinGroup response listed.
   */
  async sync(partitionsPerTopic: Record<string, number> = {}): Promise<ResponseOf<typeof SyncGroup>> {
    const assignments: { memberId: string; assignment: Buffer }[] = [];
    const join = this.lastJoin;
    if (this.isLeader && join !== null && !join.skipAssignment) {
      const ids = join.members.map((m) => m.memberId).sort();
      const plan = new Map<string, Assignment>(ids.map((id) => [id, {}]));
      let i = 0;
      for (const [topic, count] of Object.entries(partitionsPerTopic)) {
        for (let p = 0; p < count; p++, i++) {
          const a = plan.get(ids[i % ids.length]!)!;
          const list = a[topic] ?? [];
          list.push(p);
          a[topic] = list;
        }
      }
      for (const [memberId, a] of plan) assignments.push({ memberId, assignment: encodeAssignment(a) });
    }
    const res = await this.client.send(SyncGroup, 5, {
      groupId: this.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.options.groupInstanceId ?? null,
      protocolType: 'consumer',
      protocolName: join?.protocolName ?? null,
      assignments,
    });
    if (res.errorCode === ErrorCode.NONE) this.assignment = decodeAssignment(res.assignment);
    return res;
  }

  async heartbeat(): Promise<number> {
    const res = await this.client.send(Heartbeat, 4, {
      groupId: this.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.options.groupInstanceId ?? null,
    });
    return res.errorCode;
  }

  /** OffsetCommit v8 under this member's generation; returns the per-partition error codes. */
  async commit(
    offsets: { topic: string; partition: number; offset: number }[],
    version = 8,
  ): Promise<number[]> {
    const byTopic = new Map<
      string,
      { partitionIndex: number; committedOffset: bigint; committedMetadata: string }[]
    >();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      byTopic.set(o.topic, list);
      list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedMetadata: '' });
    }
    const res = await this.client.send(OffsetCommit, version, {
      groupId: this.groupId,
      generationIdOrMemberEpoch: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.options.groupInstanceId ?? null,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
  }

  async leave(): Promise<number> {
    const res = await this.client.send(LeaveGroup, 4, {
      groupId: this.groupId,
      members: [{ memberId: this.memberId, groupInstanceId: this.options.groupInstanceId ?? null }],
    });
    return res.members[0]?.errorCode ?? res.errorCode;
  }
}
