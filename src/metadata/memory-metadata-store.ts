/**
 * MemoryMetadataStore: a MetadataStore in plain maps, for unit tests and `memory://`.
 *
 * Invariants: each method validates everything (through store-rules.ts, as the other stores do)
 * before it changes anything, and then changes state synchronously, so a call is atomic and a
 * rejected call changed nothing. Values handed out are copies; callers cannot reach internal state.
 * Per partition, `entries` is kept ascending by offset and gap-free (see metadata-store.ts).
 * Nothing survives the process.
 *
 * Thread-safety: every method runs to completion within one synchronous section on the JS thread.
 */
import {
  type CommitObjectResult,
  type CommittedOffset,
  type DeletedTopic,
  type GroupOffsetCommit,
  type GroupRecord,
  type IndexReplacement,
  type IndexReplaceResult,
  type IndexTrimResult,
  type LocatedIndexEntry,
  type MetadataStore,
  MetadataStoreError,
  type MetadataStoreOptions,
  type NewTopic,
  type ObjectCommit,
  type ObjectRecord,
  type OffsetCommitEntry,
  type OffsetFetchTopic,
  type PartitionState,
  type TopicPartitionRef,
  type TopicRecord,
  type UnreferencedObjectQuery,
} from './metadata-store.js';
import {
  applyConfigChanges,
  CLUSTER_ID_META_KEY,
  checkConfigChanges,
  checkFetchTopics,
  checkGroupSave,
  checkInteger,
  checkKeyList,
  checkLimit,
  checkMetaEntries,
  checkName,
  checkNewPartitionCount,
  checkNewTopic,
  checkOffsetCommitsMany,
  checkPartition,
  checkPartitionRefs,
  checkUnreferencedQuery,
  closedError,
  compareStrings,
  groupVersionConflict,
  indexRangeChanged,
  invalid,
  leadingExpired,
  newClusterId,
  notContiguous,
  objectKeyConflict,
  partitionKey,
  planIndexReplacement,
  planObjectCommit,
  sameEntries,
  sortedRecord,
  topicNotFound,
  unknownPartition,
} from './store-rules.js';

interface PartitionRow {
  readonly topicId: string;
  readonly partition: number;
  logStartOffset: number;
  indexedEndOffset: number;
  indexedBytes: number;
  /** Ascending, gap-free. */
  entries: LocatedIndexEntry[];
}

interface ObjectRow {
  readonly key: string;
  readonly sizeBytes: number;
  readonly createdAtMs: number;
  readonly fingerprint: string;
  liveEntryCount: number;
  unreferencedSinceMs: number | null;
}

export class MemoryMetadataStore implements MetadataStore {
  readonly #clock: () => number;
  readonly #meta = new Map<string, string>();
  readonly #topics = new Map<string, TopicRecord>();
  readonly #topicNameById = new Map<string, string>();
  readonly #partitions = new Map<string, PartitionRow>();
  readonly #objects = new Map<string, ObjectRow>();
  #nextProducerId = 0;
  /** groupId → partitionKey(topic, partition) → offset */
  readonly #offsets = new Map<string, Map<string, CommittedOffset>>();
  readonly #groups = new Map<string, GroupRecord>();
  #closed = false;

  constructor(options: MetadataStoreOptions = {}) {
    this.#clock = options.clock ?? Date.now;
  }

  // Cluster ------------------------------------------------------------------------------------

  async getOrCreateClusterId(): Promise<string> {
    this.#assertOpen();
    let id = this.#meta.get(CLUSTER_ID_META_KEY);
    if (id === undefined) {
      id = newClusterId();
      this.#meta.set(CLUSTER_ID_META_KEY, id);
    }
    return id;
  }

  async getMeta(key: string): Promise<string | null> {
    this.#assertOpen();
    return this.#meta.get(checkName(key, 'meta key')) ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    this.#assertOpen();
    checkName(key, 'meta key');
    if (typeof value !== 'string') throw invalid('meta value must be a string');
    this.#meta.set(key, value);
  }

  async setMetaMany(entries: readonly { key: string; value: string }[]): Promise<void> {
    this.#assertOpen();
    checkMetaEntries(entries);
    for (const e of entries) this.#meta.set(e.key, e.value);
  }

