/**
 * S3Resilience without a network: retry decisions, the full-jitter backoff bound, the attempt
 * deadline, and the breaker's closed → open → half-open (one probe) → closed cycle.
 */
import t from 'tap';
import { ObjectStoreError } from '../../../src/tiering/object-store.js';
import { classifyS3Error } from '../../../src/tiering/s3-object-store.js';
import {
  DEFAULT_S3_RESILIENCE,
  S3Resilience,
  type S3ResilienceOptions,
} from '../../../src/tiering/s3-resilience.js';

const fast = (over: Partial<S3ResilienceOptions> = {}): S3ResilienceOptions => ({
  ...DEFAULT_S3_RESILIENCE,
  maxAttempts: 4,
  retryBaseMs: 20,
  retryCapMs: 40,
  requestTimeoutMs: 100,
  breakerFailureThreshold: 3,
  breakerCoolDownMs: 200,
  ...over,
});

/** An SDK-shaped service error. */
function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

const classify = (err: unknown) => classifyS3Error(err, 'test');

t.test('error classification', async (t) => {
  t.match(classify(s3Error('NoSuchKey', 404)), {
    retriable: false,
    breakerFailure: false,
    error: { code: 'OBJECT_NOT_FOUND' },
  });
  t.match(classify(s3Error('NotFound', 404)), { error: { code: 'OBJECT_NOT_FOUND' } });
  t.match(classify(s3Error('InvalidRange', 416)), { retriable: false, error: { code: 'INVALID_RANGE' } });
  t.match(classify(s3Error('SlowDown', 503)), { retriable: true, throttled: true, breakerFailure: true });
  t.match(classify(s3Error('InternalError', 500)), {
    retriable: true,
    throttled: false,
    breakerFailure: true,
  });
  t.match(classify(s3Error('AccessDenied', 403)), {
    retriable: false,
    breakerFailure: false,
    error: { code: 'OBJECT_STORE_UNAVAILABLE', retriable: true },
  });
  t.match(classify(s3Error('NoSuchBucket', 404)), { error: { code: 'OBJECT_STORE_UNAVAILABLE' } });
  t.match(classify(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), {
    retriable: true,
    error: { code: 'OBJECT_STORE_UNAVAILABLE' },
  });
});

t.test('retries with full-jitter backoff, then gives up', async (t) => {
  const r = new S3Resilience(fast({ breakerFailureThreshold: 100 }), () => 1); // worst-case jitter
  const times: number[] = [];
  const started = performance.now();
  await t.rejects(
    r.run(
      'PUT',
      'x',
      async () => {
        times.push(performance.now() - started);
        throw s3Error('SlowDown', 503);
      },
      classify,
    ),
    { code: 'OBJECT_STORE_UNAVAILABLE' },
  );
  t.equal(times.length, 4, 'maxAttempts attempts');
  // Sleeps are random * min(cap, base * 2^n): with random = 1 that is 20, 40, 40 ms.
  t.ok(times[3]! >= 95, `backoff slept ~100 ms in total (${times[3]!.toFixed(0)} ms)`);
  t.match(r.stats, { retries: 3, throttled: 4, requests: { PUT: 4 }, breakerState: 'closed' });

  let calls = 0;
  const value = await r.run(
    'GET',
    'y',
    async () => {
      if (++calls < 3) throw s3Error('InternalError', 500);
      return 'ok';
    },
    classify,
  );
  t.equal(value, 'ok');
  await r.stop();
});

t.test('an attempt that does not answer is cut at its deadline and retried', async (t) => {
  const r = new S3Resilience(fast({ maxAttempts: 2 }), () => 0);
  let aborted = 0;
  const started = performance.now();
  await t.rejects(
    r.run(
      'GET',
      'hang',
      (signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => {
            aborted++;
            reject(new Error('aborted by the SDK'));
          });
        }),
      classify,
    ),
    { code: 'OBJECT_STORE_UNAVAILABLE' },
  );
  t.equal(aborted, 2);
  t.equal(r.stats.timeouts, 2);
  t.ok(performance.now() - started < 1000);
  await r.stop();
});

t.test('breaker: opens, fails fast, lets exactly one probe through, closes', async (t) => {
  const r = new S3Resilience(fast({ maxAttempts: 1 }), () => 0);
  let healthy = false;
  let sent = 0;
  const call = () =>
    r.run(
      'GET',
      'b',
      async () => {
        sent++;
        await new Promise((res) => setTimeout(res, 30));
        if (!healthy) throw s3Error('InternalError', 500);
        return 'ok';
      },
      classify,
    );
  for (let i = 0; i < 3; i++) await t.rejects(call(), { code: 'OBJECT_STORE_UNAVAILABLE' });
  t.equal(r.stats.breakerState, 'open');
  await t.rejects(call(), { code: 'OBJECT_STORE_UNAVAILABLE', message: /circuit breaker is open/ });
  t.equal(sent, 3, 'nothing sent while open');

  await new Promise((res) => setTimeout(res, 220));
  t.equal(r.stats.breakerState, 'half-open');
  healthy = true;
  // Five concurrent calls: one probe goes out, the others fail fast while it is in flight.
  const results = await Promise.allSettled([call(), call(), call(), call(), call()]);
  t.equal(sent, 4, 'exactly one probe');
  t.equal(results.filter((x) => x.status === 'fulfilled').length, 1);
  const rejected = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  t.ok(rejected.every((x) => x.reason instanceof ObjectStoreError && /half-open/.test(x.reason.message)));
  t.equal(r.stats.breakerState, 'closed', 'the successful probe closed it');
  t.equal(await call(), 'ok');
  t.equal(r.stats.breakerOpens, 1);
  await r.stop();
});

t.test('a failed probe re-opens the breaker for another cool-down', async (t) => {
  const r = new S3Resilience(fast({ maxAttempts: 1, breakerFailureThreshold: 1 }), () => 0);
  const failing = () =>
    r.run(
      'LIST',
      'p',
      async () => {
        throw s3Error('ServiceUnavailable', 503);
      },
      classify,
    );
  await t.rejects(failing());
  t.equal(r.stats.breakerState, 'open');
  await new Promise((res) => setTimeout(res, 220));
  await t.rejects(failing(), { message: /ServiceUnavailable/ }, 'the probe was sent');
  t.equal(r.stats.breakerState, 'open');
  t.equal(r.stats.breakerOpens, 2);
  t.equal(r.stats.requests.LIST, 2);
  await r.stop();
});
