/**
 * The one error type the write-ahead log rejects with. `code` is stable and machine-readable; the log
 * layer maps every code to Kafka's KAFKA_STORAGE_ERROR for the producer and logs the message.
 *
 * Every code is described here; a test checks that each `new WalError('…')` in src/log/wal uses a
 * code from this table.
 */
export const WAL_ERROR_CODES = {
  WAL_WRITE_FAILED:
    'A write or fdatasync of the WAL failed (EIO, ENOSPC, …). Every append that had not resolved is ' +
    'rejected and the WAL enters the failed state: after a failed fsync the page cache may already ' +
    'have dropped the dirty pages, so retrying could acknowledge data that is not on disk. Close it ' +
    'and reopen (recovery) to continue.',
  WAL_FAILED: 'The WAL failed earlier (see `cause`); it accepts no appends or checkpoints until reopened.',
  WAL_CLOSED: 'The WAL is closing or closed.',
  WAL_OPEN_FAILED: 'An I/O error while opening or recovering the WAL directory (see `cause` for the errno).',
  WAL_CHECKPOINT_FAILED:
    'An I/O error while writing the checkpoint file. The previous checkpoint stays in force (the file is ' +
    'replaced atomically) and the WAL stays usable; retry later.',
  WAL_READ_FAILED: 'An I/O error while reading segments during a replay (see `cause`).',
  WAL_CORRUPT:
    'On-disk state that recovery cannot explain: an unreadable checkpoint file, a segment missing ' +
    'between the checkpoint and the end, or invalid bytes below the durable end during a replay.',
  WAL_INVALID_ARGUMENT:
    'A bad option or argument: an LSN out of range or not at an entry boundary, a payload too large ' +
    'for one entry, a non-integer size.',
} as const;

export type WalErrorCode = keyof typeof WAL_ERROR_CODES;

export class WalError extends Error {
  override readonly name = 'WalError';
  readonly code: WalErrorCode;
  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isWalError(err: unknown): err is WalError {
  return err instanceof WalError;
}
