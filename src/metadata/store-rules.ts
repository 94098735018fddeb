/**
 * Argument checks and pure planning shared by every MetadataStore implementation, so that the
 * memory, SQLite and (later) PostgreSQL stores reject exactly the same inputs with the same codes.
 * Nothing here does I/O or keeps state; each function either returns a checked value or throws
 * MetadataStoreError.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  type GroupOffsetCommit,
  type IndexEntry,
  type IndexReplacement,
  type LocatedIndexEntry,
  MetadataStoreError,
  type NewTopic,
  type ObjectCommit,
  type OffsetCommitEntry,
  type OffsetFetchTopic,
  type TopicPartitionRef,
} from './metadata-store.js';

/** Partitions are int32 on the wire. */
const MAX_PARTITION_COUNT = 2 ** 31 - 1;
const MAX_NAME_LENGTH = 1024;

export function invalid(message: string): MetadataStoreError {
  return new MetadataStoreError('INVALID_ARGUMENT', message);
}

/** A non-empty string of at most 1024 characters (names, ids, keys). */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw invalid(`${what} must be a string of 1..${MAX_NAME_LENGTH} characters`);
  }
  return value;
}

/** A safe integer >= min (see the 2^53 note in metadata-store.ts). */
/** setMetaMany's entries: an array of { key (a name), value (a string) }. */
export function checkMetaEntries(entries: unknown): readonly { key: string; value: string }[] {
  if (!Array.isArray(entries)) throw invalid('meta entries must be an array');
  for (const e of entries as unknown[]) {
    if (typeof e !== 'object' || e === null) throw invalid('a meta entry must be an object');
    const { key, value } = e as { key?: unknown; value?: unknown };
    checkName(key, 'meta key');
    if (typeof value !== 'string') throw invalid('meta value must be a string');
  }
  return entries as { key: string; value: string }[];
}

