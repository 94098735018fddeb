// Protocol codec throughput (prints figures; asserts nothing):
//   (a) decode a Produce v9 request carrying 1 MiB of record batches (64 × 16 KiB batches across
//       8 partitions), then validate every batch (CRC-32C + record structure) → GB/s of record bytes
//       and requests/s, with decode alone and validation alone shown too;
//   (b) encode a Fetch response of 100 partitions × 64 KiB record buffers (v11 and flexible v12/v16)
//       → GB/s and encodes/s, and check that the record Buffers are referenced, not copied;
//   (c) small messages: ApiVersions and Metadata requests/responses, encode and decode per second.
// Run: npx tsc -p . && node dist/bench/protocol.js [--markdown]
import os from 'node:os';
import { ApiKey } from '../protocol/api-keys.js';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../protocol/codec.js';
import {
  buildRecordBatch,
  crc32cImplementation,
  type RecordInput,
  splitBatches,
  validateBatch,
} from '../protocol/records/index.js';

const TRIALS = 7;
const TRIAL_MS = 200;
const markdown = process.argv.includes('--markdown');
const rows: string[] = [];

/** Encode a response with correlation id 7 and decode it back (frames without their size prefix). */
const encodeRes = (apiKey: number, apiVersion: number, body: object, capacity = 256): Buffer[] =>
  encodeResponse({ apiKey, apiVersion, correlationId: 7 }, body, capacity);
const decodeRes = (apiKey: number, apiVersion: number, frame: Buffer) =>
  decodeResponse(apiKey, apiVersion, frame).body;

// ---- measuring ---------------------------------------------------------------------------------

interface Rate {
  best: number;
  median: number;
}

/** Operations per second of `op`: best and median of TRIALS timed runs after a warm-up. */
function opsPerSecond(op: () => void): Rate {
  const warmEnd = performance.now() + 100;
  while (performance.now() < warmEnd) op();
  const rates: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      for (let i = 0; i < 16; i++) op();
      n += 16;
      elapsed = performance.now() - start;
    } while (elapsed < TRIAL_MS);
    rates.push((n * 1000) / elapsed);
  }
  rates.sort((a, b) => a - b);
  return { best: rates[rates.length - 1]!, median: rates[Math.floor(rates.length / 2)]! };
}

const fmt = (n: number, digits = 2) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

function report(label: string, rate: Rate, bytesPerOp?: number): void {
  const ops = `${fmt(rate.median, 0)}/s (best ${fmt(rate.best, 0)})`;
  const gbs =
    bytesPerOp === undefined
      ? ''
      : `${fmt((rate.median * bytesPerOp) / 1e9)} GB/s (best ${fmt((rate.best * bytesPerOp) / 1e9)})`;
  if (markdown) rows.push(`| ${label} | ${ops} | ${gbs || '–'} |`);
  console.log(`  ${label.padEnd(58)} ${ops.padEnd(32)} ${gbs}`);
}

function section(title: string): void {
  if (markdown) rows.push(`| **${title}** | | |`);
  console.log(`\n${title}`);
}

// ---- (a) Produce v9: decode + validate ------------------------------------------------------------

function records(count: number, valueBytes: number, seed: number): RecordInput[] {
  const out: RecordInput[] = [];
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(valueBytes);
    for (let b = 0; b < valueBytes; b++) value[b] = 97 + ((i * 31 + b * 7 + seed) % 26);
    out.push({ key: `user-${(i * 7919 + seed) % 10_000}`, value, headers: [{ key: 'h', value: 'v' }] });
  }
  return out;
}

function produceBench(): void {
  section('(a) Produce v9 request: 64 × 16 KiB batches across 8 partitions');
  const partitions = 8;
  const batchesPerPartition = 8;
  // 16 records of 990-byte values plus keys/headers/record overhead ≈ 16 KiB per batch
  const partitionData = Array.from({ length: partitions }, (_, p) => {
    const batches = Array.from({ length: batchesPerPartition }, (_, b) =>
      buildRecordBatch({
        baseTimestamp: 1_700_000_000_000,
        producerId: 1000n,
        producerEpoch: 0,
        baseSequence: b * 16,
        records: records(16, 990, p * 100 + b),
      }),
    );
    return { index: p, records: Buffer.concat(batches) };
  });
  const recordBytes = partitionData.reduce((n, p) => n + p.records.length, 0);
  const batchSizes = splitBatches(partitionData[0]!.records).batches.map((b) => b.length);
  const header = { apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 1, clientId: 'bench' };
  const frame = Buffer.concat(
    encodeRequest(header, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 'orders', partitionData }],
    }),
  ).subarray(4);
  console.log(
    `  record bytes ${fmt(recordBytes, 0)} (${fmt(recordBytes / 1048576)} MiB), batch ≈ ${batchSizes[0]} bytes, frame ${fmt(frame.length, 0)} bytes; CRC-32C: ${crc32cImplementation}`,
  );

  let validated = 0;
  const decodeAndValidate = () => {
    const { body } = decodeRequest(frame);
    for (const td of body.topicData as { partitionData: { records: Buffer }[] }[]) {
      for (const pd of td.partitionData) {
        const { batches, partial } = splitBatches(pd.records);
        if (partial !== null) throw new Error('partial batch');
        for (const b of batches) {
          const v = validateBatch(b);
          if (!v.ok) throw new Error(v.reason);
          validated++;
        }
      }
    }
  };
  decodeAndValidate();
  if (validated !== partitions * batchesPerPartition) throw new Error(`validated ${validated} batches`);
  report(
    'decode + split + validate every batch (CRC, structure)',
    opsPerSecond(decodeAndValidate),
    recordBytes,
  );
  // records stay views of the frame, so a GB/s figure would only measure the field decoding
  report(
    'decode only (records stay zero-copy views)',
    opsPerSecond(() => decodeRequest(frame)),
  );
  const bodies = decodeRequest(frame).body.topicData as { partitionData: { records: Buffer }[] }[];
  const all = bodies.flatMap((td) => td.partitionData.flatMap((pd) => splitBatches(pd.records).batches));
  report(
    'validate only (64 batches)',
    opsPerSecond(() => {
      for (const b of all) if (!validateBatch(b).ok) throw new Error('invalid');
    }),
    recordBytes,
  );
}

