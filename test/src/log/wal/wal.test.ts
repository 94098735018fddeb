import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { isWalError, type WalFileOps, WriteAheadLog } from '../../../../src/log/wal/index.js';
import { checkPayload, payloadFor, readAll, segmentFiles, spareFiles, tempDir } from './helpers.js';

const HEADER = 16;

function baseOf(fileName: string): number {
  return Number(fileName.slice(0, 20));
}

t.test('append/replay round trip across several segments', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 4096 });
  t.equal(wal.recovery.truncated, null);
  t.equal(wal.endLsn, 0);
  const sizes = [8, 100, 1000, 3000, 5000, 0, 40, 2500];
  const results = [];
  for (let seq = 0; seq < 60; seq++) {
    const size = sizes[seq % sizes.length]!;
    const payload = size === 0 ? [] : payloadFor(seq, size);
    results.push({ seq, size, ...(await wal.append(payload)) });
  }
  let expectLsn = 0;
  for (const r of results) {
    t.equal(r.lsn, expectLsn, `entry ${r.seq} starts where the previous ended`);
    t.equal(r.endLsn - r.lsn, HEADER + r.size);
    expectLsn = r.endLsn;
  }
  t.equal(wal.durableLsn, expectLsn);
  t.equal(wal.unflushedBytes, 0);
  t.equal(wal.sizeBytes, expectLsn);

  const files = await segmentFiles(dir);
  t.ok(files.length > 5, `${files.length} segments`);
  t.same(files, [...files].sort(), 'names sort in log order');
  const bases = files.map(baseOf);
  t.equal(bases[0], 0);
  for (const r of results) {
    // The segment holding the entry is the one with the greatest base ≤ lsn; the entry ends before the next base.
    const i = bases.findLastIndex((b) => b <= r.lsn);
    const next = bases[i + 1];
    if (next !== undefined) t.ok(r.endLsn <= next, `entry ${r.seq} does not span segments`);
    if (r.size + HEADER <= 4096 && r.lsn === bases[i]) t.pass('segment starts at an entry');
  }
  for (const b of bases)
    t.ok(
      results.some((r) => r.lsn === b),
      `segment base ${b} is an entry's lsn`,
    );

  const read = await readAll(wal);
  t.equal(read.length, results.length);
  for (const [i, entry] of read.entries()) {
    const r = results[i]!;
    t.equal(entry.lsn, r.lsn);
    t.equal(entry.endLsn, r.endLsn);
    t.equal(entry.payload.length, r.size);
    if (r.size > 0) t.equal(checkPayload(entry.payload), r.seq);
  }

  const middle = results[33]!;
  const suffix: number[] = [];
  for await (const entry of wal.entries(middle.lsn)) suffix.push(entry.lsn);
  t.same(
    suffix,
    results.slice(33).map((r) => r.lsn),
    'iterator from a middle boundary',
  );
  await t.rejects(
    wal.replay(middle.lsn + 1, () => undefined),
    { code: 'WAL_INVALID_ARGUMENT' },
  );
  await t.rejects(
    wal.replay(wal.durableLsn + 1, () => undefined),
    { code: 'WAL_INVALID_ARGUMENT' },
  );
  t.same(await readAll(wal, wal.durableLsn), [], 'replay from the end is empty');
  await wal.close();
});

t.test('appends made in one tick share one write and one fdatasync', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 1 << 20 });
  const all = [];
  // 2000 entries × 4 buffers: more iovecs than IOV_MAX (1024) in one writev call.
  for (let seq = 0; seq < 2000; seq++) all.push(wal.append(payloadFor(seq, 100)));
  t.equal(wal.unflushedBytes, 2000 * (HEADER + 100));
  await Promise.all(all);
  t.equal(wal.stats.writes, 1);
  t.equal(wal.stats.fsyncs, 1);
  t.equal(wal.unflushedBytes, 0);
  t.same(
    (await readAll(wal)).map((e) => checkPayload(e.payload)),
    Array.from({ length: 2000 }, (_, i) => i),
  );
  await wal.close();
});