export function checkInteger(value: unknown, what: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(`${what} must be a safe integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

export function checkPartition(value: unknown): number {
  const partition = checkInteger(value, 'partition');
  if (partition >= MAX_PARTITION_COUNT) throw invalid(`partition ${partition} is out of int32 range`);
  return partition;
}

export function checkLimit(value: unknown, what: string): number {
  return checkInteger(value, what, 1);
}

export function checkConfigs(configs: unknown, what = 'configs'): Record<string, string> {
  if (typeof configs !== 'object' || configs === null || Array.isArray(configs)) {
    throw invalid(`${what} must be an object of string values`);
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(configs)) {
    checkName(key, `${what} key`);
    if (typeof value !== 'string') throw invalid(`${what}[${key}] must be a string`);
    out[key] = value;
  }
  return out;
}

export function checkNewTopic(topic: NewTopic): NewTopic {
  if (typeof topic !== 'object' || topic === null) throw invalid('topic must be an object');
  const partitionCount = checkInteger(topic.partitionCount, 'partitionCount', 1);
  if (partitionCount > MAX_PARTITION_COUNT) throw invalid(`partitionCount ${partitionCount} is too large`);
  return {
    name: checkName(topic.name, 'topic name'),
    topicId: checkName(topic.topicId, 'topicId'),
    partitionCount,
    configs: checkConfigs(topic.configs),
  };
}

/** Checks a createPartitions count against the current one; INVALID_PARTITIONS unless it grows. */
export function checkNewPartitionCount(name: string, current: number, requested: unknown): number {
  if (
    typeof requested !== 'number' ||
    !Number.isSafeInteger(requested) ||
    requested <= current ||
    requested > MAX_PARTITION_COUNT
  ) {
    throw new MetadataStoreError(
      'INVALID_PARTITIONS',
      `topic ${name} has ${current} partitions; the new count must be a larger integer, got ${String(requested)}`,
    );
  }
  return requested;
}

/** Validated alterTopicConfigs arguments; a key both set and deleted is INVALID_ARGUMENT. */
export function checkConfigChanges(
  set: unknown,
  deleteKeys: unknown,
): { set: Record<string, string>; deleteKeys: string[] } {
  const checkedSet = checkConfigs(set, 'set');
  if (!Array.isArray(deleteKeys)) throw invalid('deleteKeys must be an array of strings');
  const keys = deleteKeys.map((key) => checkName(key, 'deleteKeys entry'));
  for (const key of keys) {
    if (Object.hasOwn(checkedSet, key)) throw invalid(`config ${key} is both set and deleted`);
  }
  return { set: checkedSet, deleteKeys: keys };
}

/** Applies config changes to a copy of `current`. */
export function applyConfigChanges(
  current: Readonly<Record<string, string>>,
  changes: { set: Record<string, string>; deleteKeys: string[] },
): Record<string, string> {
  const next: Record<string, string> = { ...current };
  for (const key of changes.deleteKeys) delete next[key];
  Object.assign(next, changes.set);
  return sortedRecord(next);
}

export function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key]!;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Object commits

/** One partition's share of an object commit, entries ascending and checked to follow each other. */
export interface PartitionCommitPlan {
  readonly topicId: string;
  readonly partition: number;
  readonly entries: readonly IndexEntry[];
  /** Must equal the partition's indexed end offset. */
  readonly firstOffset: number;
  /** The partition's indexed end offset after the commit. */
  readonly endOffset: number;
  readonly bytes: number;
}

export interface ObjectCommitPlan {
  readonly key: string;
  readonly sizeBytes: number;
  readonly createdAtMs: number;
  /** Identifies the object's content for the idempotent re-commit check. */
  readonly fingerprint: string;
  readonly partitions: readonly PartitionCommitPlan[];
  readonly entryCount: number;
}

/**
 * Validates an ObjectCommit and splits it per partition. Checks everything that does not need the
 * store's state; the store then only compares each plan's firstOffset with its indexed end.
 */
export function planObjectCommit(commit: ObjectCommit): ObjectCommitPlan {
  if (typeof commit !== 'object' || commit === null) throw invalid('object commit must be an object');
  const key = checkName(commit.key, 'object key');
  const sizeBytes = checkInteger(commit.sizeBytes, 'sizeBytes');
  const createdAtMs = checkInteger(commit.createdAtMs, 'createdAtMs');
  if (!Array.isArray(commit.entries) || commit.entries.length === 0) {
    throw invalid(`object ${key} must carry at least one index entry`);
  }
  const byPartition = new Map<string, IndexEntry[]>();
  for (const raw of commit.entries as readonly IndexEntry[]) {
    const entry = checkIndexEntry(raw, key, sizeBytes);
    const id = partitionKey(entry.topicId, entry.partition);
    let list = byPartition.get(id);
    if (list === undefined) {
      list = [];
      byPartition.set(id, list);
    }
    list.push(entry);
  }
  const partitions: PartitionCommitPlan[] = [];
  for (const entries of byPartition.values()) {
    entries.sort((a, b) => a.baseOffset - b.baseOffset);
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      bytes += entry.byteLength;
      const previous = entries[i - 1];
      if (previous !== undefined && entry.baseOffset !== previous.lastOffset + 1) {
        throw new MetadataStoreError(
          'INDEX_NOT_CONTIGUOUS',
          `object ${key}: entries of ${entry.topicId}/${entry.partition} at ${previous.baseOffset}..` +
            `${previous.lastOffset} and ${entry.baseOffset}..${entry.lastOffset} do not follow each other`,
        );
      }
    }
    const first = entries[0]!;
    const last = entries[entries.length - 1]!;
    partitions.push({
      topicId: first.topicId,
      partition: first.partition,
      entries,
      firstOffset: first.baseOffset,
      endOffset: last.lastOffset + 1,
      bytes,
    });
  }
  partitions.sort((a, b) => compareStrings(a.topicId, b.topicId) || a.partition - b.partition);
  return {
    key,
    sizeBytes,
    createdAtMs,
    fingerprint: fingerprintOf(sizeBytes, partitions),
    partitions,
    entryCount: commit.entries.length,
  };
}

/** The contiguity guard's error, in one wording for every store. */
export function notContiguous(plan: ObjectCommitPlan, part: PartitionCommitPlan, indexedEnd: number) {
  return new MetadataStoreError(
    'INDEX_NOT_CONTIGUOUS',
    `object ${plan.key}: ${part.topicId}/${part.partition} entry starts at ${part.firstOffset}, ` +
      `but the partition's indexed end offset is ${indexedEnd}`,
  );
}

