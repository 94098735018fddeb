/**
 * The payload of a WAL entry written by the log (the WAL frames it with length + CRC).
 *
 *   RecordsEntry := type INT8 (=1), partCount INT32, Part{partCount}
 *   Part         := topicId UUID(16), partition INT32, recordsLength INT32, records[recordsLength]
 *
 * `records` are the partition's record batches exactly as stored: baseOffset already assigned, so
 * replay needs nothing else to rebuild offsets. One produce request → one entry, whatever the
 * number of partitions; group commit then merges entries of many requests into one fsync.
 */
const TYPE_RECORDS = 1;
const PART_HEADER_BYTES = 16 + 4 + 4;

export interface WalPart {
  topicId: string;
  partition: number;
  records: Buffer;
}

function uuidToBytes(uuid: string, out: Buffer, at: number): void {
  out.write(uuid.replace(/-/g, ''), at, 16, 'hex');
}

function bytesToUuid(b: Buffer, at: number): string {
  const h = b.toString('hex', at, at + 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Encode as chunks: small headers plus the record buffers themselves (not copied). */
export function encodeRecordsEntry(parts: readonly WalPart[]): Buffer[] {
  const chunks: Buffer[] = [];
  const head = Buffer.allocUnsafe(5);
  head.writeInt8(TYPE_RECORDS, 0);
  head.writeInt32BE(parts.length, 1);
  chunks.push(head);
  for (const p of parts) {
    const h = Buffer.allocUnsafe(PART_HEADER_BYTES);
    uuidToBytes(p.topicId, h, 0);
    h.writeInt32BE(p.partition, 16);
    h.writeInt32BE(p.records.length, 20);
    chunks.push(h, p.records);
  }
  return chunks;
}

/** Decode an entry payload; returns null for entry types this version does not know. */
export function decodeRecordsEntry(payload: Buffer): WalPart[] | null {
  if (payload.length < 5 || payload.readInt8(0) !== TYPE_RECORDS) return null;
  const count = payload.readInt32BE(1);
  const parts: WalPart[] = [];
  let pos = 5;
  for (let i = 0; i < count; i++) {
    if (pos + PART_HEADER_BYTES > payload.length) throw new Error('WAL records entry truncated');
    const topicId = bytesToUuid(payload, pos);
    const partition = payload.readInt32BE(pos + 16);
    const len = payload.readInt32BE(pos + 20);
    pos += PART_HEADER_BYTES;
    if (len < 0 || pos + len > payload.length) throw new Error('WAL records entry truncated');
    parts.push({ topicId, partition, records: payload.subarray(pos, pos + len) });
    pos += len;
  }
  return parts;
}
