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
 *
 * TLS: `KafkaTestClient.connect(bootstrap, id, { tls: { ca } })`. SASL: `await c.saslLogin('PLAIN',
 * 'alice', 'secret')` (SaslHandshake v1 + SaslAuthenticate; SCRAM-SHA-256/512 too).
 */
import { connect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { decodeResponse, encodeRequest } from '../../protocol/codec.js';
import { SaslAuthenticate, SaslHandshake } from '../../protocol/messages/index.js';
import type { ApiDefinition, RequestInput, ResponseOf } from '../../protocol/schema/schema.js';
import { scramClientFinal, scramClientFirst } from './scram-client.js';

export type TestSaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** What a login ended with: errorCode 0 on success, else the failing step's code and message. */
export interface SaslLoginResult {
  errorCode: number;
  errorMessage: string | null;
}

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

  /** Connect to "host:port", over TLS when `options.tls` is given. */
  static connect(
    bootstrap: string,
    clientId = 'streamhouse-test',
    options: { tls?: ConnectionOptions } = {},
  ): Promise<KafkaTestClient> {
    const at = bootstrap.lastIndexOf(':');
    const host = bootstrap.slice(0, at);
    const port = Number(bootstrap.slice(at + 1));
    return new Promise((resolve, reject) => {
      const ready = () => {
        socket.off('error', reject);
        resolve(new KafkaTestClient(socket, clientId));
      };
      const socket: Socket = options.tls
        ? tlsConnect(
            { host, port, servername: host === '127.0.0.1' ? undefined : host, ...options.tls },
            ready,
          )
        : connect({ host, port, noDelay: true }, ready);
      socket.once('error', reject);
    });
  }

  /**
   * SaslHandshake v1 + SaslAuthenticate (v`authVersion`) with PLAIN or SCRAM. For SCRAM the server's
   * final signature is checked (a mismatch throws).
   */
  async saslLogin(
    mechanism: TestSaslMechanism,
    user: string,
    password: string,
    authVersion = 2,
  ): Promise<SaslLoginResult> {
    const hs = await this.send(SaslHandshake, 1, { mechanism });
    if (hs.errorCode !== 0)
      return { errorCode: hs.errorCode, errorMessage: `mechanisms: ${hs.mechanisms.join(',')}` };
    const step = async (token: string) =>
      this.send(SaslAuthenticate, authVersion, { authBytes: Buffer.from(token) });
    if (mechanism === 'PLAIN') {
      const r = await step(`\0${user}\0${password}`);
      return { errorCode: r.errorCode, errorMessage: r.errorMessage };
    }
    const m =
      mechanism === 'SCRAM-SHA-256'
        ? { hash: 'sha256' as const, keyLength: 32 }
        : { hash: 'sha512' as const, keyLength: 64 };
    const first = scramClientFirst(user);
    const r1 = await step(first.message);
    if (r1.errorCode !== 0) return { errorCode: r1.errorCode, errorMessage: r1.errorMessage };
    const final = scramClientFinal(m, password, first.message, Buffer.from(r1.authBytes).toString());
    const r2 = await step(final.message);
    if (r2.errorCode !== 0) return { errorCode: r2.errorCode, errorMessage: r2.errorMessage };
    if (Buffer.from(r2.authBytes).toString() !== final.expectedServerFinal)
      throw new Error('SCRAM server signature does not verify');
    return { errorCode: 0, errorMessage: null };
  }

  /** Wait until the broker closes the connection (resolves at once if it already has). */
  waitClosed(): Promise<void> {
    if (this.socket.destroyed || this.closedError !== null) return Promise.resolve();
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
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