export function objectKeyConflict(key: string): MetadataStoreError {
  return new MetadataStoreError(
    'OBJECT_KEY_CONFLICT',
    `object ${key} was already committed with a different size or entries`,
  );
}

/** A checked replaceIndexEntries call: the new object's plan and the run it replaces. */
export interface IndexReplacementPlan {
  readonly plan: ObjectCommitPlan;
  readonly part: PartitionCommitPlan;
  readonly topicId: string;
  readonly partition: number;
  readonly replaced: readonly LocatedIndexEntry[];
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly replacedBytes: number;
}

/**
 * Validates a replacement: the replaced entries are one partition's contiguous run, and the new
 * object's entries cover exactly the same offsets of the same partition.
 */
export function planIndexReplacement(replacement: IndexReplacement): IndexReplacementPlan {
  if (typeof replacement !== 'object' || replacement === null) throw invalid('replacement must be an object');
  const raw = replacement.replaced;
  if (!Array.isArray(raw) || raw.length === 0) throw invalid('replaced must list at least one entry');
  const plan = planObjectCommit(replacement.object);
  const replaced: LocatedIndexEntry[] = [];
  let replacedBytes = 0;
  for (const e of raw as readonly LocatedIndexEntry[]) {
    if (typeof e !== 'object' || e === null) throw invalid('a replaced entry is not an object');
    const objectKey = checkName(e.objectKey, 'replaced objectKey');
    const checked = checkIndexEntry(e, objectKey, Number.MAX_SAFE_INTEGER);
    const previous = replaced[replaced.length - 1];
    if (
      previous !== undefined &&
      (checked.topicId !== previous.topicId ||
        checked.partition !== previous.partition ||
        checked.baseOffset !== previous.lastOffset + 1)
    ) {
      throw invalid("replaced entries must be one partition's contiguous run, ascending");
    }
    replaced.push({ ...checked, objectKey });
    replacedBytes += checked.byteLength;
  }
  const first = replaced[0]!;
  const last = replaced[replaced.length - 1]!;
  const part = plan.partitions[0]!;
  if (
    plan.partitions.length !== 1 ||
    part.topicId !== first.topicId ||
    part.partition !== first.partition ||
    part.firstOffset !== first.baseOffset ||
    part.endOffset !== last.lastOffset + 1
  ) {
    throw invalid(
      `object ${plan.key}: its entries must cover exactly ${first.topicId}/${first.partition} ` +
        `${first.baseOffset}..${last.lastOffset}, the offsets they replace`,
    );
  }
  if (replaced.some((e) => e.objectKey === plan.key)) throw objectKeyConflict(plan.key);
  return {
    plan,
    part,
    topicId: first.topicId,
    partition: first.partition,
    replaced,
    firstOffset: first.baseOffset,
    lastOffset: last.lastOffset,
    replacedBytes,
  };
}

/** True when the live entries of the range are exactly the ones the caller wants to replace. */
export function sameEntries(
  live: readonly LocatedIndexEntry[],
  replaced: readonly LocatedIndexEntry[],
): boolean {
  if (live.length !== replaced.length) return false;
  return live.every((e, i) => {
    const r = replaced[i]!;
    return (
      e.baseOffset === r.baseOffset &&
      e.lastOffset === r.lastOffset &&
      e.objectKey === r.objectKey &&
      e.byteOffset === r.byteOffset &&
      e.byteLength === r.byteLength
    );
  });
}

export function indexRangeChanged(r: IndexReplacementPlan): MetadataStoreError {
  return new MetadataStoreError(
    'INDEX_RANGE_CHANGED',
    `${r.topicId}/${r.partition} ${r.firstOffset}..${r.lastOffset}: the live index entries are no longer ` +
      'the ones to replace (a concurrent trim or compaction changed them)',
  );
}

/** Entries removed per object, for releasing their references. */
export function countByObject(entries: readonly LocatedIndexEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.objectKey, (counts.get(e.objectKey) ?? 0) + 1);
  return counts;
}