// ---- (b) Fetch response encode --------------------------------------------------------------------

function fetchBench(): void {
  section('(b) Fetch response: 100 partitions × 64 KiB record buffers');
  const chunk = 64 * 1024;
  const recordBuffers = Array.from({ length: 100 }, (_, i) => {
    const b = Buffer.allocUnsafe(chunk);
    b.fill(i & 0xff);
    return b;
  });
  const totalBytes = chunk * recordBuffers.length;
  const topicId = '6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5';
  const body = (version: number) => ({
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [0, 1, 2, 3].map((t) => ({
      topic: `topic-${t}`,
      ...(version >= 13 ? { topicId } : {}),
      partitions: recordBuffers.slice(t * 25, t * 25 + 25).map((records, p) => ({
        partitionIndex: p,
        errorCode: 0,
        highWatermark: 1_000_000n,
        lastStableOffset: 1_000_000n,
        logStartOffset: 0n,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records,
      })),
    })),
  });
  for (const version of [11, 12, 16]) {
    const b = body(version);
    const chunks = encodeRes(ApiKey.Fetch, version, b);
    const inputs = new Set<Uint8Array>(recordBuffers);
    const referenced = chunks.filter((c) => inputs.has(c)).length;
    const sameMemory = recordBuffers.filter((r) =>
      chunks.some((c) => c.buffer === r.buffer && c.byteOffset === r.byteOffset && c.length === r.length),
    ).length;
    const frameBytes = chunks.reduce((n, c) => n + c.length, 0);
    const copied = frameBytes - totalBytes;
    const decoded = decodeRes(ApiKey.Fetch, version, Buffer.concat(chunks).subarray(4));
    const firstRecords = (decoded.responses as { partitions: { records: Buffer }[] }[])[0]!.partitions[0]!
      .records;
    if (!firstRecords.equals(recordBuffers[0]!)) throw new Error('Fetch round trip lost the records');
    console.log(
      `  v${version}: ${chunks.length} chunks, ${referenced}/100 record Buffers passed through by identity (${sameMemory}/100 same memory), ${copied} bytes written besides them`,
    );
    if (markdown)
      rows.push(
        `| v${version}: record Buffers referenced, not copied | ${referenced}/100 by identity | ${copied} other bytes |`,
      );
    report(
      `encode v${version}${version >= 12 ? ' (flexible)' : ''}`,
      opsPerSecond(() => encodeRes(ApiKey.Fetch, version, b, 8192)),
      totalBytes,
    );
  }
}

// ---- (c) small messages ---------------------------------------------------------------------------

function smallBench(): void {
  section('(c) small messages');
  const apiKeys = Array.from({ length: 40 }, (_, i) => ({ apiKey: i, minVersion: 0, maxVersion: 9 }));
  for (const v of [2, 3]) {
    const req = Buffer.concat(
      encodeRequest(
        { apiKey: 18, apiVersion: v, correlationId: 1, clientId: 'rdkafka' },
        v >= 3 ? { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' } : {},
      ),
    ).subarray(4);
    report(
      `ApiVersions v${v} request decode`,
      opsPerSecond(() => decodeRequest(req)),
    );
    const resBody = { errorCode: 0, apiKeys, throttleTimeMs: 0 };
    report(
      `ApiVersions v${v} response encode (40 keys)`,
      opsPerSecond(() => encodeRes(ApiKey.ApiVersions, v, resBody)),
    );
    const res = Buffer.concat(encodeRes(ApiKey.ApiVersions, v, resBody)).subarray(4);
    report(
      `ApiVersions v${v} response decode (40 keys)`,
      opsPerSecond(() => decodeRes(ApiKey.ApiVersions, v, res)),
    );
  }
  for (const v of [4, 12]) {
    const header = { apiKey: 3, apiVersion: v, correlationId: 1, clientId: 'rdkafka' };
    const body = {
      topics: ['orders', 'payments', 'audit-log'].map((name) => ({
        name,
        topicId: '00000000-0000-0000-0000-000000000000',
      })),
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    };
    report(
      `Metadata v${v} request encode (3 topics)`,
      opsPerSecond(() => encodeRequest(header, body)),
    );
    const frame = Buffer.concat(encodeRequest(header, body)).subarray(4);
    report(
      `Metadata v${v} request decode (3 topics)`,
      opsPerSecond(() => decodeRequest(frame)),
    );
  }
}

// ---- main -------------------------------------------------------------------------------------------

const cpus = os.cpus();
const setup = `${cpus[0]?.model ?? 'unknown CPU'} × ${cpus.length} vCPU, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Linux ${os.release()}, Node ${process.version}, CRC-32C ${crc32cImplementation}`;
console.log(`Protocol codec benchmark — ${setup}`);
console.log(`(median and best of ${TRIALS} runs of ${TRIAL_MS} ms each)`);
if (markdown) rows.push('| Case | Rate (median, best) | Throughput (median, best) |', '|---|---|---|');
produceBench();
fetchBench();
smallBench();
if (markdown) console.log(`\n${setup}\n\n${rows.join('\n')}`);
