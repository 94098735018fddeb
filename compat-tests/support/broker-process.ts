/**
 * Start a real StreamHouse broker as a child process (run-broker.ts) for the compatibility tests.
 *
 * Each broker gets a fresh data directory (real WAL, SQLite metadata, local object store) unless
 * the caller gives one; it is removed after the process exits when we created it. The child's
 * stderr (its log) is kept, bounded, for failure messages.
 *
 * Invariants: `spawnBroker` resolves only once the child printed its bootstrap line, and rejects
 * (after killing the child) if that takes longer than `startTimeoutMs`; `stop()` always ends with
 * the child gone (SIGTERM, then SIGKILL after `graceMs`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrokerConfig } from '../../src/config/broker-config.js';

/** (client id, API, versions) the broker saw, printed by the child on a clean stop. */
export interface RequestSeen {
  clientId: string | null;
  apiKey: number;
  api: string;
  versions: number[];
}

export interface BrokerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Null unless the broker stopped cleanly. */
  requests: RequestSeen[] | null;
}

export interface BrokerProcess {
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** Removed after exit when spawnBroker created it. */
  readonly dataDir: string;
  /** True until the child exits. */
  alive(): boolean;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the child has exited (and its data dir is cleaned up, if ours). */
  wait(): Promise<BrokerExit>;
  /** SIGTERM, wait up to `graceMs`, then SIGKILL. */
  stop(graceMs?: number): Promise<BrokerExit>;
  /** The last part of the child's stderr (its log). */
  stderr(): string;
}

export interface SpawnBrokerOptions {
  /** BrokerConfig overrides passed to the child as JSON (listen defaults to 127.0.0.1:0). */
  config?: Partial<Omit<BrokerConfig, 'dataDir'>>;
  /** Use this data dir (kept afterwards). Default: a fresh temporary one, removed afterwards. */
  dataDir?: string;
  startTimeoutMs?: number;
}

const RUN_BROKER = join(dirname(fileURLToPath(import.meta.url)), 'run-broker.js');
const STDERR_KEEP_BYTES = 64 * 1024;

export async function spawnBroker(options: SpawnBrokerOptions = {}): Promise<BrokerProcess> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'streamhouse-compat-'));
  const child = spawn(process.execPath, [RUN_BROKER, '--data-dir', dataDir], {
    env: { ...process.env, STREAMHOUSE_COMPAT_CONFIG: JSON.stringify(options.config ?? {}) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });

  let stderrText = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderrText = (stderrText + s).slice(-STDERR_KEEP_BYTES);
  });

  const lines: object[] = [];
  let lineWaiter: (() => void) | null = null;
  let stdoutRest = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    stdoutRest += s;
    for (let nl = stdoutRest.indexOf('\n'); nl >= 0; nl = stdoutRest.indexOf('\n')) {
      const line = stdoutRest.slice(0, nl).trim();
      stdoutRest = stdoutRest.slice(nl + 1);
      if (line === '') continue;
      try {
        lines.push(JSON.parse(line) as object);
      } catch {
        stderrText += `[stdout] ${line}\n`;
      }
      lineWaiter?.();
    }
  });

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': the stop summary may still sit in the stdout pipe when the process exits.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  void exited.then((e) => {
    exitInfo = e;
    lineWaiter?.();
  });
  const waitAll = exited.then((e): BrokerExit => {
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    const summary = lines.find((l): l is { requests: RequestSeen[] } => 'requests' in l);
    return { ...e, requests: summary?.requests ?? null };
  });

  // Generous: on a loaded 2-core CI machine running tests in parallel, start-up has taken > 20 s.
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const ready = await new Promise<{ bootstrap: string; host: string; port: number } | string>((resolve) => {
    const timer = setTimeout(() => resolve(`no bootstrap line within ${startTimeoutMs} ms`), startTimeoutMs);
    lineWaiter = () => {
      const first = lines.find(
        (l): l is { bootstrap: string; host: string; port: number } => 'bootstrap' in l,
      );
      if (first) {
        clearTimeout(timer);
        resolve(first);
      } else if (exitInfo !== null) {
        clearTimeout(timer);
        resolve(`broker exited (code ${exitInfo.code}, signal ${exitInfo.signal}) before it was ready`);
      }
    };
  });
  lineWaiter = null;
  if (typeof ready === 'string') {
    child.kill('SIGKILL');
    await waitAll;
    throw new Error(`${ready}\n--- broker stderr ---\n${stderrText}`);
  }

  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (exitInfo === null) child.kill(signal);
  };
  return {
    bootstrap: ready.bootstrap,
    host: ready.host,
    port: ready.port,
    pid: child.pid!,
    dataDir,
    alive: () => exitInfo === null,
    kill,
    wait: () => waitAll,
    async stop(graceMs = 10_000) {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), graceMs);
      try {
        return await waitAll;
      } finally {
        clearTimeout(timer);
      }
    },
    stderr: () => stderrText,
  };
}

/** Child processes keep the test alive; this is for `t.teardown`. */
export function teardownBroker(b: BrokerProcess): () => Promise<void> {
  return async () => {
    if (b.alive()) await b.stop();
  };
}
