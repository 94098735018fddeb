/**
 * A StreamHouse broker as a child process for the compatibility tests (spawned by
 * broker-process.ts; run as `node dist/compat-tests/support/run-broker.js --data-dir DIR`).
 *
 * Protocol with the parent, on stdout (one JSON object per line, nothing else is written there):
 *   {"bootstrap":"127.0.0.1:PORT","host":...,"port":...,"pid":...}   once the listener is bound
 *   {"requests":[{"clientId":...,"apiKey":...,"api":...,"versions":[...]}, ...]}   after a clean stop
 * Logs go to stderr (pino, level from the config, default "warn").
 *
 * Configuration: `--data-dir DIR` (required unless the config says dataDir null with memory://
 * stores) and STREAMHOUSE_COMPAT_CONFIG, a JSON object of BrokerConfig overrides. The listener is
 * always 127.0.0.1 port 0 unless the config names one; the admin server is off.
 *
 * Stops gracefully on SIGTERM/SIGINT, and when stdin closes (the parent died), so an aborted test
 * run does not leave brokers behind.
 */
import pino from 'pino';
import { apiKeyName } from '../../protocol/api-keys.js';
import { readRequestHeader } from '../../protocol/headers.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { startBroker } from '../../src/broker/broker.js';
import type { BrokerConfig } from '../../src/config/broker-config.js';
import { Dispatcher } from '../../src/server/dispatcher.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const overrides = JSON.parse(process.env.STREAMHOUSE_COMPAT_CONFIG ?? '{}') as Partial<BrokerConfig>;
const dataDir = argValue('--data-dir') ?? overrides.dataDir ?? null;
const logLevel = overrides.logLevel ?? 'warn';

// Which (client id, API, version) triples the clients actually sent: recorded by wrapping the
// dispatcher, so the ledger can cite observed versions rather than version tables.
const seen = new Map<string, Set<number>>();
const originalDispatch = Dispatcher.prototype.dispatch;
Dispatcher.prototype.dispatch = function recordingDispatch(this: Dispatcher, frame, conn) {
  try {
    const h = readRequestHeader(new Reader(frame), false);
    const key = JSON.stringify([h.clientId, h.apiKey]);
    const versions = seen.get(key) ?? new Set<number>();
    seen.set(key, versions);
    versions.add(h.apiVersion);
  } catch {
    // too short for a header: the dispatcher itself rejects it
  }
  return originalDispatch.call(this, frame, conn);
};

function requestSummary(): object[] {
  return [...seen.entries()]
    .map(([key, versions]) => {
      const [clientId, apiKey] = JSON.parse(key) as [string | null, number];
      return {
        clientId,
        apiKey,
        api: apiKeyName(apiKey) ?? `unknown(${apiKey})`,
        versions: [...versions].sort((a, b) => a - b),
      };
    })
    .sort((a, b) => String(a.clientId).localeCompare(String(b.clientId)) || a.apiKey - b.apiKey);
}

const broker = await startBroker({
  ...overrides,
  listen: overrides.listen ?? { host: '127.0.0.1', port: 0 },
  admin: null,
  dataDir,
  logLevel,
  logger: pino({ level: logLevel, base: { svc: 'streamhouse' } }, pino.destination(2)),
});
process.stdout.write(
  `${JSON.stringify({ bootstrap: broker.bootstrap, host: broker.host, port: broker.port, pid: process.pid })}\n`,
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await broker.close();
    process.stdout.write(`${JSON.stringify({ requests: requestSummary() })}\n`);
    process.exitCode = 0;
  } catch (err) {
    process.stderr.write(`broker close failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
  // Nothing should keep the loop alive after close(); exit anyway so a leak cannot hang the tests.
  setTimeout(() => process.exit(), 100).unref();
}

process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
process.stdin.resume();
