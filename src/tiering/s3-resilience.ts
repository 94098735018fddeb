/**
 * S3Resilience: the throttling, retry and circuit-breaker layer every S3 request goes through.
 *
 *   call ─► breaker admits? ─► limiter of its operation kind (rate + concurrency) ─► attempt with a
 *           │ no: fail fast            │                                               deadline
 *           ▼                          ▼ retriable failure: back off (full jitter), try again
 *   OBJECT_STORE_UNAVAILABLE      until maxAttempts, or until the breaker opens
 *
 * - Limiters: one Bottleneck per operation kind (PUT, GET, LIST, DELETE) because S3 publishes its
 *   per-prefix ceilings per kind (about 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD per second).
 *   The rate ceiling is enforced as a minimum spacing of 1000/rate ms between request starts
 *   (Bottleneck's minTime, plus a check on the real clock), so no one-second window ever sees more
 *   than rate+1 starts. Every attempt, retries included, passes
 *   the limiter: a retry is a request too.
 * - Retries: exponential backoff with full jitter (sleep uniform in [0, min(cap, base·2^n))), for
 *   errors classified `retriable` (503 SlowDown, 5xx, timeouts, network errors). Each attempt runs
 *   under its own AbortController deadline, so a hung connection costs requestTimeoutMs, not forever.
 * - Breaker: counts consecutive failed attempts (retriable failures only; a 404 is the server
 *   working). After failureThreshold it opens: calls fail at once with OBJECT_STORE_UNAVAILABLE and
 *   send nothing. After coolDownMs it is half-open: exactly one probe request goes through; success
 *   closes it, failure re-opens it for another cool-down.
 *
 * Errors: `run` rethrows whatever `classify` maps the last failure to (an ObjectStoreError).
 * Concurrency: single event loop; all state is plain fields.
 */
import Bottleneck from 'bottleneck';
import { ObjectStoreError } from './object-store.js';

export type S3OperationKind = 'PUT' | 'GET' | 'LIST' | 'DELETE';
export const S3_OPERATION_KINDS: readonly S3OperationKind[] = ['PUT', 'GET', 'LIST', 'DELETE'];

export interface OperationLimit {
  /** Ceiling on request starts per second. */
  readonly ratePerSec: number;
  /** Ceiling on requests in flight at once. */
  readonly maxConcurrent: number;
}

export interface S3ResilienceOptions {
  readonly limits: Readonly<Record<S3OperationKind, OperationLimit>>;
  /** Attempts per call, the first included (1 = no retry). */
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryCapMs: number;
  /** Deadline of one attempt, response body included. */
  readonly requestTimeoutMs: number;
  /** Consecutive failed attempts that open the breaker. */
  readonly breakerFailureThreshold: number;
  /** How long the breaker stays open before letting one probe through. */
  readonly breakerCoolDownMs: number;
}

export const DEFAULT_S3_RESILIENCE: S3ResilienceOptions = {
  // Below S3's published per-prefix ceilings: the broker spreads keys over hashed prefixes, but one
  // broker should not be the tenant that gets the whole bucket throttled.
  limits: {
    PUT: { ratePerSec: 1000, maxConcurrent: 32 },
    GET: { ratePerSec: 2000, maxConcurrent: 64 },
    LIST: { ratePerSec: 100, maxConcurrent: 4 },
    DELETE: { ratePerSec: 500, maxConcurrent: 8 },
  },
  maxAttempts: 6,
  retryBaseMs: 100,
  retryCapMs: 5_000,
  requestTimeoutMs: 30_000,
  breakerFailureThreshold: 10,
  breakerCoolDownMs: 5_000,
};

/** How `run` should treat one failed attempt. */
export interface FailureVerdict {
  /** The error to throw if this is the last attempt (or the failure is final). */
  readonly error: ObjectStoreError;
  /** Try again (after backoff) if attempts remain. */
  readonly retriable: boolean;
  /** Counts against the breaker: the service (or the path to it) misbehaved. */
  readonly breakerFailure: boolean;
  /** A throttling answer (503 SlowDown / 429): counted separately in stats. */
  readonly throttled: boolean;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface S3ResilienceStats {
  /** Attempts sent, by operation kind. */
  readonly requests: Record<S3OperationKind, number>;
  /** Attempts that failed (any reason), by operation kind. */
  readonly failures: Record<S3OperationKind, number>;
  readonly retries: number;
  readonly throttled: number;
  readonly timeouts: number;
  /** Calls refused without a request because the breaker was open. */
  readonly fastFailures: number;
  readonly breakerState: BreakerState;
  readonly breakerOpens: number;
  /** Requests waiting in a limiter queue right now. */
  readonly queued: number;
}

const zeroByKind = (): Record<S3OperationKind, number> => ({ PUT: 0, GET: 0, LIST: 0, DELETE: 0 });

/** Thrown inside an attempt when its deadline fires; classify() sees it as a timeout. */
export class AttemptTimeoutError extends Error {
  override readonly name = 'AttemptTimeoutError';
}

export class S3Resilience {
  private readonly limiters: Record<S3OperationKind, Bottleneck>;
  private consecutiveFailures = 0;
  private state: BreakerState = 'closed';
  private openedAt = 0;
  private probeInFlight = false;
  private readonly counters = {
    requests: zeroByKind(),
    failures: zeroByKind(),
    retries: 0,
    throttled: 0,
    timeouts: 0,
    fastFailures: 0,
    breakerOpens: 0,
  };
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  private stopped = false;
  private readonly lastStartMs: Record<S3OperationKind, number> = {
    PUT: -Infinity,
    GET: -Infinity,
    LIST: -Infinity,
    DELETE: -Infinity,
  };

