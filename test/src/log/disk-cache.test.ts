/**
 * DiskRangeCache: hit/miss, LRU eviction by bytes, torn/corrupt files detected (deleted, refetched),
 * restart over the same directory, invalidate; and through LogStore: a second cold read of a range
 * evicted from the memory tier is served from disk without an object store GET.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { ErrorCode } from '../../../protocol/error-codes.js';
import { buildRecordBatch } from '../../../protocol/records/record.js';
import { DiskRangeCache } from '../../../src/log/disk-cache.js';
import { LogStore, type LogStoreOptions } from '../../../src/log/log-store.js';
import { ObjectRangeCache } from '../../../src/log/object-cache.js';
import { openMetadataStore } from '../../../src/metadata/open-metadata-store.js';
import type { ObjectStore } from '../../../src/tiering/object-store.js';
import { openObjectStore } from '../../../src/tiering/open-object-store.js';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'disk-cache-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function rangeFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.rng')).sort();
}

const KEY = 'data/ab/obj-1';
/** Header bytes of a file for KEY: magic, crc, key length, key, start, length. */
const HEADER = 10 + KEY.length + 16;
const bytesOf = (n: number, fill: number) => Buffer.alloc(n, fill);

t.test('miss, then hit after put; ranges are distinct by key, start and length', async (t) => {
  const dir = await tempDir(t);
  const c = new DiskRangeCache(dir, 1 << 20);
  t.equal(await c.get(KEY, 0, 100), null, 'empty cache misses');
  await c.put(KEY, 0, 100, bytesOf(100, 1));
  t.same(await c.get(KEY, 0, 100), bytesOf(100, 1), 'hit returns the bytes');
  t.equal(await c.get(KEY, 0, 99), null, 'other length misses');
  t.equal(await c.get(KEY, 1, 100), null, 'other start misses');
  t.equal(await c.get('data/ab/obj-2', 0, 100), null, 'other key misses');
  t.equal(c.hits, 1);
  t.equal(c.sizeBytes, HEADER + 100);
  t.equal((await rangeFiles(dir)).length, 1);
  t.equal((await readdir(dir)).length, 1, 'no temp files left behind');
  await c.put(KEY, 0, 5, bytesOf(4, 1));
  t.equal(await c.get(KEY, 0, 5), null, 'a put whose data does not match its length is ignored');
});

t.test('eviction by total bytes, least recently used first', async (t) => {
  const dir = await tempDir(t);
  const entry = HEADER + 100;
  const c = new DiskRangeCache(dir, 2 * entry + 10);
  await c.put(KEY, 0, 100, bytesOf(100, 1));
  await c.put(KEY, 100, 100, bytesOf(100, 2));
  t.ok(await c.get(KEY, 0, 100), 'touch the first: the second is now least recently used');
  await c.put(KEY, 200, 100, bytesOf(100, 3));
  t.equal(c.fileCount, 2);
  t.ok(c.sizeBytes <= 2 * entry + 10);
  t.equal(await c.get(KEY, 100, 100), null, 'least recently used evicted');
  t.same(await c.get(KEY, 0, 100), bytesOf(100, 1));
  t.same(await c.get(KEY, 200, 100), bytesOf(100, 3));
  await new Promise((r) => setTimeout(r, 20));
  t.equal((await rangeFiles(dir)).length, 2, 'evicted file deleted');
  await c.put(KEY, 300, 10_000, bytesOf(10_000, 4));
  t.equal(await c.get(KEY, 300, 10_000), null, 'a range larger than the budget is not cached');
  t.equal(c.fileCount, 2, 'and evicts nothing');
});

t.test('a corrupt or torn file is never served: deleted, and the range refetched', async (t) => {
  const dir = await tempDir(t);
  const store = await openObjectStore('memory://');
  t.teardown(() => store.close());
  await store.put(KEY, bytesOf(1000, 7));
  let gets = 0;
  const counting: ObjectStore = {
    put: (k, b) => store.put(k, b),
    get: (k, r) => {
      gets++;
      return store.get(k, r);
    },
    head: (k) => store.head(k),
    delete: (k) => store.delete(k),
    list: (p) => store.list(p),
    close: () => store.close(),
  };
  const disk = new DiskRangeCache(dir, 1 << 20);
  const cache = new ObjectRangeCache(counting, 1, disk);
  t.same(await cache.get(KEY, 10, 100), bytesOf(100, 7));
  await disk.flush();
  t.same(await cache.get(KEY, 10, 100), bytesOf(100, 7));
  t.equal(gets, 1, 'second read served from disk');

  const [name] = await rangeFiles(dir);
  const path = join(dir, name!);
  const good = await readFile(path);
  // flip one data byte
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0xff;
  await writeFile(path, flipped);
  t.same(await cache.get(KEY, 10, 100), bytesOf(100, 7), 'bad CRC: refetched, right bytes');
  t.equal(gets, 2);
  t.equal(disk.corrupt, 1);
  await disk.flush();
  t.same(await readFile(path), good, 'rewritten from the store');

  // torn: a prefix of the file
  await writeFile(path, good.subarray(0, good.length - 30));
  t.same(await cache.get(KEY, 10, 100), bytesOf(100, 7), 'torn file: refetched');
  t.equal(gets, 3);
  t.equal(disk.corrupt, 2);
  await disk.flush();
  t.same(await cache.get(KEY, 10, 100), bytesOf(100, 7));
  t.equal(gets, 3, 'served from disk again');
});

