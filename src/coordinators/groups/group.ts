/**
 * One consumer group under the classic rebalance protocol: its members and its state machine, as
 * Apache Kafka's classic group coordinator runs it.
 *
 *   Empty ──join──► PreparingRebalance ──all joined / rebalance timeout──► CompletingRebalance
 *     ▲                    ▲    │ (no members left → Empty)                     │ leader's SyncGroup
 *     │                    │    ▼                                               ▼
 *     └── last member ── Stable ◄───────────────────────────────────────────────┘
 *         leaves/expires   (join with new metadata, leader join, leave, expiry → PreparingRebalance)
 *   Dead: deleted (DeleteGroups); a later join creates a fresh group.
 *
 * Invariants
 * - Every state change happens synchronously inside one method call: the event loop is the group's
 *   serial queue, so no two requests interleave inside a transition.
 * - generationId increases by one each time a join phase completes (also when it ends Empty).
 * - Every JoinGroup/SyncGroup promise handed out is settled exactly once (a replaced waiter is
 *   answered with an error): responses on a connection are ordered, so one lost promise would
 *   stall the connection for good.
 * - The broker never looks inside assignments: the leader computes them (range, round-robin,
 *   sticky, cooperative-sticky all work); the broker only picks a protocol every member supports.
 * - Member ids are chosen by the broker (KIP-394: v4+ joins without an id get MEMBER_ID_REQUIRED
 *   and a fresh id; the join phase also waits for those pending ids). Static members (KIP-345,
 *   group.instance.id) keep their place across a restart: a join with the same instance id and no
 *   member id replaces the old member id, which is fenced from then on; in a Stable group whose
 *   selected protocol does not change, this causes no rebalance.
 * - A join phase removes dynamic members that did not rejoin; static members stay until their
 *   session times out. Members that do not send SyncGroup within the rebalance timeout after the
 *   join phase are removed (pending-sync expiry), so a silent leader cannot stall the group.
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
  /** JoinGroup v9+ (KIP-814): a restarted static leader can be told to skip the assignment. */
  supportsSkipAssignment: boolean;
}

export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  /** SyncGroup v5+: must match the group's (null = not sent). */
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
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

