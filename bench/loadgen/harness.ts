/**
 * Shared plumbing of the broker benchmarks (bench/broker-*.ts): flags, a fresh broker child on a
 * temporary data dir per scenario (WAL fsync on), and the figures printed for each scenario.
 */
import {
  closeSync,
  fdatasyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { StartBrokerOptions } from '../../src/broker/broker.js';
import { BrokerProcess, readCpuSeconds, readRssBytes } from './broker-process.js';
import { fmt, fmtMs, type RunStats } from './stats.js';

export function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export function hasFlag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

export function numFlag(name: string, fallback: number): number {
  const v = flag(name);
  return v === undefined ? fallback : Number(v);
}

export function listFlag(name: string, fallback: number[]): number[] {
  const v = flag(name);
  return v === undefined ? fallback : v.split(',').map(Number);
}

export interface BrokerFigures {
  /** Broker CPU in cores (user + system), and the system (kernel) part of it. */
  cores: number;
  systemCores: number;
  /** Share of the window the broker's event loop was busy (1 = saturated). */
  eventLoopBusy: number;
  /** How late the broker's event loop ran timers (p99, max): time every request waited behind others. */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  peakRssBytes: number;
  /** WAL group commits in the window, and produce requests (WAL appends) per fsync. */
  fsyncs: number;
  appendsPerFsync: number;
  meanFsyncMs: number;
  /** Upper bound of the WAL fdatasync p99 (the histogram bucket it falls in), ms. */
  fsyncP99Ms: number;
}

export interface ScenarioResult {
  name: string;
  stats: RunStats;
  broker: BrokerFigures;
  notes?: string;
}

let autogroupNiceBefore: number | null = null;

/**
 * Set this session's autogroup nice (Linux with autogroup scheduling). It applies to every process
 * of the session, so it is put back on exit, SIGINT and SIGTERM (a SIGKILL leaves it set: restore it
 * with `echo 0 > /proc/self/autogroup` from the same shell).
 */
function setAutogroupNice(nice: number): void {
  try {
    if (autogroupNiceBefore === null) {
      const m = /nice (-?\d+)/.exec(readFileSync('/proc/self/autogroup', 'utf8'));
      autogroupNiceBefore = m ? Number(m[1]) : 0;
      const restore = String(autogroupNiceBefore);
      const putBack = () => {
        try {
          writeFileSync('/proc/self/autogroup', restore);
        } catch {
          // best effort
        }
      };
      process.on('exit', putBack);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          putBack();
          process.exit(128 + (os.constants.signals[signal] ?? 0));
        });
      }
    }
    writeFileSync('/proc/self/autogroup', String(nice));
  } catch {
    // no autogroup scheduling here, or not allowed
  }
}

/**
 * Broker options every benchmark run uses on top of the defaults: a temporary data dir, WAL fsync on,
 * and (until the uploader fix described in docs/benchmarks.md lands) an upload size trigger above
 * what the generator can have in flight, because the uploader busy-loops in microtasks — and the
 * broker hangs — when more than uploadTargetBytes is appended but not yet fsynced.
 */
export const BENCH_BROKER_DEFAULTS: StartBrokerOptions = {
  walFsync: true,
  logLevel: 'warn',
  uploadTargetBytes: 64 * 1024 * 1024,
};

/** The broker options as printed in headers: what differs from the broker's defaults. */
export function brokerOverridesText(): string {
  const extra = JSON.parse(flag('broker-json') ?? '{}') as StartBrokerOptions;
  return JSON.stringify({ ...BENCH_BROKER_DEFAULTS, ...extra });
}

/**
 * Run `body` against a fresh broker in a child process on a new temporary data dir (removed after).
 * `--broker-json '{...}'` overrides broker options; `--priority N` renices the broker and the
 * generator (see setAutogroupNice).
 */
