// CRC-32C throughput of the native (@node-rs/crc32) and pure-JS (slicing-by-8) implementations
// over 1 MiB and 64 KiB buffers. Run: npx tsc -p . && node dist/bench/crc32c.js
import { crc32cImplementation, crc32cJs, crc32cNative } from '../protocol/records/crc32c.js';

const TRIALS = 9;
const TRIAL_MS = 150;

/** GB/s of `fn` over `buf`: the best and the median of TRIALS timed runs (the best is the least disturbed). */
function gbPerSecond(fn: (buf: Uint8Array) => number, buf: Uint8Array): { best: number; median: number } {
  let sink = 0;
  for (let i = 0; i < 20; i++) sink ^= fn(buf); // warm-up
  const rates: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    let iterations = 0;
    const started = process.hrtime.bigint();
    let elapsedNs = 0;
    do {
      for (let i = 0; i < 8; i++) sink ^= fn(buf);
      iterations += 8;
      elapsedNs = Number(process.hrtime.bigint() - started);
    } while (elapsedNs < TRIAL_MS * 1e6);
    rates.push((iterations * buf.length) / elapsedNs);
  }
  if (sink === 0.5) console.log(sink); // keep the result alive
  rates.sort((a, b) => b - a);
  return { best: rates[0]!, median: rates[TRIALS >> 1]! };
}

const sizes: [string, number][] = [
  ['1 MiB', 1 << 20],
  ['64 KiB', 64 << 10],
];
const impls: [string, (buf: Uint8Array) => number][] = [['js (slicing-by-8)', (b) => crc32cJs(b)]];
if (crc32cNative) impls.unshift(['native (@node-rs/crc32)', crc32cNative]);

console.log(`CRC-32C throughput, GB/s (10^9 bytes/s); active implementation: ${crc32cImplementation}`);
console.log(`node ${process.version}, ${process.arch}; best and median of ${TRIALS} runs of ${TRIAL_MS} ms`);
for (const [sizeLabel, size] of sizes) {
  const buf = new Uint8Array(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 2654435761) >>> 24;
  for (const [implLabel, fn] of impls) {
    const { best, median } = gbPerSecond(fn, buf);
    console.log(
      `  ${sizeLabel.padEnd(7)} ${implLabel.padEnd(24)} best ${best.toFixed(2)} GB/s, median ${median.toFixed(2)} GB/s`,
    );
  }
}
