import t from 'tap';
import {
  assertValidObjectKey,
  bodyLength,
  isObjectStoreError,
  OBJECT_STORE_ERROR_CODES,
  ObjectStoreError,
} from '../../../src/tiering/object-store.js';

t.test('every error code is documented and has a retriable flag', async (t) => {
  for (const [code, info] of Object.entries(OBJECT_STORE_ERROR_CODES)) {
    t.match(code, /^[A-Z_]+$/, `${code} is an upper-case stable code`);
    t.ok(info.description.length > 10, `${code} has a description`);
    t.type(info.retriable, 'boolean');
  }
  t.equal(OBJECT_STORE_ERROR_CODES.OBJECT_STORE_UNAVAILABLE.retriable, true);
  t.equal(OBJECT_STORE_ERROR_CODES.OBJECT_NOT_FOUND.retriable, false);
});

t.test('ObjectStoreError carries code, retriable and cause', async (t) => {
  const cause = new Error('disk on fire');
  const err = new ObjectStoreError('OBJECT_STORE_UNAVAILABLE', 'put failed', { cause });
  t.equal(err.name, 'ObjectStoreError');
  t.equal(err.code, 'OBJECT_STORE_UNAVAILABLE');
  t.equal(err.retriable, true);
  t.equal(err.cause, cause);
  t.ok(err instanceof Error);
  t.ok(isObjectStoreError(err));
  t.ok(isObjectStoreError(err, 'OBJECT_STORE_UNAVAILABLE'));
  t.notOk(isObjectStoreError(err, 'OBJECT_NOT_FOUND'));
  t.notOk(isObjectStoreError(new Error('x')));
});

t.test('key rules', async (t) => {
  for (const key of ['a', 'a/b', '00/ff/topic-1.obj', 'x=1,y=2@z~w+v_u', 'a.b/c.d']) {
    t.doesNotThrow(() => assertValidObjectKey(key), key);
  }
  for (const key of ['', 'a/', '/a', 'a//b', '.a', 'a/.', 'a/..', 'é', 'a?b', 'a#b', 'a%20b']) {
    t.throws(() => assertValidObjectKey(key), { code: 'INVALID_KEY' }, JSON.stringify(key));
  }
});

t.test('bodyLength', async (t) => {
  t.equal(bodyLength(Buffer.alloc(7)), 7);
  t.equal(bodyLength([Buffer.alloc(3), Buffer.alloc(0), Buffer.alloc(4)]), 7);
  t.equal(bodyLength([]), 0);
});
