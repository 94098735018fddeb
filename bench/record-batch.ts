// Produce-path cost per byte: validateBatch + setBaseOffset + setPartitionLeaderEpoch over a 1 MiB
// set of 16 KiB batches (about 150 records of ~100 bytes each), with the parts shown separately.
// Run: npx tsc -p . && node dist/bench/record-batch.js
import {
  CRC_START_POS,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  splitBatches,
  validateBatch,
} from '../protocol/records/batch.js';
import { crc32c, crc32cImplementation } from '../protocol/records/crc32c.js';
import { buildRecordBatch, type RecordInput } from '../protocol/records/record.js';

const SET_BYTES = 1 << 20;
const BATCH_BYTES = 16 << 10;
const TRIALS = 9;
const TRIAL_MS = 150;

function makeRecords(approxBytes: number, valueBytes: number, seed: number): RecordInput[] {
  const records: RecordInput[] = [];
  let size = 0;
  for (let i = 0; size < approxBytes; i++) {
    const value = Buffer.alloc(valueBytes);
    for (let b = 0; b < valueBytes; b++) value[b] = 97 + ((i * 31 + b * 7 + seed) % 26);
    records.push({ key: `user-${(i * 7919 + seed) % 10_000}`, value, headers: [], timestampDelta: i });
    size += valueBytes + 20;
  }
  return records;
}

function makeSet(compression: 'none' | 'zstd', valueBytes: number): Buffer[] {
  const batches: Buffer[] = [];
  let total = 0;
  for (let seed = 0; total < SET_BYTES; seed++) {
    const batch = buildRecordBatch({
      baseTimestamp: 1_700_000_000_000,
      compression,
      producerId: 1000n,
      producerEpoch: 0,
      baseSequence: seed * 200,
      records: makeRecords(compression === 'none' ? BATCH_BYTES - 80 : BATCH_BYTES * 4, valueBytes, seed),
    });
    batches.push(batch);
    total += batch.length;
  }
  return batches;
}

/** Time `work` over the set: best and median GB/s of TRIALS runs (the best is the least disturbed). */
function measure(label: string, batches: Buffer[], work: (batch: Buffer, index: number) => void): void {
  const bytes = batches.reduce((n, b) => n + b.length, 0);
  for (let w = 0; w < 5; w++) batches.forEach(work);
  const rates: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    let rounds = 0;
    const started = process.hrtime.bigint();
    let elapsedNs = 0;
    do {
      for (let i = 0; i < batches.length; i++) work(batches[i]!, i);
      rounds++;
      elapsedNs = Number(process.hrtime.bigint() - started);
    } while (elapsedNs < TRIAL_MS * 1e6);
    rates.push((rounds * bytes) / elapsedNs);
  }
  rates.sort((a, b) => b - a);
  const best = rates[0]!;
  const median = rates[TRIALS >> 1]!;
  const usPerCall = bytes / batches.length / best / 1000;
  console.log(
    `  ${label.padEnd(60)} best ${best.toFixed(2).padStart(6)} GB/s (${usPerCall.toFixed(2)} µs per call), median ${median.toFixed(2)} GB/s`,
  );
}

function check(ok: boolean): void {
  if (!ok) throw new Error('benchmark batch failed validation');
}

let nextOffset = 0;
function validateAndPatch(batch: Buffer, options: Parameters<typeof validateBatch>[1] = {}): void {
  const result = validateBatch(batch, options);
  check(result.ok);
  if (result.ok) {
    setBaseOffset(batch, nextOffset);
    nextOffset += result.header.recordsCount;
    setPartitionLeaderEpoch(batch, 3);
  }
}

console.log(
  `Record batch produce path, GB/s (10^9 bytes/s); CRC-32C: ${crc32cImplementation}; node ${process.version}`,
);
for (const valueBytes of [100, 1000]) {
  const plain = makeSet('none', valueBytes);
  const records = plain.reduce((n, b) => n + (b.readInt32BE(57) as number), 0);
  const size = plain.reduce((n, b) => n + b.length, 0);
  console.log(
    `\n${plain.length} uncompressed batches of ~${Math.round(size / plain.length / 1024)} KiB, ${records} records of ${valueBytes}-byte values (${(size / 2 ** 20).toFixed(2)} MiB):`,
  );
  measure('validate (structure walk) + setBaseOffset + setLeaderEpoch', plain, (b) => validateAndPatch(b));
  measure('validate (framing walk) + setBaseOffset + setLeaderEpoch', plain, (b) =>
    validateAndPatch(b, { recordCheck: 'framing' }),
  );
  measure('CRC-32C alone', plain, (b) => {
    crc32c(b.subarray(CRC_START_POS));
  });
  measure('setLogAppendTime (rewrites CRC)', plain, (b) => setLogAppendTime(b, 1_700_000_000_999));
  const blob = Buffer.concat(plain);
  measure('splitBatches (one call over the whole 1 MiB blob)', [blob], (b) => {
    splitBatches(b);
  });
}

const zstdSet = makeSet('zstd', 100);
const zstdBytes = zstdSet.reduce((n, b) => n + b.length, 0);
console.log(
  `\n${zstdSet.length} zstd batches, ${(zstdBytes / 2 ** 20).toFixed(2)} MiB on the wire (records not walked):`,
);
measure('validate + setBaseOffset + setLeaderEpoch', zstdSet, (b) => validateAndPatch(b));
