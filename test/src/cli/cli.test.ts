/**
 * The `streamhouse` bin as a user runs it: `node dist/src/cli/main.js start ...` in a child process.
 * A started broker logs its bound addresses, takes produce requests from kafkajs and serves the admin
 * endpoints; a second broker on the same data directory fails with SH_DATA_DIR_LOCKED (exit 1) and
 * leaves the first one running; SIGTERM and SIGINT stop it cleanly (exit 0); configuration errors from
 * flags, environment and config file exit 2 naming the key and its source.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import t from 'tap';

const { Kafka, logLevel } = kafkajs;
type Tap = typeof t;

t.setTimeout(120_000);

// dist/test/src/cli/ → dist/src/cli/main.js
const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The test's environment without STREAMHOUSE_* settings or tap's hooks, plus `extra`. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STREAMHOUSE_')) env[k] = v;
  // tap injects its process-tracking hooks through NODE_OPTIONS; a user's shell does not.
  delete env.NODE_OPTIONS;
  return { ...env, ...extra };
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface CliProcess {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
}

function spawnCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): CliProcess {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd,
    env: childEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const exited = new Promise<Exit>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { proc, stdout: () => out, stderr: () => err, exited };
}

interface CliRun extends Exit {
  stdout: string;
  stderr: string;
  ms: number;
}

/** Diagnostics tap prints only when an exit-code assertion fails. */
const how = (r: CliRun) => ({ signal: r.signal, ms: r.ms, stderr: r.stderr });

