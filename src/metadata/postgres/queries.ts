/**
 * Every statement the PostgreSQL metadata store runs (table DDL lives in migrations.ts). Tables
 * are unqualified: each pooled connection has search_path set to the store's schema.
 *
 * Batches go as arrays through unnest(), so a call touching many partitions or offsets is still
 * one statement. BIGINT columns (and COUNT/SUM) come back as strings; the store parses them.
 */

/** Run by migrate(), on the one connection that holds the advisory lock. */
export const MIGRATION_SQL = {
  lock: 'SELECT pg_advisory_lock(hashtext($1))',
  unlock: 'SELECT pg_advisory_unlock(hashtext($1))',
  createMigrationsTable:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, ' +
    'applied_at_ms BIGINT NOT NULL)',
  selectApplied: 'SELECT version, name FROM schema_migrations ORDER BY version',
  recordApplied: 'INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)',
} as const;

const TOPIC_COLUMNS =
  't.name, t.topic_id, t.partition_count, t.created_at_ms, ' +
  "(SELECT COALESCE(json_object_agg(c.name, c.value), '{}'::json) FROM topic_configs c " +
  'WHERE c.topic_id = t.topic_id) AS configs';
const PARTITION_COLUMNS =
  'topic_id, partition_index, log_start_offset, indexed_end_offset, indexed_bytes, indexed_entry_count';
const ENTRY_COLUMNS =
  'topic_id, partition_index, base_offset, last_offset, object_key, byte_offset, byte_length, ' +
  'max_timestamp_ms, batch_count';
const OBJECT_COLUMNS = 'key, size_bytes, created_at_ms, fingerprint, live_entry_count, unreferenced_since_ms';
const OFFSET_COLUMNS =
  'topic, partition_index, committed_offset, leader_epoch, metadata, commit_timestamp_ms';

