/**
 * What a load-generator run measures: requests, records and bytes answered inside the measured
 * window, errors, and an HDR histogram of request latency in microseconds.
 *
 * The window opens after the warm-up (counters and histogram are reset then) and closes at the
 * deadline; responses that arrive after it are not counted. Latency is from the request's intended
 * send time (its scheduled time in rate-limited mode, else the time it was written) to its response,
 * so a stalled broker shows up as latency rather than as fewer samples (no coordinated omission).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

export interface RunStats {
  seconds: number;
  requests: number;
  records: number;
  /** Record-batch bytes (what the records occupy on the wire, batch headers included). */
  bytes: number;
  errors: number;
  /** First error seen, for the report. */
  firstError: string | null;
  latencyUs: { p50: number; p99: number; p999: number; max: number; mean: number };
  /** Generator process CPU over the window, in cores (1.0 = one core busy). */
  generatorCores: number;
  /**
   * The generator's own event-loop delay (p99, max, ms): requests it sends late count as latency in
   * rate-limited mode, so this bounds how much of the latency is the generator's.
   */
  generatorLoopDelayMs: { p99: number; max: number };
}

export class Recorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  measuring = false;
  requests = 0;
  records = 0;
  bytes = 0;
  errors = 0;
  firstError: string | null = null;
  /** Everything answered, warm-up included (for progress lines). */
  totalRecords = 0;
  totalBytes = 0;
  private startedAt = 0;
  private stoppedAt = 0;
  private cpuAtStart: NodeJS.CpuUsage = process.cpuUsage();
  private cpuUsed: NodeJS.CpuUsage | null = null;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 1 });

  /** Open the window: forget everything recorded during warm-up. */
  start(): void {
    this.histogram.reset();
    this.requests = 0;
    this.records = 0;
    this.bytes = 0;
    this.errors = 0;
    this.firstError = null;
    this.measuring = true;
    this.loopDelay.reset();
    this.loopDelay.enable();
    this.startedAt = performance.now();
    this.cpuAtStart = process.cpuUsage();
  }

  stop(): void {
    if (!this.measuring) return;
    this.measuring = false;
    this.loopDelay.disable();
    this.stoppedAt = performance.now();
    this.cpuUsed = process.cpuUsage(this.cpuAtStart);
  }

  /** One answered request, sent (or due) at `sentAtMs` (performance.now() clock). */
  answered(sentAtMs: number, records: number, bytes: number): void {
    this.totalRecords += records;
    this.totalBytes += bytes;
    if (!this.measuring) return;
    this.requests++;
    this.records += records;
    this.bytes += bytes;
    const us = Math.max(1, Math.round((performance.now() - sentAtMs) * 1000));
    this.histogram.recordValue(us);
  }

  error(message: string): void {
    if (!this.measuring) return;
    this.errors++;
    this.firstError ??= message;
  }

  result(): RunStats {
    const seconds = (this.stoppedAt - this.startedAt) / 1000;
    const cpu = this.cpuUsed ?? process.cpuUsage(this.cpuAtStart);
    const h = this.histogram;
    return {
      seconds,
      requests: this.requests,
      records: this.records,
      bytes: this.bytes,
      errors: this.errors,
      firstError: this.firstError,
      latencyUs: {
        p50: h.getValueAtPercentile(50),
        p99: h.getValueAtPercentile(99),
        p999: h.getValueAtPercentile(99.9),
        max: h.maxValue,
        mean: h.mean,
      },
      generatorCores: seconds > 0 ? (cpu.user + cpu.system) / 1e6 / seconds : 0,
      generatorLoopDelayMs: { p99: this.loopDelay.percentile(99) / 1e6, max: this.loopDelay.max / 1e6 },
    };
  }
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function fmtMs(us: number): string {
  return `${fmt(us / 1000, us < 10_000 ? 2 : 1)} ms`;
}

/** One line: records/s, MB/s, requests/s and latency percentiles. */
export function summary(s: RunStats): string {
  const secs = s.seconds || 1;
  const parts = [
    `${fmt(s.records / secs)} records/s`,
    `${fmt(s.bytes / secs / 1e6, 1)} MB/s`,
    `${fmt(s.requests / secs)} req/s`,
    `latency p50 ${fmtMs(s.latencyUs.p50)} p99 ${fmtMs(s.latencyUs.p99)} p99.9 ${fmtMs(s.latencyUs.p999)} max ${fmtMs(s.latencyUs.max)}`,
    `generator ${fmt(s.generatorCores * 100)}% CPU, loop delay p99 ${fmt(s.generatorLoopDelayMs.p99, 1)} ms`,
  ];
  if (s.errors > 0) parts.push(`ERRORS ${s.errors} (first: ${s.firstError})`);
  return parts.join(' | ');
}

/** When the measured window opens and closes; shared by the produce and consume generators. */
export interface WindowOptions {
  /** Length of the measured window. */
  seconds: number;
  /** Shortest warm-up. */
  warmupSeconds: number;
  /** Longest warm-up while `warmedUp` says no (default 60). */
  maxWarmupSeconds?: number;
  /** Polled after `warmupSeconds`: open the window once it returns true (e.g. broker RSS steady). */
  warmedUp?: () => boolean;
  /** Called when the window opens and when it closes. */
  onWindow?: (event: 'start' | 'end') => void;
  /** Called every second with everything answered so far (warm-up included). */
  onProgress?: (totalRecords: number, totalBytes: number) => void;
}

/**
 * Open the window after the warm-up (at once when `immediate`) and call `stop` `seconds` later.
 * Returns a function that cancels the timers.
 */
export function scheduleWindow(
  o: WindowOptions,
  recorder: Recorder,
  stop: () => void,
  immediate = false,
): () => void {
  const timers: NodeJS.Timeout[] = [];
  const open = () => {
    recorder.start();
    o.onWindow?.('start');
    timers.push(setTimeout(stop, o.seconds * 1000));
  };
  if (immediate) open();
  else {
    const t0 = performance.now();
    const maxWarmup = o.maxWarmupSeconds ?? 60;
    const poll: NodeJS.Timeout = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed < o.warmupSeconds) return;
      if (elapsed < maxWarmup && o.warmedUp !== undefined && !o.warmedUp()) return;
      clearInterval(poll);
      open();
    }, 100);
    timers.push(poll);
  }
  if (o.onProgress !== undefined) {
    const report = o.onProgress;
    timers.push(setInterval(() => report(recorder.totalRecords, recorder.totalBytes), 1000));
  }
  return () => {
    for (const t of timers) clearTimeout(t);
  };
}
