/**
 * openMetadataStore(url): the one place that turns a configured URL into a MetadataStore.
 *
 *   memory://                   a fresh MemoryMetadataStore (each call its own)
 *   sqlite:///abs/path.db       SQLite file at /abs/path.db (parent directories are created)
 *   sqlite://relative.db        SQLite file resolved against process.cwd()
 *   sqlite://:memory:           a private in-memory SQLite database (tests)
 *   postgres://user:pw@host:port/db?schema=NAME   PostgreSQL (postgresql:// too); schema defaults
 *                               to `streamhouse` and is created on first open
 *
 * sqlite:// paths are percent-decoded and take no query string. Errors: MetadataStoreError
 * UNSUPPORTED_URL / INVALID_URL, or whatever opening the store raises.
 */
import { isAbsolute, resolve } from 'node:path';
import { MemoryMetadataStore } from './memory-metadata-store.js';
import { type MetadataStore, MetadataStoreError, type MetadataStoreOptions } from './metadata-store.js';
import { PostgresMetadataStore } from './postgres-metadata-store.js';
import { SqliteMetadataStore } from './sqlite-metadata-store.js';

export async function openMetadataStore(
  url: string,
  options: MetadataStoreOptions = {},
): Promise<MetadataStore> {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(url);
  if (match === null) {
    throw new MetadataStoreError(
      'INVALID_URL',
      `metadata store URL ${JSON.stringify(url)} is not scheme://location`,
    );
  }
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  switch (scheme) {
    case 'memory':
      return new MemoryMetadataStore(options);
    case 'sqlite': {
      if (rest.includes('?') || rest.includes('#')) {
        throw new MetadataStoreError('INVALID_URL', `${url}: sqlite:// URLs take no query or fragment`);
      }
      let path: string;
      try {
        path = decodeURIComponent(rest);
      } catch (err) {
        throw new MetadataStoreError('INVALID_URL', `${url} has a malformed percent-encoding`, {
          cause: err,
        });
      }
      if (path === '') throw new MetadataStoreError('INVALID_URL', `${url} names no database file`);
      if (path === ':memory:') return SqliteMetadataStore.open(':memory:', options);
      return SqliteMetadataStore.open(isAbsolute(path) ? path : resolve(process.cwd(), path), options);
    }
    case 'postgres':
    case 'postgresql':
      return PostgresMetadataStore.open(url, options);
    default:
      throw new MetadataStoreError(
        'UNSUPPORTED_URL',
        `unknown metadata store scheme ${scheme}:// in ${redact(url)}; expected memory://, sqlite:// or postgres://`,
      );
  }
}

/** Hide a password in user:password@host so error messages can be logged. */
function redact(url: string): string {
  return url.replace(/^([^:]+:\/\/[^/:@]*):[^/@]*@/, '$1:***@');
}
