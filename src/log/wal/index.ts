export { isWalError, WAL_ERROR_CODES, WalError, type WalErrorCode } from './errors.js';
export type { WalFileOps } from './files.js';
export { HEADER_BYTES as WAL_ENTRY_HEADER_BYTES } from './format.js';
export {
  type AppendResult,
  type EndReason,
  type RecoveryInfo,
  type TruncationInfo,
  WAL_DEFAULTS,
  type WalEntry,
  type WalOptions,
  type WalStats,
  WriteAheadLog,
} from './wal.js';