/** Runs a command that should end by itself; fails the test if it takes longer than timeoutMs. */
async function runCli(
  t: Pick<Tap, 'teardown'>,
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<CliRun> {
  const t0 = Date.now();
  const cli = spawnCli(args, opts);
  const timer = setTimeout(() => cli.proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  t.teardown(() => {
    if (cli.proc.exitCode === null && cli.proc.signalCode === null) cli.proc.kill('SIGKILL');
  });
  const exit = await cli.exited;
  clearTimeout(timer);
  return { ...exit, stdout: cli.stdout(), stderr: cli.stderr(), ms: Date.now() - t0 };
}

/** The parsed JSON log lines of a broker's stdout. */
function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

interface StartedBroker extends CliProcess {
  /** The 'StreamHouse broker started' log line. */
  started: Record<string, unknown>;
  listen: string;
  admin: string | null;
}

async function startCli(
  t: Pick<Tap, 'teardown'>,
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): Promise<StartedBroker> {
  const cli = spawnCli(['start', ...args], opts);
  t.teardown(() => {
    if (cli.proc.exitCode === null && cli.proc.signalCode === null) cli.proc.kill('SIGKILL');
  });
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no startup line within 60 s; stderr: ${cli.stderr()}`)),
      60_000,
    );
    const check = () => {
      const line = logLines(cli.stdout()).find((l) => l.msg === 'StreamHouse broker started');
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    cli.proc.stdout!.on('data', check);
    void cli.exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`exited (${e.code ?? e.signal}) before starting; stderr: ${cli.stderr()}`));
    });
  });
  return {
    ...cli,
    started,
    listen: started.listen as string,
    admin: (started.admin as string | null) ?? null,
  };
}

async function stopWith(
  t: Pick<Tap, 'equal' | 'ok'>,
  broker: StartedBroker,
  signal: NodeJS.Signals,
): Promise<void> {
  const t0 = Date.now();
  broker.proc.kill(signal);
  const exit = await broker.exited;
  const tookMs = Date.now() - t0;
  t.equal(exit.code, 0, `${signal}: exit code 0`);
  t.ok(tookMs < 5_000, `${signal}: stopped in ${tookMs} ms`);
  const messages = logLines(broker.stdout()).map((l) => l.msg);
  t.ok(messages.includes('StreamHouse broker stopped'), `${signal}: logged the stop`);
}

const kafkaFor = (bootstrap: string) =>
  new Kafka({
    clientId: 'cli-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3 },
  });

t.test('start: produce, admin endpoints, data dir lock, SIGTERM, restart, SIGINT', async (t) => {
  const dir = t.testdir();
  const dataDir = join(dir, 'data');
  const args = ['--data-dir', dataDir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'];
  const broker = await startCli(t, args, { cwd: dir });

  // The startup line: pino JSON with the bound addresses.
  t.equal(broker.started.level, 30, 'info level');
  t.match(broker.listen, /^127\.0\.0\.1:[1-9]\d*$/, `bound Kafka listener ${broker.listen}`);
  t.match(broker.admin, /^127\.0\.0\.1:[1-9]\d*$/, `bound admin ${broker.admin}`);
  t.equal(broker.started.dataDir, dataDir);
  t.match(broker.started.metadata, /^sqlite:\/\/.*metadata\.db$/, 'embedded SQLite metadata by default');
  t.match(broker.started.objectStore, /^file:\/\/.*objects$/, 'local object directory by default');

  // A real client can produce.
  const kafka = kafkaFor(broker.listen);
  const producer = kafka.producer();
  await producer.connect();
  const sent = await producer.send({
    topic: 'cli-test',
    messages: [{ key: 'k', value: 'hello' }, { value: 'world' }],
  });
  await producer.disconnect();
  t.equal(sent[0]?.errorCode, 0, 'produce succeeded');
  t.equal(sent[0]?.baseOffset, '0', 'at offset 0');

  // Admin endpoints.
  const base = `http://${broker.admin}`;
  const healthz = await fetch(`${base}/healthz`);
  t.equal(healthz.status, 200, '/healthz 200');
  const readyz = await fetch(`${base}/readyz`);
  t.equal(readyz.status, 200, '/readyz 200');
  t.equal((await readyz.text()).trim(), 'ready');
  const metrics = await fetch(`${base}/metrics`);
  t.equal(metrics.status, 200, '/metrics 200');
  t.match(await metrics.text(), /streamhouse_requests_total\{api="Produce"\} [1-9]/, 'Produce is counted');

  // A second broker on the same data directory is refused, and the first keeps running.
  const second = await runCli(t, ['start', ...args], { cwd: dir });
  t.equal(second.code, 1, 'second start exits 1', how(second));
  t.match(second.stderr, /SH_DATA_DIR_LOCKED/, 'with SH_DATA_DIR_LOCKED');
  t.match(second.stderr, /runbooks\/broker-errors\.md#sh_data_dir_locked/, 'and the runbook pointer');
  t.ok(existsSync(join(dataDir, 'LOCK')), 'the first broker still holds the lock');
  t.equal((await fetch(`${base}/readyz`)).status, 200, 'the first broker is still ready');

  await stopWith(t, broker, 'SIGTERM');
  t.notOk(existsSync(join(dataDir, 'LOCK')), 'lock released');

  // Restart on the same directory: the records are still there. SIGINT (Ctrl-C) stops it too.
  const again = await startCli(t, args, { cwd: dir });
  const admin = kafkaFor(again.listen).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets('cli-test');
  await admin.disconnect();
  t.same(
    offsets.map((o) => [o.partition, o.high]),
    [[0, '2']],
    'high watermark 2 after restart',
  );
  await stopWith(t, again, 'SIGINT');
});

t.test('a config file and the environment configure the broker', async (t) => {
  const dir = t.testdir({
    'broker.properties': [
      '# throwaway broker',
      'data.dir=none',
      'metadata=memory://',
      'listen=127.0.0.1:0',
      'admin=off',
    ].join('\n'),
  });
  const broker = await startCli(t, ['--config', 'broker.properties'], {
    cwd: dir,
    env: { STREAMHOUSE_OBJECT_STORE: 'memory://' },
  });
  t.equal(broker.admin, null, 'admin off (from the file)');
  t.equal(broker.started.dataDir, null, 'no data dir');
  t.equal(broker.started.objectStore, 'memory://', 'object store from the environment');
  await stopWith(t, broker, 'SIGTERM');
  t.notOk(existsSync(join(dir, 'streamhouse-data')), 'nothing written to the default data dir');
});

t.test('configuration errors exit 2 and name key, source and fix', async (t) => {
  const dir = t.testdir({
    'bad.properties': 'node.id=1\nlisten=nope\n',
    'bad.json': '{"num.partitions": 0}',
  });

  const opts = { cwd: dir };
  // Independent processes: run them side by side.
  const [badFlag, unknownFlag, badEnv, unknownEnv, badFile, badJson, missingFile] = await Promise.all([
    runCli(t, ['start', '--data-dir', join(dir, 'd'), '--listen', 'abc'], opts),
    runCli(t, ['start', '--lissten', '127.0.0.1:0'], opts),
    runCli(t, ['start'], { ...opts, env: { STREAMHOUSE_NUM_PARTITIONS: 'zero' } }),
    runCli(t, ['start'], { ...opts, env: { STREAMHOUSE_LISTN: '127.0.0.1:0' } }),
    runCli(t, ['start', '--config', 'bad.properties'], opts),
    runCli(t, ['start', '--config', join(dir, 'bad.json'), '--set', 'node.id=x'], opts),
    runCli(t, ['start', '--config', 'nope.json'], opts),
  ]);

  t.equal(badFlag.code, 2, 'bad flag value: exit 2', how(badFlag));
  t.match(
    badFlag.stderr,
    /^streamhouse: SH_CONFIG_INVALID: listen=abc \(from --listen\): expected HOST:PORT, e\.g\. 127\.0\.0\.1:9092/,
  );
  t.notOk(existsSync(join(dir, 'd')), 'nothing was created');

  t.equal(unknownFlag.code, 2, 'unknown flag: exit 2', how(unknownFlag));
  t.match(unknownFlag.stderr, /unknown flag --lissten: did you mean --listen\?/);

  t.equal(badEnv.code, 2, 'bad env value: exit 2', how(badEnv));
  t.match(badEnv.stderr, /num\.partitions=zero \(from env STREAMHOUSE_NUM_PARTITIONS\): expected an integer/);

  t.equal(unknownEnv.code, 2, 'unknown env variable: exit 2', how(unknownEnv));
  t.match(unknownEnv.stderr, /STREAMHOUSE_LISTN: did you mean STREAMHOUSE_LISTEN\?/);

  t.equal(badFile.code, 2, 'bad file value: exit 2', how(badFile));
  t.match(badFile.stderr, /listen=nope \(from config file .*bad\.properties:2\): expected HOST:PORT/);

  t.equal(badJson.code, 2, 'two bad values: exit 2', how(badJson));
  t.match(badJson.stderr, /2 configuration problems/);
  t.match(badJson.stderr, /num\.partitions=0 \(from config file .*bad\.json\): 0 is out of range/);
  t.match(badJson.stderr, /node\.id=x \(from --set\)/);

  t.equal(missingFile.code, 2, 'missing config file: exit 2', how(missingFile));
  t.match(missingFile.stderr, /config file .*nope\.json \(from --config\) cannot be read \(ENOENT\)/);
});

t.test('a port in use fails with SH_LISTEN_FAILED, exit 1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;
  const dir = t.testdir();
  const r = await runCli(
    t,
    ['start', '--data-dir', join(dir, 'd'), '--listen', `127.0.0.1:${port}`, '--admin', 'off'],
    { cwd: dir },
  );
  t.equal(r.code, 1, 'exit 1', how(r));
  t.match(r.stderr, new RegExp(`SH_LISTEN_FAILED: Kafka listener 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  t.notOk(existsSync(join(dir, 'd', 'LOCK')), 'the failed start released its lock');
});

t.test('help, version, usage errors', async (t) => {
  const dir = t.testdir();
  const helps = [['--help'], ['help'], ['start', '--help']];
  const versions = [['version'], ['--version']];
  const runs = await Promise.all([...helps, ...versions].map((args) => runCli(t, args, { cwd: dir })));
  helps.forEach((args, i) => {
    const r = runs[i]!;
    t.equal(r.code, 0, `${args.join(' ')}: exit 0`);
    t.match(r.stdout, /streamhouse start \[options\]/);
    t.match(r.stdout, /--data-dir DIR/);
    t.match(r.stdout, /--set KEY=VALUE/);
    t.match(r.stdout, /docs\/configuration\.md/);
  });
  versions.forEach((args, i) => {
    const r = runs[helps.length + i]!;
    t.equal(r.code, 0, `${args.join(' ')}: exit 0`);
    t.equal(r.stdout, `streamhouse ${PACKAGE.version} (node ${process.version})\n`);
  });
  const [none, typo] = await Promise.all([runCli(t, [], { cwd: dir }), runCli(t, ['strat'], { cwd: dir })]);
  t.equal(none.code, 2, 'no command: exit 2', how(none));
  t.match(none.stderr, /missing command/);
  t.equal(typo.code, 2, 'unknown command: exit 2', how(typo));
  t.match(typo.stderr, /unknown command strat \(did you mean start\?\)/);
});

t.test('the bin starts with a shebang line', async (t) => {
  t.match(readFileSync(MAIN, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});
