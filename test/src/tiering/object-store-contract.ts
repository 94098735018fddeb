/**
 * The ObjectStore contract: every implementation runs this suite (see src/tiering/object-store.ts
 * for the semantics it checks). An implementation's test file calls runObjectStoreContract with a
 * factory that makes a fresh, empty store per subtest.
 */
import type tap from 'tap';
import { type ObjectInfo, type ObjectStore, ObjectStoreError } from '../../../src/tiering/object-store.js';

export type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0];

export interface ObjectStoreHarness {
  /** A fresh, empty store. */
  readonly store: ObjectStore;
  /** Durable stores only: open another instance over the same data (the suite closes the first one). */
  readonly reopen?: () => Promise<ObjectStore>;
  /** Called once the subtest is done, after the suite closed its stores. */
  readonly cleanup?: () => Promise<void>;
}

export type ObjectStoreFactory = () => Promise<ObjectStoreHarness>;

export async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iterable) out.push(info);
  return out;
}

async function keysOf(store: ObjectStore, prefix: string): Promise<string[]> {
  return (await collect(store.list(prefix))).map((info) => info.key);
}

function patterned(length: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return buf;
}

export function runObjectStoreContract(t: TapTest, name: string, factory: ObjectStoreFactory): void {
  /** Runs `body` against a fresh store and closes/cleans up whatever happens. */
  function withStore(
    title: string,
    body: (t: TapTest, store: ObjectStore, harness: ObjectStoreHarness) => Promise<void>,
  ) {
    t.test(`${name}: ${title}`, async (t) => {
      const harness = await factory();
      try {
        await body(t, harness.store, harness);
      } finally {
        await harness.store.close();
        await harness.cleanup?.();
      }
    });
  }

  withStore('put then get returns the same bytes, for one buffer and for several', async (t, store) => {
    const one = patterned(1000, 1);
    await store.put('a/one', one);
    t.same(await store.get('a/one'), one);

    const parts = [patterned(10, 2), Buffer.alloc(0), patterned(4097, 3), patterned(1, 4)];
    await store.put('a/parts', parts);
    t.same(await store.get('a/parts'), Buffer.concat(parts));
    t.equal(await store.head('a/parts'), 10 + 4097 + 1);
  });

  withStore('empty objects exist and have size 0', async (t, store) => {
    await store.put('empty', Buffer.alloc(0));
    await store.put('empty-parts', []);
    t.equal((await store.get('empty')).length, 0);
    t.equal(await store.head('empty'), 0);
    t.equal(await store.head('empty-parts'), 0);
    t.same(await keysOf(store, 'empty'), ['empty', 'empty-parts']);
  });

  withStore('put replaces an existing object whole', async (t, store) => {
    await store.put('k', patterned(5000, 1));
    await store.put('k', Buffer.from('short'));
    t.same(await store.get('k'), Buffer.from('short'));
    t.equal(await store.head('k'), 5);
  });

  withStore('stored bytes are isolated from the caller buffers', async (t, store) => {
    const body = Buffer.from('original');
    await store.put('iso', body);
    body.fill(0x78);
    const first = await store.get('iso');
    t.equal(first.toString(), 'original');
    first.fill(0x79);
    t.equal((await store.get('iso')).toString(), 'original');
    const part = await store.get('iso', { start: 1, length: 3 });
    part.fill(0x7a);
    t.equal((await store.get('iso')).toString(), 'original');
  });

  withStore('missing objects: get rejects OBJECT_NOT_FOUND, head is null', async (t, store) => {
    await t.rejects(store.get('nope'), {
      name: 'ObjectStoreError',
      code: 'OBJECT_NOT_FOUND',
      retriable: false,
    });
    await t.rejects(store.get('nope', { start: 0, length: 0 }), { code: 'OBJECT_NOT_FOUND' });
    t.equal(await store.head('nope'), null);
    await store.put('dir/child', Buffer.from('x'));
    // A key that is only a prefix of other keys is not an object.
    await t.rejects(store.get('dir'), { code: 'OBJECT_NOT_FOUND' });
    t.equal(await store.head('dir'), null);
    const err = await store.get('nope').catch((e: unknown) => e);
    t.ok(err instanceof ObjectStoreError, 'rejects with an ObjectStoreError instance');
  });

  withStore('ranged reads return exactly the range', async (t, store) => {
    const body = patterned(70_000, 9);
    await store.put('ranged', body);
    const cases: [number, number][] = [
      [0, 1],
      [0, 70_000],
      [1, 69_999],
      [12_345, 4096],
      [69_999, 1],
      [500, 0],
      [70_000, 0],
    ];
    for (const [start, length] of cases) {
      const got = await store.get('ranged', { start, length });
      t.same(got, body.subarray(start, start + length), `range ${start}+${length}`);
    }
  });

  withStore('ranges outside the object reject INVALID_RANGE', async (t, store) => {
    await store.put('r', patterned(100, 1));
    const bad: [number, number][] = [
      [0, 101],
      [99, 2],
      [100, 1],
      [101, 0],
      [-1, 5],
      [0, -1],
      [1.5, 2],
      [0, Number.NaN],
    ];
    for (const [start, length] of bad) {
      await t.rejects(
        store.get('r', { start, length }),
        { code: 'INVALID_RANGE' },
        `range ${start}+${length}`,
      );
    }
  });

  withStore('delete removes objects, ignores missing keys and is idempotent', async (t, store) => {
    for (let i = 0; i < 40; i++) await store.put(`del/${String(i).padStart(2, '0')}`, Buffer.from([i]));
    const doomed = Array.from({ length: 30 }, (_, i) => `del/${String(i).padStart(2, '0')}`);
    await store.delete([...doomed, 'del/missing', 'never/was']);
    t.equal(await store.head('del/00'), null);
    t.equal(await store.head('del/29'), null);
    t.same(await store.get('del/30'), Buffer.from([30]));
    t.equal((await keysOf(store, 'del/')).length, 10);
    await store.delete(doomed);
    await store.delete([]);
    t.equal((await keysOf(store, '')).length, 10);
    // A key can be used again after it was deleted, also when its "directory" was emptied.
    await store.put('del/00', Buffer.from('again'));
    t.same(await store.get('del/00'), Buffer.from('again'));
  });

  withStore('list: plain string prefixes, ascending key order, sizes and dates', async (t, store) => {
    const before = Date.now();
    // No key here is a `/`-prefix of another (see the key rules: `a` and `a/b` may not coexist).
    const keys = ['b', 'a/b-c', 'a/b/c', 'a/b/d/e', 'a/bc', 'a/b.x', 'a/b+', 'ab', 'a-b', 'Z', 'z/9'];
    for (const key of keys) await store.put(key, Buffer.alloc(key.length));
    const all = await collect(store.list(''));
    t.same(
      all.map((i) => i.key),
      [...keys].sort(),
      'everything, in code-unit order',
    );
    for (const info of all) {
      t.equal(info.sizeBytes, info.key.length, `size of ${info.key}`);
      t.ok(info.lastModified instanceof Date, 'lastModified is a Date');
      t.ok(info.lastModified.getTime() >= before - 2000 && info.lastModified.getTime() <= Date.now() + 2000);
    }
    t.same(await keysOf(store, 'a/b'), ['a/b+', 'a/b-c', 'a/b.x', 'a/b/c', 'a/b/d/e', 'a/bc']);
    t.same(await keysOf(store, 'a/b/'), ['a/b/c', 'a/b/d/e']);
    t.same(await keysOf(store, 'a/b/d'), ['a/b/d/e']);
    t.same(await keysOf(store, 'a'), ['a-b', 'a/b+', 'a/b-c', 'a/b.x', 'a/b/c', 'a/b/d/e', 'a/bc', 'ab']);
    t.same(await keysOf(store, 'a/b/c'), ['a/b/c']);
    t.same(await keysOf(store, 'nothing'), []);
    t.same(await keysOf(store, 'a//'), []);
    t.same(await keysOf(store, '/a'), []);
  });

  withStore('list of a large flat and nested set', async (t, store) => {
    const expected: string[] = [];
    for (let p = 0; p < 16; p++) {
      for (let i = 0; i < 20; i++) {
        const key = `${p.toString(16).padStart(2, '0')}/seg-${i}/obj-${(i * 7) % 13}.bin`;
        expected.push(key);
      }
    }
    await Promise.all(expected.map((key, i) => store.put(key, patterned(i % 50, i))));
    expected.sort();
    t.same(await keysOf(store, ''), expected);
    t.same(
      await keysOf(store, '0a/seg-1'),
      expected.filter((k) => k.startsWith('0a/seg-1')),
    );
  });

  withStore('invalid keys and prefixes reject INVALID_KEY', async (t, store) => {
    const invalid = [
      '',
      '/a',
      'a/',
      'a//b',
      '.hidden',
      'a/.b',
      'a/../b',
      '..',
      'a b',
      'a\\b',
      'a\u0000b',
      'caf\u00e9',
      'x'.repeat(256),
      `${'abcdefgh/'.repeat(113)}abcdefgh`,
    ];
    for (const key of invalid) {
      await t.rejects(
        store.put(key, Buffer.from('x')),
        { code: 'INVALID_KEY' },
        `put ${JSON.stringify(key)}`,
      );
      await t.rejects(store.get(key), { code: 'INVALID_KEY' }, `get ${JSON.stringify(key)}`);
      await t.rejects(store.head(key), { code: 'INVALID_KEY' }, `head ${JSON.stringify(key)}`);
      await t.rejects(store.delete(['fine', key]), { code: 'INVALID_KEY' }, `delete ${JSON.stringify(key)}`);
    }
    await t.rejects(collect(store.list('a b')), { code: 'INVALID_KEY' });
    t.same(await keysOf(store, ''), [], 'nothing was stored');
  });

  withStore('the longest valid keys work', async (t, store) => {
    const longSegment = 'x'.repeat(255);
    const longKey = `${'abcdefgh/'.repeat(113)}abcdefg`; // 1024 characters
    t.equal(longKey.length, 1024);
    await store.put(longSegment, Buffer.from('1'));
    await store.put(longKey, Buffer.from('2'));
    t.same(await store.get(longSegment), Buffer.from('1'));
    t.same(await store.get(longKey), Buffer.from('2'));
    t.same(await keysOf(store, 'abcdefgh/'), [longKey]);
  });

  withStore('concurrent puts to one key leave one whole body', async (t, store) => {
    const bodies = Array.from({ length: 8 }, (_, i) => patterned(64 * 1024 + i, i));
    await Promise.all(bodies.map((body) => store.put('contended', body)));
    const got = await store.get('contended');
    t.ok(
      bodies.some((body) => body.equals(got)),
      'the stored object equals one of the bodies',
    );
  });

  withStore('concurrent puts, gets and deletes of many keys', async (t, store) => {
    const keys = Array.from({ length: 64 }, (_, i) => `c/${i % 4}/k${i}`);
    await Promise.all(keys.map((key, i) => store.put(key, patterned(1000 + i, i))));
    const results = await Promise.all(keys.map((key) => store.get(key)));
    results.forEach((body, i) => {
      t.same(body, patterned(1000 + i, i), `body ${i}`);
    });
    await Promise.all([
      store.delete(keys.slice(0, 32)),
      ...keys.slice(32).map((key, i) => store.put(`${key}-b`, patterned(10, i))),
    ]);
    t.equal((await keysOf(store, 'c/')).length, 64);
  });

  withStore('a large object with ranged reads', async (t, store) => {
    const chunks = Array.from({ length: 6 }, (_, i) => patterned(1024 * 1024, i));
    await store.put('big/object', chunks);
    t.equal(await store.head('big/object'), 6 * 1024 * 1024);
    const whole = Buffer.concat(chunks);
    const mid = await store.get('big/object', { start: 1024 * 1024 - 10, length: 2 * 1024 * 1024 + 20 });
    t.ok(mid.equals(whole.subarray(1024 * 1024 - 10, 3 * 1024 * 1024 + 10)), 'range across chunk boundaries');
    t.ok((await store.get('big/object')).equals(whole), 'whole object');
  });

  withStore('after close every call rejects OBJECT_STORE_CLOSED; close is idempotent', async (t, store) => {
    await store.put('k', Buffer.from('v'));
    await store.close();
    await store.close();
    await t.rejects(store.put('k', Buffer.from('v')), { code: 'OBJECT_STORE_CLOSED' });
    await t.rejects(store.get('k'), { code: 'OBJECT_STORE_CLOSED' });
    await t.rejects(store.head('k'), { code: 'OBJECT_STORE_CLOSED' });
    await t.rejects(store.delete(['k']), { code: 'OBJECT_STORE_CLOSED' });
    await t.rejects(collect(store.list('')), { code: 'OBJECT_STORE_CLOSED' });
  });

  withStore('objects survive close and reopen (durable stores)', async (t, store, harness) => {
    if (harness.reopen === undefined) {
      t.pass('not a durable store: skipped');
      return;
    }
    await store.put('keep/a', patterned(3000, 1));
    await store.put('keep/b', [patterned(10, 2), patterned(20, 3)]);
    await store.put('gone', Buffer.from('x'));
    await store.delete(['gone']);
    await store.close();
    const reopened = await harness.reopen();
    try {
      t.same(await reopened.get('keep/a'), patterned(3000, 1));
      t.same(await reopened.get('keep/b'), Buffer.concat([patterned(10, 2), patterned(20, 3)]));
      t.equal(await reopened.head('gone'), null);
      t.same(await keysOf(reopened, ''), ['keep/a', 'keep/b']);
    } finally {
      await reopened.close();
    }
  });
}
