/**
 * PostgresMetadataStore: the shared MetadataStore, in one PostgreSQL schema, through a pg Pool.
 * Several brokers may point at the same database; this store is what lets them share state.
 *
 * Invariants: the schema comes from numbered forward-only migrations (postgres/migrations.ts),
 * applied at open under an advisory lock; every SQL statement is in postgres/queries.ts. Each method
 * is one statement (atomic by itself) or one transaction. Read-check-write steps lock the rows they
 * check: commitObject claims its object key (INSERT … ON CONFLICT) and then locks every partition
 * row it touches (SELECT … FOR UPDATE, in one fixed order) before comparing indexed ends, so the
 * contiguity guard holds across brokers; topic changes lock the topic row; saveGroup's
 * compare-and-set and producer-id allocation are single conditional UPDATEs. Arguments are
 * validated by store-rules.ts, as in every store, before anything is sent.
 *
 * Numbers: BIGINT columns come back as strings; toSafeInt() is the one place they become numbers
 * (values above 2^53 cannot get in: every input is a checked safe integer).
 *
 * Failures: a lost or refused connection, an admin shutdown (57P01), a deadlock or serialization
 * failure becomes METADATA_STORE_UNAVAILABLE (retriable). The Pool drops broken connections and
 * opens new ones on later calls, so the store recovers by itself once the server answers again.
 * A call whose COMMIT was lost is ambiguous, like any remote commit: callers retry idempotently
 * (commitObject of the same object answers alreadyCommitted).
 *
 * Thread-safety: calls may overlap freely; each runs on its own pooled connection.
 */
import pg from 'pg';
import {
  type CommitObjectResult,
  type CommittedOffset,
  type DeletedTopic,
  type GroupOffsetCommit,
  type GroupRecord,
  type IndexEntry,
  type IndexReplacement,
  type IndexReplaceResult,
  type IndexTrimResult,
  isMetadataStoreError,
  type LocatedIndexEntry,
  type MetadataStore,
  MetadataStoreError,
  type MetadataStoreOptions,
  type NewTopic,
  type ObjectCommit,
  type ObjectRecord,
  type OffsetCommitEntry,
  type OffsetFetchTopic,
  type PartitionState,
  type TopicPartitionRef,
  type TopicRecord,
  type UnreferencedObjectQuery,
} from './metadata-store.js';
import { migratePostgres } from './postgres/migrations.js';
import {
  type EntryRow,
  type GroupRow,
  type ObjectEntryCountRow,
  type ObjectRow,
  type OffsetRow,
  type PartitionRow,
  SQL,
  type TopicRow,
} from './postgres/queries.js';
import {
  CLUSTER_ID_META_KEY,
  checkConfigChanges,
  checkFetchTopics,
  checkGroupSave,
  checkInteger,
  checkKeyList,
  checkLimit,
  checkMetaEntries,
  checkName,
  checkNewPartitionCount,
  checkNewTopic,
  checkOffsetCommitsMany,
  checkPartition,
  checkPartitionRefs,
  checkUnreferencedQuery,
  closedError,
  compareStrings,
  countByObject,
  groupVersionConflict,
  indexRangeChanged,
  invalid,
  leadingExpired,
  newClusterId,
  notContiguous,
  type ObjectCommitPlan,
  objectKeyConflict,
  planIndexReplacement,
  planObjectCommit,
  sameEntries,
  sortedRecord,
  topicNotFound,
  unknownPartition,
} from './store-rules.js';

export interface PostgresMetadataStoreOptions extends MetadataStoreOptions {
  /** Most connections the pool opens (default 10). */
  readonly maxConnections?: number;
  /** How long to wait for a connection before the call fails UNAVAILABLE (default 5000 ms). */
  readonly connectTimeoutMs?: number;
  /** Server-side limit for one statement (default 30000 ms; 0 = none). */
  readonly statementTimeoutMs?: number;
  /** Shown in pg_stat_activity (default `streamhouse`, or the URL's application_name). */
  readonly applicationName?: string;
}

/** The schema used when the URL names none. */
export const DEFAULT_POSTGRES_SCHEMA = 'streamhouse';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

type Queryable = pg.Pool | pg.PoolClient;

export class PostgresMetadataStore implements MetadataStore {
  /** The schema holding this store's tables. */
  readonly schema: string;
  /** Migration versions this open applied (empty when the schema was already current). */
  readonly appliedMigrations: readonly number[];
  readonly #pool: pg.Pool;
  readonly #clock: () => number;
  #closed = false;

  private constructor(schema: string, pool: pg.Pool, applied: number[], clock: () => number) {
    this.schema = schema;
    this.#pool = pool;
    this.appliedMigrations = applied;
    this.#clock = clock;
  }