function joinFailure(errorCode: number, memberId: string): JoinResult {
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

function syncFailure(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

/** A field sent in SyncGroup v5+ that disagrees with the group's value. */
function inconsistent(requested: string | null, actual: string | null): boolean {
  return requested !== null && actual !== null && requested !== actual;
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
  /** group.instance.id → current member id. */
  private readonly staticMembers = new Map<string, string>();
  /** Members of this generation that have not sent SyncGroup yet. */
  private readonly pendingSync = new Set<string>();
  private joinTimer: NodeJS.Timeout | null = null;
  private syncTimer: NodeJS.Timeout | null = null;
  /** The running join phase started from Empty: it ends only on its (extendable) delay timer. */
  private initialRebalance = false;
  private newMemberAdded = false;
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
    const fail = (errorCode: number) => Promise.resolve(joinFailure(errorCode, req.memberId));
    if (this.state === 'Dead') return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!this.supportsProtocols(req)) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (req.memberId === '') return this.joinUnknownMember(req);
    if (this.pendingMembers.has(req.memberId)) {
      this.pendingMembers.delete(req.memberId);
      return this.addMember(req, req.memberId);
    }
    const check = this.validateMember(req.memberId, req.groupInstanceId);
    if (check !== ErrorCode.NONE) return fail(check);
    return this.joinKnownMember(this.members.get(req.memberId)!, req);
  }

  private joinUnknownMember(req: JoinRequest): Promise<JoinResult> {
    const memberId = `${req.groupInstanceId ?? (req.clientId || 'member')}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const oldId = this.staticMembers.get(req.groupInstanceId);
      if (oldId !== undefined && this.members.has(oldId))
        return this.replaceStaticMember(oldId, memberId, req);
      return this.addMember(req, memberId);
    }
    if (req.requireKnownMemberId) {
      this.pendingMembers.set(memberId, this.timers.now() + req.sessionTimeoutMs);
      return Promise.resolve(joinFailure(ErrorCode.MEMBER_ID_REQUIRED, memberId));
    }
    return this.addMember(req, memberId);
  }

  /**
   * KIP-345: a static member restarted (same instance id, no member id). It takes the old member's
   * place under a new id; the old id is fenced. In a Stable group whose selected protocol stays the
   * same, the current generation and assignment carry on without a rebalance (metadata may differ:
   * a restarted sticky consumer no longer owns partitions, and that must not force a rebalance).
   */
  private replaceStaticMember(oldId: string, memberId: string, req: JoinRequest): Promise<JoinResult> {
    const old = this.members.get(oldId)!;
    const previousLeader = this.leaderId;
    // The old instance's pending calls learn it was fenced.
    old.joinWaiter?.(joinFailure(ErrorCode.FENCED_INSTANCE_ID, oldId));
    old.syncWaiter?.(syncFailure(ErrorCode.FENCED_INSTANCE_ID));
    this.members.delete(oldId);
    const member: Member = {
      ...old,
      memberId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      lastHeartbeatMs: this.timers.now(),
      joinWaiter: null,
      syncWaiter: null,
    };
    this.members.set(memberId, member);
    this.staticMembers.set(req.groupInstanceId!, memberId);
    if (this.leaderId === oldId) this.leaderId = memberId;
    if (this.pendingSync.delete(oldId)) this.pendingSync.add(memberId);
    this.updateMember(member, req);

    switch (this.state) {
      case 'Stable': {
        if (this.selectProtocol() !== this.protocolName) break;
        this.onChange(this);
        const isLeader = this.leaderId === memberId;
        if (req.supportsSkipAssignment) {
          // v9+: the leader learns the members (for its own bookkeeping) but must not reassign.
          return Promise.resolve({
            ...this.joinResultFor(memberId),
            members: isLeader ? this.memberList() : [],
            skipAssignment: isLeader,
          });
        }
        // Older clients get the previous leader id: a restarted leader then sees itself as a
        // follower and does not compute an assignment that a Stable group would not hand out.
        return Promise.resolve({
          ...this.joinResultFor(memberId),
          leader: previousLeader ?? '',
          members: [],
        });
      }
      case 'PreparingRebalance': {
        const p = this.awaitJoin(member);
        this.maybeCompleteJoin();
        return p;
      }
      default:
        // CompletingRebalance: the leader may already have assigned to the old id: rebalance.
        break;
    }
    const p = this.awaitJoin(member);
    this.prepareRebalance();
    return p;
  }

  private joinKnownMember(member: Member, req: JoinRequest): Promise<JoinResult> {
    member.lastHeartbeatMs = this.timers.now();
    switch (this.state) {
      case 'PreparingRebalance': {
        this.updateMember(member, req);
        const p = this.awaitJoin(member);
        this.maybeCompleteJoin();
        return p;
      }
      case 'CompletingRebalance':
        // Same metadata: the join response was lost; send it again.
        if (sameProtocols(member.protocols, req.protocols))
          return Promise.resolve(this.joinResultFor(member.memberId));
        break;
      case 'Stable':
        // A follower with unchanged metadata just gets the current generation. A leader's join
        // always rebalances (that is how a leader reacts to topic metadata changes).
        if (member.memberId !== this.leaderId && sameProtocols(member.protocols, req.protocols)) {
          return Promise.resolve(this.joinResultFor(member.memberId));
        }
        break;
      default:
        return Promise.resolve(joinFailure(ErrorCode.UNKNOWN_MEMBER_ID, member.memberId));
    }
    this.updateMember(member, req);
    const p = this.awaitJoin(member);
    this.prepareRebalance();
    return p;
  }

  private addMember(req: JoinRequest, memberId: string): Promise<JoinResult> {
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
    this.leaderId ??= memberId;
    // A member joining during the initial delay extends it (up to the rebalance timeout).
    if (this.state === 'PreparingRebalance' && this.initialRebalance) this.newMemberAdded = true;
    const p = this.awaitJoin(member);
    if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
    else this.prepareRebalance();
    return p;
  }

  private updateMember(member: Member, req: JoinRequest): void {
    member.protocols = req.protocols;
    member.sessionTimeoutMs = req.sessionTimeoutMs;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
  }

  private awaitJoin(member: Member): Promise<JoinResult> {
    // A member that joins again while its previous JoinGroup is parked: answer the old one.
    member.joinWaiter?.(joinFailure(ErrorCode.REBALANCE_IN_PROGRESS, member.memberId));
    return new Promise((resolve) => {
      member.joinWaiter = resolve;
    });
  }

  /** Empty group: any non-empty protocol list; else same protocol type and one protocol all members support. */
  private supportsProtocols(req: JoinRequest): boolean {
    if (req.protocolType === '' || req.protocols.length === 0) return false;
    if (this.members.size === 0) return true;
    if (this.protocolType !== null && this.protocolType !== req.protocolType) return false;
    const candidates = this.candidateProtocols();
    return req.protocols.some((p) => candidates.has(p.name));
  }

  private candidateProtocols(): Set<string> {
    let common: string[] | null = null;
    for (const m of this.members.values()) {
      const names = m.protocols.map((p) => p.name);
      common = common === null ? names : common.filter((n) => names.includes(n));
    }
    return new Set(common ?? []);
  }

  // ---- rebalance --------------------------------------------------------------------------------

  private rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) if (m.rebalanceTimeoutMs > max) max = m.rebalanceTimeoutMs;
    return max;
  }

  /** Start a join phase (from Empty, Stable or CompletingRebalance); in PreparingRebalance, try to end it. */
  prepareRebalance(): void {
    if (this.state === 'PreparingRebalance') {
      this.maybeCompleteJoin();
      return;
    }
    if (this.state === 'Dead') return;
    if (this.state === 'CompletingRebalance') {
      // Members waiting in SyncGroup must rejoin; the half-made assignment is dropped.
      for (const m of this.members.values()) {
        m.assignment = EMPTY;
        const waiter = m.syncWaiter;
        m.syncWaiter = null;
        waiter?.(syncFailure(ErrorCode.REBALANCE_IN_PROGRESS));
      }
    }
    this.clearSyncExpiry();
    const initial = this.state === 'Empty';
    this.state = 'PreparingRebalance';
    this.clearJoinTimer();
    if (initial) {
      // A new group waits a little for more members (group.initial.rebalance.delay.ms), so that
      // consumers starting together cause one rebalance, not one each; every member that joins
      // meanwhile extends the wait by another delay, up to the rebalance timeout.
      this.initialRebalance = true;
      this.newMemberAdded = false;
      const delayMs = this.timers.initialRebalanceDelayMs;
      this.scheduleInitialJoin(delayMs, Math.max(this.rebalanceTimeoutMs() - delayMs, 0));
    } else {
      this.initialRebalance = false;
      this.joinTimer = setTimeout(() => {
        this.joinTimer = null;
        this.completeJoin();
      }, this.rebalanceTimeoutMs());
      this.joinTimer.unref();
      this.maybeCompleteJoin();
    }
    this.onChange(this);
  }

  private scheduleInitialJoin(delayMs: number, remainingMs: number): void {
    this.joinTimer = setTimeout(() => {
      this.joinTimer = null;
      if (this.state !== 'PreparingRebalance') return;
      if (this.newMemberAdded && remainingMs > 0) {
        this.newMemberAdded = false;
        this.scheduleInitialJoin(
          Math.min(this.timers.initialRebalanceDelayMs, remainingMs),
          Math.max(remainingMs - delayMs, 0),
        );
        return;
      }
      this.completeJoin();
    }, delayMs);
    this.joinTimer.unref();
  }

  private clearJoinTimer(): void {
    if (this.joinTimer !== null) clearTimeout(this.joinTimer);
    this.joinTimer = null;
  }

  private clearSyncExpiry(): void {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    this.pendingSync.clear();
  }

  /**
   * The join phase ends as soon as every member has rejoined and no MEMBER_ID_REQUIRED id is still
   * outstanding — except an initial join phase, which runs its delay out.
   */
  private maybeCompleteJoin(): void {
    if (this.state !== 'PreparingRebalance' || this.initialRebalance) return;
    if (this.pendingMembers.size > 0) return;
    for (const m of this.members.values()) if (m.joinWaiter === null) return;
    this.completeJoin();
  }

  private completeJoin(): void {
    if (this.state !== 'PreparingRebalance') return;
    this.clearJoinTimer();
    // Dynamic members that did not rejoin in time are removed; static ones stay (session timeout).
    for (const m of [...this.members.values()]) {
      if (m.joinWaiter === null && m.groupInstanceId === null) this.removeMember(m);
    }
    const joined = [...this.members.values()].filter((m) => m.joinWaiter !== null);
    if (this.members.size > 0 && joined.length === 0) {
      // Only static members that have not rejoined: wait another rebalance timeout.
      this.joinTimer = setTimeout(() => {
        this.joinTimer = null;
        this.completeJoin();
      }, this.rebalanceTimeoutMs());
      this.joinTimer.unref();
      return;
    }
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
    if (leader === undefined || leader.joinWaiter === null) {
      this.leaderId = joined[0]?.memberId ?? null;
    }
    this.initialRebalance = false;
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
    this.state = 'CompletingRebalance';
    const now = this.timers.now();
    for (const m of this.members.values()) {
      m.lastHeartbeatMs = now;
      this.pendingSync.add(m.memberId);
      const waiter = m.joinWaiter;
      m.joinWaiter = null;
      waiter?.(this.joinResultFor(m.memberId));
    }
    // Members that never send SyncGroup are removed after the rebalance timeout.
    const generation = this.generationId;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      this.expirePendingSync(generation);
    }, this.rebalanceTimeoutMs());
    this.syncTimer.unref();
    this.onChange(this);
  }

  private expirePendingSync(generation: number): void {
    if (generation !== this.generationId) return;
    if (this.state !== 'CompletingRebalance' && this.state !== 'Stable') return;
    if (this.pendingSync.size === 0) return;
    for (const id of this.pendingSync) {
      const m = this.members.get(id);
      if (m !== undefined) this.removeMember(m);
    }
    this.pendingSync.clear();
    this.prepareRebalance();
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
      skipAssignment: false,
    };
  }

  // ---- SyncGroup --------------------------------------------------------------------------------

  sync(req: SyncRequest): Promise<SyncResult> {
    const fail = (errorCode: number) => Promise.resolve(syncFailure(errorCode));
    if (this.state === 'Dead') return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const check = this.validateMember(req.memberId, req.groupInstanceId);
    if (check !== ErrorCode.NONE) return fail(check);
    if (req.generationId !== this.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    if (
      inconsistent(req.protocolType, this.protocolType) ||
      inconsistent(req.protocolName, this.protocolName)
    ) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    const member = this.members.get(req.memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        return fail(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'Stable':
        this.pendingSync.delete(member.memberId);
        return Promise.resolve(this.syncResult(member));
      case 'CompletingRebalance': {
        member.syncWaiter?.(syncFailure(ErrorCode.REBALANCE_IN_PROGRESS));
        const p = new Promise<SyncResult>((resolve) => {
          member.syncWaiter = resolve;
        });
        this.pendingSync.delete(member.memberId);
        if (member.memberId === this.leaderId) {
          const byMember = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
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

  // ---- validation -------------------------------------------------------------------------------

  /** A known member; for a static member, the current holder of its instance id (else fenced). */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  /**
   * OffsetCommit by a member of this group. Generation -1 commits (admin tools, manual assignment)
   * are allowed only while the group is Empty. Members of the current generation may commit while
   * the group prepares a rebalance (consumers commit before they rejoin) but not between JoinGroup
   * and SyncGroup (REBALANCE_IN_PROGRESS).
   */
  validateOffsetCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && this.state === 'Empty') return ErrorCode.NONE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const check = this.validateMember(memberId, groupInstanceId);
      if (check !== ErrorCode.NONE) return check;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (this.state !== 'Empty') {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (this.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  // ---- Heartbeat, LeaveGroup, expiry ------------------------------------------------------------

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const check = this.validateMember(memberId, groupInstanceId);
    if (check !== ErrorCode.NONE) return check;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (this.state === 'Empty') return ErrorCode.UNKNOWN_MEMBER_ID;
    this.members.get(memberId)!.lastHeartbeatMs = this.timers.now();
    return this.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /**
   * LeaveGroup for a batch of members (v3+; v0-2 send one). Each leaves by member id, or — with an
   * empty member id — by group.instance.id (admin removal of a static member). One rebalance for
   * the whole batch.
   */
  leave(leaving: readonly { memberId: string; groupInstanceId: string | null }[]): number[] {
    if (this.state === 'Dead') return leaving.map(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    let removed = false;
    const codes = leaving.map(({ memberId, groupInstanceId }) => {
      if (memberId === '') {
        const current = groupInstanceId === null ? undefined : this.staticMembers.get(groupInstanceId);
        const m = current === undefined ? undefined : this.members.get(current);
        if (m === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
        this.removeMember(m);
        removed = true;
        return ErrorCode.NONE;
      }
      if (this.pendingMembers.delete(memberId)) {
        removed = true;
        return ErrorCode.NONE;
      }
      const check = this.validateMember(memberId, groupInstanceId);
      if (check !== ErrorCode.NONE) return check;
      this.removeMember(this.members.get(memberId)!);
      removed = true;
      return ErrorCode.NONE;
    });
    if (removed) this.rebalanceAfterRemoval();
    return codes;
  }

  /** Take a member out: its parked calls get UNKNOWN_MEMBER_ID (a live client then rejoins). */
  private removeMember(m: Member): void {
    this.members.delete(m.memberId);
    this.pendingSync.delete(m.memberId);
    if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === m.memberId) {
      this.staticMembers.delete(m.groupInstanceId);
    }
    const joinWaiter = m.joinWaiter;
    const syncWaiter = m.syncWaiter;
    m.joinWaiter = null;
    m.syncWaiter = null;
    joinWaiter?.(joinFailure(ErrorCode.UNKNOWN_MEMBER_ID, ''));
    syncWaiter?.(syncFailure(ErrorCode.UNKNOWN_MEMBER_ID));
    if (this.leaderId === m.memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  private rebalanceAfterRemoval(): void {
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance();
    else if (this.state === 'PreparingRebalance') this.maybeCompleteJoin();
    this.onChange(this);
  }

  /** Remove members whose session timed out (no heartbeat), and stale pending member ids. */
  expireMembers(): void {
    const now = this.timers.now();
    let pendingExpired = false;
    for (const [id, expiresAt] of this.pendingMembers) {
      if (now > expiresAt) {
        this.pendingMembers.delete(id);
        pendingExpired = true;
      }
    }
    let removed = false;
    for (const m of [...this.members.values()]) {
      if (m.joinWaiter !== null || m.syncWaiter !== null) continue;
      if (now - m.lastHeartbeatMs > m.sessionTimeoutMs) {
        this.removeMember(m);
        removed = true;
      }
    }
    if (removed) this.rebalanceAfterRemoval();
    else if (pendingExpired) this.maybeCompleteJoin();
  }

  /** DeleteGroups: only an empty group can go. */
  markDead(): void {
    this.state = 'Dead';
    this.clearJoinTimer();
    this.clearSyncExpiry();
    this.onChange(this);
  }

  /**
   * Topics the members subscribe to (consumer protocol metadata), for OffsetDelete; null when they
   * cannot be known (a protocol other than "consumer"), which Kafka treats as "subscribed".
   */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer') return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const meta =
        m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? m.protocols[0]?.metadata;
      if (meta === undefined) continue;
      for (const t of parseSubscriptionTopics(meta)) topics.add(t);
    }
    return topics;
  }
}

/**
 * Topics of a ConsumerProtocolSubscription (version INT16, topics ARRAY(STRING), ...), the metadata
 * consumers put in JoinGroup. Every version starts with this v0 prefix. Malformed metadata yields
 * what could be read.
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