  async listMeta(prefix: string): Promise<{ key: string; value: string }[]> {
    this.#assertOpen();
    if (typeof prefix !== 'string') throw invalid('meta key prefix must be a string');
    return [...this.#meta]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => ({ key, value }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  // Topics -------------------------------------------------------------------------------------

  async createTopic(topic: NewTopic): Promise<TopicRecord> {
    this.#assertOpen();
    const spec = checkNewTopic(topic);
    if (this.#topics.has(spec.name)) {
      throw new MetadataStoreError('TOPIC_ALREADY_EXISTS', `topic ${spec.name} already exists`);
    }
    if (this.#topicNameById.has(spec.topicId)) {
      throw new MetadataStoreError('TOPIC_ID_ALREADY_EXISTS', `topic id ${spec.topicId} is already in use`);
    }
    const record: TopicRecord = { ...spec, configs: sortedRecord(spec.configs), createdAtMs: this.#clock() };
    this.#topics.set(spec.name, record);
    this.#topicNameById.set(spec.topicId, spec.name);
    this.#addPartitions(spec.topicId, 0, spec.partitionCount);
    return copyTopic(record);
  }

  async deleteTopic(name: string): Promise<DeletedTopic> {
    this.#assertOpen();
    const topic = this.#requireTopic(name);
    const now = this.#clock();
    let deletedEntryCount = 0;
    const unreferenced: string[] = [];
    for (let p = 0; p < topic.partitionCount; p++) {
      const key = partitionKey(topic.topicId, p);
      const row = this.#partitions.get(key);
      if (row === undefined) continue;
      deletedEntryCount += row.entries.length;
      unreferenced.push(...this.#releaseEntries(row.entries, now));
      this.#partitions.delete(key);
    }
    let deletedOffsetCount = 0;
    for (const [groupId, offsets] of this.#offsets) {
      for (const [key, offset] of offsets) {
        if (offset.topic === name) {
          offsets.delete(key);
          deletedOffsetCount++;
        }
      }
      if (offsets.size === 0) this.#offsets.delete(groupId);
    }
    this.#topics.delete(name);
    this.#topicNameById.delete(topic.topicId);
    return {
      topic: copyTopic(topic),
      deletedEntryCount,
      unreferencedObjectKeys: unreferenced.sort(compareStrings),
      deletedOffsetCount,
    };
  }

  async listTopics(): Promise<TopicRecord[]> {
    this.#assertOpen();
    return [...this.#topics.values()].sort((a, b) => compareStrings(a.name, b.name)).map(copyTopic);
  }

  async getTopic(name: string): Promise<TopicRecord | null> {
    this.#assertOpen();
    const topic = this.#topics.get(checkName(name, 'topic name'));
    return topic === undefined ? null : copyTopic(topic);
  }

  async getTopicById(topicId: string): Promise<TopicRecord | null> {
    this.#assertOpen();
    const name = this.#topicNameById.get(checkName(topicId, 'topicId'));
    return name === undefined ? null : copyTopic(this.#topics.get(name)!);
  }

  async createPartitions(name: string, newPartitionCount: number): Promise<TopicRecord> {
    this.#assertOpen();
    const topic = this.#requireTopic(name);
    const count = checkNewPartitionCount(name, topic.partitionCount, newPartitionCount);
    this.#addPartitions(topic.topicId, topic.partitionCount, count);
    const updated: TopicRecord = { ...topic, partitionCount: count };
    this.#topics.set(name, updated);
    return copyTopic(updated);
  }

  async alterTopicConfigs(
    name: string,
    set: Readonly<Record<string, string>>,
    deleteKeys: readonly string[],
  ): Promise<TopicRecord> {
    this.#assertOpen();
    const changes = checkConfigChanges(set, deleteKeys);
    const topic = this.#requireTopic(name);
    const updated: TopicRecord = { ...topic, configs: applyConfigChanges(topic.configs, changes) };
    this.#topics.set(name, updated);
    return copyTopic(updated);
  }

  // Partition state ----------------------------------------------------------------------------

  async getPartitionState(topicId: string, partition: number): Promise<PartitionState> {
    this.#assertOpen();
    return stateOf(this.#requirePartition(topicId, partition));
  }

  async listPartitionStates(topicId?: string): Promise<PartitionState[]> {
    this.#assertOpen();
    if (topicId !== undefined) checkName(topicId, 'topicId');
    const rows = [...this.#partitions.values()].filter(
      (row) => topicId === undefined || row.topicId === topicId,
    );
    rows.sort((a, b) => compareStrings(a.topicId, b.topicId) || a.partition - b.partition);
    return rows.map(stateOf);
  }

  async advanceLogStartOffset(topicId: string, partition: number, offset: number): Promise<number> {
    this.#assertOpen();
    const row = this.#requirePartition(topicId, partition);
    checkInteger(offset, 'offset');
    if (offset > row.logStartOffset) row.logStartOffset = offset;
    return row.logStartOffset;
  }

  // Object index -------------------------------------------------------------------------------

  async commitObject(object: ObjectCommit): Promise<CommitObjectResult> {
    this.#assertOpen();
    const plan = planObjectCommit(object);
    const existing = this.#objects.get(plan.key);
    if (existing !== undefined) {
      if (existing.fingerprint === plan.fingerprint && existing.sizeBytes === plan.sizeBytes) {
        return { alreadyCommitted: true };
      }
      throw objectKeyConflict(plan.key);
    }
    const rows: PartitionRow[] = [];
    for (const part of plan.partitions) {
      const row = this.#requirePartition(part.topicId, part.partition);
      if (row.indexedEndOffset !== part.firstOffset) throw notContiguous(plan, part, row.indexedEndOffset);
      rows.push(row);
    }
    // Everything checked: apply.
    plan.partitions.forEach((part, i) => {
      const row = rows[i]!;
      for (const entry of part.entries) row.entries.push({ ...entry, objectKey: plan.key });
      row.indexedEndOffset = part.endOffset;
      row.indexedBytes += part.bytes;
    });
    this.#objects.set(plan.key, {
      key: plan.key,
      sizeBytes: plan.sizeBytes,
      createdAtMs: plan.createdAtMs,
      fingerprint: plan.fingerprint,
      liveEntryCount: plan.entryCount,
      unreferencedSinceMs: null,
    });
    return { alreadyCommitted: false };
  }

  async getIndexedEnd(topicId: string, partition: number): Promise<number> {
    this.#assertOpen();
    return this.#requirePartition(topicId, partition).indexedEndOffset;
  }

  async findIndexEntries(
    topicId: string,
    partition: number,
    fromOffset: number,
    maxEntries: number,
  ): Promise<LocatedIndexEntry[]> {
    this.#assertOpen();
    const row = this.#requirePartition(topicId, partition);
    checkInteger(fromOffset, 'fromOffset');
    checkLimit(maxEntries, 'maxEntries');
    const start = firstEndingAtOrAfter(row.entries, fromOffset);
    return row.entries.slice(start, start + maxEntries).map((e) => ({ ...e }));
  }

  async findOffsetByTimestamp(
    topicId: string,
    partition: number,
    timestampMs: number,
  ): Promise<LocatedIndexEntry | null> {
    this.#assertOpen();
    const row = this.#requirePartition(topicId, partition);
    checkInteger(timestampMs, 'timestampMs', Number.MIN_SAFE_INTEGER);
    for (let i = firstEndingAtOrAfter(row.entries, row.logStartOffset); i < row.entries.length; i++) {
      const entry = row.entries[i]!;
      if (entry.maxTimestampMs >= timestampMs) return { ...entry };
    }
    return null;
  }

  async listExpiredEntries(
    topicId: string,
    partition: number,
    olderThanMs: number,
    maxEntries: number,
  ): Promise<LocatedIndexEntry[]> {
    this.#assertOpen();
    const row = this.#requirePartition(topicId, partition);
    checkInteger(olderThanMs, 'olderThanMs', Number.MIN_SAFE_INTEGER);
    checkLimit(maxEntries, 'maxEntries');
    const start = firstEndingAtOrAfter(row.entries, row.logStartOffset);
    return leadingExpired(row.entries.slice(start, start + maxEntries), olderThanMs).map((e) => ({ ...e }));
  }

  async deleteIndexEntriesBelow(
    topicId: string,
    partition: number,
    offset: number,
  ): Promise<IndexTrimResult> {
    this.#assertOpen();
    const row = this.#requirePartition(topicId, partition);
    checkInteger(offset, 'offset');
    if (offset > row.logStartOffset) row.logStartOffset = offset;
    const count = firstEndingAtOrAfter(row.entries, row.logStartOffset);
    const removed = row.entries.splice(0, count);
    let deletedBytes = 0;
    for (const entry of removed) deletedBytes += entry.byteLength;
    row.indexedBytes -= deletedBytes;
    const unreferenced = this.#releaseEntries(removed, this.#clock());
    return {
      logStartOffset: row.logStartOffset,
      deletedEntryCount: removed.length,
      deletedBytes,
      unreferencedObjectKeys: unreferenced.sort(compareStrings),
    };
  }

  async replaceIndexEntries(replacement: IndexReplacement): Promise<IndexReplaceResult> {
    this.#assertOpen();
    const r = planIndexReplacement(replacement);
    const existing = this.#objects.get(r.plan.key);
    if (existing !== undefined) {
      if (existing.fingerprint === r.plan.fingerprint && existing.sizeBytes === r.plan.sizeBytes) {
        return { alreadyCommitted: true, unreferencedObjectKeys: [] };
      }
      throw objectKeyConflict(r.plan.key);
    }
    const row = this.#requirePartition(r.topicId, r.partition);
    const start = firstEndingAtOrAfter(row.entries, r.firstOffset);
    let end = start;
    while (end < row.entries.length && row.entries[end]!.baseOffset <= r.lastOffset) end++;
    if (!sameEntries(row.entries.slice(start, end), r.replaced)) throw indexRangeChanged(r);
    // Everything checked: apply.
    const fresh = r.part.entries.map((e) => ({ ...e, objectKey: r.plan.key }));
    const removed = row.entries.splice(start, end - start, ...fresh);
    row.indexedBytes += r.part.bytes - r.replacedBytes;
    this.#objects.set(r.plan.key, {
      key: r.plan.key,
      sizeBytes: r.plan.sizeBytes,
      createdAtMs: r.plan.createdAtMs,
      fingerprint: r.plan.fingerprint,
      liveEntryCount: r.plan.entryCount,
      unreferencedSinceMs: null,
    });
    const unreferenced = this.#releaseEntries(removed, this.#clock());
    return { alreadyCommitted: false, unreferencedObjectKeys: unreferenced.sort(compareStrings) };
  }

  async getObjectRecord(key: string): Promise<ObjectRecord | null> {
    this.#assertOpen();
    const row = this.#objects.get(checkName(key, 'object key'));
    return row === undefined ? null : objectRecordOf(row);
  }

  async listUnreferencedObjects(query?: UnreferencedObjectQuery): Promise<ObjectRecord[]> {
    this.#assertOpen();
    const { atOrBeforeMs, limit } = checkUnreferencedQuery(query);
    const rows = [...this.#objects.values()].filter(
      (row) => row.unreferencedSinceMs !== null && row.unreferencedSinceMs <= atOrBeforeMs,
    );
    rows.sort((a, b) => a.unreferencedSinceMs! - b.unreferencedSinceMs! || compareStrings(a.key, b.key));
    return rows.slice(0, limit).map(objectRecordOf);
  }

  async deleteObjectRecords(keys: readonly string[]): Promise<string[]> {
    this.#assertOpen();
    const deleted: string[] = [];
    for (const key of checkKeyList(keys, 'object key')) {
      const row = this.#objects.get(key);
      if (row !== undefined && row.liveEntryCount === 0) {
        this.#objects.delete(key);
        deleted.push(key);
      }
    }
    return deleted.sort(compareStrings);
  }

  // Producer ids -------------------------------------------------------------------------------

  async allocateProducerIdBlock(size: number): Promise<number> {
    this.#assertOpen();
    checkInteger(size, 'size', 1);
    const first = this.#nextProducerId;
    if (first + size > Number.MAX_SAFE_INTEGER) throw invalid('producer id space exhausted');
    this.#nextProducerId = first + size;
    return first;
  }

  // Consumer group offsets ---------------------------------------------------------------------

  async commitOffsets(groupId: string, offsets: readonly OffsetCommitEntry[]): Promise<void> {
    return this.commitOffsetsMany([{ groupId, offsets }]);
  }

  async commitOffsetsMany(commits: readonly GroupOffsetCommit[]): Promise<void> {
    this.#assertOpen();
    // Everything is checked before the first write: an invalid call changes nothing.
    for (const { groupId, offsets } of checkOffsetCommitsMany(commits)) {
      let group = this.#offsets.get(groupId);
      if (group === undefined) {
        group = new Map();
        this.#offsets.set(groupId, group);
      }
      for (const o of offsets) group.set(partitionKey(o.topic, o.partition), o);
    }
  }

  async fetchOffsets(groupId: string, topics?: readonly OffsetFetchTopic[]): Promise<CommittedOffset[]> {
    this.#assertOpen();
    checkName(groupId, 'groupId');
    const filter = checkFetchTopics(topics);
    const group = this.#offsets.get(groupId);
    if (group === undefined) return [];
    let wanted: ((o: CommittedOffset) => boolean) | undefined;
    if (filter !== undefined) {
      const allPartitions = new Set<string>();
      const somePartitions = new Set<string>();
      for (const t of filter) {
        if (t.partitions === undefined) allPartitions.add(t.topic);
        else for (const p of t.partitions) somePartitions.add(partitionKey(t.topic, p));
      }
      wanted = (o) => allPartitions.has(o.topic) || somePartitions.has(partitionKey(o.topic, o.partition));
    }
    const out = [...group.values()].filter((o) => wanted === undefined || wanted(o)).map((o) => ({ ...o }));
    return out.sort((a, b) => compareStrings(a.topic, b.topic) || a.partition - b.partition);
  }

  async deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[]): Promise<number> {
    this.#assertOpen();
    checkName(groupId, 'groupId');
    const refs = checkPartitionRefs(partitions);
    const group = this.#offsets.get(groupId);
    if (group === undefined) return 0;
    let deleted = 0;
    for (const ref of refs) if (group.delete(partitionKey(ref.topic, ref.partition))) deleted++;
    if (group.size === 0) this.#offsets.delete(groupId);
    return deleted;
  }

  async listGroupsWithOffsets(): Promise<string[]> {
    this.#assertOpen();
    return [...this.#offsets.keys()].sort(compareStrings);
  }

  // Group records ------------------------------------------------------------------------------

  async loadGroup(groupId: string): Promise<GroupRecord | null> {
    this.#assertOpen();
    const record = this.#groups.get(checkName(groupId, 'groupId'));
    return record === undefined ? null : { ...record };
  }

  async saveGroup(groupId: string, state: string, expectedVersion: number): Promise<number> {
    this.#assertOpen();
    checkGroupSave(groupId, state, expectedVersion);
    const current = this.#groups.get(groupId)?.version ?? 0;
    if (current !== expectedVersion) throw groupVersionConflict(groupId, expectedVersion, current);
    const version = current + 1;
    this.#groups.set(groupId, { groupId, state, version, updatedAtMs: this.#clock() });
    return version;
  }

  async listGroups(): Promise<string[]> {
    this.#assertOpen();
    return [...this.#groups.keys()].sort(compareStrings);
  }

  async deleteGroup(groupId: string): Promise<boolean> {
    this.#assertOpen();
    checkName(groupId, 'groupId');
    const hadRecord = this.#groups.delete(groupId);
    const hadOffsets = this.#offsets.delete(groupId);
    return hadRecord || hadOffsets;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  // Internals ----------------------------------------------------------------------------------

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  #requireTopic(name: string): TopicRecord {
    const topic = this.#topics.get(checkName(name, 'topic name'));
    if (topic === undefined) throw topicNotFound(name);
    return topic;
  }

  #requirePartition(topicId: string, partition: number): PartitionRow {
    checkName(topicId, 'topicId');
    checkPartition(partition);
    const row = this.#partitions.get(partitionKey(topicId, partition));
    if (row === undefined) throw unknownPartition(topicId, partition);
    return row;
  }

  #addPartitions(topicId: string, from: number, to: number): void {
    for (let p = from; p < to; p++) {
      this.#partitions.set(partitionKey(topicId, p), {
        topicId,
        partition: p,
        logStartOffset: 0,
        indexedEndOffset: 0,
        indexedBytes: 0,
        entries: [],
      });
    }
  }