  /**
   * Connect to `url` (postgres:// or postgresql://, libpq-style; `?schema=NAME` picks the schema,
   * default `streamhouse`), create the schema if needed and migrate it.
   */
  static async open(url: string, options: PostgresMetadataStoreOptions = {}): Promise<PostgresMetadataStore> {
    const { connectionString, schema, applicationName } = parsePostgresUrl(url);
    const pool = new pg.Pool({
      connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      // Idle connections alone never keep the process alive (the broker's listeners do that).
      allowExitOnIdle: true,
      application_name: options.applicationName ?? applicationName ?? 'streamhouse',
      // Every connection resolves unqualified table names in the store's schema.
      options: `-c search_path=${schema} -c statement_timeout=${options.statementTimeoutMs ?? 30_000}`,
    });
    // An idle connection that the server drops (restart, pg_terminate_backend) emits 'error' on the
    // pool; the pool discards it. Without a listener that event would crash the process.
    pool.on('error', () => undefined);
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      const applied = await migratePostgres(client, schema);
      client.release();
      client = undefined;
      return new PostgresMetadataStore(schema, pool, applied, options.clock ?? Date.now);
    } catch (err) {
      client?.release(true);
      await pool.end().catch(() => undefined);
      if (err instanceof MetadataStoreError) throw err;
      const mapped = toStoreError(err, `cannot open PostgreSQL metadata store ${redactUrl(url)}`);
      if (mapped instanceof MetadataStoreError) throw mapped;
      throw new MetadataStoreError(
        'METADATA_STORE_UNAVAILABLE',
        `cannot open PostgreSQL metadata store ${redactUrl(url)}: ${String(err)}`,
        { cause: err },
      );
    }
  }

  // Cluster ------------------------------------------------------------------------------------

  async getOrCreateClusterId(): Promise<string> {
    return this.#tx(async (c) => {
      await c.query(SQL.insertMetaIfAbsent, [CLUSTER_ID_META_KEY, newClusterId()]);
      const { rows } = await c.query<{ value: string }>(SQL.selectMeta, [CLUSTER_ID_META_KEY]);
      return rows[0]!.value;
    });
  }

  async getMeta(key: string): Promise<string | null> {
    checkName(key, 'meta key');
    const rows = await this.#query<{ value: string }>(SQL.selectMeta, [key]);
    return rows[0]?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    checkName(key, 'meta key');
    if (typeof value !== 'string') throw invalid('meta value must be a string');
    await this.#query(SQL.upsertMeta, [key, value]);
  }

  async setMetaMany(entries: readonly { key: string; value: string }[]): Promise<void> {
    checkMetaEntries(entries);
    if (entries.length === 0) {
      this.#assertOpen();
      return;
    }
    // One statement (atomic by itself); a key listed twice would make ON CONFLICT touch a row twice,
    // so only its last value is sent.
    const last = new Map<string, string>();
    for (const e of entries) last.set(e.key, e.value);
    await this.#query(SQL.upsertMetaMany, [[...last.keys()], [...last.values()]]);
  }

  async listMeta(prefix: string): Promise<{ key: string; value: string }[]> {
    if (typeof prefix !== 'string') throw invalid('meta key prefix must be a string');
    const rows = await this.#query<{ key: string; value: string }>(SQL.selectMetaByPrefix, [prefix]);
    // Sorted here, by code unit, so every store agrees whatever the database's collation.
    return rows
      .map((r) => ({ key: r.key, value: r.value }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // Topics -------------------------------------------------------------------------------------

  async createTopic(topic: NewTopic): Promise<TopicRecord> {
    const spec = checkNewTopic(topic);
    return this.#tx(async (c) => {
      // Concurrent creators of the same name or id meet at the unique constraints (mapped below).
      if ((await c.query(SQL.selectTopicByName, [spec.name])).rowCount !== 0) {
        throw new MetadataStoreError('TOPIC_ALREADY_EXISTS', `topic ${spec.name} already exists`);
      }
      if ((await c.query(SQL.selectTopicById, [spec.topicId])).rowCount !== 0) {
        throw new MetadataStoreError('TOPIC_ID_ALREADY_EXISTS', `topic id ${spec.topicId} is already in use`);
      }
      await c.query(SQL.insertTopic, [spec.name, spec.topicId, spec.partitionCount, this.#clock()]);
      const names = Object.keys(spec.configs);
      if (names.length > 0) {
        await c.query(SQL.insertTopicConfigs, [spec.topicId, names, names.map((n) => spec.configs[n]!)]);
      }
      await c.query(SQL.insertPartitions, [spec.topicId, 0, spec.partitionCount]);
      const { rows } = await c.query<TopicRow>(SQL.selectTopicByName, [spec.name]);
      return topicFromRow(rows[0]!);
    });
  }

  async deleteTopic(name: string): Promise<DeletedTopic> {
    checkName(name, 'topic name');
    return this.#tx(async (c) => {
      const row = await requireTopic(c, name, true);
      const topic = topicFromRow(row);
      // Same lock order as commitObject (partition rows, then entries and objects).
      await c.query(SQL.lockPartitionsOfTopic, [row.topic_id]);
      const { rows: byObject } = await c.query<ObjectEntryCountRow>(SQL.deleteEntriesOfTopic, [row.topic_id]);
      const deletedEntryCount = byObject.reduce((sum, g) => sum + toSafeInt(g.entry_count), 0);
      const unreferencedObjectKeys = await this.#releaseObjects(c, byObject);
      await c.query(SQL.deletePartitionsOfTopic, [row.topic_id]);
      await c.query(SQL.deleteTopicConfigs, [row.topic_id]);
      await c.query(SQL.deleteTopic, [name]);
      const deletedOffsetCount = (await c.query(SQL.deleteOffsetsOfTopic, [name])).rowCount ?? 0;
      return { topic, deletedEntryCount, unreferencedObjectKeys, deletedOffsetCount };
    });
  }

  async listTopics(): Promise<TopicRecord[]> {
    return (await this.#query<TopicRow>(SQL.selectAllTopics)).map(topicFromRow);
  }

  async getTopic(name: string): Promise<TopicRecord | null> {
    checkName(name, 'topic name');
    const row = (await this.#query<TopicRow>(SQL.selectTopicByName, [name]))[0];
    return row === undefined ? null : topicFromRow(row);
  }

  async getTopicById(topicId: string): Promise<TopicRecord | null> {
    checkName(topicId, 'topicId');
    const row = (await this.#query<TopicRow>(SQL.selectTopicById, [topicId]))[0];
    return row === undefined ? null : topicFromRow(row);
  }

  async createPartitions(name: string, newPartitionCount: number): Promise<TopicRecord> {
    checkName(name, 'topic name');
    return this.#tx(async (c) => {
      const row = await requireTopic(c, name, true);
      const current = toSafeInt(row.partition_count);
      const count = checkNewPartitionCount(name, current, newPartitionCount);
      await c.query(SQL.insertPartitions, [row.topic_id, current, count]);
      await c.query(SQL.updatePartitionCount, [count, name]);
      return topicFromRow({ ...row, partition_count: count });
    });
  }

  async alterTopicConfigs(
    name: string,
    set: Readonly<Record<string, string>>,
    deleteKeys: readonly string[],
  ): Promise<TopicRecord> {
    checkName(name, 'topic name');
    const changes = checkConfigChanges(set, deleteKeys);
    return this.#tx(async (c) => {
      const row = await requireTopic(c, name, true);
      if (changes.deleteKeys.length > 0) {
        await c.query(SQL.deleteTopicConfigKeys, [row.topic_id, changes.deleteKeys]);
      }
      const names = Object.keys(changes.set);
      if (names.length > 0) {
        await c.query(SQL.insertTopicConfigs, [row.topic_id, names, names.map((n) => changes.set[n]!)]);
      }
      return topicFromRow(await requireTopic(c, name, false));
    });
  }

  // Partition state ----------------------------------------------------------------------------

  async getPartitionState(topicId: string, partition: number): Promise<PartitionState> {
    return stateFromRow(await this.#requirePartition(topicId, partition));
  }

  async listPartitionStates(topicId?: string): Promise<PartitionState[]> {
    if (topicId !== undefined) checkName(topicId, 'topicId');
    const rows =
      topicId === undefined
        ? await this.#query<PartitionRow>(SQL.selectAllPartitions)
        : await this.#query<PartitionRow>(SQL.selectPartitionsOfTopic, [topicId]);
    return rows.map(stateFromRow);
  }

  async advanceLogStartOffset(topicId: string, partition: number, offset: number): Promise<number> {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    checkInteger(offset, 'offset');
    const rows = await this.#query<{ log_start_offset: string }>(SQL.advanceLogStartOffset, [
      offset,
      topicId,
      partition,
    ]);
    if (rows[0] === undefined) throw unknownPartition(topicId, partition);
    return toSafeInt(rows[0].log_start_offset);
  }

  // Object index -------------------------------------------------------------------------------

  async commitObject(object: ObjectCommit): Promise<CommitObjectResult> {
    const plan = planObjectCommit(object);
    try {
      return await this.#commitObject(plan);
    } catch (err) {
      // A connection lost around COMMIT leaves the outcome unknown. The object row is the proof:
      // if it is there with this content, the commit landed. Resolving that here spares the
      // uploader a retry under a fresh key that the contiguity guard would refuse forever.
      if (!isMetadataStoreError(err, 'METADATA_STORE_UNAVAILABLE')) throw err;
      const row = await this.#query<ObjectRow>(SQL.selectObject, [plan.key]).then(
        (rows) => rows[0],
        () => undefined,
      );
      if (
        row !== undefined &&
        row.fingerprint === plan.fingerprint &&
        toSafeInt(row.size_bytes) === plan.sizeBytes
      ) {
        return { alreadyCommitted: false };
      }
      throw err;
    }
  }

  /**
   * Claim an object key inside a transaction: true when this call inserted its row. A concurrent
   * commit of the same key waits on the insert until the other transaction ends, then sees its row:
   * false when it is this very object (same fingerprint and size: a retry whose answer was lost),
   * OBJECT_KEY_CONFLICT when it is another.
   */
  async #claimObjectKey(
    c: pg.PoolClient,
    plan: { key: string; sizeBytes: number; createdAtMs: number; fingerprint: string; entryCount: number },
  ): Promise<boolean> {
    const claimed = await c.query(SQL.insertObjectIfAbsent, [
      plan.key,
      plan.sizeBytes,
      plan.createdAtMs,
      plan.fingerprint,
      plan.entryCount,
    ]);
    if (claimed.rowCount !== 0) return true;
    const existing = (await c.query<ObjectRow>(SQL.selectObject, [plan.key])).rows[0]!;
    if (existing.fingerprint === plan.fingerprint && toSafeInt(existing.size_bytes) === plan.sizeBytes)
      return false;
    throw objectKeyConflict(plan.key);
  }

  async #commitObject(plan: ObjectCommitPlan): Promise<CommitObjectResult> {
    return this.#tx(async (c) => {
      if (!(await this.#claimObjectKey(c, plan))) return { alreadyCommitted: true };
      // The contiguity guard: lock the partition rows, then compare their indexed ends.
      const parts = plan.partitions;
      const { rows } = await c.query<PartitionRow>(SQL.lockPartitions, [
        parts.map((p) => p.topicId),
        parts.map((p) => p.partition),
      ]);
      const byKey = new Map(rows.map((r) => [`${r.topic_id}\u0000${toSafeInt(r.partition_index)}`, r]));
      for (const part of parts) {
        const row = byKey.get(`${part.topicId}\u0000${part.partition}`);
        if (row === undefined) throw unknownPartition(part.topicId, part.partition);
        const indexedEnd = toSafeInt(row.indexed_end_offset);
        if (indexedEnd !== part.firstOffset) throw notContiguous(plan, part, indexedEnd);
      }
      const entries = parts.flatMap((p) => p.entries);
      await insertEntries(c, plan.key, entries);
      const updated = await c.query(SQL.appendToPartitions, [
        parts.map((p) => p.topicId),
        parts.map((p) => p.partition),
        parts.map((p) => p.firstOffset),
        parts.map((p) => p.endOffset),
        parts.map((p) => p.bytes),
        parts.map((p) => p.entries.length),
      ]);
      // Unreachable while the rows are locked; kept so a broken lock can never publish a gap.
      if (updated.rowCount !== parts.length) throw notContiguous(plan, parts[0]!, -1);
      return { alreadyCommitted: false };
    });
  }

  async getIndexedEnd(topicId: string, partition: number): Promise<number> {
    return toSafeInt((await this.#requirePartition(topicId, partition)).indexed_end_offset);
  }

  async findIndexEntries(
    topicId: string,
    partition: number,
    fromOffset: number,
    maxEntries: number,
  ): Promise<LocatedIndexEntry[]> {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    checkInteger(fromOffset, 'fromOffset');
    checkLimit(maxEntries, 'maxEntries');
    return this.#readTx(async (c) => {
      await requirePartition(c, topicId, partition);
      const { rows } = await c.query<EntryRow>(SQL.selectEntriesFrom, [
        topicId,
        partition,
        fromOffset,
        maxEntries,
      ]);
      return rows.map(entryFromRow);
    });
  }

  async findOffsetByTimestamp(
    topicId: string,
    partition: number,
    timestampMs: number,
  ): Promise<LocatedIndexEntry | null> {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    checkInteger(timestampMs, 'timestampMs', Number.MIN_SAFE_INTEGER);
    return this.#readTx(async (c) => {
      const state = await requirePartition(c, topicId, partition);
      const { rows } = await c.query<EntryRow>(SQL.selectFirstEntryWithTimestamp, [
        topicId,
        partition,
        state.log_start_offset,
        timestampMs,
      ]);
      return rows[0] === undefined ? null : entryFromRow(rows[0]);
    });
  }

  async listExpiredEntries(
    topicId: string,
    partition: number,
    olderThanMs: number,
    maxEntries: number,
  ): Promise<LocatedIndexEntry[]> {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    checkInteger(olderThanMs, 'olderThanMs', Number.MIN_SAFE_INTEGER);
    checkLimit(maxEntries, 'maxEntries');
    return this.#readTx(async (c) => {
      const state = await requirePartition(c, topicId, partition);
      const { rows } = await c.query<EntryRow>(SQL.selectEntriesFrom, [
        topicId,
        partition,
        state.log_start_offset,
        maxEntries,
      ]);
      return leadingExpired(rows.map(entryFromRow), olderThanMs);
    });
  }

  async deleteIndexEntriesBelow(
    topicId: string,
    partition: number,
    offset: number,
  ): Promise<IndexTrimResult> {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    checkInteger(offset, 'offset');
    return this.#tx(async (c) => {
      const state = await requirePartition(c, topicId, partition, true);
      const current = toSafeInt(state.log_start_offset);
      const logStartOffset = Math.max(current, offset);
      if (logStartOffset !== current) {
        await c.query(SQL.advanceLogStartOffset, [logStartOffset, topicId, partition]);
      }
      const { rows: byObject } = await c.query<ObjectEntryCountRow>(SQL.deleteEntriesBelow, [
        topicId,
        partition,
        logStartOffset,
      ]);
      let deletedEntryCount = 0;
      let deletedBytes = 0;
      for (const group of byObject) {
        deletedEntryCount += toSafeInt(group.entry_count);
        deletedBytes += toSafeInt(group.bytes);
      }
      if (deletedEntryCount === 0) {
        return { logStartOffset, deletedEntryCount, deletedBytes, unreferencedObjectKeys: [] };
      }
      await c.query(SQL.trimPartition, [deletedBytes, deletedEntryCount, topicId, partition]);
      const unreferencedObjectKeys = await this.#releaseObjects(c, byObject);
      return { logStartOffset, deletedEntryCount, deletedBytes, unreferencedObjectKeys };
    });
  }

  async replaceIndexEntries(replacement: IndexReplacement): Promise<IndexReplaceResult> {
    const r = planIndexReplacement(replacement);
    const { plan } = r;
    return this.#tx(async (c) => {
      // Same lock order as commitObject: claim the key, then the partition row, then entries and objects.
      if (!(await this.#claimObjectKey(c, plan)))
        return { alreadyCommitted: true, unreferencedObjectKeys: [] };
      await requirePartition(c, r.topicId, r.partition, true);
      const { rows } = await c.query<EntryRow>(SQL.selectEntriesOverlapping, [
        r.topicId,
        r.partition,
        r.firstOffset,
        r.lastOffset,
      ]);
      if (!sameEntries(rows.map(entryFromRow), r.replaced)) throw indexRangeChanged(r);
      await c.query(SQL.deleteEntriesBetween, [r.topicId, r.partition, r.firstOffset, r.lastOffset]);
      const entries = r.part.entries;
      await insertEntries(c, plan.key, entries);
      await c.query(SQL.adjustPartitionIndex, [
        r.part.bytes - r.replacedBytes,
        entries.length - r.replaced.length,
        r.topicId,
        r.partition,
      ]);
      const byObject = [...countByObject(r.replaced)].map(([object_key, entry_count]) => ({
        object_key,
        entry_count: String(entry_count),
        bytes: '0',
      }));
      const unreferencedObjectKeys = await this.#releaseObjects(c, byObject);
      return { alreadyCommitted: false, unreferencedObjectKeys };
    });
  }

  async getObjectRecord(key: string): Promise<ObjectRecord | null> {
    checkName(key, 'object key');
    const row = (await this.#query<ObjectRow>(SQL.selectObject, [key]))[0];
    return row === undefined ? null : objectFromRow(row);
  }

  async listUnreferencedObjects(query?: UnreferencedObjectQuery): Promise<ObjectRecord[]> {
    const { atOrBeforeMs, limit } = checkUnreferencedQuery(query);
    return (await this.#query<ObjectRow>(SQL.selectUnreferencedObjects, [atOrBeforeMs, limit])).map(
      objectFromRow,
    );
  }

  async deleteObjectRecords(keys: readonly string[]): Promise<string[]> {
    const checked = checkKeyList(keys, 'object key');
    if (checked.length === 0) {
      this.#assertOpen();
      return [];
    }
    const rows = await this.#query<{ key: string }>(SQL.deleteUnreferencedObjects, [checked]);
    return rows.map((r) => r.key).sort(compareStrings);
  }

  // Producer ids -------------------------------------------------------------------------------

  async allocateProducerIdBlock(size: number): Promise<number> {
    checkInteger(size, 'size', 1);
    return this.#tx(async (c) => {
      const { rows } = await c.query<{ first_producer_id: string }>(SQL.allocateProducerIds, [size]);
      const first = Number(rows[0]!.first_producer_id);
      // Rolled back: the id space never passes 2^53.
      if (!Number.isSafeInteger(first + size)) throw invalid('producer id space exhausted');
      return first;
    });
  }

  // Consumer group offsets ---------------------------------------------------------------------

  async commitOffsets(groupId: string, offsets: readonly OffsetCommitEntry[]): Promise<void> {
    return this.commitOffsetsMany([{ groupId, offsets }]);
  }

  async commitOffsetsMany(commits: readonly GroupOffsetCommit[]): Promise<void> {
    const checked = checkOffsetCommitsMany(commits);
    if (checked.length === 0) {
      this.#assertOpen();
      return;
    }
    // One statement for every group's offsets: atomic without an explicit transaction. Rows are
    // unique per (group, topic, partition) after the checks, as ON CONFLICT DO UPDATE requires.
    const rows = checked.flatMap(({ groupId, offsets }) => offsets.map((o) => ({ groupId, o })));
    await this.#query(SQL.upsertOffsets, [
      rows.map((r) => r.groupId),
      rows.map((r) => r.o.topic),
      rows.map((r) => r.o.partition),
      rows.map((r) => r.o.offset),
      rows.map((r) => r.o.leaderEpoch),
      rows.map((r) => r.o.metadata),
      rows.map((r) => r.o.commitTimestampMs),
    ]);
  }

  async fetchOffsets(groupId: string, topics?: readonly OffsetFetchTopic[]): Promise<CommittedOffset[]> {
    checkName(groupId, 'groupId');
    const filter = checkFetchTopics(topics);
    if (filter === undefined) {
      return (await this.#query<OffsetRow>(SQL.selectGroupOffsets, [groupId])).map(offsetFromRow);
    }
    if (filter.length === 0) {
      this.#assertOpen();
      return [];
    }
    // A topic listed without partitions wants all of them; otherwise the union of those named.
    const wanted = new Map<string, Set<number> | 'all'>();
    for (const t of filter) {
      const before = wanted.get(t.topic);
      if (t.partitions === undefined || before === 'all') wanted.set(t.topic, 'all');
      else wanted.set(t.topic, new Set([...(before ?? []), ...t.partitions]));
    }
    const rows = await this.#query<OffsetRow>(SQL.selectGroupTopicsOffsets, [groupId, [...wanted.keys()]]);
    return rows.map(offsetFromRow).filter((o) => {
      const w = wanted.get(o.topic);
      return w === 'all' || w?.has(o.partition) === true;
    });
  }

  async deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<number> {
    checkName(groupId, 'groupId');
    const refs = checkPartitionRefs(partitions);
    if (refs.length === 0) {
      this.#assertOpen();
      return 0;
    }
    const { rowCount } = await this.#run(SQL.deleteOffsets, [
      groupId,
      refs.map((r) => r.topic),
      refs.map((r) => r.partition),
    ]);
    return rowCount ?? 0;
  }

  async listGroupsWithOffsets(): Promise<string[]> {
    return (await this.#query<{ group_id: string }>(SQL.selectGroupsWithOffsets)).map((r) => r.group_id);
  }

  // Group records ------------------------------------------------------------------------------

  async loadGroup(groupId: string): Promise<GroupRecord | null> {
    checkName(groupId, 'groupId');
    const row = (await this.#query<GroupRow>(SQL.selectGroup, [groupId]))[0];
    return row === undefined
      ? null
      : {
          groupId: row.group_id,
          state: row.state,
          version: toSafeInt(row.version),
          updatedAtMs: toSafeInt(row.updated_at_ms),
        };
  }

  async saveGroup(groupId: string, state: string, expectedVersion: number): Promise<number> {
    checkGroupSave(groupId, state, expectedVersion);
    const now = this.#clock();
    const { rowCount } =
      expectedVersion === 0
        ? await this.#run(SQL.insertGroup, [groupId, state, now])
        : await this.#run(SQL.updateGroupIfVersion, [state, now, groupId, expectedVersion]);
    if (rowCount !== 1) {
      const row = (await this.#query<GroupRow>(SQL.selectGroup, [groupId]))[0];
      throw groupVersionConflict(groupId, expectedVersion, row === undefined ? 0 : toSafeInt(row.version));
    }
    return expectedVersion + 1;
  }

  async listGroups(): Promise<string[]> {
    return (await this.#query<{ group_id: string }>(SQL.selectGroupIds)).map((r) => r.group_id);
  }

  async deleteGroup(groupId: string): Promise<boolean> {
    checkName(groupId, 'groupId');
    return this.#tx(async (c) => {
      const records = (await c.query(SQL.deleteGroup, [groupId])).rowCount ?? 0;
      const offsets = (await c.query(SQL.deleteGroupOffsets, [groupId])).rowCount ?? 0;
      return records + offsets > 0;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  // Internals ----------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** One statement on any pooled connection (atomic by itself); its rows. */
  async #query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    return (await this.#run<R>(text, values)).rows;
  }

  async #run<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    this.#assertOpen();
    try {
      return await this.#pool.query<R>(text, values);
    } catch (err) {
      throw toStoreError(err, 'PostgreSQL query failed');
    }
  }

  /** BEGIN … COMMIT on one connection; any throw rolls back. */
  async #tx<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#transaction(SQL.begin, body);
  }

  /** A read-only snapshot for multi-statement reads. */
  async #readTx<T>(body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#transaction(SQL.beginReadOnly, body);
  }

  async #transaction<T>(begin: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.#assertOpen();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw toStoreError(err, 'PostgreSQL connect failed');
    }
    let broken = false;
    try {
      await client.query(begin);
      const result = await body(client);
      await client.query(SQL.commit);
      return result;
    } catch (err) {
      const mapped = toStoreError(err, 'PostgreSQL transaction failed');
      if (isConnectionFailure(err)) broken = true;
      else {
        await client.query(SQL.rollback).catch(() => {
          broken = true;
        });
      }
      throw mapped;
    } finally {
      // A connection that failed is destroyed, not returned: the next call gets a fresh one.
      client.release(broken ? true : undefined);
    }
  }

  async #requirePartition(topicId: string, partition: number): Promise<PartitionRow> {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    const row = (await this.#query<PartitionRow>(SQL.selectPartition, [topicId, partition]))[0];
    if (row === undefined) throw unknownPartition(topicId, partition);
    return row;
  }

  /** Subtract removed entries from their objects; returns the keys that lost their last entry. */
  async #releaseObjects(c: Queryable, byObject: readonly ObjectEntryCountRow[]): Promise<string[]> {
    if (byObject.length === 0) return [];
    const sorted = [...byObject].sort((a, b) => compareStrings(a.object_key, b.object_key));
    const { rows } = await c.query<{ key: string; live_entry_count: string }>(SQL.releaseObjectEntries, [
      sorted.map((g) => g.object_key),
      sorted.map((g) => toSafeInt(g.entry_count)),
      this.#clock(),
    ]);
    return rows
      .filter((r) => toSafeInt(r.live_entry_count) === 0)
      .map((r) => r.key)
      .sort(compareStrings);
  }
}

