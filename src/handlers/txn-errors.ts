// Error-code mapping shared by the transaction handlers.
import { ErrorCode } from '../../protocol/error-codes.js';

/**
 * PRODUCER_FENCED (90) was added in AddPartitionsToTxn / AddOffsetsToTxn / EndTxn v2 (KIP-588);
 * older clients do not know it and get INVALID_PRODUCER_EPOCH, as Kafka answers them.
 */
export function fencedForVersion(errorCode: number, apiVersion: number, firstVersionWithFenced = 2): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && apiVersion < firstVersionWithFenced
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : errorCode;
}
