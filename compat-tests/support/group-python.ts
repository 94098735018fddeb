/**
 * Long-running Python consumer processes for the group compat tests: spawn
 * compat-tests/python/group_consumer_confluent.py under /usr/bin/python3, collect its JSON event
 * lines as they come (assign / revoke / msg / commit / error), and stop it with SIGTERM (clean close)
 * or SIGKILL (crash). Events feed support/group-ledger.ts.
 *
 * Invariant: every process is killed (SIGKILL) when the test process tears down, so a failing test
 * never leaves consumers behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Commit, Consumption, Rebalance } from './group-ledger.js';
import { pythonScript, SYSTEM_PYTHON } from './tools.js';

export interface ConsumerEvent {
  ev: 'assign' | 'revoke' | 'msg' | 'commit' | 'error' | 'closed';
  name: string;
  t: number;
  parts?: number[];
  p?: number;
  o?: number;
  v?: string;
  err?: string;
}

export interface ConsumerOptions {
  bootstrap: string;
  group: string;
  topics: string[];
  name: string;
  /** librdkafka properties. */
  config?: Record<string, string | number | boolean>;
}

export interface PythonConsumer {
  readonly name: string;
  readonly events: ConsumerEvent[];
  /** Current assignment, from the assign/revoke callbacks. */
  assignment(): number[];
  alive(): boolean;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  stderr(): string;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export function spawnConsumer(
  options: ConsumerOptions,
  script = 'group_consumer_confluent.py',
): PythonConsumer {
  const child = spawn(SYSTEM_PYTHON, [pythonScript(script), JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const events: ConsumerEvent[] = [];
  const assigned = new Set<number>();
  let rest = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    rest += s;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line.trim() === '') continue;
      const e = JSON.parse(line) as ConsumerEvent;
      events.push(e);
      if (e.ev === 'assign') for (const p of e.parts ?? []) assigned.add(p);
      if (e.ev === 'revoke') for (const p of e.parts ?? []) assigned.delete(p);
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    err = (err + s).slice(-16_000);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      exitCode = code;
      resolve(code);
    });
  });
  return {
    name: options.name,
    events,
    assignment: () => [...assigned].sort((a, b) => a - b),
    alive: () => exitCode === undefined,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    stderr: () => err,
  };
}

/** The ledger's view of a set of consumers' events. */
export function ledgerOf(consumers: readonly PythonConsumer[]): {
  consumptions: Consumption[];
  rebalances: Rebalance[];
  commits: Commit[];
  errors: string[];
} {
  const consumptions: Consumption[] = [];
  const rebalances: Rebalance[] = [];
  const commits: Commit[] = [];
  const errors: string[] = [];
  for (const c of consumers) {
    for (const e of c.events) {
      if (e.ev === 'msg')
        consumptions.push({ consumer: e.name, partition: e.p!, offset: e.o!, value: e.v!, timeMs: e.t });
      else if (e.ev === 'assign') rebalances.push({ consumer: e.name, timeMs: e.t });
      else if (e.ev === 'commit') commits.push({ partition: e.p!, offset: e.o!, timeMs: e.t });
      else if (e.ev === 'error') errors.push(`${e.name}: ${e.err}`);
    }
  }
  return { consumptions, rebalances, commits, errors };
}
