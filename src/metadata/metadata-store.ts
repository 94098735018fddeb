/**
 * MetadataStore: the broker's durable state other than the log bytes — cluster identity, topics,
 * per-partition log start, the object index, producer-id blocks, consumer group offsets and records.
 *
 * Implementations: memory (tests), SQLite (embedded default), PostgreSQL (later, shared by several
 * brokers). All pass the one contract suite in test/src/metadata/metadata-store-contract.ts; callers
 * rely on nothing the suite does not check. The interface is async and says nothing about SQL.
 *
 * Invariants every implementation keeps:
 * - Each method is one atomic step: it happens whole or not at all, and a rejected call changed
 *   nothing. Once a mutating call resolves its effect is durable (for durable stores).
 * - Per partition the index is a gap-free, non-overlapping run of offsets: the first live entry
 *   starts somewhere at or below the log start offset (or at the indexed end when there is none)
 *   and each next entry starts at the previous lastOffset + 1. commitObject enforces it (the
 *   contiguity guard): an entry must start exactly at the partition's indexed end offset.
 * - The indexed end offset never moves backwards, and neither does the log start offset. Trimming
 *   entries (retention, topic deletion) does not lower the indexed end.
 * - An object record lives while index entries point at it; when its last entry goes it becomes
 *   "unreferenced" (with a timestamp), and only unreferenced records can be deleted.
 * - Producer-id blocks never overlap and are never handed out twice, across restarts.
 * - A group record's version goes up by one with each save; a save with a stale version fails.
 *
 * Offsets and other int64 Kafka values are JS numbers here. That is safe while they stay below
 * 2^53 (9.007e15): a partition appending a million records a second takes 285 years to get there.
 * Every method rejects INVALID_ARGUMENT for a value that is not a safe integer, so nothing
 * imprecise is ever stored; the wire layer converts from bigint at the edge.
 *
 * Thread-safety: a store instance may be called concurrently (overlapping promises) from one
 * process; each call is atomic with respect to the others. One SQLite file has one writing process;
 * sharing state between brokers is the PostgreSQL store's job.
 */

// ---------------------------------------------------------------------------------------------
// Topics and partitions

/** What createTopic needs. `topicId` is a UUID string chosen by the caller (the broker). */
export interface NewTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitionCount: number;
  /** Topic-level config overrides only (e.g. `retention.ms`); defaults live in broker config. */
  readonly configs: Readonly<Record<string, string>>;
}

export interface TopicRecord {
  readonly name: string;
  readonly topicId: string;
  readonly partitionCount: number;
  readonly configs: Readonly<Record<string, string>>;
  readonly createdAtMs: number;
}

/** What deleteTopic removed. */
export interface DeletedTopic {
  readonly topic: TopicRecord;
  /** Index entries removed with the topic. */
  readonly deletedEntryCount: number;
  /** Objects that held only this topic's data (among what was still referenced): now unreferenced. */
  readonly unreferencedObjectKeys: readonly string[];
  /** Committed consumer offsets removed for the topic's name, across all groups. */
  readonly deletedOffsetCount: number;
}

/** Bookkeeping of one partition, as the store keeps it. */
export interface PartitionState {
  readonly topicId: string;
  readonly partition: number;
  /** First offset a consumer may read; moved only forwards (DeleteRecords, retention). */
  readonly logStartOffset: number;
  /** Offset after the last one ever indexed (0 before the first commit); moved only forwards. */
  readonly indexedEndOffset: number;
  /** Sum of byteLength over the partition's live index entries (for retention.bytes). */
  readonly indexedBytes: number;
  /** Number of live index entries. */
  readonly indexedEntryCount: number;
}

// ---------------------------------------------------------------------------------------------
// Object index

/** One partition's contiguous run of record batches inside an object. */
export interface IndexEntry {
  readonly topicId: string;
  readonly partition: number;
  /** Offset of the first record of the first batch. */
  readonly baseOffset: number;
  /** Offset of the last record of the last batch (inclusive). */
  readonly lastOffset: number;
  /** Where the batches start inside the object, in bytes. */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Largest batch maxTimestamp in the run (for ListOffsets by time and time retention). */
  readonly maxTimestampMs: number;
  /** How many record batches the run holds. */
  readonly batchCount: number;
}

/** An index entry as read back: where its object is. */
export interface LocatedIndexEntry extends IndexEntry {
  readonly objectKey: string;
}