t.test('appends queued behind an in-flight fdatasync go out in ONE write + ONE fdatasync', async (t) => {
  const dir = await tempDir(t);
  let enteredSync!: () => void;
  const syncEntered = new Promise<void>((resolve) => {
    enteredSync = resolve;
  });
  let releaseSync!: () => void;
  const gate = new Promise<void>((resolve) => {
    releaseSync = resolve;
  });
  let syncCalls = 0;
  let writevCalls = 0;
  const fileOps: Partial<WalFileOps> = {
    async fdatasync() {
      syncCalls++;
      if (syncCalls === 1) {
        enteredSync();
        await gate;
      }
    },
  };
  // 'none': no zero-fill, so the only fdatasync calls are group commits.
  const wal = await WriteAheadLog.open(dir, { segmentPreparation: 'none', fileOps });
  const original = { ...wal.stats };
  const first = wal.append(payloadFor(0, 64));
  await syncEntered;
  const queued = [];
  for (let seq = 1; seq <= 50; seq++) queued.push(wal.append(payloadFor(seq, 64 + seq)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(wal.stats.writes, 1, 'nothing else written while the fdatasync is in flight');
  t.equal(wal.durableLsn, 0, 'the first append is not durable yet');
  releaseSync();
  const r0 = await first;
  const rest = await Promise.all(queued);
  writevCalls = wal.stats.writes - original.writes;
  t.equal(writevCalls, 2);
  t.equal(syncCalls, 2);
  t.equal(wal.stats.fsyncs, 2);
  t.equal(rest[0]!.lsn, r0.endLsn);
  t.equal(wal.durableLsn, rest[49]!.endLsn);
  await wal.close();
});

t.test('concurrent appenders share fsyncs', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 1 << 20 });
  let seq = 0;
  const appender = async () => {
    for (let i = 0; i < 50; i++) await wal.append(payloadFor(seq++, 200));
  };
  await Promise.all(Array.from({ length: 16 }, appender));
  t.equal(wal.stats.appends, 800);
  t.ok(wal.stats.fsyncs <= 800 / 4, `${wal.stats.fsyncs} fsyncs for 800 appends`);
  const read = await readAll(wal);
  t.same(
    read.map((e) => checkPayload(e.payload)).sort((a, b) => a - b),
    Array.from({ length: 800 }, (_, i) => i),
  );
  await wal.close();
});

t.test('lingerMs gathers appends from different ticks into one write', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { lingerMs: 30, segmentPreparation: 'none' });
  const a = wal.append(payloadFor(1, 50));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const b = wal.append(payloadFor(2, 50));
  await Promise.all([a, b]);
  t.equal(wal.stats.writes, 1);
  await wal.close();
});

t.test('checkpoint deletes or recycles old segments and replay starts there', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 4096 });
  const results = [];
  for (let seq = 0; seq < 100; seq++) results.push(await wal.append(payloadFor(seq, 500)));
  const before = await segmentFiles(dir);
  t.ok(before.length >= 12, `${before.length} segments`);

  await t.rejects(wal.checkpoint(wal.durableLsn + 1), { code: 'WAL_INVALID_ARGUMENT' });
  await t.rejects(wal.checkpoint(results[10]!.lsn + 3), { code: 'WAL_INVALID_ARGUMENT' });
  t.equal(wal.checkpointLsn, 0, 'a rejected checkpoint changes nothing');

  const cut = results[60]!.lsn;
  await wal.checkpoint(cut);
  t.equal(wal.checkpointLsn, cut);
  t.equal(wal.sizeBytes, wal.endLsn - cut);
  const after = await segmentFiles(dir);
  t.ok(after.length < before.length, `${before.length} → ${after.length} segments`);
  t.ok(baseOf(after[0]!) <= cut, 'the segment holding the checkpoint stays');
  t.ok(after.length === 1 || baseOf(after[1]!) > cut, 'every segment wholly below the checkpoint is gone');
  t.ok((await spareFiles(dir)).length <= 2, 'at most spareSegments spares are kept');
  t.ok(wal.stats.recycledSegments >= 1, 'some were recycled');
  t.ok(wal.stats.deletedSegments >= 1, 'the rest were deleted');
  await wal.checkpoint(results[20]!.lsn);
  t.equal(wal.checkpointLsn, cut, 'an older checkpoint is a no-op');

  const read = await readAll(wal);
  t.same(
    read.map((e) => checkPayload(e.payload)),
    Array.from({ length: 40 }, (_, i) => 60 + i),
  );
  await t.rejects(
    wal.replay(0, () => undefined),
    { code: 'WAL_INVALID_ARGUMENT' },
    'below the first segment',
  );
  await wal.close();

  const reopened = await WriteAheadLog.open(dir, { segmentBytes: 4096 });
  t.equal(reopened.checkpointLsn, cut);
  t.equal(reopened.recovery.checkpointLsn, cut);
  t.equal(reopened.recovery.truncated, null);
  t.equal(reopened.endLsn, results[99]!.endLsn);
  t.same(
    (await readAll(reopened)).map((e) => checkPayload(e.payload)),
    Array.from({ length: 40 }, (_, i) => 60 + i),
  );
  await reopened.close();
});