t.test('a new instance over the same directory serves earlier entries, in mtime LRU order', async (t) => {
  const dir = await tempDir(t);
  const entry = HEADER + 100;
  const a = new DiskRangeCache(dir, 3 * entry);
  await a.put(KEY, 0, 100, bytesOf(100, 1));
  await new Promise((r) => setTimeout(r, 30));
  await a.put(KEY, 100, 100, bytesOf(100, 2));
  await a.flush();
  // leftovers of a crash mid-write and foreign files are cleaned up or ignored
  await writeFile(join(dir, `${'0'.repeat(40)}.rng.tmp-abc`), 'partial');
  await writeFile(join(dir, `${'1'.repeat(40)}.rng`), 'garbage');

  const b = new DiskRangeCache(dir, 3 * entry);
  await b.whenReady();
  t.equal(b.fileCount, 2, 'both entries indexed, junk dropped');
  t.equal(b.sizeBytes, 2 * entry);
  t.notOk(existsSync(join(dir, `${'0'.repeat(40)}.rng.tmp-abc`)), 'temp file deleted');
  t.notOk(existsSync(join(dir, `${'1'.repeat(40)}.rng`)), 'unparseable file deleted');
  t.same(await b.get(KEY, 100, 100), bytesOf(100, 2));
  t.same(await b.get(KEY, 0, 100), bytesOf(100, 1));

  // a smaller budget at start evicts the oldest by mtime
  const dir2 = await tempDir(t);
  const x = new DiskRangeCache(dir2, 3 * entry);
  await x.put(KEY, 0, 100, bytesOf(100, 1));
  await new Promise((r) => setTimeout(r, 30));
  await x.put(KEY, 100, 100, bytesOf(100, 2));
  const y = new DiskRangeCache(dir2, entry);
  await y.whenReady();
  t.equal(y.fileCount, 1);
  t.equal(await y.get(KEY, 0, 100), null, 'older entry evicted at start');
  t.same(await y.get(KEY, 100, 100), bytesOf(100, 2), 'newer one kept');
});

t.test('invalidate forgets and deletes every range of the objects, also a put in flight', async (t) => {
  const dir = await tempDir(t);
  const c = new DiskRangeCache(dir, 1 << 20);
  const other = 'data/cd/obj-9';
  await c.put(KEY, 0, 100, bytesOf(100, 1));
  await c.put(KEY, 100, 50, bytesOf(50, 2));
  await c.put(other, 0, 10, bytesOf(10, 3));
  const inFlight = c.put(KEY, 500, 10, bytesOf(10, 4));
  c.invalidate([KEY]);
  await inFlight;
  t.equal(await c.get(KEY, 0, 100), null);
  t.equal(await c.get(KEY, 100, 50), null);
  t.equal(await c.get(KEY, 500, 10), null, 'the put in flight was discarded');
  t.same(await c.get(other, 0, 10), bytesOf(10, 3), 'other objects untouched');
  await new Promise((r) => setTimeout(r, 20));
  t.equal((await readdir(dir)).length, 1, 'files deleted');

  // a restart does not resurrect them
  const d = new DiskRangeCache(dir, 1 << 20);
  await d.whenReady();
  t.equal(d.fileCount, 1);
});

t.test('LogStore: the second cold read of a range does not GET from the object store', async (t) => {
  const dir = await tempDir(t);
  const metadata = await openMetadataStore('memory://');
  const raw = await openObjectStore('memory://');
  let gets = 0;
  const objects: ObjectStore = {
    put: (k, b) => raw.put(k, b),
    get: (k, r) => {
      gets++;
      return raw.get(k, r);
    },
    head: (k) => raw.head(k),
    delete: (k) => raw.delete(k),
    list: (p) => raw.list(p),
    close: () => raw.close(),
  };
  const opts: LogStoreOptions = {
    maxUnuploadedBytes: 64 * 1024 * 1024,
    backpressureTimeoutMs: 5_000,
    hotTailMaxBytes: 0,
    uploadTargetBytes: 1 << 30,
    uploadMaxAgeMs: 1 << 30,
    objectCacheBytes: 1,
    objectDiskCache: { dir: join(dir, 'cache'), maxBytes: 1 << 20 },
    retentionCheckIntervalMs: 1 << 30,
    objectDeleteGraceMs: 0,
    topicDefaults: () => ({}),
  };
  const log = await LogStore.open(metadata, objects, null, opts, pino({ level: 'silent' }));
  t.teardown(async () => {
    await log.close();
    await metadata.close();
    await raw.close();
  });
  await log.createTopic('a', 1, {});
  const batch = buildRecordBatch({
    baseTimestamp: Date.now(),
    records: [{ key: 'k', value: 'v', timestampDelta: 0 }],
  });
  const [res] = await log.produce([{ topic: 'a', partition: 0, records: batch }], 30_000);
  t.equal(res!.errorCode, ErrorCode.NONE);
  await log.flush();
  t.equal(log.partition('a', 0)!.readHot(0, 1 << 20), null, 'nothing in the hot tail');

  const first = await log.read('a', 0, 0, 1 << 20);
  t.equal(first.errorCode, ErrorCode.NONE);
  t.same(Buffer.concat(first.records), batch.subarray(0), 'first cold read returns the batch');
  t.equal(gets, 1, 'first cold read goes to the object store');
  // the disk write runs in the background: wait for the file to land
  for (
    let i = 0;
    i < 200 && (await readdir(join(dir, 'cache'))).filter((n) => n.endsWith('.rng')).length === 0;
    i++
  )
    await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 20));

  const second = await log.read('a', 0, 0, 1 << 20);
  t.equal(second.errorCode, ErrorCode.NONE);
  t.same(Buffer.concat(second.records), Buffer.concat(first.records), 'same bytes');
  t.equal(gets, 1, 'second cold read served from the disk cache');
});
