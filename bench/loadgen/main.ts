/**
 * Load generator command line: drive a running broker (this project's or any Kafka broker) with
 * produce or fetch load and print records/s, MB/s and request latency percentiles.
 *
 *   node dist/bench/loadgen/main.js produce --bootstrap 127.0.0.1:9092 [--record-bytes 100]
 *        [--batch-bytes 65536] [--connections 4] [--in-flight 8] [--partitions 4]
 *        [--partitions-per-request 1] [--acks -1] [--seconds 10] [--warmup 2] [--rate RECORDS_PER_S]
 *        [--max-records N] [--topic loadgen] [--api-version 9]
 *   node dist/bench/loadgen/main.js consume --bootstrap 127.0.0.1:9092 [--mode replay|follow]
 *        [--start-offset 0] [--connections 4] [--in-flight 8] [--partition-max-bytes 1048576]
 *        [--max-wait-ms 500] [--seconds 10] [--warmup 2] [--topic loadgen] [--api-version 12]
 *
 * Run the generator on other cores than the broker when you can: it is one Node process.
 */
import { CONSUME_DEFAULTS, runConsume } from './consume.js';
import { PRODUCE_DEFAULTS, runProduce } from './produce.js';
import { summary } from './stats.js';

function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function num(args: readonly string[], name: string, fallback: number): number {
  const v = flag(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got ${v}`);
  return n;
}

function bootstrap(args: readonly string[]): { host: string; port: number } {
  const b = flag(args, 'bootstrap') ?? '127.0.0.1:9092';
  const i = b.lastIndexOf(':');
  return { host: b.slice(0, i), port: Number(b.slice(i + 1)) };
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'produce') {
    const d = PRODUCE_DEFAULTS;
    const rate = flag(args, 'rate');
    const maxRecords = flag(args, 'max-records');
    const acks = num(args, 'acks', d.acks);
    if (acks !== -1 && acks !== 1) throw new Error('--acks must be -1 or 1');
    const r = await runProduce({
      ...bootstrap(args),
      topic: flag(args, 'topic') ?? d.topic,
      partitions: num(args, 'partitions', d.partitions),
      recordBytes: num(args, 'record-bytes', d.recordBytes),
      batchBytes: num(args, 'batch-bytes', d.batchBytes),
      partitionsPerRequest: num(args, 'partitions-per-request', d.partitionsPerRequest),
      connections: num(args, 'connections', d.connections),
      inFlight: num(args, 'in-flight', d.inFlight),
      acks,
      seconds: num(args, 'seconds', d.seconds),
      warmupSeconds: num(args, 'warmup', d.warmupSeconds),
      rate: rate === undefined ? null : Number(rate),
      maxRecords: maxRecords === undefined ? null : Number(maxRecords),
      apiVersion: num(args, 'api-version', d.apiVersion),
    });
    console.log(`produce: ${r.recordsPerBatch} records per ${r.batchBytes}-byte batch`);
    console.log(summary(r));
    return;
  }
  if (command === 'consume') {
    const d = CONSUME_DEFAULTS;
    const mode = flag(args, 'mode') ?? d.mode;
    if (mode !== 'replay' && mode !== 'follow') throw new Error('--mode must be replay or follow');
    const r = await runConsume({
      ...bootstrap(args),
      topic: flag(args, 'topic') ?? d.topic,
      partitions: num(args, 'partitions', d.partitions),
      mode,
      startOffset: num(args, 'start-offset', d.startOffset),
      connections: num(args, 'connections', d.connections),
      inFlight: num(args, 'in-flight', d.inFlight),
      partitionMaxBytes: num(args, 'partition-max-bytes', d.partitionMaxBytes),
      maxWaitMs: num(args, 'max-wait-ms', d.maxWaitMs),
      seconds: num(args, 'seconds', d.seconds),
      warmupSeconds: num(args, 'warmup', d.warmupSeconds),
      apiVersion: num(args, 'api-version', d.apiVersion),
    });
    console.log(summary(r));
    return;
  }
  console.error(
    'usage: loadgen produce|consume --bootstrap HOST:PORT [options] (see the header of bench/loadgen/main.ts)',
  );
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