async function requireTopic(c: Queryable, name: string, lock: boolean): Promise<TopicRow> {
  const { rows } = await c.query<TopicRow>(lock ? SQL.lockTopicByName : SQL.selectTopicByName, [name]);
  if (rows[0] === undefined) throw topicNotFound(name);
  return rows[0];
}

async function requirePartition(
  c: Queryable,
  topicId: string,
  partition: number,
  lock = false,
): Promise<PartitionRow> {
  const { rows } = await c.query<PartitionRow>(lock ? SQL.lockPartition : SQL.selectPartition, [
    topicId,
    partition,
  ]);
  if (rows[0] === undefined) throw unknownPartition(topicId, partition);
  return rows[0];
}

// ---------------------------------------------------------------------------------------------
// URL

export interface ParsedPostgresUrl {
  /** What pg connects with: the URL less the `schema` parameter. */
  readonly connectionString: string;
  readonly schema: string;
  readonly applicationName: string | undefined;
}

/** Split `?schema=NAME` off a postgres:// URL; INVALID_URL when it is malformed. */
export function parsePostgresUrl(url: string): ParsedPostgresUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new MetadataStoreError('INVALID_URL', `${redactUrl(url)} is not a valid PostgreSQL URL`, {
      cause: err,
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new MetadataStoreError('INVALID_URL', `${redactUrl(url)} is not a postgres:// URL`);
  }
  const schema = parsed.searchParams.get('schema') ?? DEFAULT_POSTGRES_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) {
    throw new MetadataStoreError(
      'INVALID_URL',
      `schema ${JSON.stringify(schema)} must be 1..63 lowercase letters, digits or underscores, not starting with a digit`,
    );
  }
  parsed.searchParams.delete('schema');
  return {
    connectionString: parsed.toString(),
    schema,
    applicationName: parsed.searchParams.get('application_name') ?? undefined,
  };
}