function checkIndexEntry(entry: IndexEntry, key: string, sizeBytes: number): IndexEntry {
  if (typeof entry !== 'object' || entry === null) throw invalid(`object ${key}: an entry is not an object`);
  const checked: IndexEntry = {
    topicId: checkName(entry.topicId, 'entry topicId'),
    partition: checkPartition(entry.partition),
    baseOffset: checkInteger(entry.baseOffset, 'entry baseOffset'),
    lastOffset: checkInteger(entry.lastOffset, 'entry lastOffset'),
    byteOffset: checkInteger(entry.byteOffset, 'entry byteOffset'),
    byteLength: checkInteger(entry.byteLength, 'entry byteLength', 1),
    maxTimestampMs: checkInteger(entry.maxTimestampMs, 'entry maxTimestampMs', -1),
    batchCount: checkInteger(entry.batchCount, 'entry batchCount', 1),
  };
  if (checked.lastOffset < checked.baseOffset) {
    throw invalid(`object ${key}: entry lastOffset ${checked.lastOffset} < baseOffset ${checked.baseOffset}`);
  }
  if (checked.lastOffset + 1 > Number.MAX_SAFE_INTEGER) throw invalid(`object ${key}: lastOffset too large`);
  if (checked.byteOffset + checked.byteLength > sizeBytes) {
    throw invalid(
      `object ${key}: entry bytes ${checked.byteOffset}+${checked.byteLength} exceed the object's ${sizeBytes}`,
    );
  }
  return checked;
}

/** sha256 over the object size and its entries in canonical (partition, offset) order. */
function fingerprintOf(sizeBytes: number, partitions: readonly PartitionCommitPlan[]): string {
  const hash = createHash('sha256');
  hash.update(`size=${sizeBytes}\n`);
  for (const part of partitions) {
    for (const e of part.entries) {
      hash.update(
        `${JSON.stringify(e.topicId)} ${e.partition} ${e.baseOffset} ${e.lastOffset} ${e.byteOffset} ` +
          `${e.byteLength} ${e.maxTimestampMs} ${e.batchCount}\n`,
      );
    }
  }
  return hash.digest('hex');
}