t.test('recycled segments never resurrect their old entries', async (t) => {
  const dir = await tempDir(t);
  const options = { segmentBytes: 8192, spareSegments: 3 };
  let wal = await WriteAheadLog.open(dir, options);
  const live: { seq: number; lsn: number; endLsn: number }[] = [];
  let seq = 0;
  let recycled = 0;
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 60; i++) {
      const size = 40 + ((seq * 997) % 1500);
      const r = await wal.append(payloadFor(seq, size));
      live.push({ seq, ...r });
      seq++;
    }
    // Keep the last 25 entries: everything older is uploaded.
    const keep = live.length - 25;
    await wal.checkpoint(live[keep]!.lsn);
    live.splice(0, keep);
    if (round % 2 === 1) {
      recycled += wal.stats.recycledSegments;
      await wal.close();
      wal = await WriteAheadLog.open(dir, options);
      t.equal(wal.recovery.truncated, null, `clean reopen after round ${round}`);
    }
    const read = await readAll(wal);
    t.same(
      read.map((e) => [checkPayload(e.payload), e.lsn]),
      live.map((e) => [e.seq, e.lsn]),
      `round ${round}: exactly the live entries`,
    );
  }
  t.ok(recycled > 3, `${recycled} segments recycled`);
  await wal.close();
});

t.test('reopen after close continues the log', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 4096 });
  for (let seq = 0; seq < 20; seq++) await wal.append(payloadFor(seq, 300));
  const end = wal.endLsn;
  await wal.close();
  await wal.close(); // idempotent
  await t.rejects(wal.append(payloadFor(99, 10)), { code: 'WAL_CLOSED' });
  await t.rejects(wal.checkpoint(0), { code: 'WAL_CLOSED' });

  const second = await WriteAheadLog.open(dir, { segmentBytes: 4096 });
  t.equal(second.endLsn, end);
  t.equal(second.durableLsn, end);
  t.equal(second.recovery.endLsn, end);
  t.equal(second.recovery.truncated, null);
  const r = await second.append(payloadFor(20, 300));
  t.equal(r.lsn, end);
  await second.close();

  const third = await WriteAheadLog.open(dir, { segmentBytes: 4096 });
  t.same(
    (await readAll(third)).map((e) => checkPayload(e.payload)),
    Array.from({ length: 21 }, (_, i) => i),
  );
  await third.close();
});

t.test('close flushes appends that were queued before it', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir);
  const pending = [];
  for (let seq = 0; seq < 10; seq++) pending.push(wal.append(payloadFor(seq, 100)));
  const closing = wal.close();
  await t.rejects(wal.append(payloadFor(10, 100)), { code: 'WAL_CLOSED' });
  const results = await Promise.all(pending);
  await closing;
  t.equal(results.length, 10);
  const reopened = await WriteAheadLog.open(dir);
  t.equal((await readAll(reopened)).length, 10);
  await reopened.close();
});

