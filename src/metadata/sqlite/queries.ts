/**
 * Every statement the SQLite metadata store runs (DDL lives in migrations.ts). The store prepares
 * each once, at open. Keeping the SQL here, apart from the logic, is what lets the PostgreSQL store
 * mirror it statement by statement.
 *
 * Parameters are positional `?` unless a statement uses a value twice, then `@named`.
 */
export const SQL = {
  // meta
  selectMeta: 'SELECT value FROM meta WHERE key = ?',
  upsertMeta:
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  insertMetaIfAbsent: 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
  /** A prefix test with substr, not LIKE: keys may contain % and _. */
  selectMetaByPrefix:
    'SELECT key, value FROM meta WHERE substr(key, 1, length(@prefix)) = @prefix ORDER BY key',

  // topics
  insertTopic: 'INSERT INTO topics (name, topic_id, partition_count, created_at_ms) VALUES (?, ?, ?, ?)',
  selectTopicByName: 'SELECT name, topic_id, partition_count, created_at_ms FROM topics WHERE name = ?',
  selectTopicById: 'SELECT name, topic_id, partition_count, created_at_ms FROM topics WHERE topic_id = ?',
  selectAllTopics: 'SELECT name, topic_id, partition_count, created_at_ms FROM topics ORDER BY name',
  updatePartitionCount: 'UPDATE topics SET partition_count = ? WHERE name = ?',
  deleteTopic: 'DELETE FROM topics WHERE name = ?',
  selectTopicConfigs: 'SELECT name, value FROM topic_configs WHERE topic_id = ? ORDER BY name',
  selectAllTopicConfigs: 'SELECT topic_id, name, value FROM topic_configs ORDER BY topic_id, name',
  upsertTopicConfig:
    'INSERT INTO topic_configs (topic_id, name, value) VALUES (?, ?, ?) ' +
    'ON CONFLICT (topic_id, name) DO UPDATE SET value = excluded.value',
  deleteTopicConfig: 'DELETE FROM topic_configs WHERE topic_id = ? AND name = ?',
  deleteTopicConfigs: 'DELETE FROM topic_configs WHERE topic_id = ?',

  // partitions
  insertPartition: 'INSERT INTO partitions (topic_id, partition_index) VALUES (?, ?)',
  selectPartition:
    'SELECT topic_id, partition_index, log_start_offset, indexed_end_offset, indexed_bytes, indexed_entry_count ' +
    'FROM partitions WHERE topic_id = ? AND partition_index = ?',
  selectAllPartitions:
    'SELECT topic_id, partition_index, log_start_offset, indexed_end_offset, indexed_bytes, indexed_entry_count ' +
    'FROM partitions ORDER BY topic_id, partition_index',
  selectPartitionsOfTopic:
    'SELECT topic_id, partition_index, log_start_offset, indexed_end_offset, indexed_bytes, indexed_entry_count ' +
    'FROM partitions WHERE topic_id = ? ORDER BY partition_index',
  advanceLogStartOffset:
    'UPDATE partitions SET log_start_offset = MAX(log_start_offset, ?) ' +
    'WHERE topic_id = ? AND partition_index = ? RETURNING log_start_offset',
  /** Conditional on the indexed end the caller checked: the contiguity guard, once more in SQL. */
  appendToPartition:
    'UPDATE partitions SET indexed_end_offset = ?, indexed_bytes = indexed_bytes + ?, ' +
    'indexed_entry_count = indexed_entry_count + ? ' +
    'WHERE topic_id = ? AND partition_index = ? AND indexed_end_offset = ?',
  trimPartition:
    'UPDATE partitions SET indexed_bytes = indexed_bytes - ?, indexed_entry_count = indexed_entry_count - ? ' +
    'WHERE topic_id = ? AND partition_index = ?',
  deletePartitionsOfTopic: 'DELETE FROM partitions WHERE topic_id = ?',

  // index entries
  insertEntry:
    'INSERT INTO index_entries (topic_id, partition_index, base_offset, last_offset, object_key, ' +
    'byte_offset, byte_length, max_timestamp_ms, batch_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  selectEntriesFrom:
    'SELECT topic_id, partition_index, base_offset, last_offset, object_key, byte_offset, byte_length, ' +
    'max_timestamp_ms, batch_count FROM index_entries ' +
    'WHERE topic_id = ? AND partition_index = ? AND last_offset >= ? ORDER BY last_offset LIMIT ?',
  /** Walks the partition in offset order from the log start: O(entries before the match). */
  selectFirstEntryWithTimestamp:
    'SELECT topic_id, partition_index, base_offset, last_offset, object_key, byte_offset, byte_length, ' +
    'max_timestamp_ms, batch_count FROM index_entries ' +
    'WHERE topic_id = ? AND partition_index = ? AND last_offset >= ? AND max_timestamp_ms >= ? ' +
    'ORDER BY last_offset LIMIT 1',
  countEntriesBelowByObject:
    'SELECT object_key, COUNT(*) AS entry_count, SUM(byte_length) AS bytes FROM index_entries ' +
    'WHERE topic_id = ? AND partition_index = ? AND last_offset < ? GROUP BY object_key',
  deleteEntriesBelow:
    'DELETE FROM index_entries WHERE topic_id = ? AND partition_index = ? AND last_offset < ?',
  countEntriesOfTopicByObject:
    'SELECT object_key, COUNT(*) AS entry_count, SUM(byte_length) AS bytes FROM index_entries ' +
    'WHERE topic_id = ? GROUP BY object_key',
  deleteEntriesOfTopic: 'DELETE FROM index_entries WHERE topic_id = ?',
  /** Every live entry touching [first, last]: what replaceIndexEntries must find exactly. */
  selectEntriesOverlapping:
    'SELECT topic_id, partition_index, base_offset, last_offset, object_key, byte_offset, byte_length, ' +
    'max_timestamp_ms, batch_count FROM index_entries ' +
    'WHERE topic_id = ? AND partition_index = ? AND last_offset >= ? AND base_offset <= ? ORDER BY last_offset',
  deleteEntriesBetween:
    'DELETE FROM index_entries WHERE topic_id = ? AND partition_index = ? AND last_offset BETWEEN ? AND ?',
  /** Compaction: bytes and entry count change, the indexed end does not. */
  adjustPartitionIndex:
    'UPDATE partitions SET indexed_bytes = indexed_bytes + ?, indexed_entry_count = indexed_entry_count + ? ' +
    'WHERE topic_id = ? AND partition_index = ?',

  // objects
  insertObject:
    'INSERT INTO objects (key, size_bytes, created_at_ms, fingerprint, live_entry_count, unreferenced_since_ms) ' +
    'VALUES (?, ?, ?, ?, ?, NULL)',
  selectObject:
    'SELECT key, size_bytes, created_at_ms, fingerprint, live_entry_count, unreferenced_since_ms ' +
    'FROM objects WHERE key = ?',
  /** SET expressions see the old row, RETURNING the new one. */
  releaseObjectEntries:
    'UPDATE objects SET live_entry_count = live_entry_count - @removed, ' +
    'unreferenced_since_ms = CASE WHEN live_entry_count - @removed = 0 THEN @now ELSE unreferenced_since_ms END ' +
    'WHERE key = @key RETURNING live_entry_count',
  selectUnreferencedObjects:
    'SELECT key, size_bytes, created_at_ms, fingerprint, live_entry_count, unreferenced_since_ms FROM objects ' +
    'WHERE unreferenced_since_ms IS NOT NULL AND unreferenced_since_ms <= ? ' +
    'ORDER BY unreferenced_since_ms, key LIMIT ?',
  deleteUnreferencedObject: 'DELETE FROM objects WHERE key = ? AND live_entry_count = 0',

  // producer ids
  selectNextProducerId: 'SELECT next_producer_id FROM producer_id_allocator WHERE singleton = 0',
  advanceNextProducerId:
    'UPDATE producer_id_allocator SET next_producer_id = next_producer_id + ? WHERE singleton = 0 ' +
    'RETURNING next_producer_id',

  // group offsets
  upsertOffset:
    'INSERT INTO group_offsets (group_id, topic, partition_index, committed_offset, leader_epoch, metadata, ' +
    'commit_timestamp_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
    'ON CONFLICT (group_id, topic, partition_index) DO UPDATE SET committed_offset = excluded.committed_offset, ' +
    'leader_epoch = excluded.leader_epoch, metadata = excluded.metadata, ' +
    'commit_timestamp_ms = excluded.commit_timestamp_ms',
  selectGroupOffsets:
    'SELECT topic, partition_index, committed_offset, leader_epoch, metadata, commit_timestamp_ms ' +
    'FROM group_offsets WHERE group_id = ? ORDER BY topic, partition_index',
  selectGroupTopicOffsets:
    'SELECT topic, partition_index, committed_offset, leader_epoch, metadata, commit_timestamp_ms ' +
    'FROM group_offsets WHERE group_id = ? AND topic = ? ORDER BY partition_index',
  selectGroupOffset:
    'SELECT topic, partition_index, committed_offset, leader_epoch, metadata, commit_timestamp_ms ' +
    'FROM group_offsets WHERE group_id = ? AND topic = ? AND partition_index = ?',
  deleteOffset: 'DELETE FROM group_offsets WHERE group_id = ? AND topic = ? AND partition_index = ?',
  deleteOffsetsOfTopic: 'DELETE FROM group_offsets WHERE topic = ?',
  deleteGroupOffsets: 'DELETE FROM group_offsets WHERE group_id = ?',
  selectGroupsWithOffsets: 'SELECT DISTINCT group_id FROM group_offsets ORDER BY group_id',

  // group records
  selectGroup: 'SELECT group_id, state, version, updated_at_ms FROM groups WHERE group_id = ?',
  insertGroup:
    'INSERT INTO groups (group_id, state, version, updated_at_ms) VALUES (?, ?, 1, ?) ' +
    'ON CONFLICT (group_id) DO NOTHING',
  updateGroupIfVersion:
    'UPDATE groups SET state = ?, version = version + 1, updated_at_ms = ? WHERE group_id = ? AND version = ?',
  selectGroupIds: 'SELECT group_id FROM groups ORDER BY group_id',
  deleteGroup: 'DELETE FROM groups WHERE group_id = ?',
} as const;