/** Hide a password in user:password@host so URLs can be logged. */
export function redactUrl(url: string): string {
  return url.replace(/^([^:]+:\/\/[^/:@]*):[^/@]*@/, '$1:***@');
}

// ---------------------------------------------------------------------------------------------
// Rows

/**
 * The one BIGINT → number conversion. Values beyond 2^53 cannot have been written by this store
 * (inputs are checked safe integers); meeting one means another writer broke the contract.
 */
export function toSafeInt(value: string | number): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`stored value ${String(value)} is not a safe integer (|n| < 2^53)`);
  }
  return n;
}

function topicFromRow(row: TopicRow): TopicRecord {
  return {
    name: row.name,
    topicId: row.topic_id,
    partitionCount: toSafeInt(row.partition_count),
    configs: sortedRecord(row.configs ?? {}),
    createdAtMs: toSafeInt(row.created_at_ms),
  };
}

function stateFromRow(row: PartitionRow): PartitionState {
  return {
    topicId: row.topic_id,
    partition: toSafeInt(row.partition_index),
    logStartOffset: toSafeInt(row.log_start_offset),
    indexedEndOffset: toSafeInt(row.indexed_end_offset),
    indexedBytes: toSafeInt(row.indexed_bytes),
    indexedEntryCount: toSafeInt(row.indexed_entry_count),
  };
}

