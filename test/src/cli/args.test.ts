/**
 * parseCliArgs: commands, both flag spellings, --set, --config, and the errors for bad command lines.
 */
import t from 'tap';
import { helpText, parseCliArgs, UsageError } from '../../../src/cli/args.js';
import { CONFIG_KEYS } from '../../../src/config/load-config.js';
import { StreamhouseError } from '../../../src/errors.js';

function configError(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (err) {
    if (err instanceof StreamhouseError && err.code === 'SH_CONFIG_INVALID') return err.message;
    throw err;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

t.test('commands', async (t) => {
  for (const a of ['help', '--help', '-h']) t.same(parseCliArgs([a]), { command: 'help' });
  for (const a of ['version', '--version', '-v']) t.same(parseCliArgs([a]), { command: 'version' });
  t.same(parseCliArgs(['start']), { command: 'start', configFile: null, flags: [] });
  t.same(parseCliArgs(['start', '--listen', 'x', '--help']), { command: 'help' }, '--help wins');
  t.throws(() => parseCliArgs([]), UsageError);
  t.throws(() => parseCliArgs(['stat']), {
    name: 'UsageError',
    message: /unknown command stat \(did you mean start\?\)/,
  });
  t.throws(() => parseCliArgs(['--listen', 'x']), {
    name: 'UsageError',
    message: /options go after the command/,
  });
});

t.test('flags', async (t) => {
  const cmd = parseCliArgs([
    'start',
    '--config',
    'a.properties',
    '--data-dir=/d',
    '--listen',
    '0.0.0.0:9092',
    '--advertised',
    '',
    '--admin=off',
    '--metadata',
    'sqlite:///m.db',
    '--object-store',
    'file:///o',
    '--log-level',
    'debug',
    '--set',
    'num.partitions=3',
    '--set=log.retention.ms=-1',
    '--set',
    'advertised=a=b',
  ]);
  t.same(cmd, {
    command: 'start',
    configFile: 'a.properties',
    flags: [
      { key: 'data.dir', value: '/d', flag: '--data-dir' },
      { key: 'listen', value: '0.0.0.0:9092', flag: '--listen' },
      { key: 'advertised', value: '', flag: '--advertised' },
      { key: 'admin', value: 'off', flag: '--admin' },
      { key: 'metadata', value: 'sqlite:///m.db', flag: '--metadata' },
      { key: 'object.store', value: 'file:///o', flag: '--object-store' },
      { key: 'log.level', value: 'debug', flag: '--log-level' },
      { key: 'num.partitions', value: '3', flag: '--set' },
      { key: 'log.retention.ms', value: '-1', flag: '--set' },
      { key: 'advertised', value: 'a=b', flag: '--set' },
    ],
  });
});

t.test('bad command lines are SH_CONFIG_INVALID naming the flag and the fix', async (t) => {
  t.match(
    configError(['start', '--listen']),
    /--listen needs a value; expected HOST:PORT, e\.g\. 127\.0\.0\.1:9092/,
  );
  t.match(
    configError(['start', '--config', '--listen', 'x']),
    /--config needs a value; expected a config file path/,
  );
  t.match(configError(['start', '--set', 'num.partitions']), /--set "num.partitions": expected KEY=VALUE/);
  t.match(configError(['start', '--config=']), /--config is empty; expected a config file path/);
  t.match(configError(['start', '--lissten', 'x']), /unknown flag --lissten: did you mean --listen\?/);
  t.match(
    configError(['start', '--num-partitions', '3']),
    /unknown flag --num-partitions: use --set num\.partitions=VALUE/,
  );
  t.match(
    configError(['start', '--wal.fsync=false']),
    /unknown flag --wal\.fsync: use --set wal\.fsync=VALUE \(expected true or false\)/,
  );
  t.match(configError(['start', '--zzz']), /unknown flag --zzz \(see streamhouse --help\)/);
  t.match(configError(['start', 'extra']), /unexpected argument "extra"/);
  const many = configError(['start', '--bogus', 'v', 'stray', '--listen']);
  t.match(many, /3 command-line problems/);
  t.notMatch(many, /unexpected argument "v"/, "an unknown flag's value is not reported again");
});

t.test('help lists every dedicated flag and its variable', async (t) => {
  const text = helpText('1.2.3');
  t.match(text, /^streamhouse 1\.2\.3/);
  for (const k of CONFIG_KEYS) {
    if (k.flag === null) continue;
    t.match(text, k.flag);
    t.match(text, k.env);
  }
  t.match(text, '--config FILE');
  t.match(text, 'STREAMHOUSE_CONFIG');
});
