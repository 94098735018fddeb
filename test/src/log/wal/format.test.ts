import t from 'tap';
import { crc32c } from '../../../../protocol/records/crc32c.js';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  encodeEntryHeader,
  entryCrc,
  HEADER_BYTES,
  parseFileName,
  readU64,
  segmentFileName,
  writeU64,
} from '../../../../src/log/wal/format.js';

t.test('entry header: length, crc over lsn + payload, lsn', async (t) => {
  const payload = [Buffer.from('hello '), Buffer.from('world')];
  const lsn = 2 ** 40 + 12345;
  const header = encodeEntryHeader(lsn, payload, 11);
  t.equal(header.length, HEADER_BYTES);
  t.equal(header.readUInt32BE(0), 11);
  t.equal(readU64(header, 8), lsn);
  const whole = Buffer.concat([header, ...payload]);
  t.equal(header.readUInt32BE(4), crc32c(whole.subarray(8), 0));
  t.equal(entryCrc(whole, 0, 11), header.readUInt32BE(4));
});

t.test('an all-zero header can never be a valid entry', async (t) => {
  t.not(crc32c(Buffer.alloc(8), 0), 0);
  t.equal(crc32c(Buffer.alloc(8), 0), 0x8c28b28a);
});

t.test('u64 helpers are exact below 2^53', async (t) => {
  const buf = Buffer.alloc(8);
  for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 52 + 7, Number.MAX_SAFE_INTEGER]) {
    writeU64(buf, 0, v);
    t.equal(readU64(buf, 0), v);
    t.equal(buf.readBigUInt64BE(0), BigInt(v));
  }
});

t.test('file names sort in log order and parse back', async (t) => {
  const bases = [0, 9, 10, 4096, 2 ** 40, Number.MAX_SAFE_INTEGER];
  const names = bases.map(segmentFileName);
  t.same([...names].sort(), names);
  for (const [i, name] of names.entries()) t.same(parseFileName(name), { kind: 'segment', base: bases[i] });
  t.same(parseFileName('spare-000003.spare'), { kind: 'spare', index: 3 });
  t.same(parseFileName('spare-000003.spare.tmp'), { kind: 'temporary' });
  t.same(parseFileName('checkpoint'), { kind: 'checkpoint' });
  t.same(parseFileName('notes.txt'), { kind: 'other' });
  t.same(parseFileName('123.wal'), { kind: 'other' });
});

t.test('checkpoint codec', async (t) => {
  const buf = encodeCheckpoint(123456789012);
  t.equal(decodeCheckpoint(buf), 123456789012);
  for (let i = 0; i < buf.length; i++) {
    const bad = Buffer.from(buf);
    bad[i] = bad[i]! ^ 1;
    if (i < 20) t.equal(decodeCheckpoint(bad), null, `flipping byte ${i} is detected`);
  }
  t.equal(decodeCheckpoint(buf.subarray(0, 20)), null);
});