export function partitionKey(topicId: string, partition: number): string {
  return `${topicId}\u0000${partition}`;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The leading run of `entries` (ascending) whose maxTimestampMs < olderThanMs. */
export function leadingExpired(
  entries: readonly LocatedIndexEntry[],
  olderThanMs: number,
): LocatedIndexEntry[] {
  const out: LocatedIndexEntry[] = [];
  for (const entry of entries) {
    if (entry.maxTimestampMs >= olderThanMs) break;
    out.push(entry);
  }
  return out;
}

export function checkUnreferencedQuery(query: { unreferencedAtOrBeforeMs?: number; limit?: number } = {}): {
  atOrBeforeMs: number;
  limit: number;
} {
  const atOrBeforeMs =
    query.unreferencedAtOrBeforeMs === undefined
      ? Number.MAX_SAFE_INTEGER
      : checkInteger(query.unreferencedAtOrBeforeMs, 'unreferencedAtOrBeforeMs', Number.MIN_SAFE_INTEGER);
  const limit = query.limit === undefined ? 1000 : checkLimit(query.limit, 'limit');
  return { atOrBeforeMs, limit };
}

export function checkKeyList(keys: unknown, what: string): string[] {
  if (!Array.isArray(keys)) throw invalid(`${what} must be an array of strings`);
  return [...new Set(keys.map((key) => checkName(key, what)))];
}

// ---------------------------------------------------------------------------------------------
// Groups

/** Validated offsets, one per (topic, partition), the last duplicate winning, in input order. */
export function checkOffsetCommits(
  groupId: string,
  offsets: readonly OffsetCommitEntry[],
): OffsetCommitEntry[] {
  checkName(groupId, 'groupId');
  if (!Array.isArray(offsets)) throw invalid('offsets must be an array');
  const byPartition = new Map<string, OffsetCommitEntry>();
  for (const o of offsets as readonly OffsetCommitEntry[]) {
    if (typeof o !== 'object' || o === null) throw invalid('an offset commit is not an object');
    if (o.metadata !== null && typeof o.metadata !== 'string')
      throw invalid('offset metadata must be a string or null');
    const checked: OffsetCommitEntry = {
      topic: checkName(o.topic, 'topic'),
      partition: checkPartition(o.partition),
      offset: checkInteger(o.offset, 'offset', -1),
      leaderEpoch: checkInteger(o.leaderEpoch, 'leaderEpoch', -1),
      metadata: o.metadata,
      commitTimestampMs: checkInteger(o.commitTimestampMs, 'commitTimestampMs', -1),
    };
    const id = partitionKey(checked.topic, checked.partition);
    byPartition.delete(id); // keep the position of the winning (last) duplicate
    byPartition.set(id, checked);
  }
  return [...byPartition.values()];
}

/**
 * Validated commits of several groups (commitOffsetsMany): one entry per group, in order of first
 * appearance; a group listed twice has its offsets merged, so a later duplicate partition wins as
 * it does within one commitOffsets call. Groups left without offsets are dropped. Throws on the
 * first invalid group or entry, so a store writes nothing of an invalid call.
 */
export function checkOffsetCommitsMany(
  commits: readonly GroupOffsetCommit[],
): { groupId: string; offsets: OffsetCommitEntry[] }[] {
  if (!Array.isArray(commits)) throw invalid('commits must be an array');
  const byGroup = new Map<string, OffsetCommitEntry[]>();
  for (const c of commits as readonly GroupOffsetCommit[]) {
    if (typeof c !== 'object' || c === null) throw invalid('a group offset commit is not an object');
    const groupId = checkName(c.groupId, 'groupId');
    if (!Array.isArray(c.offsets)) throw invalid('offsets must be an array');
    const merged = byGroup.get(groupId) ?? [];
    merged.push(...c.offsets);
    byGroup.set(groupId, merged);
  }
  const out: { groupId: string; offsets: OffsetCommitEntry[] }[] = [];
  for (const [groupId, offsets] of byGroup) {
    const checked = checkOffsetCommits(groupId, offsets);
    if (checked.length > 0) out.push({ groupId, offsets: checked });
  }
  return out;
}

export function checkFetchTopics(
  topics: readonly OffsetFetchTopic[] | undefined,
): OffsetFetchTopic[] | undefined {
  if (topics === undefined) return undefined;
  if (!Array.isArray(topics)) throw invalid('topics must be an array');
  return (topics as readonly OffsetFetchTopic[]).map((t) => {
    if (typeof t !== 'object' || t === null) throw invalid('a fetch topic is not an object');
    const topic = checkName(t.topic, 'topic');
    if (t.partitions === undefined) return { topic };
    if (!Array.isArray(t.partitions)) throw invalid('partitions must be an array');
    return { topic, partitions: t.partitions.map((p: unknown) => checkPartition(p)) };
  });
}

export function checkPartitionRefs(partitions: readonly TopicPartitionRef[]): TopicPartitionRef[] {
  if (!Array.isArray(partitions)) throw invalid('partitions must be an array');
  return (partitions as readonly TopicPartitionRef[]).map((p) => {
    if (typeof p !== 'object' || p === null) throw invalid('a topic partition is not an object');
    return { topic: checkName(p.topic, 'topic'), partition: checkPartition(p.partition) };
  });
}

export function checkGroupSave(groupId: string, state: string, expectedVersion: number): void {
  checkName(groupId, 'groupId');
  if (typeof state !== 'string') throw invalid('group state must be a string');
  checkInteger(expectedVersion, 'expectedVersion');
}

export function groupVersionConflict(groupId: string, expected: number, actual: number): MetadataStoreError {
  return new MetadataStoreError(
    'GROUP_VERSION_CONFLICT',
    `group ${groupId}: expected version ${expected}, stored version is ${actual === 0 ? 'none (no record)' : actual}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Misc

/** A Kafka-style cluster id: 16 random bytes, base64url without padding (22 characters). */
export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

export const CLUSTER_ID_META_KEY = 'cluster.id';

export function topicNotFound(name: string): MetadataStoreError {
  return new MetadataStoreError('TOPIC_NOT_FOUND', `no topic named ${name}`);
}

export function unknownPartition(topicId: string, partition: number): MetadataStoreError {
  return new MetadataStoreError(
    'UNKNOWN_TOPIC_OR_PARTITION',
    `no partition ${partition} of topic id ${topicId}`,
  );
}

export function closedError(): MetadataStoreError {
  return new MetadataStoreError('METADATA_STORE_CLOSED', 'metadata store is closed');
}
