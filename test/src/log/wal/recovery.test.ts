import { open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { type AppendResult, type WalOptions, WriteAheadLog } from '../../../../src/log/wal/index.js';
import { checkPayload, payloadFor, readAll, segmentFiles, spareFiles, tempDir } from './helpers.js';

interface Written extends AppendResult {
  seq: number;
}

async function writeLog(dir: string, options: WalOptions, sizes: number[]): Promise<Written[]> {
  const wal = await WriteAheadLog.open(dir, options);
  const out: Written[] = [];
  for (const [seq, size] of sizes.entries()) out.push({ seq, ...(await wal.append(payloadFor(seq, size))) });
  await wal.close();
  return out;
}

/** The segment file holding `lsn`, and the offset of `lsn` in it. */
async function locate(dir: string, lsn: number): Promise<{ path: string; offset: number }> {
  const files = await segmentFiles(dir);
  const name = files.findLast((f) => Number(f.slice(0, 20)) <= lsn)!;
  return { path: join(dir, name), offset: lsn - Number(name.slice(0, 20)) };
}

async function writeAt(path: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

async function flipByte(dir: string, lsn: number): Promise<void> {
  const { path, offset } = await locate(dir, lsn);
  const fh = await open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, offset);
    one[0] = one[0]! ^ 0x5a;
    await fh.write(one, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

function seqs(entries: { payload: Buffer }[]): number[] {
  return entries.map((e) => checkPayload(e.payload));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

t.test('a cut file (torn last entry) is truncated and later appends replay correctly', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentPreparation: 'none' };
  const written = await writeLog(dir, options, Array(10).fill(200));
  const last = written[9]!;
  const { path } = await locate(dir, last.lsn);
  await truncate(path, last.lsn + 16 + 50);

  const wal = await WriteAheadLog.open(dir, options);
  t.same(wal.recovery.truncated, { truncatedAtLsn: last.lsn, discardedBytes: 66, reason: 'torn-entry' });
  t.equal(wal.endLsn, last.lsn);
  t.same(seqs(await readAll(wal)), range(0, 9));
  const again = await wal.append(payloadFor(100, 120));
  t.equal(again.lsn, last.lsn);
  await wal.close();

  const reopened = await WriteAheadLog.open(dir, options);
  t.equal(reopened.recovery.truncated, null);
  t.same(seqs(await readAll(reopened)), [...range(0, 9), 100]);
  await reopened.close();
});

t.test('garbage after the last entry is reported, zeroed and ignored', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentBytes: 65536 };
  const written = await writeLog(dir, options, Array(10).fill(300));
  const end = written[9]!.endLsn;
  const garbage = Buffer.alloc(300);
  for (let i = 0; i < garbage.length; i++) garbage[i] = ((i * 151) & 0xff) | 1;
  const { path, offset } = await locate(dir, end);
  await writeAt(path, offset, garbage);

  const wal = await WriteAheadLog.open(dir, options);
  t.same(wal.recovery.truncated, { truncatedAtLsn: end, discardedBytes: 300, reason: 'lsn-mismatch' });
  t.same(seqs(await readAll(wal)), range(0, 10));
  await wal.close();
  const bytes = await readFile(path);
  t.ok(bytes.subarray(offset).equals(Buffer.alloc(bytes.length - offset)), 'the garbage is zeroed');
});