function entryFromRow(row: EntryRow): LocatedIndexEntry {
  return {
    topicId: row.topic_id,
    partition: toSafeInt(row.partition_index),
    baseOffset: toSafeInt(row.base_offset),
    lastOffset: toSafeInt(row.last_offset),
    byteOffset: toSafeInt(row.byte_offset),
    byteLength: toSafeInt(row.byte_length),
    maxTimestampMs: toSafeInt(row.max_timestamp_ms),
    batchCount: toSafeInt(row.batch_count),
    objectKey: row.object_key,
  };
}

function objectFromRow(row: ObjectRow): ObjectRecord {
  return {
    key: row.key,
    sizeBytes: toSafeInt(row.size_bytes),
    createdAtMs: toSafeInt(row.created_at_ms),
    liveEntryCount: toSafeInt(row.live_entry_count),
    unreferencedSinceMs: row.unreferenced_since_ms === null ? null : toSafeInt(row.unreferenced_since_ms),
  };
}

function offsetFromRow(row: OffsetRow): CommittedOffset {
  return {
    topic: row.topic,
    partition: toSafeInt(row.partition_index),
    offset: toSafeInt(row.committed_offset),
    leaderEpoch: toSafeInt(row.leader_epoch),
    metadata: row.metadata,
    commitTimestampMs: toSafeInt(row.commit_timestamp_ms),
  };
}

