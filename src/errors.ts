/**
 * Errors a StreamHouse operator can act on. Each carries a stable code (SH_…) documented in
 * runbooks/broker-errors.md under a heading of the same name; a test checks every code is there.
 */
export const BROKER_ERROR_CODES = {
  SH_CONFIG_INVALID: 'A configuration value is missing, malformed or out of range.',
  SH_DATA_DIR_LOCKED: 'Another broker process is running on the same data directory.',
  SH_LISTEN_FAILED: 'The Kafka or admin listener could not bind its address.',
  SH_STORE_OPEN_FAILED: 'The metadata store or object store could not be opened.',
  SH_WAL_OPEN_FAILED: 'The write-ahead log could not be opened or recovered.',
  SH_RECOVERY_FAILED: 'The log could not be loaded at start (topics, object index, or WAL replay).',
  SH_DATA_DIR_UNUSABLE: 'The data directory cannot be created or written.',
  SH_TLS_CONFIG_INVALID:
    'The TLS certificate, key or CA file cannot be read, does not parse, or the key does not match the certificate.',
  SH_SASL_CONFIG_INVALID: 'The SASL users file cannot be read or has a malformed line.',
  SH_SASL_NO_USERS: 'A SASL listener started with no users file and no SCRAM credentials: nobody can log in.',
} as const;

export type BrokerErrorCode = keyof typeof BROKER_ERROR_CODES;

export class StreamhouseError extends Error {
  override readonly name = 'StreamhouseError';
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message} (see runbooks/broker-errors.md#${code.toLowerCase()})`, options);
  }
}