export const SQL = {
  begin: 'BEGIN',
  beginReadOnly: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',

  // meta
  selectMeta: 'SELECT value FROM meta WHERE key = $1',
  upsertMeta:
    'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  upsertMetaMany:
    'INSERT INTO meta (key, value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  /** Waits for a concurrent insert of the same key, then the SELECT sees the winner (READ COMMITTED). */
  insertMetaIfAbsent: 'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
  /** A prefix test with substr, not LIKE: keys may contain % and _. Sorted by the caller (collation). */
  selectMetaByPrefix: 'SELECT key, value FROM meta WHERE substr(key, 1, length($1)) = $1',

  // topics
  insertTopic: 'INSERT INTO topics (name, topic_id, partition_count, created_at_ms) VALUES ($1, $2, $3, $4)',
  selectTopicByName: `SELECT ${TOPIC_COLUMNS} FROM topics t WHERE t.name = $1`,
  selectTopicById: `SELECT ${TOPIC_COLUMNS} FROM topics t WHERE t.topic_id = $1`,
  /** Serializes createPartitions / alterTopicConfigs / deleteTopic of one topic. */
  lockTopicByName: `SELECT ${TOPIC_COLUMNS} FROM topics t WHERE t.name = $1 FOR UPDATE`,
  selectAllTopics: `SELECT ${TOPIC_COLUMNS} FROM topics t ORDER BY t.name`,
  updatePartitionCount: 'UPDATE topics SET partition_count = $1 WHERE name = $2',
  deleteTopic: 'DELETE FROM topics WHERE name = $1',
  insertTopicConfigs:
    'INSERT INTO topic_configs (topic_id, name, value) SELECT $1, u.name, u.value ' +
    'FROM unnest($2::text[], $3::text[]) AS u(name, value) ' +
    'ON CONFLICT (topic_id, name) DO UPDATE SET value = excluded.value',
  deleteTopicConfigKeys: 'DELETE FROM topic_configs WHERE topic_id = $1 AND name = ANY($2::text[])',
  deleteTopicConfigs: 'DELETE FROM topic_configs WHERE topic_id = $1',

  // partitions
  /** Partitions $2 .. $3-1 of topic $1. */
  insertPartitions:
    'INSERT INTO partitions (topic_id, partition_index) SELECT $1, p FROM generate_series($2::bigint, $3::bigint - 1) AS p',
  selectPartition: `SELECT ${PARTITION_COLUMNS} FROM partitions WHERE topic_id = $1 AND partition_index = $2`,
  lockPartition: `SELECT ${PARTITION_COLUMNS} FROM partitions WHERE topic_id = $1 AND partition_index = $2 FOR UPDATE`,
  /** The contiguity guard's lock: every partition an object commit touches, in one fixed order. */
  lockPartitions:
    `SELECT ${PARTITION_COLUMNS} FROM partitions ` +
    'WHERE (topic_id, partition_index) IN (SELECT * FROM unnest($1::text[], $2::bigint[])) ' +
    'ORDER BY topic_id, partition_index FOR UPDATE',
  lockPartitionsOfTopic: `SELECT ${PARTITION_COLUMNS} FROM partitions WHERE topic_id = $1 ORDER BY partition_index FOR UPDATE`,
  selectAllPartitions: `SELECT ${PARTITION_COLUMNS} FROM partitions ORDER BY topic_id, partition_index`,
  selectPartitionsOfTopic: `SELECT ${PARTITION_COLUMNS} FROM partitions WHERE topic_id = $1 ORDER BY partition_index`,
  advanceLogStartOffset:
    'UPDATE partitions SET log_start_offset = GREATEST(log_start_offset, $1) ' +
    'WHERE topic_id = $2 AND partition_index = $3 RETURNING log_start_offset',
  /** Conditional on the indexed end each partition had: the contiguity guard, once more in SQL. */
  appendToPartitions:
    'UPDATE partitions p SET indexed_end_offset = u.end_offset, indexed_bytes = p.indexed_bytes + u.bytes, ' +
    'indexed_entry_count = p.indexed_entry_count + u.entry_count ' +
    'FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) ' +
    'AS u(topic_id, partition_index, first_offset, end_offset, bytes, entry_count) ' +
    'WHERE p.topic_id = u.topic_id AND p.partition_index = u.partition_index ' +
    'AND p.indexed_end_offset = u.first_offset',
  trimPartition:
    'UPDATE partitions SET indexed_bytes = indexed_bytes - $1, indexed_entry_count = indexed_entry_count - $2 ' +
    'WHERE topic_id = $3 AND partition_index = $4',
  /** Compaction: bytes and entry count change, the indexed end does not. */
  adjustPartitionIndex:
    'UPDATE partitions SET indexed_bytes = indexed_bytes + $1, indexed_entry_count = indexed_entry_count + $2 ' +
    'WHERE topic_id = $3 AND partition_index = $4',
  deletePartitionsOfTopic: 'DELETE FROM partitions WHERE topic_id = $1',

  // index entries
  insertEntries:
    'INSERT INTO index_entries (topic_id, partition_index, base_offset, last_offset, object_key, ' +
    'byte_offset, byte_length, max_timestamp_ms, batch_count) ' +
    'SELECT u.topic_id, u.partition_index, u.base_offset, u.last_offset, $1, u.byte_offset, u.byte_length, ' +
    'u.max_timestamp_ms, u.batch_count ' +
    'FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], ' +
    '$8::bigint[], $9::bigint[]) AS u(topic_id, partition_index, base_offset, last_offset, byte_offset, ' +
    'byte_length, max_timestamp_ms, batch_count)',
  selectEntriesFrom:
    `SELECT ${ENTRY_COLUMNS} FROM index_entries ` +
    'WHERE topic_id = $1 AND partition_index = $2 AND last_offset >= $3 ORDER BY last_offset LIMIT $4',
  /** Walks the partition in offset order from the log start: O(entries before the match). */
  selectFirstEntryWithTimestamp:
    `SELECT ${ENTRY_COLUMNS} FROM index_entries ` +
    'WHERE topic_id = $1 AND partition_index = $2 AND last_offset >= $3 AND max_timestamp_ms >= $4 ' +
    'ORDER BY last_offset LIMIT 1',
  /** Deletes, then reports per object how many entries and bytes went. */
  deleteEntriesBelow:
    'WITH gone AS (DELETE FROM index_entries WHERE topic_id = $1 AND partition_index = $2 AND last_offset < $3 ' +
    'RETURNING object_key, byte_length) ' +
    'SELECT object_key, COUNT(*) AS entry_count, SUM(byte_length) AS bytes FROM gone GROUP BY object_key ' +
    'ORDER BY object_key',
  /** Every live entry touching [first, last]: what replaceIndexEntries must find exactly. */
  selectEntriesOverlapping:
    `SELECT ${ENTRY_COLUMNS} FROM index_entries ` +
    'WHERE topic_id = $1 AND partition_index = $2 AND last_offset >= $3 AND base_offset <= $4 ORDER BY last_offset',
  deleteEntriesBetween:
    'DELETE FROM index_entries WHERE topic_id = $1 AND partition_index = $2 AND last_offset BETWEEN $3 AND $4',
  deleteEntriesOfTopic:
    'WITH gone AS (DELETE FROM index_entries WHERE topic_id = $1 RETURNING object_key, byte_length) ' +
    'SELECT object_key, COUNT(*) AS entry_count, SUM(byte_length) AS bytes FROM gone GROUP BY object_key ' +
    'ORDER BY object_key',

  // objects
  /** Claims the key; a concurrent commit of the same key waits here until this one ends. */
  insertObjectIfAbsent:
    'INSERT INTO objects (key, size_bytes, created_at_ms, fingerprint, live_entry_count, unreferenced_since_ms) ' +
    'VALUES ($1, $2, $3, $4, $5, NULL) ON CONFLICT (key) DO NOTHING RETURNING key',
  selectObject: `SELECT ${OBJECT_COLUMNS} FROM objects WHERE key = $1`,
  /** SET expressions see the old row, RETURNING the new one; keys sorted to lock in one order. */
  releaseObjectEntries:
    'UPDATE objects o SET live_entry_count = o.live_entry_count - u.removed, ' +
    'unreferenced_since_ms = CASE WHEN o.live_entry_count - u.removed = 0 THEN $3 ELSE o.unreferenced_since_ms END ' +
    'FROM unnest($1::text[], $2::bigint[]) AS u(key, removed) WHERE o.key = u.key ' +
    'RETURNING o.key, o.live_entry_count',
  selectUnreferencedObjects:
    `SELECT ${OBJECT_COLUMNS} FROM objects ` +
    'WHERE unreferenced_since_ms IS NOT NULL AND unreferenced_since_ms <= $1 ' +
    'ORDER BY unreferenced_since_ms, key LIMIT $2',
  deleteUnreferencedObjects:
    'DELETE FROM objects WHERE key = ANY($1::text[]) AND live_entry_count = 0 RETURNING key',

  // producer ids
  /** One row update: concurrent allocators queue on the row lock and never overlap. */
  allocateProducerIds:
    'UPDATE producer_id_allocator SET next_producer_id = next_producer_id + $1 WHERE singleton = 0 ' +
    'RETURNING next_producer_id - $1 AS first_producer_id',

  // group offsets
  /** Offsets of one or many groups (commitOffsetsMany): one row per array position. */
  upsertOffsets:
    'INSERT INTO group_offsets (group_id, topic, partition_index, committed_offset, leader_epoch, metadata, ' +
    'commit_timestamp_ms) ' +
    'SELECT u.group_id, u.topic, u.partition_index, u.committed_offset, u.leader_epoch, u.metadata, ' +
    'u.commit_timestamp_ms ' +
    'FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[]) ' +
    'AS u(group_id, topic, partition_index, committed_offset, leader_epoch, metadata, commit_timestamp_ms) ' +
    'ON CONFLICT (group_id, topic, partition_index) DO UPDATE SET committed_offset = excluded.committed_offset, ' +
    'leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, ' +
    'commit_timestamp_ms = excluded.commit_timestamp_ms',
  selectGroupOffsets: `SELECT ${OFFSET_COLUMNS} FROM group_offsets WHERE group_id = $1 ORDER BY topic, partition_index`,
  selectGroupTopicsOffsets:
    `SELECT ${OFFSET_COLUMNS} FROM group_offsets WHERE group_id = $1 AND topic = ANY($2::text[]) ` +
    'ORDER BY topic, partition_index',
  deleteOffsets:
    'DELETE FROM group_offsets g USING unnest($2::text[], $3::bigint[]) AS u(topic, partition_index) ' +
    'WHERE g.group_id = $1 AND g.topic = u.topic AND g.partition_index = u.partition_index',
  deleteOffsetsOfTopic: 'DELETE FROM group_offsets WHERE topic = $1',
  deleteGroupOffsets: 'DELETE FROM group_offsets WHERE group_id = $1',
  selectGroupsWithOffsets: 'SELECT DISTINCT group_id FROM group_offsets ORDER BY group_id',

  // group records
  selectGroup: 'SELECT group_id, state, version, updated_at_ms FROM groups WHERE group_id = $1',
  insertGroup:
    'INSERT INTO groups (group_id, state, version, updated_at_ms) VALUES ($1, $2, 1, $3) ' +
    'ON CONFLICT (group_id) DO NOTHING',
  /** The compare-and-set: one statement, so the row lock makes check and write atomic. */
  updateGroupIfVersion:
    'UPDATE groups SET state = $1, version = version + 1, updated_at_ms = $2 WHERE group_id = $3 AND version = $4',
  selectGroupIds: 'SELECT group_id FROM groups ORDER BY group_id',
  deleteGroup: 'DELETE FROM groups WHERE group_id = $1',
} as const;

