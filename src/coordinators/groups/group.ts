/**
 * One consumer group under the classic rebalance protocol: its members and its state machine.
 *
 *   Empty ──join──► PreparingRebalance ──all joined / rebalance timeout──► CompletingRebalance
 *     ▲                    ▲    │ (no members left → Empty)                     │ leader's SyncGroup
 *     │                    │    ▼                                               ▼
 *     └── last member ── Stable ◄───────────────────────────────────────────────┘
 *         leaves/expires   (join with new metadata, leave, expiry → PreparingRebalance)
 *   Dead: deleted (DeleteGroups); a later join creates a fresh group.
 *
 * Invariants
 * - Every state change happens synchronously inside one method call: the event loop is the group's
 *   serial queue, so no two requests interleave inside a transition.
 * - generationId increases by one each time a join phase completes.
 * - The broker never looks inside assignments: the leader computes them (range, round-robin,
 *   sticky, cooperative-sticky all work); the broker only picks a protocol every member supports.
 * - Member ids are chosen by the broker (KIP-394: v4+ joins without an id get MEMBER_ID_REQUIRED
 *   and a fresh id). Static members (KIP-345, group.instance.id) keep their assignment across a
 *   restart within the session timeout; a second instance with the same id fences the first.
 * - Members waiting in JoinGroup or SyncGroup are never expired by the session timer.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../../protocol/error-codes.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
  skipAssignment?: boolean;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
  assignment: Buffer;
  lastHeartbeatMs: number;
  joinWaiter: ((r: JoinResult) => void) | null;
  syncWaiter: ((r: SyncResult) => void) | null;
}

export interface JoinRequest {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
  /** JoinGroup v4+: a join without a member id first gets MEMBER_ID_REQUIRED (KIP-394). */
  requireKnownMemberId: boolean;
}

export interface GroupTimers {
  /** Delay before completing the first rebalance of an empty group (group.initial.rebalance.delay.ms). */
  initialRebalanceDelayMs: number;
  now(): number;
}

const EMPTY = Buffer.alloc(0);