t.test(
  'a flipped CRC byte mid-log truncates there; new appends never resurrect the entries after it',
  async (t) => {
    const dir = await tempDir(t);
    const options: WalOptions = { segmentBytes: 65536 };
    const written = await writeLog(dir, options, Array(10).fill(200));
    const bad = written[4]!;
    await flipByte(dir, bad.lsn + 5); // inside the crc field

    const wal = await WriteAheadLog.open(dir, options);
    const truncated = wal.recovery.truncated!;
    t.equal(truncated.truncatedAtLsn, bad.lsn);
    t.equal(truncated.reason, 'crc-mismatch');
    const tail = written[9]!.endLsn - bad.lsn;
    t.ok(
      truncated.discardedBytes > tail - 16 && truncated.discardedBytes <= tail,
      `${truncated.discardedBytes} bytes`,
    );
    t.same(seqs(await readAll(wal)), range(0, 4));
    // Same size as entry 4: the new entry ends exactly where entry 5 used to start. Without the zeroing,
    // entry 5 (whose lsn field matches that position) would come back.
    const replacement = await wal.append(payloadFor(50, 200));
    t.equal(replacement.endLsn, written[5]!.lsn);
    t.same(seqs(await readAll(wal)), [0, 1, 2, 3, 50]);
    await wal.close();

    const reopened = await WriteAheadLog.open(dir, options);
    t.equal(reopened.recovery.truncated, null);
    t.same(seqs(await readAll(reopened)), [0, 1, 2, 3, 50]);
    await reopened.append(payloadFor(51, 10));
    t.same(seqs(await readAll(reopened)), [0, 1, 2, 3, 50, 51]);
    await reopened.close();
  },
);

t.test(
  'an interrupted group write (earlier entry torn, later ones intact) ends the log at the torn one',
  async (t) => {
    const dir = await tempDir(t);
    const options: WalOptions = { segmentBytes: 65536 };
    const wal = await WriteAheadLog.open(dir, options);
    for (let seq = 0; seq < 5; seq++) await wal.append(payloadFor(seq, 100));
    const writesBefore = wal.stats.writes;
    const group = await Promise.all(range(5, 10).map((seq) => wal.append(payloadFor(seq, 150))));
    t.equal(wal.stats.writes, writesBefore + 1, 'entries 5..9 went out in one writev');
    await wal.close();
    // Pretend the page holding entry 6's payload never reached the disk.
    const { path, offset } = await locate(dir, group[1]!.lsn);
    await writeAt(path, offset + 40, Buffer.alloc(64));

    const reopened = await WriteAheadLog.open(dir, options);
    t.equal(reopened.recovery.truncated?.truncatedAtLsn, group[1]!.lsn);
    t.equal(reopened.recovery.truncated?.reason, 'crc-mismatch');
    t.same(seqs(await readAll(reopened)), range(0, 6));
    const r = await reopened.append(payloadFor(60, 150));
    t.equal(r.endLsn, group[2]!.lsn, 'ends where entry 7 used to start');
    t.same(seqs(await readAll(reopened)), [...range(0, 6), 60]);
    await reopened.close();
  },
);

t.test('corruption in a non-last segment drops the later segments', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentBytes: 4096 };
  const written = await writeLog(dir, options, Array(40).fill(500));
  const files = await segmentFiles(dir);
  t.ok(files.length >= 5);
  const secondBase = Number(files[1]!.slice(0, 20));
  const victim = written.find((w) => w.lsn > secondBase)!;
  await flipByte(dir, victim.lsn + 100); // payload byte

  const wal = await WriteAheadLog.open(dir, options);
  const truncated = wal.recovery.truncated!;
  t.equal(truncated.truncatedAtLsn, victim.lsn);
  t.equal(truncated.reason, 'crc-mismatch');
  t.ok(truncated.discardedBytes > written[39]!.endLsn - victim.lsn - 4096, 'counts the later segments');
  t.same(await segmentFiles(dir), files.slice(0, 2));
  t.equal(wal.recovery.segments, 2);
  t.same(seqs(await readAll(wal)), range(0, victim.seq));
  for (let seq = 100; seq < 120; seq++) await wal.append(payloadFor(seq, 500));
  await wal.close();
  const reopened = await WriteAheadLog.open(dir, options);
  t.equal(reopened.recovery.truncated, null);
  t.same(seqs(await readAll(reopened)), [...range(0, victim.seq), ...range(100, 120)]);
  await reopened.close();
});

t.test('a torn header at the end of the file', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentPreparation: 'none' };
  const written = await writeLog(dir, options, [100, 100, 100]);
  const { path } = await locate(dir, 0);
  await writeFile(path, Buffer.from([1, 2, 3, 4, 5]), { flag: 'a' });
  const wal = await WriteAheadLog.open(dir, options);
  t.same(wal.recovery.truncated, {
    truncatedAtLsn: written[2]!.endLsn,
    discardedBytes: 5,
    reason: 'torn-header',
  });
  t.same(seqs(await readAll(wal)), [0, 1, 2]);
  await wal.close();
});

