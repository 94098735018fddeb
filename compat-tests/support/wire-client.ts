/**
 * A minimal Kafka protocol client over one TCP connection, built on the project's own codecs
 * (protocol/codec.ts). The compatibility tests use it to read back what real clients wrote (by
 * offset, no consumer groups) and to send deliberately bad input.
 *
 * Invariants: responses are matched to requests by correlation id (a request sent with
 * `expectResponse: false`, e.g. Produce acks=0, registers nothing); when the connection closes,
 * every pending request is rejected and `closed` resolves.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { ApiVersions, Fetch, ListOffsets, Metadata, Produce } from '../../protocol/messages/index.js';
import { splitBatches } from '../../protocol/records/batch.js';
import type { CompressionName } from '../../protocol/records/compression.js';
import { type DecodedRecord, iterateRecords } from '../../protocol/records/record.js';
import type { ApiDefinition, RequestInput, ResponseOf } from '../../protocol/schema/schema.js';

interface Pending {
  resolve(frame: Buffer): void;
  reject(err: Error): void;
}

export class WireClient {
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private buffered: Buffer = Buffer.alloc(0);
  private closeReason: Error | null = null;
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    readonly clientId: string,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closeReason ??= new Error('connection closed');
        for (const p of this.pending.values()) p.reject(this.closeReason);
        this.pending.clear();
        resolve();
      });
    });
    socket.on('error', (err) => {
      this.closeReason ??= err;
    });
  }

  static connect(bootstrap: string, clientId = 'streamhouse-compat-wire'): Promise<WireClient> {
    const [host, port] = splitHostPort(bootstrap);
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new WireClient(socket, clientId));
      });
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.closeReason !== null;
  }

  /** Encode and send a request with the project's codec; resolve with the decoded response. */
  async request<A extends ApiDefinition>(
    api: A,
    version: number,
    body: RequestInput<A>,
  ): Promise<ResponseOf<A>> {
    const correlationId = this.nextCorrelationId++;
    const chunks = encodeRequest(
      { apiKey: api.apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    const frame = await this.exchange(correlationId, Buffer.concat(chunks));
    return decodeResponse(api.apiKey, version, frame).body as ResponseOf<A>;
  }

  /** Send a request that gets no response (Produce acks=0). */
  send<A extends ApiDefinition>(api: A, version: number, body: RequestInput<A>): void {
    const correlationId = this.nextCorrelationId++;
    const chunks = encodeRequest(
      { apiKey: api.apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    this.socket.write(Buffer.concat(chunks));
  }

  /**
   * Send a hand-made frame: header (key, version, a fresh correlation id, our client id) + `body`
   * bytes, size-prefixed. Resolves with the response frame (after the size prefix, header included).
   */
  rawRequest(apiKey: number, apiVersion: number, body: Buffer): Promise<Buffer> {
    const correlationId = this.nextCorrelationId++;
    const clientId = Buffer.from(this.clientId, 'utf8');
    const header = Buffer.alloc(10);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(apiVersion, 2);
    header.writeInt32BE(correlationId, 4);
    header.writeInt16BE(clientId.length, 8);
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + clientId.length + body.length);
    return this.exchange(correlationId, Buffer.concat([size, header, clientId, body]));
  }

  /** Write arbitrary bytes (no framing added). */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private exchange(correlationId: number, bytes: Buffer): Promise<Buffer> {
    if (this.isClosed) return Promise.reject(this.closeReason ?? new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { resolve, reject });
      this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (p === undefined) {
        this.closeReason = new Error(`response with unexpected correlation id ${correlationId}`);
        this.socket.destroy();
        return;
      }
      this.pending.delete(correlationId);
      p.resolve(frame);
    }
  }
}

export function splitHostPort(bootstrap: string): [string, number] {
  const i = bootstrap.lastIndexOf(':');
  return [bootstrap.slice(0, i), Number(bootstrap.slice(i + 1))];
}

// ---------------------------------------------------------------------------------------------
// Reading back by offset (no consumer groups)

/** Partition count of `topic`, without creating it (Metadata v4+, allowAutoTopicCreation false). */
export async function partitionCount(client: WireClient, topic: string): Promise<number> {
  const res = await client.request(Metadata, 6, { topics: [{ name: topic }], allowAutoTopicCreation: false });
  const t = res.topics.find((x) => x.name === topic);
  if (t === undefined || t.errorCode !== ErrorCode.NONE) return 0;
  return t.partitions.length;
}

/** ListOffsets v2: the log end (high watermark, timestamp -1) or log start (-2) of a partition. */
export async function listOffset(
  client: WireClient,
  topic: string,
  partition: number,
  timestamp: bigint,
): Promise<bigint> {
  const res = await client.request(ListOffsets, 2, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
  });
  const p = res.topics[0]?.partitions[0];
  if (p === undefined || p.errorCode !== ErrorCode.NONE)
    throw new Error(`ListOffsets ${topic}/${partition}: error ${p?.errorCode}`);
  return p.offset;
}