export async function withBroker<T>(
  body: (broker: BrokerProcess) => Promise<T>,
  overrides: StartBrokerOptions = {},
): Promise<T> {
  const root = flag('dir') ?? os.tmpdir();
  const dataDir = mkdtempSync(join(root, 'streamhouse-bench-'));
  const extra = JSON.parse(flag('broker-json') ?? '{}') as StartBrokerOptions;
  const priority = flag('priority');
  // --broker-node-args '--trace-gc ...' passes node flags to the broker process (diagnostics).
  const nodeArgs =
    flag('broker-node-args')
      ?.split(' ')
      .filter((a) => a !== '') ?? [];
  const broker = await BrokerProcess.start({
    broker: { ...BENCH_BROKER_DEFAULTS, dataDir, ...overrides, ...extra },
    execArgv: nodeArgs,
  });
  if (priority !== undefined) {
    // A shared machine: raise the broker and the generator above background work (root only). With
    // autogroup scheduling, nice only ranks processes inside their session's group, so the group
    // (this session: generator and broker) gets the same nice.
    os.setPriority(broker.pid, Number(priority));
    os.setPriority(Number(priority));
    setAutogroupNice(Number(priority));
  }
  try {
    return await body(broker);
  } finally {
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * The broker side of one measured window: hooks for the generator (onWindow, warmedUp, onProgress)
 * and, once the window closed, the broker's figures. With `--cpu-prof DIR` the broker's CPU profile
 * covers exactly the window (DIR/<label>.cpuprofile).
 */
export function brokerWindow(broker: BrokerProcess, label: string) {
  let before: Promise<Record<string, number>> = Promise.resolve({});
  let figures: Promise<BrokerFigures> | null = null;
  const profileDir = flag('cpu-prof');
  let profiling: Promise<void> = Promise.resolve();
  return {
    onWindow(event: 'start' | 'end'): void {
      if (event === 'start') {
        broker.beginWindow();
        before = broker.stats();
        if (profileDir !== undefined) profiling = broker.profileStart();
      } else {
        const b = before;
        figures = b.then(async (values) => {
          const f = await brokerFigures(broker, values);
          if (profileDir !== undefined) {
            await profiling;
            mkdirSync(profileDir, { recursive: true });
            const file = `${label.replace(/[^A-Za-z0-9.-]+/g, '-')}.cpuprofile`;
            await broker.profileStop(join(profileDir, file));
          }
          return f;
        });
      }
    },
    /** Warm once the broker's RSS has stopped growing (the hot tail is full, memory is reused). */
    warmedUp: () => broker.rssSteady(),
    onProgress: progressPrinter(broker),
    async figures(): Promise<BrokerFigures> {
      return figures ?? brokerFigures(broker, await before);
    },
  };
}

/** Broker CPU, RSS and WAL figures over a window opened by `broker.beginWindow()`. */
export async function brokerFigures(
  broker: BrokerProcess,
  before: Record<string, number>,
): Promise<BrokerFigures> {
  const w = broker.endWindow();
  const after = await broker.stats();
  const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  const fsyncs = delta('streamhouse_wal_fsync_duration_seconds_count');
  const windowMs = w.seconds * 1000;
  const appends = delta('streamhouse_wal_appends_total');
  return {
    cores: w.cores,
    systemCores: w.systemCores,
    eventLoopBusy: windowMs > 0 ? delta('event_loop_active_ms') / windowMs : 0,
    eventLoopDelayP99Ms: after.event_loop_delay_p99_ms ?? 0,
    eventLoopDelayMaxMs: after.event_loop_delay_max_ms ?? 0,
    peakRssBytes: w.peakRssBytes,
    fsyncs,
    appendsPerFsync: fsyncs > 0 ? appends / fsyncs : 0,
    meanFsyncMs: fsyncs > 0 ? (delta('streamhouse_wal_fsync_duration_seconds_sum') * 1000) / fsyncs : 0,
    fsyncP99Ms: bucketQuantile(before, after, 'streamhouse_wal_fsync_duration_seconds_bucket', 0.99) * 1000,
  };
}

/** The upper bound (le) of the first cumulative bucket holding quantile `q` of the window's observations. */
function bucketQuantile(
  before: Record<string, number>,
  after: Record<string, number>,
  name: string,
  q: number,
): number {
  const buckets: { le: number; count: number }[] = [];
  for (const key of Object.keys(after)) {
    const m = new RegExp(`^${name}\\{le=([^}]+)\\}$`).exec(key);
    if (m === null) continue;
    buckets.push({
      le: m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]),
      count: after[key]! - (before[key] ?? 0),
    });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0) return 0;
  return buckets.find((b) => b.count >= q * total)?.le ?? Number.POSITIVE_INFINITY;
}

export function printHeader(title: string, setup: string[]): void {
  console.log(`\n${title}`);
  for (const line of setup) console.log(`  ${line}`);
  console.log(
    `  ${'scenario'.padEnd(44)} ${'records/s'.padStart(11)} ${'MB/s'.padStart(7)} ${'req/s'.padStart(7)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} ${'p99.9'.padStart(9)}  ${'broker CPU'.padStart(10)} ${'gen CPU'.padStart(7)} ${'peak RSS'.padStart(9)} ${'req/fsync'.padStart(9)}`,
  );
}

