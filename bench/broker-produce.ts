/**
 * Broker produce benchmark (a script, not a test):
 *   npm run build && node dist/bench/broker-produce.js [--seconds 10] [--warmup 2] [--max-warmup 60]
 *     [--record-bytes 100,1024] [--batch-bytes 16384,262144,1048576] [--connections 4] [--in-flight 8]
 *     [--partitions 4] [--half-rate-only RECORDS_PER_S | --no-half-rate] [--progress]
 *     [--cpu-prof DIR] [--priority -10] [--broker-json '{...}'] [--dir DATA_ROOT] [--json FILE]
 *
 * For each record size and batch size: a fresh broker in a child process on a temporary data dir,
 * WAL fsync on, acks=-1, driven as fast as it answers by the load generator (bench/loadgen/), which
 * speaks the protocol directly with pre-built batches. The window opens after the warm-up once the
 * broker's RSS has stopped growing (its hot tail is full and memory is being reused), so figures are
 * steady state. Then, per record size, the same load at half the best rate measured (rate-limited,
 * latency from each request's scheduled time) for the p99. Prints records/s, MB/s, request latency,
 * broker CPU (cores), generator CPU, broker peak RSS (VmRSS) and produce requests per WAL fsync.
 */
import {
  brokerOverridesText,
  brokerWindow,
  diskProbe,
  flag,
  hasFlag,
  listFlag,
  machine,
  numFlag,
  printHeader,
  printRow,
  type ScenarioResult,
  withBroker,
  writeJson,
} from './loadgen/harness.js';
import { PRODUCE_DEFAULTS, type ProduceOptions, runProduce } from './loadgen/produce.js';

const seconds = numFlag('seconds', 10);
const warmupSeconds = numFlag('warmup', 2);
const maxWarmupSeconds = numFlag('max-warmup', 60);
const recordSizes = listFlag('record-bytes', [100, 1024]);
const batchSizes = listFlag('batch-bytes', [16 * 1024, 256 * 1024, 1024 * 1024]);
const connections = numFlag('connections', 4);
const inFlight = numFlag('in-flight', 8);
const partitions = numFlag('partitions', 4);

function size(n: number): string {
  return n >= 1024 * 1024 ? `${n / (1024 * 1024)} MiB` : `${n / 1024} KiB`;
}

function scenario(name: string, o: Partial<ProduceOptions>): Promise<ScenarioResult> {
  return withBroker(async (broker) => {
    const window = brokerWindow(broker, name);
    const stats = await runProduce({
      ...PRODUCE_DEFAULTS,
      host: broker.host,
      port: broker.port,
      partitions,
      connections,
      inFlight,
      seconds,
      warmupSeconds,
      maxWarmupSeconds,
      onWindow: window.onWindow,
      warmedUp: window.warmedUp,
      onProgress: window.onProgress,
      ...o,
    });
    const result: ScenarioResult = {
      name,
      stats,
      broker: await window.figures(),
      notes: `${stats.recordsPerBatch} records of ${o.recordBytes} B per ${stats.batchBytes}-byte batch`,
    };
    printRow(result);
    return result;
  });
}

async function main(): Promise<void> {
  printHeader('Broker produce (acks=-1, WAL fsync on, compression none)', [
    machine(),
    diskProbe(),
    `${connections} connections × ${inFlight} requests in flight, ${partitions} partitions, 1 partition (one batch) per request, ${seconds} s measured after ≥ ${warmupSeconds} s warm-up (until broker RSS is steady)`,
    `broker options: ${brokerOverridesText()}`,
  ]);
  const results: ScenarioResult[] = [];
  const fixedHalf = flag('half-rate-only');
  for (const recordBytes of recordSizes) {
    let best: ScenarioResult | null = null;
    let bestBatch = batchSizes[0]!;
    if (fixedHalf === undefined) {
      for (const batchBytes of batchSizes) {
        const r = await scenario(`max rate, ${recordBytes} B records, ${size(batchBytes)} batches`, {
          recordBytes,
          batchBytes,
        });
        results.push(r);
        if (best === null || r.stats.records / r.stats.seconds > best.stats.records / best.stats.seconds) {
          best = r;
          bestBatch = batchBytes;
        }
      }
    }
    const half =
      fixedHalf !== undefined
        ? Number(fixedHalf)
        : best === null
          ? 0
          : best.stats.records / best.stats.seconds / 2;
    if (half > 0 && !hasFlag('no-half-rate')) {
      const rate = Math.round(half);
      results.push(
        await scenario(`half rate ${rate.toLocaleString('en-US')}/s, ${recordBytes} B, ${size(bestBatch)}`, {
          recordBytes,
          batchBytes: bestBatch,
          rate,
        }),
      );
    }
  }
  writeJson(results);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
