/**
 * A broker to be killed in the middle of a transaction commit: the child process of
 * compat-tests/transactions-crash.test.ts.
 *
 *   node dist/compat-tests/support/txn-crash-broker.js DATA_DIR PORT
 *
 * Starts a broker on DATA_DIR listening on 127.0.0.1:PORT (0 = any), with the overrides in
 * STREAMHOUSE_COMPAT_CONFIG (JSON), then prints `READY <bootstrap>` on stdout. Logs go to stderr.
 *
 * TXN_KILL_AT makes it SIGKILL itself during the first COMMIT it completes:
 *   before-markers  the coordinator persisted PrepareCommit and asks the log for the markers: none written
 *   after-markers   every COMMIT marker is durable; the group offsets and CompleteCommit are not
 * It prints `KILLING <stage>` (synchronously) first. The hook replaces LogStore.writeTxnMarkers on
 * the broker's LogStore instance (the transaction coordinator calls it through that object).
 */
import { writeSync } from 'node:fs';
import pino from 'pino';
import { startBroker } from '../../src/broker/broker.js';
import type { BrokerConfig } from '../../src/config/broker-config.js';

const [dataDir, portArg] = process.argv.slice(2);
if (dataDir === undefined) {
  writeSync(2, 'usage: txn-crash-broker DATA_DIR [PORT]\n');
  process.exit(2);
}
const overrides = JSON.parse(process.env.STREAMHOUSE_COMPAT_CONFIG ?? '{}') as Partial<BrokerConfig>;

const broker = await startBroker({
  ...overrides,
  listen: { host: '127.0.0.1', port: Number(portArg ?? 0) },
  admin: null,
  dataDir,
  logLevel: 'info',
  logger: pino({ level: 'info', base: { svc: 'streamhouse' } }, pino.destination({ dest: 2, sync: true })),
});

const stage = process.env.TXN_KILL_AT ?? '';
if (stage !== '') {
  if (stage !== 'before-markers' && stage !== 'after-markers') throw new Error(`bad TXN_KILL_AT ${stage}`);
  const log = broker.context.log;
  if (typeof log.writeTxnMarkers !== 'function')
    throw new Error('LogStore.writeTxnMarkers not found: update txn-crash-broker.ts');
  const original = log.writeTxnMarkers.bind(log);
  const die = () => {
    writeSync(1, `KILLING ${stage}\n`);
    process.kill(process.pid, 'SIGKILL');
  };
  log.writeTxnMarkers = async (markers, producerId, producerEpoch, commit) => {
    if (commit && stage === 'before-markers') die();
    const result = await original(markers, producerId, producerEpoch, commit);
    if (commit && stage === 'after-markers') die();
    return result;
  };
}

writeSync(1, `READY ${broker.bootstrap}\n`);

process.on('SIGTERM', () => {
  broker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