export type StatementName = keyof typeof SQL;

// Row shapes as pg returns them: BIGINT, COUNT and SUM as strings.

type Int = string | number;

export interface TopicRow {
  name: string;
  topic_id: string;
  partition_count: Int;
  created_at_ms: Int;
  configs: Record<string, string>;
}

export interface PartitionRow {
  topic_id: string;
  partition_index: Int;
  log_start_offset: Int;
  indexed_end_offset: Int;
  indexed_bytes: Int;
  indexed_entry_count: Int;
}

export interface EntryRow {
  topic_id: string;
  partition_index: Int;
  base_offset: Int;
  last_offset: Int;
  object_key: string;
  byte_offset: Int;
  byte_length: Int;
  max_timestamp_ms: Int;
  batch_count: Int;
}

export interface ObjectEntryCountRow {
  object_key: string;
  entry_count: Int;
  bytes: Int;
}

export interface ObjectRow {
  key: string;
  size_bytes: Int;
  created_at_ms: Int;
  fingerprint: string;
  live_entry_count: Int;
  unreferenced_since_ms: Int | null;
}

export interface OffsetRow {
  topic: string;
  partition_index: Int;
  committed_offset: Int;
  leader_epoch: Int;
  metadata: string | null;
  commit_timestamp_ms: Int;
}

export interface GroupRow {
  group_id: string;
  state: string;
  version: Int;
  updated_at_ms: Int;
}
