/**
 * The group coordinator of this broker: every consumer group (classic protocol) and its committed
 * offsets. This broker is the coordinator for every group (FindCoordinator always names it).
 *
 * - Membership lives in memory (group.ts). After a broker restart, members get UNKNOWN_MEMBER_ID on
 *   their next heartbeat and rejoin, as after a coordinator move in Kafka; committed offsets persist.
 * - Committed offsets are durable in the MetadataStore. Commits are group-committed: one flush at a
 *   time writes every commit that arrived since the previous flush began, of every group, in one
 *   store transaction (one fsync: many small groups would otherwise pay one each); each request is
 *   answered after its commit is durable. A group whose entries fail validation is rejected alone
 *   before the write; a failed write rejects every commit of that flush. Flushes never overlap, so
 *   two commits of one partition reach the store (and the cache) in arrival order.
 * - Offsets of groups that stay empty longer than offsets.retention.minutes expire. A group that has
 *   been Empty for a minute and has no committed offsets is forgotten (as Kafka drops such groups),
 *   so short-lived groups (console consumers, tests) do not pile up in memory.
 * - A timer checks session expiry every `sessionCheckIntervalMs`.
 */
import type { Logger } from 'pino';
import { ErrorCode } from '../../../protocol/error-codes.js';
import type {
  CommittedOffset,
  GroupOffsetCommit,
  MetadataStore,
  OffsetCommitEntry,
} from '../../metadata/metadata-store.js';
import { checkOffsetCommits } from '../../metadata/store-rules.js';
import { Group, type GroupTimers } from './group.js';

export interface GroupCoordinatorOptions {
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  offsetMetadataMaxBytes: number;
  offsetsRetentionMs: number;
  sessionCheckIntervalMs: number;
}

export const GROUP_DEFAULTS: GroupCoordinatorOptions = {
  initialRebalanceDelayMs: 3000,
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  offsetMetadataMaxBytes: 4096,
  offsetsRetentionMs: 7 * 24 * 3600 * 1000,
  sessionCheckIntervalMs: 500,
};

const RETENTION_PASS_INTERVAL_MS = 60_000;
/** An Empty group without offsets is dropped after this long. */
const IDLE_EMPTY_GROUP_MS = 60_000;

interface PendingCommit {
  entries: OffsetCommitEntry[];
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  /** groupId → "topic\0partition" → committed offset (a cache of the store, loaded per group). */
  private readonly offsets = new Map<string, Map<string, CommittedOffset>>();
  private readonly loading = new Map<string, Promise<Map<string, CommittedOffset>>>();
  private pending = new Map<string, PendingCommit>();
  private flushScheduled = false;
  private flushing = false;
  private readonly timer: NodeJS.Timeout;
  private readonly timers: GroupTimers;
  private lastRetentionRunMs = 0;

  constructor(
    private readonly metadata: MetadataStore,
    readonly options: GroupCoordinatorOptions,
    private readonly log: Logger,
  ) {
    this.timers = { initialRebalanceDelayMs: options.initialRebalanceDelayMs, now: () => Date.now() };
    this.timer = setInterval(() => this.tick(), options.sessionCheckIntervalMs);
    this.timer.unref();
  }

  /** The group, created (Empty) if `create`. */
  group(groupId: string, create: boolean): Group | undefined {
    let g = this.groups.get(groupId);
    if ((g === undefined || g.state === 'Dead') && create) {
      g = new Group(groupId, this.timers, (changed) =>
        this.log.debug(
          { group: changed.groupId, state: changed.state, generation: changed.generationId },
          'group state',
        ),
      );
      this.groups.set(groupId, g);
    }
    return g;
  }

  allGroups(): Group[] {
    return [...this.groups.values()].filter((g) => g.state !== 'Dead');
  }

  /** Group ids known from membership or from committed offsets. */
  async listGroupIds(): Promise<string[]> {
    const ids = new Set(this.allGroups().map((g) => g.groupId));
    for (const id of await this.metadata.listGroupsWithOffsets()) ids.add(id);
    return [...ids];
  }

  private tick(): void {
    for (const g of this.groups.values()) g.expireMembers();
    const now = Date.now();
    if (now - this.lastRetentionRunMs > RETENTION_PASS_INTERVAL_MS) {
      this.lastRetentionRunMs = now;
      this.expireOffsets(now)
        .then(() => this.dropIdleGroups(Date.now()))
        .catch((err: unknown) => this.log.warn({ err }, 'offset expiry failed'));
    }
  }

  /** Forget groups Empty for a while with no committed offsets; returns how many. */
  dropIdleGroups(now: number): number {
    let dropped = 0;
    for (const [groupId, g] of this.groups) {
      if (g.state !== 'Empty' || g.members.size > 0 || now - g.emptySinceMs < IDLE_EMPTY_GROUP_MS) continue;
      if (
        (this.offsets.get(groupId)?.size ?? 0) > 0 ||
        this.pending.has(groupId) ||
        this.loading.has(groupId)
      )
        continue;
      g.markDead();
      this.groups.delete(groupId);
      dropped++;
    }
    return dropped;
  }

