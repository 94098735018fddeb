/**
 * Schema of the PostgreSQL metadata store: numbered, forward-only migrations, recorded in
 * schema_migrations inside the store's schema. A shipped migration is never edited: a change is a
 * new migration with the next number (the open refuses a database whose recorded names differ, or
 * that has migrations this build does not know: SCHEMA_INCOMPATIBLE).
 *
 * Concurrency: several brokers may open the same database at once. migrate() runs under a
 * session-level pg_advisory_lock keyed by the schema name, so exactly one of them creates the
 * schema and applies each migration; the others wait, then find everything applied. Each migration
 * runs in its own transaction together with its schema_migrations row.
 *
 * Columns: every number is BIGINT (Kafka int64 values; pg returns them as strings, parsed by one
 * helper in the store). Text keys use COLLATE "C" so ORDER BY matches the byte order the other
 * stores (and JS string comparison) use, whatever the database's locale.
 */
import type pg from 'pg';
import { MetadataStoreError } from '../metadata-store.js';
import { MIGRATION_SQL } from './queries.js';

export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE meta (
        key   TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL
      );

      CREATE TABLE topics (
        name            TEXT COLLATE "C" NOT NULL,
        topic_id        TEXT COLLATE "C" NOT NULL,
        partition_count BIGINT NOT NULL CHECK (partition_count > 0),
        created_at_ms   BIGINT NOT NULL,
        CONSTRAINT topics_pkey PRIMARY KEY (name),
        CONSTRAINT topics_topic_id_key UNIQUE (topic_id)
      );

      CREATE TABLE topic_configs (
        topic_id TEXT COLLATE "C" NOT NULL,
        name     TEXT COLLATE "C" NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (topic_id, name)
      );

      -- One row per partition; the row commitObject locks (FOR UPDATE) for the contiguity guard.
      -- indexed_end_offset is stored, not derived, so that trimming entries never lowers it.
      CREATE TABLE partitions (
        topic_id            TEXT COLLATE "C" NOT NULL,
        partition_index     BIGINT NOT NULL,
        log_start_offset    BIGINT NOT NULL DEFAULT 0,
        indexed_end_offset  BIGINT NOT NULL DEFAULT 0,
        indexed_bytes       BIGINT NOT NULL DEFAULT 0,
        indexed_entry_count BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (topic_id, partition_index)
      );

      -- unreferenced_since_ms is NULL while live_entry_count > 0.
      CREATE TABLE objects (
        key                   TEXT COLLATE "C" PRIMARY KEY,
        size_bytes            BIGINT NOT NULL,
        created_at_ms         BIGINT NOT NULL,
        fingerprint           TEXT NOT NULL,
        live_entry_count      BIGINT NOT NULL CHECK (live_entry_count >= 0),
        unreferenced_since_ms BIGINT
      );
      CREATE INDEX objects_unreferenced ON objects (unreferenced_since_ms, key)
        WHERE unreferenced_since_ms IS NOT NULL;

      -- Entries of one partition are gap-free and non-overlapping: ordering by last_offset is
      -- ordering by base_offset, and "first entry with last_offset >= x" is one index seek.
      CREATE TABLE index_entries (
        topic_id         TEXT COLLATE "C" NOT NULL,
        partition_index  BIGINT NOT NULL,
        base_offset      BIGINT NOT NULL,
        last_offset      BIGINT NOT NULL,
        object_key       TEXT COLLATE "C" NOT NULL,
        byte_offset      BIGINT NOT NULL,
        byte_length      BIGINT NOT NULL,
        max_timestamp_ms BIGINT NOT NULL,
        batch_count      BIGINT NOT NULL,
        PRIMARY KEY (topic_id, partition_index, last_offset)
      );
      CREATE INDEX index_entries_by_object ON index_entries (object_key);

      -- A single row: the next producer id to hand out.
      CREATE TABLE producer_id_allocator (
        singleton        INTEGER PRIMARY KEY CHECK (singleton = 0),
        next_producer_id BIGINT NOT NULL
      );
      INSERT INTO producer_id_allocator (singleton, next_producer_id) VALUES (0, 0);

      CREATE TABLE group_offsets (
        group_id            TEXT COLLATE "C" NOT NULL,
        topic               TEXT COLLATE "C" NOT NULL,
        partition_index     BIGINT NOT NULL,
        committed_offset    BIGINT NOT NULL,
        leader_epoch        BIGINT NOT NULL,
        metadata            TEXT,
        commit_timestamp_ms BIGINT NOT NULL,
        PRIMARY KEY (group_id, topic, partition_index)
      );
      CREATE INDEX group_offsets_by_topic ON group_offsets (topic);

      CREATE TABLE groups (
        group_id      TEXT COLLATE "C" PRIMARY KEY,
        state         TEXT NOT NULL,
        version       BIGINT NOT NULL CHECK (version > 0),
        updated_at_ms BIGINT NOT NULL
      );
    `,
  },
];

/**
 * Create `schema` if needed and bring it up to the newest migration, holding the migration
 * advisory lock on `client` throughout. Returns the versions this call applied (empty when
 * another opener, or an earlier run, already did). `schema` must already be a validated
 * identifier (lowercase letters, digits, underscores).
 */
export async function migratePostgres(
  client: pg.ClientBase,
  schema: string,
  migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  await client.query(MIGRATION_SQL.lock, [`streamhouse.metadata.migrate:${schema}`]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(MIGRATION_SQL.createMigrationsTable);
    const { rows } = await client.query<{ version: string; name: string }>(MIGRATION_SQL.selectApplied);
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of rows) {
      const version = Number(row.version);
      const migration = known.get(version);
      if (migration === undefined) {
        throw new MetadataStoreError(
          'SCHEMA_INCOMPATIBLE',
          `schema ${schema} has migration ${version} (${row.name}), newer than this build knows`,
        );
      }
      if (migration.name !== row.name) {
        throw new MetadataStoreError(
          'SCHEMA_INCOMPATIBLE',
          `schema ${schema} migration ${version} is "${row.name}", this build's is "${migration.name}"`,
        );
      }
    }
    const applied = new Set(rows.map((row) => Number(row.version)));
    const done: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(MIGRATION_SQL.recordApplied, [migration.version, migration.name, Date.now()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      done.push(migration.version);
    }
    return done;
  } finally {
    await client
      .query(MIGRATION_SQL.unlock, [`streamhouse.metadata.migrate:${schema}`])
      .catch(() => undefined);
  }
}