/** One uploaded object and the index entries it carries, committed together. */
export interface ObjectCommit {
  readonly key: string;
  readonly sizeBytes: number;
  readonly createdAtMs: number;
  readonly entries: readonly IndexEntry[];
}

export interface CommitObjectResult {
  /** True when this exact object had been committed before and the call changed nothing. */
  readonly alreadyCommitted: boolean;
}

export interface ObjectRecord {
  readonly key: string;
  readonly sizeBytes: number;
  readonly createdAtMs: number;
  /** Index entries still pointing into the object. */
  readonly liveEntryCount: number;
  /** When the last entry went (store clock), or null while referenced. */
  readonly unreferencedSinceMs: number | null;
}

/** What one trim of a partition's index did. */
export interface IndexTrimResult {
  /** The partition's log start offset after the call. */
  readonly logStartOffset: number;
  readonly deletedEntryCount: number;
  readonly deletedBytes: number;
  /** Objects whose last live entry this call removed. */
  readonly unreferencedObjectKeys: readonly string[];
}

/**
 * Compaction: one new object whose entries take the place of a contiguous run of live entries of
 * one partition, covering exactly the same offsets (the new batches may leave gaps inside).
 */
export interface IndexReplacement {
  /** The live entries to replace, ascending and contiguous, exactly as findIndexEntries returned them. */
  readonly replaced: readonly LocatedIndexEntry[];
  /** The new object; its entries cover replaced[0].baseOffset .. replaced[last].lastOffset, gap-free. */
  readonly object: ObjectCommit;
}

export interface IndexReplaceResult {
  /** True when this exact object had been committed before and the call changed nothing. */
  readonly alreadyCommitted: boolean;
  /** Objects whose last live entry this call removed. */
  readonly unreferencedObjectKeys: readonly string[];
}

export interface UnreferencedObjectQuery {
  /** Only objects unreferenced at or before this time (store clock): a grace period for reads in flight. */
  readonly unreferencedAtOrBeforeMs?: number;
  /** At most this many (default 1000). */
  readonly limit?: number;
}

// ---------------------------------------------------------------------------------------------
// Consumer groups

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** One offset to commit for a group (OffsetCommit). */
export interface OffsetCommitEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** -1 when the client sent none. */
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly commitTimestampMs: number;
}

export type CommittedOffset = OffsetCommitEntry;

/** One group's share of a commitOffsetsMany call. */
export interface GroupOffsetCommit {
  readonly groupId: string;
  readonly offsets: readonly OffsetCommitEntry[];
}

/** OffsetFetch filter: a topic, and optionally only some of its partitions. */
export interface OffsetFetchTopic {
  readonly topic: string;
  readonly partitions?: readonly number[];
}

export interface GroupRecord {
  readonly groupId: string;
  /** Opaque to the store: the coordinator's serialized group (JSON). */
  readonly state: string;
  /** 1 after the first save, +1 per save. */
  readonly version: number;
  readonly updatedAtMs: number;
}

// ---------------------------------------------------------------------------------------------

export interface MetadataStore {
  // Cluster
  /** The cluster id, created (22 characters, base64url of 16 random bytes) on first call. */
  getOrCreateClusterId(): Promise<string>;
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * Set several meta entries in one transaction: all or nothing (a bad key or value rejects
   * INVALID_ARGUMENT and writes nothing); a key listed twice takes its last value. Lets a caller
   * make many small state records durable with one fsync.
   */
  setMetaMany(entries: readonly { key: string; value: string }[]): Promise<void>;
  /** Every meta entry whose key starts with `prefix` (may be empty: all), by key. */
  listMeta(prefix: string): Promise<{ key: string; value: string }[]>;

  // Topics
  /** TOPIC_ALREADY_EXISTS (name) / TOPIC_ID_ALREADY_EXISTS (topicId) when taken. */
  createTopic(topic: NewTopic): Promise<TopicRecord>;
  /** Removes the topic, its partitions' state, its index entries and its committed offsets. TOPIC_NOT_FOUND. */
  deleteTopic(name: string): Promise<DeletedTopic>;
  /** All topics, by name. */
  listTopics(): Promise<TopicRecord[]>;
  getTopic(name: string): Promise<TopicRecord | null>;
  getTopicById(topicId: string): Promise<TopicRecord | null>;
  /** Grow to `newPartitionCount` partitions (INVALID_PARTITIONS unless larger). TOPIC_NOT_FOUND. */
  createPartitions(name: string, newPartitionCount: number): Promise<TopicRecord>;
  /** Set some config overrides and remove others (a key in both is INVALID_ARGUMENT). TOPIC_NOT_FOUND. */
  alterTopicConfigs(
    name: string,
    set: Readonly<Record<string, string>>,
    deleteKeys: readonly string[],
  ): Promise<TopicRecord>;

