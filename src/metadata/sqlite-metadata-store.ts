/**
 * SqliteMetadataStore: the embedded MetadataStore, one SQLite file through better-sqlite3.
 *
 * Durability: journal_mode=WAL with synchronous=FULL, so every committed transaction is fsynced
 * before its call resolves. Everything this store holds is loss-relevant (the object index
 * acknowledges uploaded data, offsets acknowledge commits, producer-id blocks must never be reused)
 * and nothing here is on the per-produce path, so there is no cheaper mode for some tables.
 *
 * Invariants: the schema comes from numbered forward-only migrations (sqlite/migrations.ts); every
 * SQL statement is in sqlite/queries.ts and prepared once at open. Each method runs in one
 * transaction; the ones that read-check-write (commitObject's contiguity guard, saveGroup's
 * compare-and-set, id allocation) use BEGIN IMMEDIATE, so the check and the write see the same
 * state even if another process opened the file. Arguments are validated by store-rules.ts, as in
 * every store, before anything is written.
 *
 * Thread-safety: better-sqlite3 is synchronous: each call runs to completion on the JS thread, so
 * calls never interleave inside a process. That also means a call blocks the event loop for its
 * duration (one fsync for writes, ~0.1–0.3 ms here); callers keep it off per-request paths, as the
 * design requires. One process should write a given file (several brokers share PostgreSQL).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
import { migrate } from './sqlite/migrations.js';
import {
  type ConfigRow,
  type EntryRow,
  type GroupRow,
  type ObjectEntryCountRow,
  type ObjectRow,
  type OffsetRow,
  type PartitionRow,
  SQL,
  type StatementName,
  type TopicRow,
} from './sqlite/queries.js';
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
  objectKeyConflict,
  partitionKey,
  planIndexReplacement,
  planObjectCommit,
  sameEntries,
  topicNotFound,
  unknownPartition,
} from './store-rules.js';

export interface SqliteMetadataStoreOptions extends MetadataStoreOptions {
  /** How long a statement waits for another connection's lock before failing (default 5000 ms). */
  readonly busyTimeoutMs?: number;
}

type Statements = Record<StatementName, Database.Statement<unknown[]>>;

export class SqliteMetadataStore implements MetadataStore {
  /** The database file, or `:memory:`. */
  readonly path: string;
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #clock: () => number;
  #closed = false;

  private constructor(path: string, db: Database.Database, clock: () => number) {
    this.path = path;
    this.#db = db;
    this.#clock = clock;
    const statements: Partial<Statements> = {};
    for (const name of Object.keys(SQL) as StatementName[]) statements[name] = db.prepare(SQL[name]);
    this.#sql = statements as Statements;
  }