  // ---- offsets ----------------------------------------------------------------------------------

  private async cache(groupId: string): Promise<Map<string, CommittedOffset>> {
    const cached = this.offsets.get(groupId);
    if (cached !== undefined) return cached;
    let loading = this.loading.get(groupId);
    if (loading === undefined) {
      loading = this.metadata.fetchOffsets(groupId).then((rows) => {
        const m = new Map<string, CommittedOffset>();
        for (const r of rows) m.set(`${r.topic}\0${r.partition}`, r);
        this.offsets.set(groupId, m);
        this.loading.delete(groupId);
        return m;
      });
      this.loading.set(groupId, loading);
    }
    return loading;
  }

  /** Durably commit offsets; resolves when they are in the store (and in the cache). */
  async commitOffsets(groupId: string, entries: OffsetCommitEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.cache(groupId);
    await new Promise<void>((resolve, reject) => {
      let p = this.pending.get(groupId);
      if (p === undefined) {
        p = { entries: [], waiters: [] };
        this.pending.set(groupId, p);
      }
      p.entries.push(...entries);
      p.waiters.push({ resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    this.flushing = true;
    const batch = this.pending;
    this.pending = new Map();
    try {
      const ready: (GroupOffsetCommit & Pick<PendingCommit, 'waiters'>)[] = [];
      for (const [groupId, p] of batch) {
        try {
          // Later commits of the same partition win; one row per partition. Checked here, with the
          // store's own rules, so one group's bad entry cannot fail the other groups' write.
          ready.push({ groupId, offsets: checkOffsetCommits(groupId, p.entries), waiters: p.waiters });
        } catch (err) {
          for (const w of p.waiters) w.reject(err);
        }
      }
      if (ready.length === 0) return;
      try {
        await this.metadata.commitOffsetsMany(ready.map(({ groupId, offsets }) => ({ groupId, offsets })));
      } catch (err) {
        for (const r of ready) for (const w of r.waiters) w.reject(err);
        return;
      }
      // The cache moves only once the store has the commit: OffsetFetch never sees a value a crash
      // could take back.
      for (const r of ready) {
        const cache = this.offsets.get(r.groupId);
        if (cache !== undefined) for (const e of r.offsets) cache.set(`${e.topic}\0${e.partition}`, e);
        for (const w of r.waiters) w.resolve();
      }
    } finally {
      // Never leave commits parked behind a flush that ended.
      this.flushing = false;
      if (this.pending.size > 0) this.scheduleFlush();
    }
  }

  /** Committed offsets of a group: all, or for the given topics (and partitions). */
  async fetchOffsets(groupId: string): Promise<Map<string, CommittedOffset>> {
    return this.cache(groupId);
  }

  async deleteOffsets(groupId: string, partitions: { topic: string; partition: number }[]): Promise<void> {
    const cache = await this.cache(groupId);
    await this.metadata.deleteOffsets(groupId, partitions);
    for (const p of partitions) cache.delete(`${p.topic}\0${p.partition}`);
  }

  /** DeleteGroups: NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND if unknown. */
  async deleteGroup(groupId: string): Promise<number> {
    const g = this.groups.get(groupId);
    if (g !== undefined && g.state !== 'Empty' && g.state !== 'Dead') return ErrorCode.NON_EMPTY_GROUP;
    const cache = await this.cache(groupId);
    if ((g === undefined || g.state === 'Dead') && cache.size === 0) return ErrorCode.GROUP_ID_NOT_FOUND;
    await this.metadata.deleteGroup(groupId);
    await this.metadata.deleteOffsets(
      groupId,
      [...cache.values()].map((o) => ({ topic: o.topic, partition: o.partition })),
    );
    this.offsets.delete(groupId);
    g?.markDead();
    this.groups.delete(groupId);
    return ErrorCode.NONE;
  }

  /** offsets.retention.minutes: offsets of groups with no members expire after the retention time. */
  async expireOffsets(now: number): Promise<number> {
    let expired = 0;
    for (const groupId of await this.metadata.listGroupsWithOffsets()) {
      const g = this.groups.get(groupId);
      if (g !== undefined && g.members.size > 0) continue;
      const emptySince = g?.emptySinceMs ?? 0;
      const cache = await this.cache(groupId);
      const stale = [...cache.values()].filter(
        (o) => now - Math.max(o.commitTimestampMs, emptySince) > this.options.offsetsRetentionMs,
      );
      if (stale.length === 0) continue;
      await this.deleteOffsets(
        groupId,
        stale.map((o) => ({ topic: o.topic, partition: o.partition })),
      );
      expired += stale.length;
    }
    if (expired > 0) this.log.info({ expired }, 'expired committed offsets (offsets.retention.minutes)');
    return expired;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