function sameProtocols(a: Member['protocols'], b: Member['protocols']): boolean {
  return (
    a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata))
  );
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet joined, with their expiry time. */
  private readonly pendingMembers = new Map<string, number>();
  private readonly staticMembers = new Map<string, string>();
  private joinTimer: NodeJS.Timeout | null = null;
  /** When the group last became Empty (for offsets.retention.minutes). */
  emptySinceMs: number;

  constructor(
    readonly groupId: string,
    private readonly timers: GroupTimers,
    private readonly onChange: (g: Group) => void = () => {},
  ) {
    this.emptySinceMs = timers.now();
  }

  // ---- JoinGroup --------------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number, memberId = req.memberId): Promise<JoinResult> =>
      Promise.resolve({
        errorCode,
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: '',
        memberId,
        members: [],
      });
    if (this.state === 'Dead') return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (req.protocols.length === 0 || req.protocolType === '')
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (!this.supportsProtocols(req)) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    if (req.memberId === '') return this.joinUnknownMember(req);

    const member = this.members.get(req.memberId);
    if (member === undefined) {
      if (this.pendingMembers.has(req.memberId)) {
        this.pendingMembers.delete(req.memberId);
        return this.addMemberAndRebalance(req, req.memberId);
      }
      // A static member's old id after another instance took over: fenced.
      if (req.groupInstanceId !== null && this.staticMembers.has(req.groupInstanceId))
        return fail(ErrorCode.FENCED_INSTANCE_ID);
      return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    }
    if (req.groupInstanceId !== null && this.staticMembers.get(req.groupInstanceId) !== req.memberId) {
      return fail(ErrorCode.FENCED_INSTANCE_ID);
    }
    return this.joinKnownMember(member, req);
  }

  private joinUnknownMember(req: JoinRequest): Promise<JoinResult> {
    const memberId = `${req.clientId || 'member'}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldId = this.staticMembers.get(req.groupInstanceId);
      const old = oldId !== undefined ? this.members.get(oldId) : undefined;
      if (old !== undefined) return this.replaceStaticMember(old, memberId, req);
      return this.addMemberAndRebalance(req, memberId);
    }
    if (req.requireKnownMemberId) {
      this.pendingMembers.set(memberId, this.timers.now() + req.sessionTimeoutMs);
      return Promise.resolve({
        errorCode: ErrorCode.MEMBER_ID_REQUIRED,
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: '',
        memberId,
        members: [],
      });
    }
    return this.addMemberAndRebalance(req, memberId);
  }

  /** KIP-345: a static member restarted: new member id, same place in the group, no rebalance if nothing changed. */
  private replaceStaticMember(old: Member, memberId: string, req: JoinRequest): Promise<JoinResult> {
    this.members.delete(old.memberId);
    // The old instance's pending calls learn it was fenced.
    old.joinWaiter?.({ ...this.joinFailure(ErrorCode.FENCED_INSTANCE_ID, old.memberId) });
    old.syncWaiter?.({
      errorCode: ErrorCode.FENCED_INSTANCE_ID,
      protocolType: null,
      protocolName: null,
      assignment: EMPTY,
    });
    const member: Member = {
      ...old,
      memberId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      lastHeartbeatMs: this.timers.now(),
      joinWaiter: null,
      syncWaiter: null,
    };
    this.members.set(memberId, member);
    this.staticMembers.set(req.groupInstanceId!, memberId);
    if (this.leaderId === old.memberId) this.leaderId = memberId;
    const unchanged = sameProtocols(old.protocols, req.protocols);
    if (this.state === 'Stable' && unchanged) {
      this.onChange(this);
      // Current generation, no rebalance. The leader is told to skip assignment (v9+ skipAssignment).
      return Promise.resolve({
        errorCode: ErrorCode.NONE,
        generationId: this.generationId,
        protocolType: this.protocolType,
        protocolName: this.protocolName,
        leader: this.leaderId ?? '',
        memberId,
        members: this.leaderId === memberId ? this.memberList() : [],
        skipAssignment: this.leaderId === memberId,
      });
    }
    member.protocols = req.protocols;
    const p = this.awaitJoin(member);
    this.prepareRebalance();
    return p;
  }

  private joinKnownMember(member: Member, req: JoinRequest): Promise<JoinResult> {
    member.lastHeartbeatMs = this.timers.now();
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    switch (this.state) {
      case 'PreparingRebalance': {
        member.protocols = req.protocols;
        const p = this.awaitJoin(member);
        this.maybeCompleteJoin();
        return p;
      }
      case 'CompletingRebalance':
        if (sameProtocols(member.protocols, req.protocols)) {
          // The join response was lost: send it again.
          return Promise.resolve(this.joinResultFor(member.memberId));
        }
        member.protocols = req.protocols;
        break;
      case 'Stable':
        if (member.memberId !== this.leaderId && sameProtocols(member.protocols, req.protocols)) {
          return Promise.resolve(this.joinResultFor(member.memberId));
        }
        member.protocols = req.protocols;
        break;
      default:
        break;
    }
    const p = this.awaitJoin(member);
    this.prepareRebalance();
    return p;
  }

  private addMemberAndRebalance(req: JoinRequest, memberId: string): Promise<JoinResult> {
    const member: Member = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY,
      lastHeartbeatMs: this.timers.now(),
      joinWaiter: null,
      syncWaiter: null,
    };
    this.members.set(memberId, member);
    if (req.groupInstanceId !== null) this.staticMembers.set(req.groupInstanceId, memberId);
    if (this.protocolType === null) this.protocolType = req.protocolType;
    const p = this.awaitJoin(member);
    if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
    else this.prepareRebalance();
    return p;
  }

  private awaitJoin(member: Member): Promise<JoinResult> {
    return new Promise((resolve) => {
      member.joinWaiter = resolve;
    });
  }

  /** Protocol type matches and at least one protocol is supported by every member and this one. */
  private supportsProtocols(req: JoinRequest): boolean {
    if (this.members.size === 0) return true;
    if (this.protocolType !== null && this.protocolType !== req.protocolType) return false;
    const candidates = this.candidateProtocols();
    return req.protocols.some((p) => candidates.has(p.name));
  }

  private candidateProtocols(exceptMemberId?: string): Set<string> {
    let common: string[] | null = null;
    for (const m of this.members.values()) {
      if (m.memberId === exceptMemberId) continue;
      const names = m.protocols.map((p) => p.name);
      common = common === null ? names : common.filter((n) => names.includes(n));
    }
    return new Set(common ?? []);
  }

  // ---- rebalance --------------------------------------------------------------------------------

  prepareRebalance(): void {
    if (this.state === 'CompletingRebalance') {
      // Members waiting in SyncGroup must rejoin.
      for (const m of this.members.values()) {
        m.syncWaiter?.({
          errorCode: ErrorCode.REBALANCE_IN_PROGRESS,
          protocolType: null,
          protocolName: null,
          assignment: EMPTY,
        });
        m.syncWaiter = null;
      }
    }
    const wasEmpty = this.state === 'Empty';
    this.state = 'PreparingRebalance';
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    const rebalanceTimeoutMs = Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
    // A new group waits a little for more members (group.initial.rebalance.delay.ms), so that
    // consumers starting together cause one rebalance, not one each.
    const delay = wasEmpty
      ? Math.min(this.timers.initialRebalanceDelayMs, rebalanceTimeoutMs)
      : rebalanceTimeoutMs;
    const initial = wasEmpty && this.timers.initialRebalanceDelayMs > 0;
    this.initialDelayUntil = initial ? this.timers.now() + delay : 0;
    this.joinTimer = setTimeout(() => {
      this.joinTimer = null;
      this.completeJoin();
    }, delay);
    this.joinTimer.unref();
    if (!initial) this.maybeCompleteJoin();
    this.onChange(this);
  }

  /** The join phase ends as soon as every known member has rejoined. */
  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    for (const m of this.members.values()) if (m.joinWaiter === null) return;
    if (this.isInitialDelayPending()) return;
    this.completeJoin();
  }

  private initialDelayUntil = 0;

  private isInitialDelayPending(): boolean {
    return this.timers.now() < this.initialDelayUntil;
  }

  private completeJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    if (this.joinTimer !== null) {
      clearTimeout(this.joinTimer);
      this.joinTimer = null;
    }
    // Members that did not rejoin in time are removed.
    for (const m of [...this.members.values()]) {
      if (m.joinWaiter === null) this.removeMember(m, false);
    }
    this.generationId++;
    if (this.members.size === 0) {
      this.state = 'Empty';
      this.protocolName = null;
      this.leaderId = null;
      this.emptySinceMs = this.timers.now();
      this.onChange(this);
      return;
    }
    this.protocolName = this.selectProtocol();
    if (this.leaderId === null || !this.members.has(this.leaderId))
      this.leaderId = this.members.keys().next().value ?? null;
    this.state = 'CompletingRebalance';
    for (const m of this.members.values()) {
      m.lastHeartbeatMs = this.timers.now();
      const waiter = m.joinWaiter;
      m.joinWaiter = null;
      waiter?.(this.joinResultFor(m.memberId));
    }
    this.onChange(this);
  }

  /** Each member votes for its most preferred protocol among those all members support. */
  private selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name));
      if (choice) votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1);
    }
    let best = '';
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  private memberList(): JoinResult['members'] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? EMPTY,
    }));
  }

  private joinResultFor(memberId: string): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      memberId,
      members: memberId === this.leaderId ? this.memberList() : [],
    };
  }

  private joinFailure(errorCode: number, memberId: string): JoinResult {
    return {
      errorCode,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      memberId,
      members: [],
    };
  }

  // ---- SyncGroup --------------------------------------------------------------------------------

  sync(
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
    assignments: { memberId: string; assignment: Buffer }[],
  ): Promise<SyncResult> {
    const fail = (errorCode: number) =>
      Promise.resolve<SyncResult>({ errorCode, protocolType: null, protocolName: null, assignment: EMPTY });
    const check = this.checkMember(memberId, groupInstanceId, generationId);
    if (check !== ErrorCode.NONE) return fail(check);
    const member = this.members.get(memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        return Promise.resolve(this.syncResult(member));
      case 'CompletingRebalance': {
        const p = new Promise<SyncResult>((resolve) => {
          member.syncWaiter = resolve;
        });
        if (memberId === this.leaderId) {
          const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
          for (const m of this.members.values()) m.assignment = byMember.get(m.memberId) ?? EMPTY;
          this.state = 'Stable';
          for (const m of this.members.values()) {
            const waiter = m.syncWaiter;
            m.syncWaiter = null;
            waiter?.(this.syncResult(m));
          }
          this.onChange(this);
        }
        return p;
      }
      default:
        return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private syncResult(m: Member): SyncResult {
    return {
      errorCode: ErrorCode.NONE,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      assignment: m.assignment,
    };
  }

  // ---- Heartbeat, LeaveGroup, expiry ------------------------------------------------------------

  /** Common membership checks: unknown member, fenced static member, stale generation. */
  checkMember(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current !== undefined && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    if (!this.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    const check = this.checkMember(memberId, groupInstanceId, generationId);
    if (check !== ErrorCode.NONE) return check;
    this.members.get(memberId)!.lastHeartbeatMs = this.timers.now();
    return this.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** LeaveGroup for one member (by member id, or by instance id for static members). */
  leave(memberId: string, groupInstanceId: string | null): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    let id = memberId;
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (memberId !== '' && current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      id = current;
    }
    const m = this.members.get(id);
    if (m === undefined) {
      if (this.pendingMembers.delete(id)) return ErrorCode.NONE;
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    this.removeMember(m, true);
    return ErrorCode.NONE;
  }

  private removeMember(m: Member, rebalance: boolean): void {
    this.members.delete(m.memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === m.memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    m.joinWaiter?.(this.joinFailure(ErrorCode.UNKNOWN_MEMBER_ID, m.memberId));
    m.joinWaiter = null;
    m.syncWaiter?.({
      errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      protocolType: null,
      protocolName: null,
      assignment: EMPTY,
    });
    m.syncWaiter = null;
    if (this.leaderId === m.memberId) this.leaderId = null;
    if (!rebalance) return;
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance();
    else if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
    if (this.members.size === 0 && this.state !== 'PreparingRebalance') {
      this.state = 'Empty';
      this.emptySinceMs = this.timers.now();
    }
    this.onChange(this);
  }

  /** Remove members whose session timed out (no heartbeat), and stale pending member ids. */
  expireMembers(): void {
    const now = this.timers.now();
    for (const [id, expiresAt] of this.pendingMembers) if (now > expiresAt) this.pendingMembers.delete(id);
    for (const m of [...this.members.values()]) {
      if (m.joinWaiter !== null || m.syncWaiter !== null) continue;
      if (now - m.lastHeartbeatMs > m.sessionTimeoutMs) this.removeMember(m, true);
    }
  }

  /** DeleteGroups: only an empty group can go. */
  markDead(): void {
    this.state = 'Dead';
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.onChange(this);
  }

  /** Topics the members subscribe to (consumer protocol metadata), for OffsetDelete. */
  subscribedTopics(): Set<string> {
    const topics = new Set<string>();
    if (this.protocolType !== 'consumer') return topics;
    for (const m of this.members.values()) {
      const meta = m.protocols.find((p) => p.name === this.protocolName)?.metadata;
      if (meta === undefined) continue;
      for (const t of parseSubscriptionTopics(meta)) topics.add(t);
    }
    return topics;
  }
}

/**
 * Topics of a ConsumerProtocolSubscription (version INT16, topics ARRAY(STRING), ...), the metadata
 * consumers put in JoinGroup. Malformed metadata yields what could be read.
 */
export function parseSubscriptionTopics(meta: Buffer): string[] {
  const out: string[] = [];
  try {
    let pos = 2;
    const count = meta.readInt32BE(pos);
    pos += 4;
    for (let i = 0; i < count && pos + 2 <= meta.length; i++) {
      const len = meta.readInt16BE(pos);
      pos += 2;
      if (len < 0 || pos + len > meta.length) break;
      out.push(meta.toString('utf8', pos, pos + len));
      pos += len;
    }
  } catch {
    // truncated metadata: return what was read
  }
  return out;
}