  // Partition state (UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist)
  getPartitionState(topicId: string, partition: number): Promise<PartitionState>;
  /** Every partition's state, or one topic's; ordered by topicId, partition. */
  listPartitionStates(topicId?: string): Promise<PartitionState[]>;
  /**
   * Raise the log start offset to `offset` (no-op when already there or beyond); returns the log
   * start offset after the call. It may pass the indexed end (DeleteRecords up to the high
   * watermark); index entries are not touched — see deleteIndexEntriesBelow.
   */
  advanceLogStartOffset(topicId: string, partition: number, offset: number): Promise<number>;

  // Object index
  /**
   * Record an uploaded object and its entries in one transaction. Rejects, writing nothing:
   * INDEX_NOT_CONTIGUOUS when an entry does not start at its partition's indexed end (entries for
   * one partition must also follow each other), UNKNOWN_TOPIC_OR_PARTITION, INVALID_ARGUMENT (bad
   * numbers, ranges outside the object, no entries), OBJECT_KEY_CONFLICT when the key was committed
   * with other contents. Committing the very same object again resolves alreadyCommitted: true.
   */
  commitObject(object: ObjectCommit): Promise<CommitObjectResult>;
  /** Offset after the last indexed one; 0 before the first commit. */
  getIndexedEnd(topicId: string, partition: number): Promise<number>;
  /** Up to `maxEntries` live entries with lastOffset >= fromOffset, ascending. */
  findIndexEntries(
    topicId: string,
    partition: number,
    fromOffset: number,
    maxEntries: number,
  ): Promise<LocatedIndexEntry[]>;
  /**
   * The first entry (by offset) at or above the log start offset whose maxTimestampMs >=
   * timestampMs, or null. The caller scans its batches for the exact offset (ListOffsets).
   */
  findOffsetByTimestamp(
    topicId: string,
    partition: number,
    timestampMs: number,
  ): Promise<LocatedIndexEntry | null>;
  /**
   * Time retention: the leading run (from the log start offset, ascending, at most `maxEntries`)
   * of entries whose maxTimestampMs < olderThanMs. Stops at the first newer entry, as Kafka never
   * deletes a segment behind one it keeps.
   */
  listExpiredEntries(
    topicId: string,
    partition: number,
    olderThanMs: number,
    maxEntries: number,
  ): Promise<LocatedIndexEntry[]>;
  /**
   * Raise the log start offset to at least `offset`, then delete every entry lying wholly below
   * the resulting log start offset. Objects left without entries become unreferenced.
   */
  deleteIndexEntriesBelow(topicId: string, partition: number, offset: number): Promise<IndexTrimResult>;
  /**
   * Swap a run of live index entries for the entries of a new object, in one transaction (log
   * compaction). The indexed end and log start do not move; indexedBytes and the entry count
   * follow; objects left without live entries become unreferenced. Rejects, changing nothing:
   * INDEX_RANGE_CHANGED when `replaced` is no longer exactly the live entries of its offsets (a
   * concurrent trim or replacement won), INVALID_ARGUMENT when the new entries do not cover exactly
   * the replaced offsets of the same partition, OBJECT_KEY_CONFLICT when the key was committed with
   * other contents, UNKNOWN_TOPIC_OR_PARTITION. The very same replacement again (its answer lost)
   * resolves alreadyCommitted: true.
   */
  replaceIndexEntries(replacement: IndexReplacement): Promise<IndexReplaceResult>;
  getObjectRecord(key: string): Promise<ObjectRecord | null>;
  /** Unreferenced objects, oldest first: candidates for deletion from the ObjectStore. */
  listUnreferencedObjects(query?: UnreferencedObjectQuery): Promise<ObjectRecord[]>;
  /**
   * Forget object records after their objects were deleted from the ObjectStore. Only unreferenced
   * records are removed; referenced or unknown keys are left alone. Returns the keys removed.
   */
  deleteObjectRecords(keys: readonly string[]): Promise<string[]>;

  // Producer ids
  /** Reserve `size` ids; returns the first. Blocks never overlap, also across restarts. */
  allocateProducerIdBlock(size: number): Promise<number>;

