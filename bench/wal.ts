/**
 * WAL benchmark (a script, not a test): `npx tsc -p . && node dist/bench/wal.js [--seconds 3] [--dir /path]`
 *
 * 1. fdatasync probe: 4 KiB write + fdatasync into an extending file, a zero-filled file and a recycled
 *    file — the measurement behind the WAL's segment preparation choice.
 * 2. Append matrix: payloads of 1 KiB, 16 KiB, 256 KiB from 1, 16 and 256 appenders that each keep one
 *    append in flight; a checkpointer advances the checkpoint every 100 ms (as the uploader would), so
 *    segments roll and are recycled during the run. fsync on.
 * 3. Segment preparation compared under load: zero-fill + recycle (default) vs zero-fill only vs none.
 *
 * Prints appends/s, payload MB/s, fsyncs/s, entries per fsync and append latency p50/p99/p99.9.
 * `--only probe|matrix|prep` runs one part.
 */
import fs, { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Histogram } from 'hdr-histogram-js';
import * as hdr from 'hdr-histogram-js';
import { type WalOptions, WriteAheadLog } from '../src/log/wal/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const SECONDS = Number(arg('seconds', '3'));
/** `probe`, `matrix` or `prep` to run one part only. */
const ONLY = arg('only', 'all');
const ROOT = mkdtempSync(join(arg('dir', os.tmpdir()), 'streamhouse-wal-bench-'));

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

// ---------------------------------------------------------------------------------------------------------
// 1. fdatasync probe

const PROBE_BLOCKS = 500;
const PROBE_ROUNDS = 6;

