/**
 * The SQLite schema, as numbered forward-only migrations. Each one runs once, in its own
 * transaction, and is recorded in `schema_migrations` (version, name, applied_at_ms).
 *
 * Rules: never edit or renumber a migration that has shipped — add the next number instead. On
 * open, a database that recorded a version this build does not know, or a known version under a
 * different name, is refused (SCHEMA_INCOMPATIBLE) rather than guessed at.
 *
 * Column notes: offsets, byte counts and timestamps are INTEGER (int64 in SQLite; values stay below
 * 2^53, see metadata-store.ts). `partition` is a keyword in SQL window syntax, hence
 * `partition_index`. Tables keyed by a composite primary key are WITHOUT ROWID (clustered).
 */
import type Database from 'better-sqlite3';
import { MetadataStoreError } from '../metadata-store.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE topics (
        name            TEXT PRIMARY KEY,
        topic_id        TEXT NOT NULL UNIQUE,
        partition_count INTEGER NOT NULL CHECK (partition_count > 0),
        created_at_ms   INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE topic_configs (
        topic_id TEXT NOT NULL,
        name     TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (topic_id, name)
      ) WITHOUT ROWID;

      -- One row per partition. indexed_end_offset is stored (not derived from index_entries) so
      -- that trimming entries never lowers it.
      CREATE TABLE partitions (
        topic_id            TEXT NOT NULL,
        partition_index     INTEGER NOT NULL,
        log_start_offset    INTEGER NOT NULL DEFAULT 0,
        indexed_end_offset  INTEGER NOT NULL DEFAULT 0,
        indexed_bytes       INTEGER NOT NULL DEFAULT 0,
        indexed_entry_count INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (topic_id, partition_index)
      ) WITHOUT ROWID;

      -- unreferenced_since_ms is NULL while live_entry_count > 0.
      CREATE TABLE objects (
        key                   TEXT PRIMARY KEY,
        size_bytes            INTEGER NOT NULL,
        created_at_ms         INTEGER NOT NULL,
        fingerprint           TEXT NOT NULL,
        live_entry_count      INTEGER NOT NULL CHECK (live_entry_count >= 0),
        unreferenced_since_ms INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX objects_unreferenced ON objects (unreferenced_since_ms, key)
        WHERE unreferenced_since_ms IS NOT NULL;

      -- Entries of one partition are gap-free and non-overlapping, so ordering by last_offset is
      -- ordering by base_offset, and "first entry with last_offset >= x" is one index seek.
      CREATE TABLE index_entries (
        topic_id         TEXT NOT NULL,
        partition_index  INTEGER NOT NULL,
        base_offset      INTEGER NOT NULL,
        last_offset      INTEGER NOT NULL,
        object_key       TEXT NOT NULL,
        byte_offset      INTEGER NOT NULL,
        byte_length      INTEGER NOT NULL,
        max_timestamp_ms INTEGER NOT NULL,
        batch_count      INTEGER NOT NULL,
        PRIMARY KEY (topic_id, partition_index, last_offset)
      ) WITHOUT ROWID;
      CREATE INDEX index_entries_by_object ON index_entries (object_key);

      -- A single row: the next producer id to hand out.
      CREATE TABLE producer_id_allocator (
        singleton        INTEGER PRIMARY KEY CHECK (singleton = 0),
        next_producer_id INTEGER NOT NULL
      );
      INSERT INTO producer_id_allocator (singleton, next_producer_id) VALUES (0, 0);

      CREATE TABLE group_offsets (
        group_id            TEXT NOT NULL,
        topic               TEXT NOT NULL,
        partition_index     INTEGER NOT NULL,
        committed_offset    INTEGER NOT NULL,
        leader_epoch        INTEGER NOT NULL,
        metadata            TEXT,
        commit_timestamp_ms INTEGER NOT NULL,
        PRIMARY KEY (group_id, topic, partition_index)
      ) WITHOUT ROWID;
      CREATE INDEX group_offsets_by_topic ON group_offsets (topic);

      CREATE TABLE groups (
        group_id      TEXT PRIMARY KEY,
        state         TEXT NOT NULL,
        version       INTEGER NOT NULL CHECK (version > 0),
        updated_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

/**
 * Bring `db` up to the newest migration. Returns the versions applied by this call.
 * Runs each migration in an IMMEDIATE transaction, so two processes racing to migrate serialize.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = SQLITE_MIGRATIONS,
): number[] {
  db.exec(`
    CREATE TABLE IF NOT EXISTS schema_migrations (
      version       INTEGER PRIMARY KEY,
      name          TEXT NOT NULL,
      applied_at_ms INTEGER NOT NULL
    )
  `);
  const known = new Map(migrations.map((m) => [m.version, m]));
  const appliedRows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as {
    version: number;
    name: string;
  }[];
  for (const row of appliedRows) {
    const migration = known.get(row.version);
    if (migration === undefined) {
      throw new MetadataStoreError(
        'SCHEMA_INCOMPATIBLE',
        `database has schema migration ${row.version} (${row.name}), newer than this build knows`,
      );
    }
    if (migration.name !== row.name) {
      throw new MetadataStoreError(
        'SCHEMA_INCOMPATIBLE',
        `database migration ${row.version} is "${row.name}", this build's is "${migration.name}"`,
      );
    }
  }
  const applied = new Set(appliedRows.map((row) => row.version));
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const done: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      // Re-check inside the lock: another process may have applied it since we looked.
      if (isApplied.get(migration.version) !== undefined) return;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
      done.push(migration.version);
    }).immediate();
  }
  return done;
}
