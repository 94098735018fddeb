/**
 * PostgresMetadataStore against a real PostgreSQL (test/support/postgres.ts finds or starts one):
 * the shared contract suite, migrations (idempotent, concurrent opens, newer schema refused), the
 * 2^53 guard, and recovery after the server drops the store's connections.
 */
import t from 'tap';
import { isMetadataStoreError } from '../../../src/metadata/metadata-store.js';
import { POSTGRES_MIGRATIONS } from '../../../src/metadata/postgres/migrations.js';
import {
  PostgresMetadataStore,
  parsePostgresUrl,
  toSafeInt,
} from '../../../src/metadata/postgres-metadata-store.js';
import {
  dropSchema,
  getTestPostgresUrl,
  newSchemaName,
  stopTestPostgres,
  terminateConnections,
  withAdmin,
  withSchema,
} from '../../support/postgres.js';
import { runMetadataStoreContract, type TapTest } from './metadata-store-contract.js';

const baseUrl = await getTestPostgresUrl();
t.teardown(stopTestPostgres);

/** A fresh schema URL, dropped when `t` ends. */
function freshSchema(t: TapTest, extra: Record<string, string> = {}): { url: string; schema: string } {
  const schema = newSchemaName();
  t.teardown(() => dropSchema(baseUrl, schema));
  const url = new URL(withSchema(baseUrl, schema));
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return { url: url.toString(), schema };
}

runMetadataStoreContract(t, 'postgres', async ({ clock }) => {
  const schema = newSchemaName();
  const url = withSchema(baseUrl, schema);
  return {
    store: await PostgresMetadataStore.open(url, { clock }),
    reopen: () => PostgresMetadataStore.open(url, { clock }),
    cleanup: () => dropSchema(baseUrl, schema),
  };
});

t.test('postgres: migrations are recorded once and reopening applies nothing', async (t) => {
  const { url, schema } = freshSchema(t);
  const first = await PostgresMetadataStore.open(url);
  t.same(
    first.appliedMigrations,
    POSTGRES_MIGRATIONS.map((m) => m.version),
  );
  await first.close();
  const again = await PostgresMetadataStore.open(url);
  t.same(again.appliedMigrations, [], 'nothing applied twice');
  await again.close();
  const rows = await withAdmin(baseUrl, async (c) => {
    const r = await c.query(`SELECT version, name FROM ${schema}.schema_migrations ORDER BY version`);
    return r.rows.map((row: { version: string; name: string }) => ({
      version: Number(row.version),
      name: row.name,
    }));
  });
  t.same(
    rows,
    POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
  );
});

t.test('postgres: migration versions are numbered 1..n without gaps', async (t) => {
  POSTGRES_MIGRATIONS.forEach((m, i) => {
    t.equal(m.version, i + 1);
    t.ok(m.name.length > 0);
  });
});