export type StatementName = keyof typeof SQL;

// Row shapes, as SELECT/RETURNING produce them.

export interface TopicRow {
  name: string;
  topic_id: string;
  partition_count: number;
  created_at_ms: number;
}

export interface ConfigRow {
  topic_id?: string;
  name: string;
  value: string;
}

export interface PartitionRow {
  topic_id: string;
  partition_index: number;
  log_start_offset: number;
  indexed_end_offset: number;
  indexed_bytes: number;
  indexed_entry_count: number;
}

export interface EntryRow {
  topic_id: string;
  partition_index: number;
  base_offset: number;
  last_offset: number;
  object_key: string;
  byte_offset: number;
  byte_length: number;
  max_timestamp_ms: number;
  batch_count: number;
}

export interface ObjectEntryCountRow {
  object_key: string;
  entry_count: number;
  bytes: number;
}

export interface ObjectRow {
  key: string;
  size_bytes: number;
  created_at_ms: number;
  fingerprint: string;
  live_entry_count: number;
  unreferenced_since_ms: number | null;
}

export interface OffsetRow {
  topic: string;
  partition_index: number;
  committed_offset: number;
  leader_epoch: number;
  metadata: string | null;
  commit_timestamp_ms: number;
}

export interface GroupRow {
  group_id: string;
  state: string;
  version: number;
  updated_at_ms: number;
}
