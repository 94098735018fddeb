/**
 * A broker to be killed: the child process of compat-tests/crash-recovery.test.ts.
 *
 *   node dist/compat-tests/support/crash-broker.js DATA_DIR PORT
 *
 * Starts a broker on DATA_DIR (real WAL, SQLite metadata, local object store) listening on
 * 127.0.0.1:PORT (0 = any), tuned to upload often (tiny objects, 25 ms max age, small WAL segments,
 * small hot tail so reads come back from objects), then prints `READY <bootstrap>` on stdout.
 * Logs (pino JSON, level info) go to stderr, where the test looks for the WAL replay and
 * truncation lines.
 *
 * CRASH_KILL_AT=<stage>:<n> makes the broker SIGKILL itself at an exact point of its n-th upload:
 *   put:n     the object is stored, its index is not committed, the WAL is not checkpointed
 *   commit:n  the index is committed, the WAL checkpoint has not moved
 *   upload:n  the upload finished (checkpoint written, hot tail evicted)
 * It prints `KILLING <stage> <n>` (synchronously) first. These hooks wrap methods of the stores the
 * LogStore holds; `objects` is a private field of LogStore, reached here on purpose (test only).
 */
import { writeSync } from 'node:fs';
import pino from 'pino';
import { startBroker } from '../../src/broker/broker.js';
import type { ObjectStore } from '../../src/tiering/object-store.js';

const [dataDir, portArg] = process.argv.slice(2);
if (dataDir === undefined) {
  writeSync(2, 'usage: crash-broker DATA_DIR [PORT]\n');
  process.exit(2);
}

const broker = await startBroker({
  listen: { host: '127.0.0.1', port: Number(portArg ?? 0) },
  admin: null,
  dataDir,
  numPartitions: 3,
  uploadTargetBytes: 16 * 1024,
  uploadMaxAgeMs: 25,
  walSegmentBytes: 1024 * 1024,
  hotTailMaxBytes: 64 * 1024,
  logLevel: 'info',
  logger: pino({ level: 'info', base: { svc: 'streamhouse' } }, pino.destination({ dest: 2, sync: true })),
});

const killAt = /^(put|commit|upload):(\d+)$/.exec(process.env.CRASH_KILL_AT ?? '');
if (killAt !== null) {
  const stage = killAt[1]!;
  const at = Number(killAt[2]);
  let count = 0;
  const maybeDie = (here: string) => {
    if (here !== stage || ++count !== at) return;
    writeSync(1, `KILLING ${stage} ${at}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
  const log = broker.context.log as unknown as { objects: ObjectStore };
  const objects = log.objects;
  if (typeof objects?.put !== 'function')
    throw new Error('LogStore.objects not found: update crash-broker.ts');
  const put = objects.put.bind(objects);
  objects.put = async (key, body) => {
    await put(key, body);
    maybeDie('put');
  };
  const metadata = broker.context.metadata;
  const commit = metadata.commitObject.bind(metadata);
  metadata.commitObject = async (c) => {
    const r = await commit(c);
    maybeDie('commit');
    return r;
  };
  const onUpload = broker.metrics.onUpload.bind(broker.metrics);
  broker.metrics.onUpload = (bytes, durationMs) => {
    onUpload(bytes, durationMs);
    maybeDie('upload');
  };
}

writeSync(1, `READY ${broker.bootstrap}\n`);

// A graceful stop on SIGTERM (the final, clean run); SIGKILL needs no handler.
process.on('SIGTERM', () => {
  broker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
