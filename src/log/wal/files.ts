/**
 * Thin promise wrappers over the fd-based `node:fs` callback API (cheaper per call than FileHandle), and
 * the few multi-call helpers the WAL needs: write-all, zero a range, find trailing garbage, fsync a
 * directory.
 */
import fs from 'node:fs';

/**
 * The two calls on the append path. Injectable (WalOptions.fileOps) so that metrics can time them and
 * tests can count them or make them fail with EIO/ENOSPC; everything else goes straight to `node:fs`.
 */
export interface WalFileOps {
  /** pwritev: may write fewer bytes than asked (callers loop), like the system call. */
  writev(fd: number, buffers: readonly Uint8Array[], position: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
}

export const nodeFileOps: WalFileOps = {
  writev(fd, buffers, position) {
    return new Promise((resolve, reject) => {
      fs.writev(fd, buffers as Uint8Array[], position, (err, written) =>
        err ? reject(err) : resolve(written),
      );
    });
  },
  fdatasync(fd) {
    return new Promise((resolve, reject) => {
      fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
    });
  },
};

/** Writes every byte of `buffers` at `position`, resuming after short writes. */
export async function writevFully(
  ops: WalFileOps,
  fd: number,
  buffers: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let pending = buffers;
  let remaining = 0;
  for (const b of buffers) remaining += b.length;
  let at = position;
  while (remaining > 0) {
    const written = await ops.writev(fd, pending, at);
    if (written <= 0)
      throw Object.assign(new Error(`writev wrote ${written} bytes at ${at}`), { code: 'EIO' });
    remaining -= written;
    at += written;
    if (remaining > 0) pending = skipBytes(pending, written);
  }
}

/** The buffers that remain after dropping the first `count` bytes. */
function skipBytes(buffers: readonly Uint8Array[], count: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = count;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return rest;
}

export function openFile(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

export function closeFile(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.close(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/** Closes and ignores the error: for paths that are already failing or whose data is already synced. */
export async function closeQuietly(fd: number): Promise<void> {
  try {
    await closeFile(fd);
  } catch {
    // nothing useful to do: the data that matters was fsynced (or the WAL has failed already)
  }
}

export function fileSize(fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.fstat(fd, (err, stats) => (err ? reject(err) : resolve(stats.size)));
  });
}

export function readAt(
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
  });
}

/** fsync on a directory, so that creates, renames and unlinks in it survive a crash. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const fd = await openFile(dir, 'r');
  try {
    await new Promise<void>((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
  } finally {
    await closeQuietly(fd);
  }
}

const ZERO_CHUNK_BYTES = 1 << 20;
let zeroChunk: Buffer | undefined;
/** A shared 1 MiB buffer of zeros. Never written to. */
export function zeros(): Buffer {
  zeroChunk ??= Buffer.alloc(ZERO_CHUNK_BYTES);
  return zeroChunk;
}

/** Writes zeros over [from, to) of `fd`, up to `stepBytes` per writev; `shouldStop` is checked between steps. */
export async function writeZeros(
  ops: WalFileOps,
  fd: number,
  from: number,
  to: number,
  shouldStop?: () => boolean,
  stepBytes = 8 * ZERO_CHUNK_BYTES,
): Promise<void> {
  const zero = zeros();
  let at = from;
  while (at < to) {
    if (shouldStop?.()) return;
    const stepEnd = Math.min(to, at + stepBytes);
    const iov: Buffer[] = [];
    for (let p = at; p < stepEnd; p += zero.length)
      iov.push(zero.subarray(0, Math.min(zero.length, stepEnd - p)));
    await writevFully(ops, fd, iov, at);
    at = stepEnd;
  }
}

/** The offset just past the last non-zero byte in [from, to), or `from` when the range is all zeros. */
export async function endOfNonZero(fd: number, from: number, to: number): Promise<number> {
  const zero = zeros();
  const buf = Buffer.allocUnsafe(ZERO_CHUNK_BYTES);
  let end = from;
  for (let at = from; at < to; ) {
    const n = await readAt(fd, buf, 0, Math.min(buf.length, to - at), at);
    if (n <= 0) break;
    if (!buf.subarray(0, n).equals(zero.subarray(0, n))) {
      let last = n - 1;
      while (buf[last] === 0) last--;
      end = at + last + 1;
    }
    at += n;
  }
  return end;
}