/** 4 KiB pwrite + fdatasync at consecutive offsets of `path`; pushes each latency (ms) to `out`. */
function probe(path: string, prepare: (fd: number) => void, out: number[]): void {
  const fd = fs.openSync(path, fs.existsSync(path) ? 'r+' : 'w+');
  prepare(fd);
  const block = Buffer.alloc(4096, 0x5a);
  for (let i = 0; i < PROBE_BLOCKS; i++) {
    const start = process.hrtime.bigint();
    fs.writeSync(fd, block, 0, block.length, i * block.length);
    fs.fdatasyncSync(fd);
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  fs.closeSync(fd);
}

function percentiles(name: string, latencies: number[]): string {
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return `  ${name.padEnd(34)} p50 ${fmt(at(0.5), 3)} ms   p90 ${fmt(at(0.9), 3)} ms   p99 ${fmt(at(0.99), 3)} ms`;
}

/**
 * The variants run interleaved, round after round, so that load from other processes on a shared machine
 * hits them alike.
 */
function runProbe(): void {
  console.log(
    `\n4 KiB pwrite + fdatasync at consecutive offsets, ${PROBE_ROUNDS} interleaved rounds × ${PROBE_BLOCKS} blocks:`,
  );
  const dir = join(ROOT, 'probe');
  fs.mkdirSync(dir);
  const bytes = PROBE_BLOCKS * 4096;
  const zero = Buffer.alloc(1 << 20);
  const results: Record<string, number[]> = { extending: [], zeroFilled: [], recycled: [], sparse: [] };
  for (let round = 0; round < PROBE_ROUNDS; round++) {
    const extendPath = join(dir, `extend-${round}`);
    probe(extendPath, () => undefined, results.extending!);
    probe(
      join(dir, `zero-${round}`),
      (fd) => {
        for (let at = 0; at < bytes; at += zero.length) fs.writeSync(fd, zero, 0, zero.length, at);
        fs.fdatasyncSync(fd);
      },
      results.zeroFilled!,
    );
    const recycledPath = join(dir, `recycled-${round}`);
    fs.renameSync(extendPath, recycledPath);
    probe(recycledPath, () => undefined, results.recycled!);
    probe(
      join(dir, `sparse-${round}`),
      (fd) => {
        fs.ftruncateSync(fd, bytes);
        fs.fdatasyncSync(fd);
      },
      results.sparse!,
    );
  }
  console.log(percentiles('extending (empty file)', results.extending!));
  console.log(percentiles('zero-filled, fdatasynced before', results.zeroFilled!));
  console.log(percentiles('recycled (renamed written file)', results.recycled!));
  console.log(percentiles('ftruncate to size (sparse)', results.sparse!));
  const zeroStart = process.hrtime.bigint();
  const fd = fs.openSync(join(dir, 'zero64'), 'w');
  for (let at = 0; at < 64 << 20; at += zero.length) fs.writeSync(fd, zero, 0, zero.length, at);
  fs.fdatasyncSync(fd);
  fs.closeSync(fd);
  console.log(
    `  zero-filling one 64 MiB segment: ${fmt(Number(process.hrtime.bigint() - zeroStart) / 1e6, 1)} ms`,
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------
// 2./3. Append load

interface Result {
  appends: number;
  payloadBytes: number;
  fsyncs: number;
  seconds: number;
  /** Append latency in µs. */
  histogram: Histogram;
  recycled: number;
  zeroFilled: number;
  extending: number;
  rolls: number;
}

function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

async function load(
  payloadBytes: number,
  appenders: number,
  options: WalOptions,
  seconds: number,
): Promise<Result> {
  const dir = fs.mkdtempSync(join(ROOT, 'wal-'));
  const wal = await WriteAheadLog.open(dir, options);
  await warmUp(wal, options.segmentBytes ?? 64 << 20);
  const histogram = newHistogram();
  let stop = false;
  let appends = 0;
  let lastEnd = 0;
  const appender = async () => {
    const payload = [Buffer.alloc(64, 1), Buffer.alloc(payloadBytes - 64, 2)];
    while (!stop) {
      const start = process.hrtime.bigint();
      const r = await wal.append(payload);
      histogram.recordValue(Math.max(1, Math.round(Number(process.hrtime.bigint() - start) / 1000)));
      appends++;
      if (r.endLsn > lastEnd) lastEnd = r.endLsn;
    }
  };
  const checkpointer = setInterval(() => {
    if (lastEnd > wal.checkpointLsn) wal.checkpoint(lastEnd).catch((err) => console.error('checkpoint', err));
  }, 100);
  const before = { ...wal.stats };
  const started = process.hrtime.bigint();
  const running = Promise.all(Array.from({ length: appenders }, appender));
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  stop = true;
  await running;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(checkpointer);
  const stats = wal.stats;
  await wal.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    appends,
    payloadBytes: appends * payloadBytes,
    fsyncs: stats.fsyncs - before.fsyncs,
    seconds: elapsed,
    histogram,
    recycled: stats.recycledSegments - before.recycledSegments,
    zeroFilled: stats.zeroFilledSegments - before.zeroFilledSegments,
    extending: stats.extendingSegments - before.extendingSegments,
    rolls: stats.rolls - before.rolls,
  };
}

function merge(into: Result | undefined, r: Result): Result {
  if (!into) return r;
  into.histogram.add(r.histogram);
  r.histogram.destroy();
  return {
    appends: into.appends + r.appends,
    payloadBytes: into.payloadBytes + r.payloadBytes,
    fsyncs: into.fsyncs + r.fsyncs,
    seconds: into.seconds + r.seconds,
    histogram: into.histogram,
    recycled: into.recycled + r.recycled,
    zeroFilled: into.zeroFilled + r.zeroFilled,
    extending: into.extending + r.extending,
    rolls: into.rolls + r.rolls,
  };
}

/**
 * Brings a fresh WAL to its steady state before measuring: a fresh log's first segment is an empty file
 * (extending writes). Write 1.5 segments so that the log rolls onto a prepared file, checkpoint it all so
 * the first segment is recycled, and let background work settle.
 */
async function warmUp(wal: WriteAheadLog, segmentBytes: number): Promise<void> {
  const chunk = Buffer.alloc(1 << 20, 3);
  const pending = [];
  for (let written = 0; written < segmentBytes * 1.5; written += chunk.length)
    pending.push(wal.append([chunk]));
  await Promise.all(pending);
  await wal.checkpoint(wal.durableLsn);
  await new Promise((resolve) => setTimeout(resolve, 300));
}

function row(label: string, r: Result): string {
  const ms = (q: number) => r.histogram.getValueAtPercentile(q) / 1000;
  const line = [
    label.padEnd(22),
    fmt(r.appends / r.seconds).padStart(9),
    fmt(r.payloadBytes / r.seconds / 1e6, 1).padStart(8),
    fmt(r.fsyncs / r.seconds).padStart(8),
    fmt(r.appends / Math.max(1, r.fsyncs), 1).padStart(7),
    fmt(ms(50), 3).padStart(8),
    fmt(ms(99), 3).padStart(8),
    fmt(ms(99.9), 3).padStart(8),
    `${r.rolls}/${r.recycled}/${r.zeroFilled}/${r.extending}`.padStart(12),
  ].join(' ');
  r.histogram.destroy();
  return line;
}

const HEADER = `${'case'.padEnd(22)} ${'appends/s'.padStart(9)} ${'MB/s'.padStart(8)} ${'fsyncs/s'.padStart(8)} ${'ent/fs'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'p999 ms'.padStart(8)} ${'roll/rc/zf/ex'.padStart(12)}`;

async function main(): Promise<void> {
  console.log(
    `WAL benchmark — node ${process.version}, ${os.cpus().length} CPUs, dir ${ROOT}, ${SECONDS}s per case`,
  );
  if (ONLY === 'all' || ONLY === 'probe') runProbe();
  if (ONLY === 'all' || ONLY === 'matrix') await runMatrix();
  if (ONLY === 'all' || ONLY === 'prep') await runPreparation();
  console.log(
    '\nroll/rc/zf/ex = segment rolls / spares recycled / spares zero-filled / segments started empty (extending)',
  );
}

async function runMatrix(): Promise<void> {
  console.log('\nAppend matrix (64 MiB segments, zero-fill + recycle, fsync on, checkpoint every 100 ms):');
  console.log(HEADER);
  for (const size of [1024, 16 * 1024, 256 * 1024]) {
    for (const appenders of [1, 16, 256]) {
      console.log(row(`${size / 1024} KiB × ${appenders}`, await load(size, appenders, {}, SECONDS)));
    }
  }
}

async function runPreparation(): Promise<void> {
  const variants: [string, WalOptions][] = [
    ['zero-fill + recycle', { segmentBytes: 8 << 20 }],
    ['zero-fill, no recycle', { segmentBytes: 8 << 20, recycleSegments: false }],
    ['none (extending files)', { segmentBytes: 8 << 20, segmentPreparation: 'none', recycleSegments: false }],
  ];
  const cases: [string, number, number][] = [
    ['under load (16 KiB × 16)', 16 * 1024, 16],
    ['latency-bound (4 KiB × 1)', 4 * 1024, 1],
  ];
  for (const [title, size, appenders] of cases) {
    // Interleaved rounds, so that load from other processes on a shared machine hits the variants alike.
    const merged: (Result | undefined)[] = variants.map(() => undefined);
    for (let round = 0; round < 3; round++) {
      for (const [i, [, options]] of variants.entries()) {
        merged[i] = merge(merged[i], await load(size, appenders, options, SECONDS / 3));
      }
    }
    console.log(`\nSegment preparation, ${title}, 8 MiB segments (3 interleaved rounds):`);
    console.log(HEADER);
    for (const [i, [label]] of variants.entries()) console.log(row(label, merged[i]!));
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(ROOT, { recursive: true, force: true }));