export interface ReadRecord extends DecodedRecord {
  partition: number;
  /** Attributes of the batch the record came in (compression in bits 0-2). */
  batchAttributes: number;
}

/**
 * Every record of `topic`/`partition` in [fromOffset, the high watermark at call time), by Fetch
 * v11 (what kafkajs and librdkafka send), asserting offsets come back contiguous from `fromOffset`
 * unless `allowGaps`.
 */
export async function readPartition(
  client: WireClient,
  topic: string,
  partition: number,
  fromOffset = 0n,
  opts: { allowGaps?: boolean; untilOffset?: bigint } = {},
): Promise<ReadRecord[]> {
  const end = opts.untilOffset ?? (await listOffset(client, topic, partition, -1n));
  const out: ReadRecord[] = [];
  let next = fromOffset;
  while (next < end) {
    const res = await client.request(Fetch, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 8 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, fetchOffset: next, partitionMaxBytes: 4 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const p = res.responses[0]?.partitions[0];
    if (p === undefined) throw new Error(`Fetch ${topic}/${partition}: no partition in the response`);
    if (p.errorCode !== ErrorCode.NONE)
      throw new Error(`Fetch ${topic}/${partition}@${next}: error ${p.errorCode}`);
    const { batches } = splitBatches(p.records ?? Buffer.alloc(0));
    if (batches.length === 0)
      throw new Error(`Fetch ${topic}/${partition}@${next}: no complete batch below ${end}`);
    for (const batch of batches) {
      const attributes = batch.readInt16BE(21);
      for (const r of iterateRecords(batch, { maxDecompressedBytes: 64 << 20, verifyCrc: true })) {
        if (r.offset < next || r.offset >= end) continue;
        if (!opts.allowGaps && r.offset !== next)
          throw new Error(`${topic}/${partition}: expected offset ${next}, got ${r.offset}`);
        out.push({ ...r, partition, batchAttributes: attributes });
        next = r.offset + 1n;
      }
      // A batch's last offset may be a record that compaction or a control marker removed.
      const lastOffset = batch.readBigInt64BE(0) + BigInt(batch.readInt32BE(23));
      if (lastOffset + 1n > next) next = lastOffset + 1n;
    }
  }
  return out;
}

/** Make sure `topic` exists (Metadata v6 with auto-creation), returning its partition count. */
export async function ensureTopic(client: WireClient, topic: string): Promise<number> {
  const res = await client.request(Metadata, 6, { topics: [{ name: topic }], allowAutoTopicCreation: true });
  const t = res.topics.find((x) => x.name === topic);
  if (t === undefined || t.errorCode !== ErrorCode.NONE)
    throw new Error(`Metadata ${topic}: error ${t?.errorCode}`);
  return t.partitions.length;
}

export interface ProduceOutcome {
  errorCode: number;
  baseOffset: bigint;
  errorMessage: string | null;
}

/** Produce one records blob (one or more batches) to one partition; acks=-1 by default. */
export async function produceRaw(
  client: WireClient,
  topic: string,
  partition: number,
  records: Buffer,
  opts: { version?: number; acks?: number } = {},
): Promise<ProduceOutcome> {
  const res = await client.request(Produce, opts.version ?? 7, {
    transactionalId: null,
    acks: opts.acks ?? -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  const p = res.responses[0]?.partitionResponses[0];
  if (p === undefined) throw new Error(`Produce ${topic}/${partition}: no partition in the response`);
  return { errorCode: p.errorCode, baseOffset: p.baseOffset, errorMessage: p.errorMessage ?? null };
}

/** The broker's advertised API ranges (ApiVersions v2), by key. */
export async function advertisedApis(
  client: WireClient,
): Promise<Map<number, { minVersion: number; maxVersion: number }>> {
  const res = await client.request(ApiVersions, 2, {});
  if (res.errorCode !== ErrorCode.NONE) throw new Error(`ApiVersions: error ${res.errorCode}`);
  return new Map(res.apiKeys.map((k) => [k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion }]));
}

/**
 * The codec librdkafka 2.0 actually uses for `requested`: it turns its LZ4 feature on only when
 * the broker advertises FindCoordinator v0 (rdkafka_feature.c), and sends uncompressed otherwise.
 */
export function librdkafkaEffectiveCodec(
  requested: CompressionName,
  apis: ReadonlyMap<number, { minVersion: number }>,
): CompressionName {
  const findCoordinator = apis.get(10);
  return requested === 'lz4' && (findCoordinator === undefined || findCoordinator.minVersion > 0)
    ? 'none'
    : requested;
}