  /** Drop references from removed entries; returns keys of objects that lost their last entry. */
  #releaseEntries(removed: readonly LocatedIndexEntry[], nowMs: number): string[] {
    const unreferenced: string[] = [];
    for (const entry of removed) {
      const object = this.#objects.get(entry.objectKey);
      if (object === undefined) continue;
      object.liveEntryCount--;
      if (object.liveEntryCount === 0) {
        object.unreferencedSinceMs = nowMs;
        unreferenced.push(object.key);
      }
    }
    return unreferenced;
  }
}

/** Index of the first entry with lastOffset >= offset (entries ascending); entries.length if none. */
function firstEndingAtOrAfter(entries: readonly LocatedIndexEntry[], offset: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.lastOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function copyTopic(topic: TopicRecord): TopicRecord {
  return { ...topic, configs: { ...topic.configs } };
}

function stateOf(row: PartitionRow): PartitionState {
  return {
    topicId: row.topicId,
    partition: row.partition,
    logStartOffset: row.logStartOffset,
    indexedEndOffset: row.indexedEndOffset,
    indexedBytes: row.indexedBytes,
    indexedEntryCount: row.entries.length,
  };
}

function objectRecordOf(row: ObjectRow): ObjectRecord {
  return {
    key: row.key,
    sizeBytes: row.sizeBytes,
    createdAtMs: row.createdAtMs,
    liveEntryCount: row.liveEntryCount,
    unreferencedSinceMs: row.unreferencedSinceMs,
  };
}
