/**
 * openObjectStore(url): the one place that turns a configured URL into an ObjectStore.
 *
 *   memory://                  a fresh MemoryObjectStore (each call its own)
 *   file:///abs/dir            LocalObjectStore rooted at /abs/dir
 *   file://relative/dir        LocalObjectStore rooted at relative/dir, resolved against process.cwd()
 *   s3://bucket/prefix         not yet supported (a later issue adds the S3 store)
 *
 * Query parameters for file://: `fsync=false` turns off fsync (tests only). Unknown parameters are
 * rejected so a typo does not silently change durability. Paths are percent-decoded.
 * Errors: ObjectStoreError UNSUPPORTED_URL / INVALID_URL.
 */
import { isAbsolute, resolve } from 'node:path';
import { LocalObjectStore } from './local-object-store.js';
import { MemoryObjectStore } from './memory-object-store.js';
import { type ObjectStore, ObjectStoreError } from './object-store.js';

export async function openObjectStore(url: string): Promise<ObjectStore> {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(url);
  if (match === null) {
    throw new ObjectStoreError(
      'INVALID_URL',
      `object store URL ${JSON.stringify(url)} is not scheme://location`,
    );
  }
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  switch (scheme) {
    case 'memory':
      return new MemoryObjectStore();
    case 'file': {
      const { path, params } = splitQuery(url, rest);
      let fsync = true;
      for (const [name, value] of params) {
        if (name === 'fsync' && (value === 'true' || value === 'false')) fsync = value === 'true';
        else
          throw new ObjectStoreError(
            'INVALID_URL',
            `unknown or invalid parameter ${name}=${value} in ${url}`,
          );
      }
      if (path === '') throw new ObjectStoreError('INVALID_URL', `${url} names no directory`);
      const dir = isAbsolute(path) ? path : resolve(process.cwd(), path);
      return LocalObjectStore.open(dir, { fsync });
    }
    case 's3':
      throw new ObjectStoreError(
        'UNSUPPORTED_URL',
        `s3:// object stores are not yet supported (${url}); use file:// or memory://`,
      );
    default:
      throw new ObjectStoreError(
        'UNSUPPORTED_URL',
        `unknown object store scheme ${scheme}:// in ${url}; expected memory://, file:// or s3://`,
      );
  }
}

function splitQuery(url: string, rest: string): { path: string; params: URLSearchParams } {
  const q = rest.indexOf('?');
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : rest.slice(q + 1));
  try {
    return { path: decodeURIComponent(rawPath), params };
  } catch (err) {
    throw new ObjectStoreError('INVALID_URL', `${url} has a malformed percent-encoding`, { cause: err });
  }
}
