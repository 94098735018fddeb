/**
 * A minimal Kafka client for tests, speaking through the project's own codec
 * (protocol/codec.ts): connect, send any request at any version, get the decoded response body.
 *
 *   const c = await KafkaTestClient.connect(broker.bootstrap);
 *   const res = await c.send(CreateTopics, 7, { topics: [...], timeoutMs: 1000 });
 *   await c.close();
 *
 * Requests may be pipelined; responses are matched by correlation id. A request that gets no
 * response (Produce acks=0) goes through `sendNoResponse`. If the broker closes the connection,
 * pending requests reject with the reason.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest } from '../../protocol/codec.js';
import type { ApiDefinition, RequestInput, ResponseOf } from '../../protocol/schema/schema.js';

interface Pending {
  apiKey: number;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class KafkaTestClient {
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();
  private buffered: Buffer = Buffer.alloc(0);
  private closedError: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly clientId: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  /** Connect to "host:port". */
  static connect(bootstrap: string, clientId = 'streamhouse-test'): Promise<KafkaTestClient> {
    const at = bootstrap.lastIndexOf(':');
    const host = bootstrap.slice(0, at);
    const port = Number(bootstrap.slice(at + 1));
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true }, () => {
        socket.off('error', reject);
        resolve(new KafkaTestClient(socket, clientId));
      });
      socket.once('error', reject);
    });
  }

  /** Send a request and resolve with the decoded response body. */
  send<A extends ApiDefinition>(api: A, version: number, body: RequestInput<A>): Promise<ResponseOf<A>> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequest(
      { apiKey: api.apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    return new Promise<ResponseOf<A>>((resolve, reject) => {
      this.pending.set(correlationId, {
        apiKey: api.apiKey,
        apiVersion: version,
        resolve: resolve as (body: unknown) => void,
        reject,
      });
      for (const chunk of frame) this.socket.write(chunk);
    });
  }

  /** Send a request the broker does not answer (Produce with acks=0). */
  sendNoResponse<A extends ApiDefinition>(api: A, version: number, body: RequestInput<A>): void {
    const correlationId = this.nextCorrelationId++;
    const frame = encodeRequest(
      { apiKey: api.apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    for (const chunk of frame) this.socket.write(chunk);
  }

  /** True once the broker (or close()) ended the connection. */
  get closed(): boolean {
    return this.closedError !== null;
  }

  async close(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
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
        this.fail(new Error(`response for unknown correlation id ${correlationId}`));
        return;
      }
      this.pending.delete(correlationId);
      try {
        p.resolve(decodeResponse(p.apiKey, p.apiVersion, frame).body);
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
