/**
 * Start the broker as a child process (so its CPU is its own, separate from the load generator's),
 * watch its resident memory and CPU time through /proc/<pid>, and stop it.
 *
 * RSS is VmRSS from /proc/<pid>/status sampled every 200 ms (peak and last kept); CPU is utime +
 * stime from /proc/<pid>/stat, read at the ends of a window, in cores (1.0 = one core busy).
 * Linux only; elsewhere those figures read as 0.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StartBrokerOptions } from '../../src/broker/broker.js';
import type { ChildMessage, ChildRequest } from './broker-child.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'broker-child.js');
/** Linux USER_HZ: /proc CPU times are in these ticks (100 on every mainstream kernel config). */
const CLOCK_TICKS_PER_S = 100;

export interface BrokerProcessOptions {
  broker: StartBrokerOptions;
  /** Extra node flags for the broker, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  execArgv?: string[];
}

export function readRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds a process has used so far, in user and in system (kernel) mode. */
export function readCpuSeconds(pid: number): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / CLOCK_TICKS_PER_S, system: Number(fields[12]) / CLOCK_TICKS_PER_S };
  } catch {
    return { user: 0, system: 0 };
  }
}

export class BrokerProcess {
  private peakRss = 0;
  private lastRss = 0;
  private readonly history: number[] = [];
  private readonly sampler: NodeJS.Timeout;
  private windowStart: { at: number; cpu: { user: number; system: number } } | null = null;
  private readonly waiters: ((m: ChildMessage) => void)[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
  ) {
    this.sampler = setInterval(() => this.sample(), 200);
    this.sampler.unref();
    child.on('message', (m: ChildMessage) => this.waiters.shift()?.(m));
  }

  static start(options: BrokerProcessOptions): Promise<BrokerProcess> {
    const child = fork(CHILD, [JSON.stringify(options.broker)], {
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) =>
        reject(new Error(`broker exited with ${code} before it was ready`));
      child.once('exit', onExit);
      child.once('message', (m: ChildMessage) => {
        child.off('exit', onExit);
        if (m.type === 'ready') resolve(new BrokerProcess(child, m.host, m.port));
        else {
          child.kill();
          reject(new Error(m.type === 'failed' ? m.message : `unexpected ${m.type}`));
        }
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  private sample(): void {
    this.lastRss = readRssBytes(this.pid);
    if (this.lastRss > this.peakRss) this.peakRss = this.lastRss;
    this.history.push(this.lastRss);
    if (this.history.length > 50) this.history.shift();
  }

  /** Whether RSS grew less than `tolerance` over the last `seconds` (samples every 200 ms). */
  rssSteady(seconds = 2, tolerance = 0.03): boolean {
    const n = Math.round(seconds * 5);
    if (this.history.length <= n) return false;
    const then = this.history[this.history.length - 1 - n]!;
    return then > 0 && this.lastRss <= then * (1 + tolerance);
  }

  /** Start measuring: peak RSS, CPU and event-loop delay from now on. */
  beginWindow(): void {
    void this.ask({ type: 'window-start' });
    this.sample();
    this.peakRss = this.lastRss;
    this.windowStart = { at: performance.now(), cpu: readCpuSeconds(this.pid) };
  }

  /** Broker figures since beginWindow(); CPU in cores (user + system, and system alone). */
  endWindow(): {
    seconds: number;
    cores: number;
    systemCores: number;
    peakRssBytes: number;
    lastRssBytes: number;
  } {
    this.sample();
    const start = this.windowStart ?? { at: performance.now(), cpu: readCpuSeconds(this.pid) };
    const seconds = (performance.now() - start.at) / 1000;
    const now = readCpuSeconds(this.pid);
    const user = now.user - start.cpu.user;
    const system = now.system - start.cpu.system;
    return {
      seconds,
      cores: seconds > 0 ? (user + system) / seconds : 0,
      systemCores: seconds > 0 ? system / seconds : 0,
      peakRssBytes: this.peakRss,
      lastRssBytes: this.lastRss,
    };
  }

  private ask(m: ChildRequest): Promise<ChildMessage> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.child.send(m);
    });
  }

  /** The broker's metric values (Prometheus names; histograms as _sum/_count). */
  async stats(): Promise<Record<string, number>> {
    const m = await this.ask({ type: 'stats' });
    return m.type === 'stats' ? m.values : {};
  }

  /** Start the V8 CPU profiler in the broker (inspector); profileStop writes it to `path`. */
  async profileStart(): Promise<void> {
    await this.ask({ type: 'profile-start' });
  }

  async profileStop(path: string): Promise<void> {
    await this.ask({ type: 'profile-stop', path });
  }

  /** Graceful stop; resolves once the process has exited (CPU profile written). */
  async stop(): Promise<void> {
    clearInterval(this.sampler);
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' } satisfies ChildRequest);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  }
}