t.test('zeros after the end are a clean end', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentPreparation: 'none' };
  await writeLog(dir, options, [100, 100]);
  const { path } = await locate(dir, 0);
  await writeFile(path, Buffer.alloc(100), { flag: 'a' });
  const wal = await WriteAheadLog.open(dir, options);
  t.equal(wal.recovery.truncated, null);
  t.same(seqs(await readAll(wal)), [0, 1]);
  await wal.close();
});

t.test('stale entries of a recycled file are rejected by their lsn', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentBytes: 4096, spareSegments: 2 };
  const wal = await WriteAheadLog.open(dir, options);
  const written: Written[] = [];
  for (let seq = 0; seq < 30; seq++) written.push({ seq, ...(await wal.append(payloadFor(seq, 400))) });
  await wal.checkpoint(written[20]!.lsn);
  const end = wal.endLsn;
  await wal.close();
  // A recycled spare still holds the entries of its previous life (a zero-filled one holds zeros).
  let recycled: string | undefined;
  for (const name of await spareFiles(dir)) {
    const bytes = await readFile(join(dir, name));
    if (!bytes.subarray(0, 16).equals(Buffer.alloc(16))) recycled = name;
  }
  t.ok(recycled, 'a checkpointed segment was recycled and still holds an old entry');
  // A crash right after that spare was renamed into place, if its first header were still the old one.
  await rename(join(dir, recycled!), join(dir, `${String(end).padStart(20, '0')}.wal`));

  const reopened = await WriteAheadLog.open(dir, options);
  t.equal(reopened.recovery.truncated?.truncatedAtLsn, end);
  t.equal(reopened.recovery.truncated?.reason, 'lsn-mismatch');
  t.same(seqs(await readAll(reopened)), range(20, 30));
  const r = await reopened.append(payloadFor(99, 10));
  t.equal(r.lsn, end);
  t.same(seqs(await readAll(reopened)), [...range(20, 30), 99]);
  await reopened.close();
});

t.test('leftovers of an interrupted zero-fill are removed; undersized spares too', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentBytes: 8192 };
  await writeLog(dir, options, [10]);
  await writeFile(join(dir, 'spare-000777.spare.tmp'), Buffer.alloc(100));
  await writeFile(join(dir, 'spare-000778.spare'), Buffer.alloc(100));
  await writeFile(join(dir, 'checkpoint.tmp'), Buffer.alloc(3));
  const wal = await WriteAheadLog.open(dir, options);
  const names = await readdir(dir);
  t.notOk(names.includes('spare-000777.spare.tmp'));
  t.notOk(names.includes('spare-000778.spare'));
  t.notOk(names.includes('checkpoint.tmp'));
  t.same(seqs(await readAll(wal)), [0]);
  await wal.close();
});

t.test('a missing segment between the checkpoint and the end is corruption, not silent loss', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentBytes: 4096 };
  await writeLog(dir, options, Array(20).fill(500));
  const files = await segmentFiles(dir);
  await rm(join(dir, files[0]!));
  await t.rejects(WriteAheadLog.open(dir, options), { code: 'WAL_CORRUPT' });
});

t.test('a segment shorter than the next base says is truncated there', async (t) => {
  const dir = await tempDir(t);
  const options: WalOptions = { segmentBytes: 4096, segmentPreparation: 'none' };
  const written = await writeLog(dir, options, Array(20).fill(500));
  const files = await segmentFiles(dir);
  const firstPath = join(dir, files[0]!);
  const size = (await stat(firstPath)).size;
  await truncate(firstPath, size - 100);
  const wal = await WriteAheadLog.open(dir, options);
  const lastInFirst = written.findLast((w) => w.endLsn <= size)!;
  t.equal(wal.recovery.truncated?.truncatedAtLsn, lastInFirst.lsn);
  t.equal(wal.recovery.truncated?.reason, 'torn-entry');
  t.same(await segmentFiles(dir), files.slice(0, 1));
  t.same(seqs(await readAll(wal)), range(0, lastInFirst.seq));
  await wal.close();
});
