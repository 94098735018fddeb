/**
 * One broker per data directory: a LOCK file holding the owner's pid, created exclusively. A lock
 * left by a dead process (kill -9) is taken over; a live owner makes start fail with
 * SH_DATA_DIR_LOCKED.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StreamhouseError } from '../errors.js';

export interface DataDirLock {
  release(): void;
}

const heldInThisProcess = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = join(dataDir, 'LOCK');
  if (heldInThisProcess.has(path)) {
    throw new StreamhouseError(
      'SH_DATA_DIR_LOCKED',
      `data dir ${dataDir} is already in use by a broker in this process`,
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldInThisProcess.add(path);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          heldInThisProcess.delete(path);
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw new StreamhouseError(
          'SH_DATA_DIR_LOCKED',
          `data dir ${dataDir} is locked by running process ${owner}`,
        );
      }
      unlinkSync(path); // stale lock from a process that died
    }
  }
  throw new StreamhouseError('SH_DATA_DIR_LOCKED', `could not lock data dir ${dataDir}`);
}
