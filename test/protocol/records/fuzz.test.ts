// Fuzz: random and mutated record batches through validateBatch, splitBatches and iterateRecords.
// Every call either succeeds or throws ProtocolError (validateBatch never throws at all), and an
// uncompressed batch that validateBatch accepts always decodes.
import t from 'tap';
import { ProtocolError } from '../../../protocol/primitives/errors.js';
import {
  ATTRIBUTES_POS,
  BATCH_LENGTH_POS,
  CRC_POS,
  CRC_START_POS,
  LAST_OFFSET_DELTA_POS,
  RECORDS_COUNT_POS,
  RECORDS_POS,
  splitBatches,
  validateBatch,
} from '../../../protocol/records/batch.js';
import { crc32c } from '../../../protocol/records/crc32c.js';
import { decodeMessageSet } from '../../../protocol/records/legacy.js';
import { buildRecordBatch, iterateRecords } from '../../../protocol/records/record.js';
import { compressibleBytes, makeRng, randomBytes, randomInt } from './helpers.js';

const ITERATIONS = 120_000;
const LIMIT = { maxDecompressedBytes: 256 << 10 };
const rng = makeRng(0xf022);

function seedBatches(): Buffer[] {
  const codecs = ['none', 'none', 'none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
  const seeds: Buffer[] = [];
  for (let i = 0; i < 60; i++) {
    const count = 1 + randomInt(rng, i % 10 === 0 ? 40 : 6);
    seeds.push(
      buildRecordBatch({
        baseTimestamp: 1_700_000_000_000 + i,
        compression: codecs[i % codecs.length]!,
        producerId: i % 2 === 0 ? -1 : i,
        records: Array.from({ length: count }, (_, r) => ({
          key: r % 3 === 0 ? null : `k${r}`,
          value:
            r % 4 === 0
              ? null
              : rng() < 0.5
                ? compressibleBytes(rng, randomInt(rng, 300))
                : randomBytes(rng, randomInt(rng, 60)),
          headers: r % 2 === 0 ? [] : [{ key: 'h', value: r % 3 === 0 ? null : 'x' }],
          timestampDelta: randomInt(rng, 1000),
        })),
      }),
    );
  }
  return seeds;
}

function fixCrc(buf: Buffer): void {
  if (buf.length >= RECORDS_POS) buf.writeUInt32BE(crc32c(buf.subarray(CRC_START_POS)), CRC_POS);
}

function mutate(seeds: Buffer[]): Buffer {
  const seed = seeds[randomInt(rng, seeds.length)]!;
  const kind = randomInt(rng, 11);
  let m = Buffer.from(seed);
  switch (kind) {
    case 0: // pure garbage
      return randomBytes(rng, randomInt(rng, 200));
    case 1: // garbage behind a plausible header
      m = Buffer.concat([seed.subarray(0, RECORDS_POS), randomBytes(rng, randomInt(rng, 200))]);
      m.writeInt32BE(m.length - 12, BATCH_LENGTH_POS);
      break;
    case 2: // truncate
      return m.subarray(0, randomInt(rng, m.length));
    case 3: // extend
      return Buffer.concat([m, randomBytes(rng, 1 + randomInt(rng, 30))]);
    case 4: // random batchLength
      m.writeInt32BE(
        rng() < 0.5
          ? randomInt(rng, 2 ** 31) * (rng() < 0.3 ? -1 : 1)
          : m.length - 12 + randomInt(rng, 7) - 3,
        BATCH_LENGTH_POS,
      );
      return m;
    case 5: // random recordsCount / lastOffsetDelta
      m.writeInt32BE(rng() < 0.5 ? randomInt(rng, 50) - 5 : randomInt(rng, 2 ** 31), RECORDS_COUNT_POS);
      if (rng() < 0.5) m.writeInt32BE(m.readInt32BE(RECORDS_COUNT_POS) - 1, LAST_OFFSET_DELTA_POS);
      break;
    case 6: // random attributes (codec, control, unused bits)
      m.writeUInt16BE(
        rng() < 0.7 ? randomInt(rng, 8) | (randomInt(rng, 4) << 3) : randomInt(rng, 65536),
        ATTRIBUTES_POS,
      );
      break;
    case 7: // overwrite a run inside the records section
      {
        const start = RECORDS_POS + randomInt(rng, Math.max(1, m.length - RECORDS_POS));
        const run = randomBytes(rng, 1 + randomInt(rng, 8));
        run.copy(m, Math.min(start, m.length - 1));
        break;
      }
    case 8: // two batches spliced together
      {
        const other = seeds[randomInt(rng, seeds.length)]!;
        const cut = RECORDS_POS + randomInt(rng, Math.max(1, m.length - RECORDS_POS));
        m = Buffer.concat([m.subarray(0, cut), other.subarray(Math.min(cut, other.length))]);
        m.writeInt32BE(m.length - 12, BATCH_LENGTH_POS);
        break;
      }
    default: // flip a few bytes anywhere
      for (let f = 0; f < 1 + randomInt(rng, 4); f++) m[randomInt(rng, m.length)] = randomInt(rng, 256);
  }
  // Usually make the CRC right again, so that mutants reach the record walk and the codecs.
  if (rng() < 0.8) fixCrc(m);
  return m;
}

t.test(`${ITERATIONS} random and mutated batches`, { timeout: 120_000 }, async (t) => {
  const seeds = seedBatches();
  for (const s of seeds) t.ok(validateBatch(s).ok, 'seed is valid');
  const tally = { validOk: 0, validRejected: 0, decoded: 0, decodeErrors: 0, splitErrors: 0, records: 0 };
  const strays: string[] = [];
  const started = Date.now();
  for (let i = 0; i < ITERATIONS; i++) {
    const m = mutate(seeds);
    let verdictOk = false;
    try {
      const verdict = validateBatch(m, {
        recordCheck: i % 4 === 0 ? 'framing' : 'structure',
        allowControlBatch: i % 2 === 0,
      });
      verdictOk = verdict.ok;
      if (verdict.ok) tally.validOk++;
      else tally.validRejected++;
    } catch (err) {
      strays.push(`validateBatch threw ${String(err)}`);
    }
    try {
      splitBatches(m);
    } catch (err) {
      if (err instanceof ProtocolError) tally.splitErrors++;
      else strays.push(`splitBatches threw ${String(err)}`);
    }
    try {
      for (const _record of iterateRecords(m, LIMIT)) tally.records++;
      tally.decoded++;
    } catch (err) {
      if (err instanceof ProtocolError) {
        tally.decodeErrors++;
        if (verdictOk && (m.readUInt16BE(ATTRIBUTES_POS) & 7) === 0 && i % 4 !== 0) {
          strays.push(`validated uncompressed batch failed to decode: ${err.message}`);
        }
      } else strays.push(`iterateRecords threw ${String(err)}`);
    }
    if (i % 8 === 0) {
      try {
        decodeMessageSet(m, LIMIT);
      } catch (err) {
        if (!(err instanceof ProtocolError)) strays.push(`decodeMessageSet threw ${String(err)}`);
      }
    }
    if (strays.length > 20) break;
  }
  t.comment(`${ITERATIONS} inputs in ${Date.now() - started} ms: ${JSON.stringify(tally)}`);
  t.same(strays, [], 'only ProtocolError, and validated batches decode');
  t.ok(tally.validOk > 1000 && tally.validRejected > 50_000, 'the mix exercises both outcomes');
  t.ok(tally.decoded > 1000 && tally.decodeErrors > 10_000, 'and both decode outcomes');
});
