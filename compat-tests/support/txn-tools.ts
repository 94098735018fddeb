/**
 * Shared pieces of the transaction compatibility tests (transactions-*.test.ts):
 *
 * - `Collector`: a kafkajs group consumer (read_committed or read_uncommitted) that records every
 *   message it is handed, so a test can wait for a set of values and then assert the exact set.
 * - `partitionLog`: what a partition physically holds, read with the project's own Fetch decoder at
 *   read_uncommitted — data records and transaction markers (control records), each at its offset.
 * - `stableOffset`: ListOffsets latest with isolation_level READ_COMMITTED, i.e. the last stable
 *   offset (LSO) a read_committed consumer may read up to.
 */
import type kafkajs from 'kafkajs';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ListOffsets, OffsetCommit } from '../../protocol/messages/index.js';
import { CONTROL_BIT, decodeControlRecord } from '../../protocol/records/index.js';
import { readPartition, type WireClient } from './wire-client.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` every 50 ms; reject with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}

export interface Seen {
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

/** A kafkajs consumer in its own group, subscribed from the beginning, recording every message. */
export class Collector {
  readonly seen: Seen[] = [];
  private constructor(
    readonly name: string,
    readonly consumer: kafkajs.Consumer,
  ) {}

  static async start(
    kafka: kafkajs.Kafka,
    name: string,
    opts: { readUncommitted: boolean; topics: string[]; groupId?: string; maxBytesPerPartition?: number },
  ): Promise<Collector> {
    const consumer = kafka.consumer({
      groupId: opts.groupId ?? `${name}-${process.pid}-${Date.now()}`,
      readUncommitted: opts.readUncommitted,
      maxWaitTimeInMs: 100,
      ...(opts.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: opts.maxBytesPerPartition }),
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 500,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const c = new Collector(name, consumer);
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topics: opts.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        c.seen.push({
          topic,
          partition,
          offset: Number(message.offset),
          value: message.value?.toString('utf8') ?? '<null>',
        });
      },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        joined,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${name}: did not join its group within 30 s`)), 30_000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    return c;
  }

  /** Values seen in `topic` (optionally one partition), in the order they were handed over. */
  values(topic: string, partition?: number): string[] {
    return this.seen
      .filter((s) => s.topic === topic && (partition === undefined || s.partition === partition))
      .map((s) => s.value);
  }

  has(value: string): boolean {
    return this.seen.some((s) => s.value === value);
  }

  /** Wait until every one of `values` has been seen. */
  waitForAll(values: readonly string[], timeoutMs = 20_000): Promise<number> {
    return waitUntil(
      `${this.name} to see ${values.length} values (${values
        .filter((v) => !this.has(v))
        .slice(0, 5)
        .join(', ')} … missing)`,
      () => values.every((v) => this.has(v)),
      timeoutMs,
    );
  }

  /** Values that were handed over more than once (a consumer restarting would explain it; ours do not). */
  duplicates(): string[] {
    const count = new Map<string, number>();
    for (const s of this.seen)
      count.set(`${s.topic}/${s.value}`, (count.get(`${s.topic}/${s.value}`) ?? 0) + 1);
    return [...count].filter(([, n]) => n > 1).map(([k]) => k);
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}

export const sorted = (xs: Iterable<string>) => [...xs].sort();

export interface LogEntry {
  offset: number;
  /** 'data', or the marker type of a control record. */
  kind: 'data' | 'COMMIT' | 'ABORT' | 'OTHER';
  value: string | null;
  transactional: boolean;
}

/** Everything in a partition up to its high watermark, markers included (read_uncommitted). */
export async function partitionLog(wire: WireClient, topic: string, partition: number): Promise<LogEntry[]> {
  const records = await readPartition(wire, topic, partition);
  return records.map((r) => {
    const control = (r.batchAttributes & CONTROL_BIT) !== 0;
    return {
      offset: Number(r.offset),
      kind: control ? decodeControlRecord(r).typeName : 'data',
      value: control ? null : (r.value?.toString('utf8') ?? null),
      transactional: (r.batchAttributes & 0x10) !== 0,
    };
  });
}

/** Compact description of a partition log for test output: "0:a 1:b 2:[COMMIT]". */
export function describeLog(entries: readonly LogEntry[]): string {
  return entries.map((e) => `${e.offset}:${e.kind === 'data' ? e.value : `[${e.kind}]`}`).join(' ');
}

/** ListOffsets v2 latest with the given isolation level: HW (0) or LSO (1). */
export async function latestOffset(
  wire: WireClient,
  topic: string,
  partition: number,
  isolationLevel: 0 | 1,
): Promise<number> {
  const res = await wire.request(ListOffsets, 2, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
  });
  const p = res.topics[0]?.partitions[0];
  if (p === undefined || p.errorCode !== ErrorCode.NONE)
    throw new Error(`ListOffsets ${topic}/${partition} isolation ${isolationLevel}: error ${p?.errorCode}`);
  return Number(p.offset);
}

export const stableOffset = (wire: WireClient, topic: string, partition: number) =>
  latestOffset(wire, topic, partition, 1);
export const highWatermark = (wire: WireClient, topic: string, partition: number) =>
  latestOffset(wire, topic, partition, 0);

/** Everything kafkajs tells about an error (its type may sit on a wrapped cause), for matching. */
export function describeKafkajsError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur != null && depth < 5; depth++) {
    const x = cur as {
      name?: string;
      type?: string;
      message?: string;
      cause?: unknown;
      originalError?: unknown;
    };
    parts.push([x.name, x.type, x.message].filter(Boolean).join(': '));
    cur = x.cause ?? x.originalError;
  }
  return parts.join(' <- ');
}

/** What Kafka answers a producer whose epoch is stale (kafkajs knows the first as INVALID_PRODUCER_EPOCH). */
export const FENCED = /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED|old epoch|fenced/i;

/**
 * Commit a group offset as an admin tool would (OffsetCommit v7, generation -1, no member: allowed
 * for a group without members). kafkajs's admin.setOffsets does the same by joining the group and
 * waiting for a first fetch, which costs its maxWaitTime (5 s) each time.
 */
export async function commitGroupOffset(
  wire: WireClient,
  groupId: string,
  topic: string,
  partition: number,
  offset: number,
): Promise<void> {
  const res = await wire.request(OffsetCommit, 7, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [
      {
        name: topic,
        partitions: [{ partitionIndex: partition, committedOffset: BigInt(offset), committedMetadata: null }],
      },
    ],
  });
  const code = res.topics[0]?.partitions[0]?.errorCode;
  if (code !== ErrorCode.NONE)
    throw new Error(`OffsetCommit ${groupId} ${topic}/${partition}: error ${code}`);
}