export function printRow(r: ScenarioResult): void {
  const s = r.stats;
  const secs = s.seconds || 1;
  const line = [
    r.name.padEnd(44),
    fmt(s.records / secs).padStart(11),
    fmt(s.bytes / secs / 1e6, 1).padStart(7),
    fmt(s.requests / secs).padStart(7),
    fmtMs(s.latencyUs.p50).padStart(9),
    fmtMs(s.latencyUs.p99).padStart(9),
    fmtMs(s.latencyUs.p999).padStart(9),
    ` ${fmt(r.broker.cores * 100).padStart(9)}%`,
    `${fmt(s.generatorCores * 100).padStart(6)}%`,
    `${fmt(r.broker.peakRssBytes / 2 ** 20)} MiB`.padStart(9),
    (r.broker.fsyncs > 0 ? fmt(r.broker.appendsPerFsync, 1) : '-').padStart(9),
  ].join(' ');
  console.log(`  ${line}`);
  if (s.errors > 0) console.log(`    ${s.errors} errors; first: ${s.firstError}`);
  const fsync =
    r.broker.fsyncs > 0
      ? `; WAL ${fmt(r.broker.fsyncs)} fsyncs, mean ${fmt(r.broker.meanFsyncMs, 2)} ms, p99 ≤ ${fmt(r.broker.fsyncP99Ms)} ms`
      : '';
  const mb = s.bytes / 1e6;
  const cpuPerMb =
    mb > 0
      ? `; broker ${fmt((r.broker.cores * secs * 1000) / mb, 2)} CPU-ms/MB (kernel ${fmt((100 * r.broker.systemCores) / Math.max(r.broker.cores, 1e-9))}%)`
      : '';
  const loop = `; broker event loop ${fmt(r.broker.eventLoopBusy * 100)}% busy, delay p99 ${fmt(r.broker.eventLoopDelayP99Ms, 1)} ms max ${fmt(r.broker.eventLoopDelayMaxMs, 1)} ms`;
  const gen = `; generator loop delay p99 ${fmt(s.generatorLoopDelayMs.p99, 1)} ms max ${fmt(s.generatorLoopDelayMs.max, 1)} ms`;
  console.log(
    `    ${r.notes ?? ''}${fsync}${cpuPerMb}${loop}${gen}; load average now ${fmt(os.loadavg()[0] ?? 0, 1)}`,
  );
}

export function machine(): string {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((l) => fmt(l, 1))
    .join(' ');
  return `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}; load average ${load} at start`;
}

/**
 * With --progress: a per-second line (records/s, MB/s in that second, broker RSS and CPU) on
 * stderr, to see warm-up and steady state.
 */
export function progressPrinter(
  broker: BrokerProcess,
): ((records: number, bytes: number) => void) | undefined {
  if (!hasFlag('progress')) return undefined;
  let last = { at: performance.now(), records: 0, bytes: 0, cpu: readCpuSeconds(broker.pid) };
  return (records, bytes) => {
    const now = { at: performance.now(), records, bytes, cpu: readCpuSeconds(broker.pid) };
    const s = (now.at - last.at) / 1000;
    const cpu = (now.cpu.user + now.cpu.system - last.cpu.user - last.cpu.system) / s;
    process.stderr.write(
      `    ${fmt((now.records - last.records) / s)} records/s ${fmt((now.bytes - last.bytes) / s / 1e6, 1)} MB/s, broker RSS ${fmt(readRssBytes(broker.pid) / 2 ** 20)} MiB CPU ${fmt(cpu * 100)}%\n`,
    );
    last = now;
  };
}

/** With --json FILE: write every scenario's figures there (for docs and comparisons). */
export function writeJson(results: readonly ScenarioResult[]): void {
  const path = flag('json');
  if (path !== undefined) writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

/**
 * The disk as the WAL sees it right now: 4 KiB pwrite + fdatasync, 200 times, into a pre-written
 * file under the data root. Printed with every benchmark, since produce latency cannot beat it.
 */
export function diskProbe(): string {
  const dir = mkdtempSync(join(flag('dir') ?? os.tmpdir(), 'streamhouse-disk-probe-'));
  const path = join(dir, 'probe');
  const block = Buffer.alloc(4096, 0x5a);
  const fd = openSync(path, 'w+');
  try {
    for (let i = 0; i < 200; i++) writeSync(fd, block, 0, block.length, i * block.length);
    fdatasyncSync(fd);
    const ms: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      writeSync(fd, block, 0, block.length, i * block.length);
      fdatasyncSync(fd);
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!;
    return `disk probe: 4 KiB overwrite + fdatasync p50 ${fmt(at(0.5), 2)} ms, p99 ${fmt(at(0.99), 2)} ms, max ${fmt(at(1), 2)} ms`;
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
