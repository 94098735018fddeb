/**
 * Broker consume benchmark (a script, not a test):
 *   npm run build && node dist/bench/broker-consume.js [--seconds 10] [--warmup 2] [--max-warmup 60]
 *     [--record-bytes 100,1024] [--batch-bytes 16384,262144] [--fill-mib 128] [--connections 4]
 *     [--in-flight 8] [--partitions 4] [--partition-max-bytes 1048576] [--follow-rate RECORDS_PER_S]
 *     [--progress] [--cpu-prof DIR] [--priority -10] [--broker-json '{...}'] [--dir DATA_ROOT] [--json FILE]
 *
 * For each record size and batch size: a fresh broker in a child process (temporary data dir, WAL
 * fsync on) is filled with --fill-mib of records by the produce generator, then the consume generator
 * replays that range with pipelined Fetch requests (one partition per connection, wrapping around at
 * the high watermark) for --seconds. The data is the hot tail (in broker memory: below
 * hotTailMaxBytes), so this measures the broker's fetch path, not the object store. Records are
 * counted from batch headers.
 *
 * --follow-rate adds a tailing scenario: the produce generator writes at that rate while consumers
 * follow the high watermark (long poll when caught up), both in this one process.
 */
import type { BrokerProcess } from './loadgen/broker-process.js';
import { CONSUME_DEFAULTS, type ConsumeOptions, runConsume } from './loadgen/consume.js';
import {
  brokerOverridesText,
  brokerWindow,
  diskProbe,
  flag,
  listFlag,
  machine,
  numFlag,
  printHeader,
  printRow,
  type ScenarioResult,
  withBroker,
  writeJson,
} from './loadgen/harness.js';
import { PRODUCE_DEFAULTS, runProduce } from './loadgen/produce.js';

const seconds = numFlag('seconds', 10);
const warmupSeconds = numFlag('warmup', 2);
const maxWarmupSeconds = numFlag('max-warmup', 60);
const recordSizes = listFlag('record-bytes', [100, 1024]);
const batchSizes = listFlag('batch-bytes', [16 * 1024, 256 * 1024]);
const fillBytes = numFlag('fill-mib', 128) * 1024 * 1024;
const connections = numFlag('connections', 4);
const inFlight = numFlag('in-flight', 8);
const partitions = numFlag('partitions', 4);
const partitionMaxBytes = numFlag('partition-max-bytes', 1024 * 1024);

function size(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : `${n / 1024} KiB`;
}

async function fill(broker: BrokerProcess, recordBytes: number, batchBytes: number): Promise<number> {
  const r = await runProduce({
    ...PRODUCE_DEFAULTS,
    host: broker.host,
    port: broker.port,
    partitions,
    connections: partitions,
    inFlight: 4,
    recordBytes,
    batchBytes,
    seconds: 600,
    warmupSeconds: 0,
    maxRecords: Math.ceil(fillBytes / (recordBytes + 8)),
  });
  if (r.errors > 0) throw new Error(`filling the log failed: ${r.firstError}`);
  return r.records;
}

async function consume(
  broker: BrokerProcess,
  name: string,
  notes: string,
  o: Partial<ConsumeOptions>,
): Promise<ScenarioResult> {
  const window = brokerWindow(broker, name);
  const stats = await runConsume({
    ...CONSUME_DEFAULTS,
    host: broker.host,
    port: broker.port,
    partitions,
    connections,
    inFlight,
    partitionMaxBytes,
    seconds,
    warmupSeconds,
    maxWarmupSeconds,
    onWindow: window.onWindow,
    onProgress: window.onProgress,
    ...o,
  });
  const result: ScenarioResult = { name, stats, broker: await window.figures(), notes };
  printRow(result);
  return result;
}

async function main(): Promise<void> {
  printHeader('Broker consume (Fetch v12, hot tail, records counted from batch headers)', [
    machine(),
    diskProbe(),
    `${connections} connections × ${inFlight} fetches in flight, ${partitions} partitions (one per connection), partition max ${size(partitionMaxBytes)}, ${size(fillBytes)} filled first, ${seconds} s measured after ${warmupSeconds} s warm-up`,
    `broker options: ${brokerOverridesText()}`,
  ]);
  const results: ScenarioResult[] = [];
  for (const recordBytes of recordSizes) {
    for (const batchBytes of batchSizes) {
      await withBroker(async (broker) => {
        const filled = await fill(broker, recordBytes, batchBytes);
        results.push(
          await consume(
            broker,
            `replay hot tail, ${recordBytes} B records, ${size(batchBytes)} batches`,
            `${filled.toLocaleString('en-US')} records filled`,
            { mode: 'replay' },
          ),
        );
      });
    }
  }

  const followRate = flag('follow-rate');
  if (followRate !== undefined) {
    const recordBytes = recordSizes[0]!;
    const batchBytes = batchSizes[0]!;
    await withBroker(async (broker) => {
      const producing = runProduce({
        ...PRODUCE_DEFAULTS,
        host: broker.host,
        port: broker.port,
        partitions,
        connections: partitions,
        recordBytes,
        batchBytes,
        seconds: seconds + 1,
        warmupSeconds: warmupSeconds + 0.5,
        rate: Number(followRate),
      });
      results.push(
        await consume(
          broker,
          `follow while producing ${Number(followRate).toLocaleString('en-US')}/s, ${recordBytes} B`,
          "figures are the consumers'; broker CPU includes the produce load",
          { mode: 'follow' },
        ),
      );
      await producing;
    });
  }
  writeJson(results);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
