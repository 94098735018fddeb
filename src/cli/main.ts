#!/usr/bin/env node
/**
 * The `streamhouse` bin: a thin shell over startBroker. Parses argv (args.ts), loads the config
 * (load-config.ts), starts the broker in the foreground and stops it on SIGTERM/SIGINT.
 *
 * Exit codes: 0 clean stop (or help/version); 1 start or stop failed; 2 bad configuration or usage.
 * A start error prints its message (SH_ code + runbook pointer) to stderr. The first signal starts a
 * graceful close(); a second one, or a close that outlives shutdown.grace.ms by CLOSE_SLACK_MS, exits
 * at once with 128 + signal number (as a shell reports a signal death) or 1.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningBroker } from '../broker/broker.js';
import { loadConfig } from '../config/load-config.js';
import { StreamhouseError } from '../errors.js';
import { type CliCommand, helpText, parseCliArgs, UsageError } from './args.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
/** Extra time a graceful close may take beyond the request grace (uploads, WAL flush) before we give up. */
const CLOSE_SLACK_MS = 30_000;

function version(): string {
  // Walk up from this file (dist/src/cli/ when built) to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'streamhouse' && pkg.version) return pkg.version;
    } catch {
      // not here; keep climbing
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function fail(err: unknown): never {
  if (err instanceof UsageError) {
    process.stderr.write(`streamhouse: ${err.message}\nRun streamhouse --help for usage.\n`);
    process.exit(EXIT_USAGE);
  }
  if (err instanceof StreamhouseError) {
    process.stderr.write(`streamhouse: ${err.message}\n`);
    process.exit(err.code === 'SH_CONFIG_INVALID' ? EXIT_USAGE : EXIT_FAILED);
  }
  // Not an error we anticipated: the stack is what a bug report needs.
  process.stderr.write(`streamhouse: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT_FAILED);
}

async function start(cmd: Extract<CliCommand, { command: 'start' }>): Promise<void> {
  let config: ReturnType<typeof loadConfig>['config'];
  try {
    config = loadConfig({ configFile: cmd.configFile, env: process.env, flags: cmd.flags }).config;
  } catch (err) {
    fail(err);
  }

  let broker: RunningBroker | null = null;
  let stopSignal: NodeJS.Signals | null = null;

  const stop = (broker: RunningBroker, signal: NodeJS.Signals) => {
    broker.context.logger.info({ signal }, 'signal received: stopping (send it again to exit at once)');
    setTimeout(() => {
      process.stderr.write('streamhouse: graceful shutdown timed out; exiting\n');
      process.exit(EXIT_FAILED);
    }, config.shutdownGraceMs + CLOSE_SLACK_MS).unref();
    broker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(
          `streamhouse: shutdown failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
        );
        process.exit(EXIT_FAILED);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal !== null) {
      process.stderr.write(`streamhouse: second ${signal}: exiting without finishing shutdown\n`);
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stopSignal = signal;
    // During start there is nothing to close yet: start() stops the broker once it is up.
    if (broker !== null) stop(broker, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    // Loaded here, not at the top: help, version and config errors need none of its native modules.
    const { startBroker } = await import('../broker/broker.js');
    broker = await startBroker(config);
  } catch (err) {
    fail(err);
  }
  if (stopSignal !== null) stop(broker, stopSignal);
}

async function main(argv: readonly string[]): Promise<void> {
  let cmd: CliCommand;
  try {
    cmd = parseCliArgs(argv);
  } catch (err) {
    fail(err);
  }
  switch (cmd.command) {
    case 'help':
      process.stdout.write(helpText(version()));
      return;
    case 'version':
      process.stdout.write(`streamhouse ${version()} (node ${process.version})\n`);
      return;
    case 'start':
      await start(cmd);
      return;
  }
}

main(process.argv.slice(2)).catch(fail);