t.test('postgres: brokers opening at once run the migrations exactly once', async (t) => {
  const { url } = freshSchema(t);
  const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresMetadataStore.open(url)));
  try {
    const applied = stores.map((s) => s.appliedMigrations);
    t.equal(applied.filter((a) => a.length > 0).length, 1, 'one opener migrated');
    t.same(
      applied.find((a) => a.length > 0),
      POSTGRES_MIGRATIONS.map((m) => m.version),
    );
    // They share one state.
    const ids = await Promise.all(stores.map((s) => s.getOrCreateClusterId()));
    t.equal(new Set(ids).size, 1);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

t.test('postgres: a schema from a newer build or an edited migration is refused', async (t) => {
  const { url, schema } = freshSchema(t);
  await (await PostgresMetadataStore.open(url)).close();
  await withAdmin(baseUrl, (c) =>
    c.query(`INSERT INTO ${schema}.schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)`, [
      POSTGRES_MIGRATIONS.length + 1,
      'from the future',
      Date.now(),
    ]),
  );
  await t.rejects(PostgresMetadataStore.open(url), { code: 'SCHEMA_INCOMPATIBLE' });

  const other = freshSchema(t);
  await (await PostgresMetadataStore.open(other.url)).close();
  await withAdmin(baseUrl, (c) =>
    c.query(`UPDATE ${other.schema}.schema_migrations SET name = 'edited' WHERE version = 1`),
  );
  await t.rejects(PostgresMetadataStore.open(other.url), { code: 'SCHEMA_INCOMPATIBLE' });
});

t.test('postgres: URLs', async (t) => {
  t.equal(parsePostgresUrl('postgres://u@h/db').schema, 'streamhouse', 'default schema');
  const parsed = parsePostgresUrl('postgresql://u:pw@h:5433/db?schema=tenant_1&sslmode=disable');
  t.equal(parsed.schema, 'tenant_1');
  t.notMatch(parsed.connectionString, /schema=/, 'schema is not passed to the driver');
  t.match(parsed.connectionString, /sslmode=disable/);
  for (const bad of [
    'postgres://h/db?schema=Upper',
    'postgres://h/db?schema=a-b',
    'postgres://h/db?schema=1a',
  ]) {
    t.throws(() => parsePostgresUrl(bad), { code: 'INVALID_URL' }, bad);
  }
  await t.rejects(
    PostgresMetadataStore.open('postgres://u:secret@127.0.0.1:1/db', { connectTimeoutMs: 2000 }),
    {
      code: 'METADATA_STORE_UNAVAILABLE',
      retriable: true,
      message: /^(?!.*secret)/,
    },
  );
});

t.test('postgres: BIGINT values round-trip up to 2^53 and no further', async (t) => {
  t.equal(toSafeInt('9007199254740991'), Number.MAX_SAFE_INTEGER);
  t.equal(toSafeInt('-1'), -1);
  t.throws(() => toSafeInt('9007199254740992'), RangeError);
  const { url } = freshSchema(t);
  const store = await PostgresMetadataStore.open(url);
  t.teardown(() => store.close());
  const big = Number.MAX_SAFE_INTEGER - 1;
  await store.commitOffsets('g', [
    { topic: 't', partition: 0, offset: big, leaderEpoch: -1, metadata: null, commitTimestampMs: big },
  ]);
  t.same(await store.fetchOffsets('g'), [
    { topic: 't', partition: 0, offset: big, leaderEpoch: -1, metadata: null, commitTimestampMs: big },
  ]);
  await t.rejects(
    store.commitOffsets('g', [
      { topic: 't', partition: 0, offset: 2 ** 53, leaderEpoch: -1, metadata: null, commitTimestampMs: 0 },
    ]),
    { code: 'INVALID_ARGUMENT' },
  );
});

t.test('postgres: commitOffsets writes a batch of many partitions in one statement', async (t) => {
  const { url } = freshSchema(t);
  const store = await PostgresMetadataStore.open(url);
  t.teardown(() => store.close());
  const offsets = Array.from({ length: 500 }, (_, i) => ({
    topic: `t${i % 5}`,
    partition: i,
    offset: i * 10,
    leaderEpoch: 1,
    metadata: i % 2 === 0 ? null : `m${i}`,
    commitTimestampMs: 1000 + i,
  }));
  await store.commitOffsets('g', offsets);
  const fetched = await store.fetchOffsets('g');
  t.equal(fetched.length, 500);
  t.same(
    fetched.find((o) => o.partition === 7),
    offsets[7],
  );
  // Partition 13 belongs to t3: only what exists under the topic asked for comes back.
  t.same(await store.fetchOffsets('g', [{ topic: 't2', partitions: [2, 7, 13] }]), [offsets[2], offsets[7]]);
});

t.test(
  'postgres: terminated connections fail calls as retriable, then the store recovers alone',
  async (t) => {
    const appName = `sh_test_term_${process.pid}`;
    const { url, schema } = freshSchema(t, { application_name: appName });
    const store = await PostgresMetadataStore.open(url);
    t.teardown(() => store.close());
    const topicId = 'a1b2c3d4-0000-4000-8000-000000000001';
    await store.createTopic({ name: 'orders', topicId, partitionCount: 1, configs: {} });
    const entry = (base: number) => ({
      topicId,
      partition: 0,
      baseOffset: base,
      lastOffset: base + 9,
      byteOffset: 0,
      byteLength: 100,
      maxTimestampMs: 1,
      batchCount: 1,
    });
    await store.commitObject({ key: 'o/0', sizeBytes: 100, createdAtMs: 1, entries: [entry(0)] });

    // An in-flight commit: blocked behind an admin lock on the partition row, then cut off.
    await withAdmin(baseUrl, async (admin) => {
      await admin.query('BEGIN');
      await admin.query(`SELECT * FROM ${schema}.partitions FOR UPDATE`);
      const inFlight = store.commitObject({
        key: 'o/1',
        sizeBytes: 100,
        createdAtMs: 1,
        entries: [entry(10)],
      });
      inFlight.catch(() => undefined);
      // Wait until the store's backend waits on the lock.
      for (let i = 0; i < 100; i++) {
        const { rows } = await admin.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [appName],
        );
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      t.ok((await terminateConnections(baseUrl, appName)) >= 1, 'store connections terminated');
      const err = await inFlight.then(
        () => null,
        (e: unknown) => e,
      );
      t.ok(
        isMetadataStoreError(err, 'METADATA_STORE_UNAVAILABLE'),
        `in-flight call failed UNAVAILABLE: ${String(err)}`,
      );
      t.equal((err as { retriable?: boolean }).retriable, true);
      await admin.query('ROLLBACK');
    });

    // Idle pooled connections cut too: the pool drops them and later calls reconnect.
    await store.getIndexedEnd(topicId, 0);
    await terminateConnections(baseUrl, appName);
    let recovered = false;
    for (let attempt = 0; attempt < 5 && !recovered; attempt++) {
      try {
        // The retry the uploader would do: the same object again.
        await store.commitObject({ key: 'o/1', sizeBytes: 100, createdAtMs: 1, entries: [entry(10)] });
        recovered = true;
      } catch (err) {
        t.ok(isMetadataStoreError(err, 'METADATA_STORE_UNAVAILABLE'), 'only retriable failures meanwhile');
      }
    }
    t.ok(recovered, 'the store recovered by itself');
    t.equal(await store.getIndexedEnd(topicId, 0), 20);
    t.equal((await store.findIndexEntries(topicId, 0, 0, 10)).length, 2);
  },
);