  // Consumer group offsets
  /** Upsert all offsets in one transaction (a later duplicate in the batch wins). */
  commitOffsets(groupId: string, offsets: readonly OffsetCommitEntry[]): Promise<void>;
  /**
   * Upsert the offsets of several groups in one transaction: all or nothing, validated as
   * commitOffsets (an invalid group or entry rejects INVALID_ARGUMENT and writes nothing). A group
   * listed twice has its offsets merged, later duplicates winning. Lets the group coordinator make
   * the commits of many groups durable with one fsync.
   */
  commitOffsetsMany(commits: readonly GroupOffsetCommit[]): Promise<void>;
  /** The group's committed offsets (all, or only those asked for), by topic then partition. */
  fetchOffsets(groupId: string, topics?: readonly OffsetFetchTopic[]): Promise<CommittedOffset[]>;
  /** Remove these offsets of the group; returns how many existed. */
  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<number>;
  /** Group ids having at least one committed offset, ascending. */
  listGroupsWithOffsets(): Promise<string[]>;

  // Group records
  loadGroup(groupId: string): Promise<GroupRecord | null>;
  /**
   * Compare-and-set: store `state` if the group's version is `expectedVersion` (0 = the group must
   * not exist yet) and return the new version; else GROUP_VERSION_CONFLICT.
   */
  saveGroup(groupId: string, state: string, expectedVersion: number): Promise<number>;
  /** Group ids having a record, ascending. */
  listGroups(): Promise<string[]>;
  /** Remove the group's record and all its offsets; true if there was either. */
  deleteGroup(groupId: string): Promise<boolean>;

  /** Release resources; later calls reject METADATA_STORE_CLOSED. Idempotent. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Errors

export const METADATA_STORE_ERROR_CODES = {
  TOPIC_ALREADY_EXISTS: { retriable: false, description: 'a topic with this name exists' },
  TOPIC_ID_ALREADY_EXISTS: { retriable: false, description: 'a topic with this topic id exists' },
  TOPIC_NOT_FOUND: { retriable: false, description: 'no topic with this name' },
  UNKNOWN_TOPIC_OR_PARTITION: {
    retriable: false,
    description: 'no partition with this topic id and index (topic deleted, or partition out of range)',
  },
  INVALID_PARTITIONS: {
    retriable: false,
    description: 'a partition count that is not a positive integer larger than the current one',
  },
  INVALID_ARGUMENT: {
    retriable: false,
    description: 'an argument breaks the interface contract (not a safe integer, empty name, bad range)',
  },
  INDEX_NOT_CONTIGUOUS: {
    retriable: false,
    description: 'an index entry does not start at the partition indexed end offset (contiguity guard)',
  },
  INDEX_RANGE_CHANGED: {
    retriable: false,
    description: 'replaceIndexEntries: the entries to replace are no longer the live entries of that range',
  },
  OBJECT_KEY_CONFLICT: {
    retriable: false,
    description: 'the object key was already committed with different size or entries',
  },
  GROUP_VERSION_CONFLICT: {
    retriable: false,
    description: 'saveGroup expected a version other than the stored one (a concurrent writer won)',
  },
  SCHEMA_INCOMPATIBLE: {
    retriable: false,
    description: 'the database schema is newer than this build or differs from its migrations',
  },
  METADATA_STORE_UNAVAILABLE: {
    retriable: true,
    description: 'the database failed or is unreachable (I/O error, busy, connection lost)',
  },
  METADATA_STORE_CLOSED: { retriable: false, description: 'the store was closed' },
  UNSUPPORTED_URL: {
    retriable: false,
    description: 'the URL names a store kind that does not exist or is not yet supported',
  },
  INVALID_URL: { retriable: false, description: 'the URL could not be parsed into a store location' },
} as const satisfies Record<string, { retriable: boolean; description: string }>;

export type MetadataStoreErrorCode = keyof typeof METADATA_STORE_ERROR_CODES;

export class MetadataStoreError extends Error {
  override readonly name = 'MetadataStoreError';
  readonly code: MetadataStoreErrorCode;
  readonly retriable: boolean;
  constructor(code: MetadataStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retriable = METADATA_STORE_ERROR_CODES[code].retriable;
  }
}

export function isMetadataStoreError(err: unknown, code?: MetadataStoreErrorCode): err is MetadataStoreError {
  return err instanceof MetadataStoreError && (code === undefined || err.code === code);
}

/** Options every implementation accepts. */
export interface MetadataStoreOptions {
  /** Milliseconds since the epoch; the store's notion of "now" (createdAtMs, unreferencedSinceMs…). */
  readonly clock?: () => number;
}