t.test('fsync: false still writes and replays', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { fsync: false, segmentBytes: 4096 });
  for (let seq = 0; seq < 30; seq++) await wal.append(payloadFor(seq, 400));
  t.equal(wal.stats.fsyncs, 0);
  await wal.close();
  const reopened = await WriteAheadLog.open(dir, { fsync: false, segmentBytes: 4096 });
  t.equal((await readAll(reopened)).length, 30);
  await reopened.close();
});

function ioError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

t.test('a failed fdatasync rejects the group and fails the WAL', async (t) => {
  const dir = await tempDir(t);
  let syncs = 0;
  const fileOps: Partial<WalFileOps> = {
    async fdatasync() {
      syncs++;
      if (syncs === 2) throw ioError('EIO');
    },
  };
  const wal = await WriteAheadLog.open(dir, { segmentPreparation: 'none', fileOps });
  const ok = await wal.append(payloadFor(0, 100));
  const group = [];
  for (let seq = 1; seq <= 10; seq++) group.push(wal.append(payloadFor(seq, 100)));
  const settled = await Promise.allSettled(group);
  for (const s of settled) {
    t.equal(s.status, 'rejected');
    if (s.status === 'rejected') {
      t.ok(isWalError(s.reason));
      t.equal(s.reason.code, 'WAL_WRITE_FAILED');
      t.equal((s.reason.cause as NodeJS.ErrnoException).code, 'EIO');
    }
  }
  t.ok(wal.failed);
  t.equal(wal.durableLsn, ok.endLsn, 'the high watermark did not move');
  await t.rejects(wal.append(payloadFor(11, 100)), { code: 'WAL_FAILED' });
  await t.rejects(wal.checkpoint(ok.endLsn), { code: 'WAL_FAILED' });
  await wal.close();

  const reopened = await WriteAheadLog.open(dir);
  const read = await readAll(reopened);
  t.equal(checkPayload(read[0]!.payload), 0, 'the acknowledged append survives');
  const r = await reopened.append(payloadFor(100, 100));
  t.equal(r.endLsn, reopened.durableLsn, 'appends work again after reopen');
  await reopened.close();
});

t.test('a failed write (ENOSPC) rejects everything waiting, without crashing', async (t) => {
  const dir = await tempDir(t);
  let fail = false;
  const base = (await import('node:fs')).default;
  const fileOps: Partial<WalFileOps> = {
    writev(fd, buffers, position) {
      if (fail) return Promise.reject(ioError('ENOSPC'));
      return new Promise((resolve, reject) => {
        base.writev(fd, buffers as Uint8Array[], position, (err, n) => (err ? reject(err) : resolve(n)));
      });
    },
  };
  const wal = await WriteAheadLog.open(dir, { segmentPreparation: 'none', fileOps });
  await wal.append(payloadFor(0, 10));
  fail = true;
  const results = await Promise.allSettled([wal.append(payloadFor(1, 10)), wal.append(payloadFor(2, 10))]);
  t.same(
    results.map((r) => (r.status === 'rejected' ? r.reason.code : 'ok')),
    ['WAL_WRITE_FAILED', 'WAL_WRITE_FAILED'],
  );
  await t.rejects(wal.append(payloadFor(3, 10)), { code: 'WAL_FAILED' });
  await wal.close();
});

t.test('short writes are resumed', async (t) => {
  const dir = await tempDir(t);
  const base = (await import('node:fs')).default;
  let calls = 0;
  const fileOps: Partial<WalFileOps> = {
    writev(fd, buffers, position) {
      calls++;
      // Write at most 7 bytes per call, to exercise the resume path.
      const first = buffers.find((b) => b.length > 0) ?? Buffer.alloc(0);
      const part = first.subarray(0, 7);
      return new Promise((resolve, reject) => {
        base.write(fd, part, 0, part.length, position, (err, n) => (err ? reject(err) : resolve(n)));
      });
    },
  };
  const wal = await WriteAheadLog.open(dir, { segmentPreparation: 'none', fileOps });
  await Promise.all([wal.append(payloadFor(1, 100)), wal.append(payloadFor(2, 33))]);
  t.ok(calls > 10);
  t.same(
    (await readAll(wal)).map((e) => checkPayload(e.payload)),
    [1, 2],
  );
  await wal.close();
});