  /**
   * Open (creating file and parent directory if needed) and migrate the database at `path`
   * (`:memory:` for a private in-memory database).
   */
  static open(path: string, options: SqliteMetadataStoreOptions = {}): SqliteMetadataStore {
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = OFF');
      migrate(db);
      return new SqliteMetadataStore(path, db, options.clock ?? Date.now);
    } catch (err) {
      db?.close();
      if (err instanceof MetadataStoreError) throw err;
      const detail = err instanceof Error ? `: ${err.message}` : '';
      throw new MetadataStoreError(
        'METADATA_STORE_UNAVAILABLE',
        `cannot open SQLite metadata store ${path}${detail}`,
        {
          cause: err,
        },
      );
    }
  }

  // Cluster ------------------------------------------------------------------------------------

  async getOrCreateClusterId(): Promise<string> {
    return this.#write(() => {
      this.#sql.insertMetaIfAbsent.run(CLUSTER_ID_META_KEY, newClusterId());
      return (this.#sql.selectMeta.get(CLUSTER_ID_META_KEY) as { value: string }).value;
    });
  }

  async getMeta(key: string): Promise<string | null> {
    checkName(key, 'meta key');
    return this.#read(() => (this.#sql.selectMeta.get(key) as { value: string } | undefined)?.value ?? null);
  }

  async setMeta(key: string, value: string): Promise<void> {
    checkName(key, 'meta key');
    if (typeof value !== 'string') throw invalid('meta value must be a string');
    this.#write(() => {
      this.#sql.upsertMeta.run(key, value);
    });
  }

  async setMetaMany(entries: readonly { key: string; value: string }[]): Promise<void> {
    checkMetaEntries(entries);
    if (entries.length === 0) {
      this.#assertOpen();
      return;
    }
    this.#write(() => {
      for (const e of entries) this.#sql.upsertMeta.run(e.key, e.value);
    });
  }

  async listMeta(prefix: string): Promise<{ key: string; value: string }[]> {
    if (typeof prefix !== 'string') throw invalid('meta key prefix must be a string');
    const rows = this.#read(
      () => this.#sql.selectMetaByPrefix.all({ prefix }) as { key: string; value: string }[],
    );
    // Sorted by UTF-16 code unit (SQLite sorts UTF-8 bytes), so every store agrees on the order.
    return rows
      .map((r) => ({ key: r.key, value: r.value }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // Topics -------------------------------------------------------------------------------------

  async createTopic(topic: NewTopic): Promise<TopicRecord> {
    const spec = checkNewTopic(topic);
    return this.#write(() => {
      if (this.#sql.selectTopicByName.get(spec.name) !== undefined) {
        throw new MetadataStoreError('TOPIC_ALREADY_EXISTS', `topic ${spec.name} already exists`);
      }
      if (this.#sql.selectTopicById.get(spec.topicId) !== undefined) {
        throw new MetadataStoreError('TOPIC_ID_ALREADY_EXISTS', `topic id ${spec.topicId} is already in use`);
      }
      this.#sql.insertTopic.run(spec.name, spec.topicId, spec.partitionCount, this.#clock());
      for (const [name, value] of Object.entries(spec.configs)) {
        this.#sql.upsertTopicConfig.run(spec.topicId, name, value);
      }
      for (let p = 0; p < spec.partitionCount; p++) this.#sql.insertPartition.run(spec.topicId, p);
      return this.#topicRecord(this.#sql.selectTopicByName.get(spec.name) as TopicRow);
    });
  }

  async deleteTopic(name: string): Promise<DeletedTopic> {
    checkName(name, 'topic name');
    return this.#write(() => {
      const row = this.#requireTopic(name);
      const topic = this.#topicRecord(row);
      const byObject = this.#sql.countEntriesOfTopicByObject.all(row.topic_id) as ObjectEntryCountRow[];
      const deletedEntryCount = this.#sql.deleteEntriesOfTopic.run(row.topic_id).changes;
      const unreferencedObjectKeys = this.#releaseObjects(byObject);
      this.#sql.deletePartitionsOfTopic.run(row.topic_id);
      this.#sql.deleteTopicConfigs.run(row.topic_id);
      this.#sql.deleteTopic.run(name);
      const deletedOffsetCount = this.#sql.deleteOffsetsOfTopic.run(name).changes;
      return { topic, deletedEntryCount, unreferencedObjectKeys, deletedOffsetCount };
    });
  }

  async listTopics(): Promise<TopicRecord[]> {
    return this.#read(() => {
      const configsById = new Map<string, Record<string, string>>();
      for (const c of this.#sql.selectAllTopicConfigs.all() as Required<ConfigRow>[]) {
        let configs = configsById.get(c.topic_id);
        if (configs === undefined) {
          configs = {};
          configsById.set(c.topic_id, configs);
        }
        configs[c.name] = c.value;
      }
      return (this.#sql.selectAllTopics.all() as TopicRow[]).map((row) =>
        topicFromRow(row, configsById.get(row.topic_id) ?? {}),
      );
    });
  }

  async getTopic(name: string): Promise<TopicRecord | null> {
    checkName(name, 'topic name');
    return this.#read(() => {
      const row = this.#sql.selectTopicByName.get(name) as TopicRow | undefined;
      return row === undefined ? null : this.#topicRecord(row);
    });
  }

  async getTopicById(topicId: string): Promise<TopicRecord | null> {
    checkName(topicId, 'topicId');
    return this.#read(() => {
      const row = this.#sql.selectTopicById.get(topicId) as TopicRow | undefined;
      return row === undefined ? null : this.#topicRecord(row);
    });
  }

  async createPartitions(name: string, newPartitionCount: number): Promise<TopicRecord> {
    checkName(name, 'topic name');
    return this.#write(() => {
      const row = this.#requireTopic(name);
      const count = checkNewPartitionCount(name, row.partition_count, newPartitionCount);
      for (let p = row.partition_count; p < count; p++) this.#sql.insertPartition.run(row.topic_id, p);
      this.#sql.updatePartitionCount.run(count, name);
      return this.#topicRecord({ ...row, partition_count: count });
    });
  }

  async alterTopicConfigs(
    name: string,
    set: Readonly<Record<string, string>>,
    deleteKeys: readonly string[],
  ): Promise<TopicRecord> {
    checkName(name, 'topic name');
    const changes = checkConfigChanges(set, deleteKeys);
    return this.#write(() => {
      const row = this.#requireTopic(name);
      for (const key of changes.deleteKeys) this.#sql.deleteTopicConfig.run(row.topic_id, key);
      for (const [key, value] of Object.entries(changes.set))
        this.#sql.upsertTopicConfig.run(row.topic_id, key, value);
      return this.#topicRecord(row);
    });
  }

  // Partition state ----------------------------------------------------------------------------

  async getPartitionState(topicId: string, partition: number): Promise<PartitionState> {
    return this.#read(() => stateFromRow(this.#requirePartition(topicId, partition)));
  }

  async listPartitionStates(topicId?: string): Promise<PartitionState[]> {
    if (topicId !== undefined) checkName(topicId, 'topicId');
    return this.#read(() => {
      const rows =
        topicId === undefined
          ? this.#sql.selectAllPartitions.all()
          : this.#sql.selectPartitionsOfTopic.all(topicId);
      return (rows as PartitionRow[]).map(stateFromRow);
    });
  }

  async advanceLogStartOffset(topicId: string, partition: number, offset: number): Promise<number> {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    checkInteger(offset, 'offset');
    return this.#write(() => {
      const row = this.#sql.advanceLogStartOffset.get(offset, topicId, partition) as
        | { log_start_offset: number }
        | undefined;
      if (row === undefined) throw unknownPartition(topicId, partition);
      return row.log_start_offset;
    });
  }

  // Object index -------------------------------------------------------------------------------

  async commitObject(object: ObjectCommit): Promise<CommitObjectResult> {
    const plan = planObjectCommit(object);
    return this.#write(() => {
      if (this.#alreadyCommitted(plan)) return { alreadyCommitted: true };
      for (const part of plan.partitions) {
        const row = this.#requirePartition(part.topicId, part.partition);
        if (row.indexed_end_offset !== part.firstOffset)
          throw notContiguous(plan, part, row.indexed_end_offset);
      }
      for (const part of plan.partitions) {
        this.#insertEntries(plan.key, part.entries);
        const { changes } = this.#sql.appendToPartition.run(
          part.endOffset,
          part.bytes,
          part.entries.length,
          part.topicId,
          part.partition,
          part.firstOffset,
        );
        if (changes !== 1) throw notContiguous(plan, part, -1); // unreachable: checked above, same transaction
      }
      this.#sql.insertObject.run(
        plan.key,
        plan.sizeBytes,
        plan.createdAtMs,
        plan.fingerprint,
        plan.entryCount,
      );
      return { alreadyCommitted: false };
    });
  }

  async getIndexedEnd(topicId: string, partition: number): Promise<number> {
    return this.#read(() => this.#requirePartition(topicId, partition).indexed_end_offset);
  }

  async findIndexEntries(
    topicId: string,
    partition: number,
    fromOffset: number,
    maxEntries: number,
  ): Promise<LocatedIndexEntry[]> {
    checkInteger(fromOffset, 'fromOffset');
    checkLimit(maxEntries, 'maxEntries');
    return this.#read(() => {
      this.#requirePartition(topicId, partition);
      const rows = this.#sql.selectEntriesFrom.all(topicId, partition, fromOffset, maxEntries) as EntryRow[];
      return rows.map(entryFromRow);
    });
  }

  async findOffsetByTimestamp(
    topicId: string,
    partition: number,
    timestampMs: number,
  ): Promise<LocatedIndexEntry | null> {
    checkInteger(timestampMs, 'timestampMs', Number.MIN_SAFE_INTEGER);
    return this.#read(() => {
      const state = this.#requirePartition(topicId, partition);
      const row = this.#sql.selectFirstEntryWithTimestamp.get(
        topicId,
        partition,
        state.log_start_offset,
        timestampMs,
      ) as EntryRow | undefined;
      return row === undefined ? null : entryFromRow(row);
    });
  }

  async listExpiredEntries(
    topicId: string,
    partition: number,
    olderThanMs: number,
    maxEntries: number,
  ): Promise<LocatedIndexEntry[]> {
    checkInteger(olderThanMs, 'olderThanMs', Number.MIN_SAFE_INTEGER);
    checkLimit(maxEntries, 'maxEntries');
    return this.#read(() => {
      const state = this.#requirePartition(topicId, partition);
      const rows = this.#sql.selectEntriesFrom.all(
        topicId,
        partition,
        state.log_start_offset,
        maxEntries,
      ) as EntryRow[];
      return leadingExpired(rows.map(entryFromRow), olderThanMs);
    });
  }

  async deleteIndexEntriesBelow(
    topicId: string,
    partition: number,
    offset: number,
  ): Promise<IndexTrimResult> {
    checkInteger(offset, 'offset');
    return this.#write(() => {
      const state = this.#requirePartition(topicId, partition);
      const logStartOffset = Math.max(state.log_start_offset, offset);
      if (logStartOffset !== state.log_start_offset) {
        this.#sql.advanceLogStartOffset.get(logStartOffset, topicId, partition);
      }
      const byObject = this.#sql.countEntriesBelowByObject.all(
        topicId,
        partition,
        logStartOffset,
      ) as ObjectEntryCountRow[];
      let deletedEntryCount = 0;
      let deletedBytes = 0;
      for (const group of byObject) {
        deletedEntryCount += group.entry_count;
        deletedBytes += group.bytes;
      }
      if (deletedEntryCount === 0) {
        return { logStartOffset, deletedEntryCount, deletedBytes, unreferencedObjectKeys: [] };
      }
      this.#sql.deleteEntriesBelow.run(topicId, partition, logStartOffset);
      this.#sql.trimPartition.run(deletedBytes, deletedEntryCount, topicId, partition);
      const unreferencedObjectKeys = this.#releaseObjects(byObject);
      return { logStartOffset, deletedEntryCount, deletedBytes, unreferencedObjectKeys };
    });
  }

  /** Insert an object's index entries (call inside the write transaction). */
  #insertEntries(key: string, entries: readonly IndexEntry[]): void {
    for (const e of entries) {
      this.#sql.insertEntry.run(
        e.topicId,
        e.partition,
        e.baseOffset,
        e.lastOffset,
        key,
        e.byteOffset,
        e.byteLength,
        e.maxTimestampMs,
        e.batchCount,
      );
    }
  }

  /**
   * Whether this very object (same key, fingerprint and size) is already committed: a retry whose
   * first answer was lost. Another object under the key is OBJECT_KEY_CONFLICT; false when the key
   * is free. Call inside the write transaction.
   */
  #alreadyCommitted(plan: { key: string; fingerprint: string; sizeBytes: number }): boolean {
    const existing = this.#sql.selectObject.get(plan.key) as ObjectRow | undefined;
    if (existing === undefined) return false;
    if (existing.fingerprint === plan.fingerprint && existing.size_bytes === plan.sizeBytes) return true;
    throw objectKeyConflict(plan.key);
  }

  async replaceIndexEntries(replacement: IndexReplacement): Promise<IndexReplaceResult> {
    const r = planIndexReplacement(replacement);
    const { plan } = r;
    return this.#write(() => {
      if (this.#alreadyCommitted(plan)) return { alreadyCommitted: true, unreferencedObjectKeys: [] };
      this.#requirePartition(r.topicId, r.partition);
      const live = (
        this.#sql.selectEntriesOverlapping.all(
          r.topicId,
          r.partition,
          r.firstOffset,
          r.lastOffset,
        ) as EntryRow[]
      ).map(entryFromRow);
      if (!sameEntries(live, r.replaced)) throw indexRangeChanged(r);
      this.#sql.deleteEntriesBetween.run(r.topicId, r.partition, r.firstOffset, r.lastOffset);
      this.#insertEntries(plan.key, r.part.entries);
      this.#sql.adjustPartitionIndex.run(
        r.part.bytes - r.replacedBytes,
        r.part.entries.length - r.replaced.length,
        r.topicId,
        r.partition,
      );
      this.#sql.insertObject.run(
        plan.key,
        plan.sizeBytes,
        plan.createdAtMs,
        plan.fingerprint,
        plan.entryCount,
      );
      const byObject = [...countByObject(r.replaced)].map(([object_key, entry_count]) => ({
        object_key,
        entry_count,
        bytes: 0,
      }));
      return { alreadyCommitted: false, unreferencedObjectKeys: this.#releaseObjects(byObject) };
    });
  }

  async getObjectRecord(key: string): Promise<ObjectRecord | null> {
    checkName(key, 'object key');
    return this.#read(() => {
      const row = this.#sql.selectObject.get(key) as ObjectRow | undefined;
      return row === undefined ? null : objectFromRow(row);
    });
  }

  async listUnreferencedObjects(query?: UnreferencedObjectQuery): Promise<ObjectRecord[]> {
    const { atOrBeforeMs, limit } = checkUnreferencedQuery(query);
    return this.#read(() =>
      (this.#sql.selectUnreferencedObjects.all(atOrBeforeMs, limit) as ObjectRow[]).map(objectFromRow),
    );
  }

  async deleteObjectRecords(keys: readonly string[]): Promise<string[]> {
    const checked = checkKeyList(keys, 'object key');
    return this.#write(() =>
      checked.filter((key) => this.#sql.deleteUnreferencedObject.run(key).changes === 1).sort(compareStrings),
    );
  }

  // Producer ids -------------------------------------------------------------------------------

  async allocateProducerIdBlock(size: number): Promise<number> {
    checkInteger(size, 'size', 1);
    return this.#write(() => {
      const { next_producer_id: first } = this.#sql.selectNextProducerId.get() as {
        next_producer_id: number;
      };
      if (first + size > Number.MAX_SAFE_INTEGER) throw invalid('producer id space exhausted');
      this.#sql.advanceNextProducerId.get(size);
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
    // One transaction, so one fsync, however many groups: the point of batching across groups.
    this.#write(() => {
      for (const { groupId, offsets } of checked) {
        for (const o of offsets) {
          this.#sql.upsertOffset.run(
            groupId,
            o.topic,
            o.partition,
            o.offset,
            o.leaderEpoch,
            o.metadata,
            o.commitTimestampMs,
          );
        }
      }
    });
  }

  async fetchOffsets(groupId: string, topics?: readonly OffsetFetchTopic[]): Promise<CommittedOffset[]> {
    checkName(groupId, 'groupId');
    const filter = checkFetchTopics(topics);
    return this.#read(() => {
      if (filter === undefined)
        return (this.#sql.selectGroupOffsets.all(groupId) as OffsetRow[]).map(offsetFromRow);
      const found = new Map<string, CommittedOffset>();
      for (const t of filter) {
        const rows =
          t.partitions === undefined
            ? (this.#sql.selectGroupTopicOffsets.all(groupId, t.topic) as OffsetRow[])
            : t.partitions
                .map((p) => this.#sql.selectGroupOffset.get(groupId, t.topic, p) as OffsetRow | undefined)
                .filter((row): row is OffsetRow => row !== undefined);
        for (const row of rows) found.set(partitionKey(row.topic, row.partition_index), offsetFromRow(row));
      }
      return [...found.values()].sort(
        (a, b) => compareStrings(a.topic, b.topic) || a.partition - b.partition,
      );
    });
  }

  async deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<number> {
    checkName(groupId, 'groupId');
    const refs = checkPartitionRefs(partitions);
    return this.#write(() => {
      let deleted = 0;
      for (const ref of refs)
        deleted += this.#sql.deleteOffset.run(groupId, ref.topic, ref.partition).changes;
      return deleted;
    });
  }

  async listGroupsWithOffsets(): Promise<string[]> {
    return this.#read(() =>
      (this.#sql.selectGroupsWithOffsets.all() as { group_id: string }[]).map((r) => r.group_id),
    );
  }

  // Group records ------------------------------------------------------------------------------

  async loadGroup(groupId: string): Promise<GroupRecord | null> {
    checkName(groupId, 'groupId');
    return this.#read(() => {
      const row = this.#sql.selectGroup.get(groupId) as GroupRow | undefined;
      return row === undefined
        ? null
        : { groupId: row.group_id, state: row.state, version: row.version, updatedAtMs: row.updated_at_ms };
    });
  }

  async saveGroup(groupId: string, state: string, expectedVersion: number): Promise<number> {
    checkGroupSave(groupId, state, expectedVersion);
    return this.#write(() => {
      const now = this.#clock();
      const changes =
        expectedVersion === 0
          ? this.#sql.insertGroup.run(groupId, state, now).changes
          : this.#sql.updateGroupIfVersion.run(state, now, groupId, expectedVersion).changes;
      if (changes !== 1) {
        const current = (this.#sql.selectGroup.get(groupId) as GroupRow | undefined)?.version ?? 0;
        throw groupVersionConflict(groupId, expectedVersion, current);
      }
      return expectedVersion + 1;
    });
  }

  async listGroups(): Promise<string[]> {
    return this.#read(() =>
      (this.#sql.selectGroupIds.all() as { group_id: string }[]).map((r) => r.group_id),
    );
  }

  async deleteGroup(groupId: string): Promise<boolean> {
    checkName(groupId, 'groupId');
    return this.#write(() => {
      const records = this.#sql.deleteGroup.run(groupId).changes;
      const offsets = this.#sql.deleteGroupOffsets.run(groupId).changes;
      return records + offsets > 0;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  // Internals ----------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** A read-only step: a deferred transaction, so multi-statement reads see one snapshot. */
  #read<T>(body: () => T): T {
    this.#assertOpen();
    try {
      return this.#db.transaction(body).deferred();
    } catch (err) {
      throw toStoreError(err, 'SQLite read failed');
    }
  }

  /** A writing step: BEGIN IMMEDIATE … COMMIT (fsynced); any throw rolls everything back. */
  #write<T>(body: () => T): T {
    this.#assertOpen();
    try {
      return this.#db.transaction(body).immediate();
    } catch (err) {
      throw toStoreError(err, 'SQLite write failed');
    }
  }

  #requireTopic(name: string): TopicRow {
    const row = this.#sql.selectTopicByName.get(name) as TopicRow | undefined;
    if (row === undefined) throw topicNotFound(name);
    return row;
  }

  #requirePartition(topicId: string, partition: number): PartitionRow {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    const row = this.#sql.selectPartition.get(topicId, partition) as PartitionRow | undefined;
    if (row === undefined) throw unknownPartition(topicId, partition);
    return row;
  }

  #topicRecord(row: TopicRow): TopicRecord {
    const configs: Record<string, string> = {};
    for (const c of this.#sql.selectTopicConfigs.all(row.topic_id) as ConfigRow[]) configs[c.name] = c.value;
    return topicFromRow(row, configs);
  }

  /** Subtract removed entries from their objects; returns the keys that lost their last entry. */
  #releaseObjects(byObject: readonly ObjectEntryCountRow[]): string[] {
    const now = this.#clock();
    const unreferenced: string[] = [];
    for (const group of byObject) {
      const row = this.#sql.releaseObjectEntries.get({
        removed: group.entry_count,
        now,
        key: group.object_key,
      }) as { live_entry_count: number } | undefined;
      if (row?.live_entry_count === 0) unreferenced.push(group.object_key);
    }
    return unreferenced.sort(compareStrings);
  }
}

