/** Shared helpers for the WAL tests: temp directories, deterministic payloads, reading a log back. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WriteAheadLog } from '../../../../src/log/wal/index.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A fresh directory under os.tmpdir(), removed when the test ends. */
export async function tempDir(t: Teardown, prefix = 'wal-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The payload of entry `seq`: an 8-byte part holding seq and size, then a body of `size - 8` bytes whose
 * content is a function of seq, in two parts so that appends exercise multi-buffer writev.
 */
export function payloadFor(seq: number, size: number): Buffer[] {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(seq, 0);
  head.writeUInt32BE(size, 4);
  const body = Buffer.allocUnsafe(Math.max(0, size - 8));
  for (let i = 0; i < body.length; i++) body[i] = (seq * 31 + i * 7) & 0xff;
  const cut = body.length >> 1;
  return [head, body.subarray(0, cut), body.subarray(cut)];
}

/** Checks a payload written by payloadFor; returns its seq, or -1 when it is not intact. */
export function checkPayload(payload: Buffer): number {
  if (payload.length < 8) return -1;
  const seq = payload.readUInt32BE(0);
  const size = payload.readUInt32BE(4);
  if (size !== payload.length) return -1;
  for (let i = 8; i < size; i++) if (payload[i] !== ((seq * 31 + (i - 8) * 7) & 0xff)) return -1;
  return seq;
}

export interface ReadEntry {
  lsn: number;
  endLsn: number;
  payload: Buffer;
}

export async function readAll(wal: WriteAheadLog, fromLsn = wal.checkpointLsn): Promise<ReadEntry[]> {
  const out: ReadEntry[] = [];
  await wal.replay(fromLsn, (payload, lsn, endLsn) => {
    out.push({ lsn, endLsn, payload: Buffer.from(payload) });
  });
  return out;
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
}

export async function spareFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.spare')).sort();
}

/** Segment size of the crash test's child: small, so that it rolls and recycles often. */
export const CRASH_SEGMENT_BYTES = 256 * 1024;

/** Payload size of entry `seq` in the crash test: 8 B to ~20 KB. */
export function crashPayloadSize(seq: number): number {
  return 8 + ((seq * 7919) % 20000);
}
