/**
 * External client tools for the compatibility tests: finding them (so a test can skip with a clear
 * reason when one is absent) and running them with a hard time limit.
 *
 * The Debian packages python3-confluent-kafka and python3-kafka install into the system Python, so
 * Python client scripts always run under /usr/bin/python3 (not whatever `python3` is on PATH).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type tap from 'tap';

/** A tap subtest's `t`. */
export type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0];

export const SYSTEM_PYTHON = '/usr/bin/python3';
const KCAT_CANDIDATES = ['/usr/bin/kcat', '/usr/local/bin/kcat', '/usr/bin/kafkacat'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of kcat ($STREAMHOUSE_COMPAT_KCAT if set, even to a missing file), or null. */
export function findKcat(): string | null {
  const override = process.env.STREAMHOUSE_COMPAT_KCAT;
  if (override !== undefined) return executable(override) ? override : null;
  return KCAT_CANDIDATES.find(executable) ?? null;
}

/** Null if /usr/bin/python3 can import `module`, else the reason it cannot (for a skip message). */
export function pythonModuleMissing(module: string): string | null {
  if (!executable(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} is not installed`;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', `import ${module}`], { encoding: 'utf8', timeout: 20_000 });
  if (r.status === 0) return null;
  const lastLine = (r.stderr ?? '').trim().split('\n').pop() ?? '';
  return `${SYSTEM_PYTHON} cannot import ${module} (${lastLine || `exit ${r.status}`})`;
}

/**
 * Where compat-tests/python/*.py live. Tests run compiled from dist/compat-tests/, and tsc does not
 * copy .py files, so this points back at the source tree.
 */
export function pythonScript(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url)); // …/dist/compat-tests/support
  return join(here, '..', '..', '..', 'compat-tests', 'python', name);
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

/** Run a command to completion, killing it (SIGKILL) after `timeoutMs`. Never rejects on exit codes. */
export function run(
  command: string,
  args: readonly string[],
  opts: { input?: Buffer | string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      err += s;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, timedOut });
    });
    child.stdin.on('error', () => undefined); // the tool may exit before reading all its input
    child.stdin.end(opts.input ?? '');
  });
}

/** One-line description of a failed run, for assertion messages. */
export function describeRun(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' TIMED OUT' : ''}; stderr: ${r.stderr.slice(-4000)}`;
}

/** Skip the whole test file with `reason` (shown in tap's summary) when a client is unavailable. */
export function skipFile(t: { plan(n: number, comment?: string): void }, reason: string): never {
  t.plan(0, reason);
  process.exit(0);
}
