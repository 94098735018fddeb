/**
 * Command-line parsing for the `streamhouse` bin, kept apart from main.ts so tests can import it
 * without starting anything.
 *
 *   streamhouse start [--config FILE] [--<flag> VALUE ...] [--set KEY=VALUE ...]
 *   streamhouse version | --version | -v
 *   streamhouse help | --help | -h          (also `streamhouse start --help`)
 *
 * Flags take `--flag VALUE` or `--flag=VALUE`; a repeated flag keeps its last value. Dedicated flags
 * come from CONFIG_KEYS (load-config.ts); `--set` reaches every key. A bad flag is a configuration
 * error (SH_CONFIG_INVALID, exit 2); an unknown command is a UsageError (also exit 2).
 */

import { CONFIG_KEYS, configKey, type FlagSetting, suggest } from '../config/load-config.js';
import { StreamhouseError } from '../errors.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type CliCommand =
  | { command: 'start'; configFile: string | null; flags: FlagSetting[] }
  | { command: 'help' }
  | { command: 'version' };

const FLAG_KEYS = new Map(CONFIG_KEYS.filter((k) => k.flag !== null).map((k) => [k.flag!, k]));
const START_FLAGS = ['--config', '--set', '--help', ...FLAG_KEYS.keys()];

export function parseCliArgs(argv: readonly string[]): CliCommand {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      throw new UsageError('missing command');
    case 'help':
    case '--help':
    case '-h':
      return { command: 'help' };
    case 'version':
    case '--version':
    case '-v':
      return { command: 'version' };
    case 'start':
      return parseStart(rest);
    default: {
      const hint = command.startsWith('-') ? null : suggest(command, ['start', 'version', 'help']);
      throw new UsageError(
        command.startsWith('-')
          ? `options go after the command: streamhouse start ${command} ...`
          : `unknown command ${command}${hint ? ` (did you mean ${hint}?)` : ''}`,
      );
    }
  }
}

function parseStart(args: readonly string[]): CliCommand {
  let configFile: string | null = null;
  const flags: FlagSetting[] = [];
  const problems: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return { command: 'help' };
    if (!arg.startsWith('--')) {
      problems.push(
        `unexpected argument ${JSON.stringify(arg)}; expected --flag VALUE (see streamhouse --help)`,
      );
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const known = flag === '--config' || flag === '--set' || FLAG_KEYS.has(flag);
    if (!known) {
      problems.push(unknownFlag(flag));
      // Skip its value too, so it is not reported as a stray argument.
      if (eq < 0 && args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) i++;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) value = args[++i]!;
    else {
      problems.push(`${flag} needs a value; expected ${expectedFor(flag)}`);
      continue;
    }
    if (flag === '--config') {
      if (value === '') problems.push(`--config is empty; expected ${expectedFor(flag)}`);
      else configFile = value;
    } else if (flag === '--set') {
      const sep = value.indexOf('=');
      if (sep <= 0)
        problems.push(`--set ${JSON.stringify(value)}: expected KEY=VALUE, e.g. --set num.partitions=3`);
      else flags.push({ key: value.slice(0, sep).trim(), value: value.slice(sep + 1), flag: '--set' });
    } else {
      flags.push({ key: FLAG_KEYS.get(flag)!.key, value, flag });
    }
  }
  if (problems.length > 0) {
    throw new StreamhouseError(
      'SH_CONFIG_INVALID',
      problems.length === 1
        ? problems[0]!
        : `${problems.length} command-line problems:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
  }
  return { command: 'start', configFile, flags };
}

function expectedFor(flag: string): string {
  if (flag === '--config') return 'a config file path, e.g. --config streamhouse.properties';
  if (flag === '--set') return 'KEY=VALUE, e.g. --set num.partitions=3';
  return FLAG_KEYS.get(flag)!.expected;
}

function unknownFlag(flag: string): string {
  // `--num-partitions 3` or `--num.partitions 3`: the key exists, just not as its own flag.
  const asKey = flag.slice(2).replace(/-/g, '.');
  const key = configKey(asKey) ?? configKey(flag.slice(2));
  if (key !== undefined) return `unknown flag ${flag}: use --set ${key.key}=VALUE (expected ${key.expected})`;
  const hint = suggest(flag, START_FLAGS);
  return `unknown flag ${flag}${hint ? `: did you mean ${hint}?` : ''} (see streamhouse --help)`;
}

export function helpText(version: string): string {
  const flagLines = CONFIG_KEYS.filter((k) => k.flag !== null).map((k) => {
    const left = `  ${k.flag} ${k.key === 'admin' ? 'HOST:PORT|off' : valueName(k.key)}`;
    return `${left.padEnd(34)}${k.doc} [${k.env}]`;
  });
  return [
    `streamhouse ${version}: a Kafka-wire-compatible broker with its log in object storage`,
    '',
    'Usage:',
    '  streamhouse start [options]     run a broker in the foreground (SIGTERM/SIGINT: graceful stop)',
    '  streamhouse version             print the version',
    '  streamhouse --help              this text',
    '',
    'Options for start (later wins: config file < STREAMHOUSE_* env < flags):',
    `${'  --config FILE'.padEnd(34)}JSON or key=value properties file [STREAMHOUSE_CONFIG]`,
    ...flagLines,
    `${'  --set KEY=VALUE'.padEnd(34)}any key, e.g. --set num.partitions=3 (repeatable)`,
    '',
    'Defaults: Kafka on 127.0.0.1:9092, admin on 127.0.0.1:9644, SQLite metadata and objects under',
    './streamhouse-data. Every key, its environment variable and default: docs/configuration.md.',
    'Exit codes: 0 stopped cleanly, 1 failed, 2 bad configuration or usage.',
    '',
  ].join('\n');
}

function valueName(key: string): string {
  if (key === 'data.dir') return 'DIR';
  if (key === 'metadata' || key === 'object.store') return 'URL';
  if (key === 'log.level') return 'LEVEL';
  return 'HOST:PORT';
}