  constructor(
    readonly options: S3ResilienceOptions,
    private readonly random: () => number = Math.random,
  ) {
    const make = (limit: OperationLimit) =>
      new Bottleneck({ maxConcurrent: limit.maxConcurrent, minTime: 1000 / limit.ratePerSec });
    this.limiters = {
      PUT: make(options.limits.PUT),
      GET: make(options.limits.GET),
      LIST: make(options.limits.LIST),
      DELETE: make(options.limits.DELETE),
    };
  }

  get stats(): S3ResilienceStats {
    let queued = 0;
    for (const kind of S3_OPERATION_KINDS) queued += this.limiters[kind].counts().QUEUED ?? 0;
    return {
      requests: { ...this.counters.requests },
      failures: { ...this.counters.failures },
      retries: this.counters.retries,
      throttled: this.counters.throttled,
      timeouts: this.counters.timeouts,
      fastFailures: this.counters.fastFailures,
      breakerState: this.currentState(),
      breakerOpens: this.counters.breakerOpens,
      queued,
    };
  }

  /**
   * Run `attempt` under the limiter of `kind`, retrying per `classify`. `attempt` gets an
   * AbortSignal that fires at the attempt's deadline and must finish reading the response (a body
   * read after the deadline is not covered).
   */
  async run<T>(
    kind: S3OperationKind,
    what: string,
    attempt: (signal: AbortSignal) => Promise<T>,
    classify: (err: unknown) => FailureVerdict,
  ): Promise<T> {
    for (let n = 1; ; n++) {
      this.admit(what);
      const isProbe = this.state === 'half-open';
      if (isProbe) this.probeInFlight = true;
      let verdict: FailureVerdict;
      try {
        const value = await this.limiters[kind].schedule(() => this.attemptOnce(kind, attempt));
        this.onSuccess();
        return value;
      } catch (err) {
        this.counters.failures[kind]++;
        verdict = classify(err);
        if (err instanceof AttemptTimeoutError) this.counters.timeouts++;
        if (verdict.throttled) this.counters.throttled++;
        if (verdict.breakerFailure) this.onFailure(isProbe);
        else this.onSuccess();
      } finally {
        if (isProbe) this.probeInFlight = false;
      }
      if (!verdict.retriable || n >= this.options.maxAttempts || this.stopped) throw verdict.error;
      this.counters.retries++;
      const ceilingMs = Math.min(this.options.retryCapMs, this.options.retryBaseMs * 2 ** (n - 1));
      await this.sleep(this.random() * ceilingMs);
      // An open breaker ends the retries: admit() throws the fast failure on the next lap.
      if (this.currentState() === 'open') {
        this.counters.fastFailures++;
        throw new ObjectStoreError(
          'OBJECT_STORE_UNAVAILABLE',
          `${what}: S3 circuit breaker opened during retries (last error: ${verdict.error.message})`,
          { cause: verdict.error },
        );
      }
    }
  }

  /** Stop the limiters and cut short retry sleeps; calls in flight finish their current attempt. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.sleeps) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.sleeps.clear();
    await Promise.all(S3_OPERATION_KINDS.map((k) => this.limiters[k].disconnect(false)));
  }

  private async attemptOnce<T>(
    kind: S3OperationKind,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    // Bottleneck plans starts minTime apart but on its own clock, and makes up for a late start
    // with an early next one; this holds the real spacing so the ceiling is a hard one.
    const spacingMs = 1000 / this.options.limits[kind].ratePerSec;
    const waitMs = this.lastStartMs[kind] + spacingMs - performance.now();
    if (waitMs > 0) await new Promise((r) => setTimeout(r, Math.ceil(waitMs)));
    this.lastStartMs[kind] = performance.now();
    this.counters.requests[kind]++;
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new AttemptTimeoutError(`no answer within ${this.options.requestTimeoutMs} ms`)),
      this.options.requestTimeoutMs,
    );
    try {
      return await attempt(controller.signal);
    } catch (err) {
      // The SDK reports an abort as its own AbortError; surface the deadline as the cause.
      if (controller.signal.aborted) throw controller.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private currentState(): BreakerState {
    if (this.state === 'open' && Date.now() - this.openedAt >= this.options.breakerCoolDownMs) {
      this.state = 'half-open';
    }
    return this.state;
  }

  /** Throws the fast failure unless the breaker lets a request through now. */
  private admit(what: string): void {
    const state = this.currentState();
    if (state === 'closed') return;
    if (state === 'half-open' && !this.probeInFlight) return;
    this.counters.fastFailures++;
    throw new ObjectStoreError(
      'OBJECT_STORE_UNAVAILABLE',
      `${what}: S3 circuit breaker is ${state} after ${this.consecutiveFailures} consecutive failures; failing fast`,
    );
  }

  private onSuccess(): void {
    this.consecutiveFailures = 0;
    this.state = 'closed';
  }

  private onFailure(wasProbe: boolean): void {
    this.consecutiveFailures++;
    if (
      wasProbe ||
      (this.state === 'closed' && this.consecutiveFailures >= this.options.breakerFailureThreshold)
    ) {
      if (this.state !== 'open') this.counters.breakerOpens++;
      this.state = 'open';
      this.openedAt = Date.now();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.sleeps.add(entry);
    });
  }
}