function topicFromRow(row: TopicRow, configs: Record<string, string>): TopicRecord {
  return {
    name: row.name,
    topicId: row.topic_id,
    partitionCount: row.partition_count,
    configs,
    createdAtMs: row.created_at_ms,
  };
}

function stateFromRow(row: PartitionRow): PartitionState {
  return {
    topicId: row.topic_id,
    partition: row.partition_index,
    logStartOffset: row.log_start_offset,
    indexedEndOffset: row.indexed_end_offset,
    indexedBytes: row.indexed_bytes,
    indexedEntryCount: row.indexed_entry_count,
  };
}

function entryFromRow(row: EntryRow): LocatedIndexEntry {
  return {
    topicId: row.topic_id,
    partition: row.partition_index,
    baseOffset: row.base_offset,
    lastOffset: row.last_offset,
    byteOffset: row.byte_offset,
    byteLength: row.byte_length,
    maxTimestampMs: row.max_timestamp_ms,
    batchCount: row.batch_count,
    objectKey: row.object_key,
  };
}

function objectFromRow(row: ObjectRow): ObjectRecord {
  return {
    key: row.key,
    sizeBytes: row.size_bytes,
    createdAtMs: row.created_at_ms,
    liveEntryCount: row.live_entry_count,
    unreferencedSinceMs: row.unreferenced_since_ms,
  };
}

function offsetFromRow(row: OffsetRow): CommittedOffset {
  return {
    topic: row.topic,
    partition: row.partition_index,
    offset: row.committed_offset,
    leaderEpoch: row.leader_epoch,
    metadata: row.metadata,
    commitTimestampMs: row.commit_timestamp_ms,
  };
}

/**
 * MetadataStoreErrors pass through. SQLite errors: a constraint failure means an argument slipped
 * past validation (INVALID_ARGUMENT); anything else (busy, I/O, full disk, corruption) is
 * METADATA_STORE_UNAVAILABLE. Other errors are bugs and pass through unchanged.
 */
function toStoreError(err: unknown, what: string): unknown {
  if (err instanceof MetadataStoreError) return err;
  if (err instanceof Database.SqliteError) {
    const code = err.code.startsWith('SQLITE_CONSTRAINT') ? 'INVALID_ARGUMENT' : 'METADATA_STORE_UNAVAILABLE';
    return new MetadataStoreError(code, `${what}: ${err.code}: ${err.message}`, { cause: err });
  }
  return err;
}
