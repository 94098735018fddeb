import t from 'tap';
import {
  ALL_ERRORS,
  ErrorCode,
  type ErrorCodeName,
  errorInfo,
  isRetriable,
} from '../../protocol/error-codes.js';

t.test('table has no duplicate codes or names and is in code order', async (t) => {
  const codes = ALL_ERRORS.map((e) => e.code);
  const names = ALL_ERRORS.map((e) => e.name);
  t.equal(new Set(codes).size, codes.length, 'codes are unique');
  t.equal(new Set(names).size, names.length, 'names are unique');
  t.same(
    codes,
    [...codes].sort((a, b) => a - b),
    'ascending',
  );
  t.equal(Object.keys(ErrorCode).length, ALL_ERRORS.length, 'ErrorCode has one key per entry');
});

t.test('codes run contiguously from -1 to the highest defined', async (t) => {
  const codes = ALL_ERRORS.map((e) => e.code);
  t.equal(codes[0], -1);
  t.equal(codes[codes.length - 1], 133);
  codes.forEach((c, i) => {
    if (c !== i - 1) t.fail(`gap or disorder at index ${i}: code ${c}`);
  });
});

t.test('every entry is well formed', async (t) => {
  for (const e of ALL_ERRORS) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(e.name)) t.fail(`bad name ${e.name}`);
    if (!Number.isInteger(e.code) || e.code < -32768 || e.code > 32767) t.fail(`code ${e.code} is not int16`);
    if (e.message.trim().length === 0) t.fail(`${e.name} has no message`);
    if (ErrorCode[e.name] !== e.code) t.fail(`ErrorCode.${e.name} disagrees with the table`);
    if (errorInfo(e.code) !== e) t.fail(`errorInfo(${e.code}) does not return its entry`);
  }
  t.pass('checked');
});

t.test('known values', async (t) => {
  const expected: [number, ErrorCodeName][] = [
    [-1, 'UNKNOWN_SERVER_ERROR'],
    [0, 'NONE'],
    [1, 'OFFSET_OUT_OF_RANGE'],
    [2, 'CORRUPT_MESSAGE'],
    [3, 'UNKNOWN_TOPIC_OR_PARTITION'],
    [6, 'NOT_LEADER_OR_FOLLOWER'],
    [10, 'MESSAGE_TOO_LARGE'],
    [16, 'NOT_COORDINATOR'],
    [22, 'ILLEGAL_GENERATION'],
    [25, 'UNKNOWN_MEMBER_ID'],
    [27, 'REBALANCE_IN_PROGRESS'],
    [35, 'UNSUPPORTED_VERSION'],
    [36, 'TOPIC_ALREADY_EXISTS'],
    [42, 'INVALID_REQUEST'],
    [45, 'OUT_OF_ORDER_SEQUENCE_NUMBER'],
    [47, 'INVALID_PRODUCER_EPOCH'],
    [58, 'SASL_AUTHENTICATION_FAILED'],
    [79, 'MEMBER_ID_REQUIRED'],
    [87, 'INVALID_RECORD'],
    [89, 'THROTTLING_QUOTA_EXCEEDED'],
    [90, 'PRODUCER_FENCED'],
    [100, 'UNKNOWN_TOPIC_ID'],
    [120, 'TRANSACTION_ABORTABLE'],
    [129, 'REBOOTSTRAP_REQUIRED'],
    [133, 'SHARE_SESSION_LIMIT_REACHED'],
  ];
  for (const [code, name] of expected) {
    t.equal(ErrorCode[name], code, `ErrorCode.${name}`);
    t.equal(errorInfo(code)?.name, name, `errorInfo(${code}).name`);
  }
  t.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
  t.equal(ErrorCode.MEMBER_ID_REQUIRED, 79);
  t.equal(ErrorCode.PRODUCER_FENCED, 90);
});

t.test('retriable flags', async (t) => {
  // The full set of codes whose Java exception is a RetriableException.
  const retriable = [
    2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100,
    103, 106, 122, 123, 133,
  ];
  t.same(
    ALL_ERRORS.filter((e) => e.retriable).map((e) => e.code),
    retriable,
  );
  t.ok(isRetriable(ErrorCode.CORRUPT_MESSAGE), 'CORRUPT_MESSAGE is retriable');
  t.notOk(isRetriable(ErrorCode.ILLEGAL_GENERATION), 'ILLEGAL_GENERATION is not');
  t.notOk(isRetriable(ErrorCode.NONE), 'NONE is not');
  t.notOk(isRetriable(ErrorCode.UNKNOWN_SERVER_ERROR), 'UNKNOWN_SERVER_ERROR is not');
  t.notOk(isRetriable(ErrorCode.OFFSET_OUT_OF_RANGE), 'OFFSET_OUT_OF_RANGE is not');
  t.notOk(isRetriable(ErrorCode.REBALANCE_IN_PROGRESS), 'REBALANCE_IN_PROGRESS is not');
  t.ok(isRetriable(ErrorCode.NOT_LEADER_OR_FOLLOWER), 'NOT_LEADER_OR_FOLLOWER is');
  t.ok(isRetriable(ErrorCode.CONCURRENT_TRANSACTIONS), 'CONCURRENT_TRANSACTIONS is');
});

t.test('unknown codes', async (t) => {
  for (const code of [-2, 134, 1000, 32767, 1.5, Number.NaN]) {
    t.equal(errorInfo(code), undefined, `errorInfo(${code})`);
    t.equal(isRetriable(code), false, `isRetriable(${code})`);
  }
});

t.test('table is immutable', async (t) => {
  t.ok(Object.isFrozen(ErrorCode));
  t.ok(Object.isFrozen(ALL_ERRORS));
  t.ok(Object.isFrozen(errorInfo(1)));
});