// ---------------------------------------------------------------------------------------------
// Errors

/** Node socket errors that mean the server is unreachable or the connection broke. */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** pg's own errors for a connection that died or never came (they carry no code). */
const PG_CONNECTION_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Client was closed/i;

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True when the connection the error came from cannot be used again. */
function isConnectionFailure(err: unknown): boolean {
  if (err instanceof MetadataStoreError) return false;
  const code = sqlState(err);
  if (code !== undefined) {
    return CONNECTION_ERRNOS.has(code) || code.startsWith('08') || code === '57P01' || code === '57P02';
  }
  return err instanceof Error && PG_CONNECTION_MESSAGE.test(err.message);
}

/**
 * MetadataStoreErrors pass through. Connection loss, admin shutdown (57P01..57P03), too many
 * connections (53xxx), deadlock / serialization failure (40xxx), statement timeout (57014) and
 * lock timeouts (55P03) are METADATA_STORE_UNAVAILABLE (retriable). Unique violations on the topic
 * constraints are TOPIC_ALREADY_EXISTS / TOPIC_ID_ALREADY_EXISTS (two creators raced); other
 * constraint or data errors mean an argument slipped past validation: INVALID_ARGUMENT. Anything
 * else is a bug and passes through unchanged.
 */
export function toStoreError(err: unknown, what: string): unknown {
  if (err instanceof MetadataStoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isConnectionFailure(err)) {
    return new MetadataStoreError('METADATA_STORE_UNAVAILABLE', `${what}: ${message}`, { cause: err });
  }
  const code = sqlState(err);
  if (code === undefined) return err;
  if (
    code.startsWith('53') ||
    code.startsWith('40') ||
    code === '57P03' ||
    code === '57014' ||
    code === '55P03' ||
    code === '55006'
  ) {
    return new MetadataStoreError('METADATA_STORE_UNAVAILABLE', `${what}: ${code}: ${message}`, {
      cause: err,
    });
  }
  if (code === '23505') {
    const constraint = (err as { constraint?: string }).constraint;
    if (constraint === 'topics_pkey')
      return new MetadataStoreError('TOPIC_ALREADY_EXISTS', message, { cause: err });
    if (constraint === 'topics_topic_id_key') {
      return new MetadataStoreError('TOPIC_ID_ALREADY_EXISTS', message, { cause: err });
    }
  }
  if (code.startsWith('23') || code.startsWith('22')) {
    return new MetadataStoreError('INVALID_ARGUMENT', `${what}: ${code}: ${message}`, { cause: err });
  }
  return err;
}

/** One statement inserting an object's index entries (column arrays, unnested by the query). */
async function insertEntries(c: Queryable, key: string, entries: readonly IndexEntry[]): Promise<void> {
  await c.query(SQL.insertEntries, [
    key,
    entries.map((e) => e.topicId),
    entries.map((e) => e.partition),
    entries.map((e) => e.baseOffset),
    entries.map((e) => e.lastOffset),
    entries.map((e) => e.byteOffset),
    entries.map((e) => e.byteLength),
    entries.map((e) => e.maxTimestampMs),
    entries.map((e) => e.batchCount),
  ]);
}