t.test('options are validated', async (t) => {
  const dir = await tempDir(t);
  await t.rejects(WriteAheadLog.open(dir, { segmentBytes: 10 }), { code: 'WAL_INVALID_ARGUMENT' });
  await t.rejects(WriteAheadLog.open(dir, { spareSegments: -1 }), { code: 'WAL_INVALID_ARGUMENT' });
  await t.rejects(WriteAheadLog.open(dir, { lingerMs: -1 }), { code: 'WAL_INVALID_ARGUMENT' });
});

t.test('the checkpoint file is written atomically and validated on open', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 4096 });
  const r = await wal.append(payloadFor(1, 100));
  await wal.checkpoint(r.endLsn);
  await wal.close();
  const bytes = await readFile(join(dir, 'checkpoint'));
  t.equal(bytes.length, 24);
  t.equal(bytes.subarray(0, 8).toString('latin1'), 'SHWALCK1');
  const { writeFile } = await import('node:fs/promises');
  bytes[12] = bytes[12]! ^ 0xff;
  await writeFile(join(dir, 'checkpoint'), bytes);
  await t.rejects(WriteAheadLog.open(dir, { segmentBytes: 4096 }), { code: 'WAL_CORRUPT' });
});

t.test('a spare is zero-filled in the background once the active segment is half full', async (t) => {
  const dir = await tempDir(t);
  const wal = await WriteAheadLog.open(dir, { segmentBytes: 8192, recycleSegments: false });
  t.equal(wal.stats.extendingSegments, 1, 'a fresh log starts with an empty file');
  let seq = 0;
  while (wal.endLsn < 4096) await wal.append(payloadFor(seq++, 500));
  for (let i = 0; i < 200 && wal.stats.zeroFilledSegments === 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  t.equal(wal.stats.zeroFilledSegments, 1);
  t.same(await spareFiles(dir), ['spare-000001.spare']);
  while (wal.stats.rolls === 0) await wal.append(payloadFor(seq++, 500));
  t.equal(wal.stats.extendingSegments, 1, 'the roll used the zero-filled spare');
  t.same(await spareFiles(dir), []);
  await wal.checkpoint(wal.durableLsn);
  t.equal(wal.stats.deletedSegments, 1, 'recycleSegments: false deletes');
  t.equal(wal.stats.recycledSegments, 0);
  await wal.close();
  const reopened = await WriteAheadLog.open(dir, { segmentBytes: 8192 });
  t.equal(reopened.recovery.truncated, null);
  await reopened.append(payloadFor(seq, 10));
  t.same(
    (await readAll(reopened)).map((e) => checkPayload(e.payload)),
    [seq],
  );
  await reopened.close();
});

t.test('I/O errors outside the append path are typed too', async (t) => {
  const dir = await tempDir(t);
  const { mkdir, writeFile } = await import('node:fs/promises');
  const notADir = join(dir, 'file');
  await writeFile(notADir, 'x');
  await t.rejects(WriteAheadLog.open(notADir), { code: 'WAL_OPEN_FAILED' });

  const wal = await WriteAheadLog.open(join(dir, 'wal'), { segmentBytes: 4096 });
  const r = await wal.append(payloadFor(1, 100));
  await mkdir(join(dir, 'wal', 'checkpoint.tmp')); // opening it for writing now fails with EISDIR
  await t.rejects(wal.checkpoint(r.endLsn), { code: 'WAL_CHECKPOINT_FAILED' });
  t.equal(wal.checkpointLsn, 0, 'the old checkpoint stays');
  t.notOk(wal.failed, 'a failed checkpoint does not fail the WAL');
  await wal.append(payloadFor(2, 100));
  await wal.close();
});
