/**
 * openObjectStore(url): the one place that turns a configured URL into an ObjectStore.
 *
 *   memory://                  a fresh MemoryObjectStore (each call its own)
 *   file:///abs/dir            LocalObjectStore rooted at /abs/dir
 *   file://relative/dir        LocalObjectStore rooted at relative/dir, resolved against process.cwd()
 *   s3://bucket/prefix?...     S3ObjectStore (parameters: see s3-object-store.ts parseS3Url)
 *
 * Query parameters for file://: `fsync=false` turns off fsync (tests only). Unknown parameters are
 * rejected so a typo does not silently change durability. Paths are percent-decoded.
 * Errors: ObjectStoreError UNSUPPORTED_URL / INVALID_URL.
 */
import { isAbsolute, resolve } from 'node:path';
import { LocalObjectStore } from './local-object-store.js';
import { MemoryObjectStore } from './memory-object-store.js';
import { type ObjectStore, ObjectStoreError } from './object-store.js';
import { parseS3Url, S3ObjectStore } from './s3-object-store.js';

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
      return new S3ObjectStore(parseS3Url(url));
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
