/**
 * A raw Kafka client connection for the load generator: framing, pipelining, and responses matched
 * to requests by correlation id. No retries, no metadata, no batching: the caller hands over
 * finished frames and gets response frames back.
 *
 * Invariants
 * - Correlation ids are allocated here, increasing from 1; a response whose id is not the oldest
 *   one outstanding fails the connection (Kafka answers strictly in order on one connection, so
 *   anything else is a broker bug worth seeing).
 * - A request is written as `head` (a small fresh buffer holding size, api key, version and
 *   correlation id) followed by `body` (shared, never modified once written): the generator patches
 *   nothing but the correlation id, and never a buffer still queued in the socket.
 * - Response frames handed to callbacks are views of socket chunks when a frame sits in one chunk,
 *   else one copy; callbacks must not keep them.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest } from '../../protocol/codec.js';
import { FrameBuffer } from '../../protocol/frame-buffer.js';

/** Bytes of the request frame before the client id: size, api key, api version, correlation id. */
export const FRAME_HEAD_BYTES = 12;

export type ResponseCallback = (frame: Buffer) => void;

interface Outstanding {
  correlationId: number;
  onResponse: ResponseCallback;
}

export class LoadConnection {
  private readonly incoming = new FrameBuffer();
  /** Outstanding requests, oldest first (a ring would save little: the queue is short). */
  private readonly outstanding: Outstanding[] = [];
  private outstandingHead = 0;
  private nextCorrelationId = 1;
  private failure: Error | null = null;
  private onFailure: ((err: Error) => void) | null = null;
  bytesOut = 0;
  bytesIn = 0;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by broker')));
  }

  static open(host: string, port: number): Promise<LoadConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LoadConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.outstanding.length - this.outstandingHead;
  }

  /** Called once when the connection fails (closed, reset, protocol error). */
  setFailureHandler(handler: (err: Error) => void): void {
    this.onFailure = handler;
    if (this.failure !== null) handler(this.failure);
  }

  /**
   * Send a request whose frame is `head ‖ body`; `head` holds the first FRAME_HEAD_BYTES of the
   * frame with any correlation id (this patches it; head must be a fresh buffer per request).
   * Returns the correlation id used.
   */
  send(head: Buffer, body: Buffer, onResponse: ResponseCallback): number {
    const correlationId = this.nextCorrelationId++;
    head.writeInt32BE(correlationId, 8);
    this.outstanding.push({ correlationId, onResponse });
    this.socket.cork();
    this.socket.write(head);
    this.socket.write(body);
    this.socket.uncork();
    this.bytesOut += head.length + body.length;
    return correlationId;
  }

  /** One request encoded with the project's codec, answered as a decoded body (setup calls). */
  request(apiKey: number, apiVersion: number, body: object): Promise<Record<string, unknown>> {
    const frame = Buffer.concat(
      encodeRequest({ apiKey, apiVersion, correlationId: 0, clientId: 'streamhouse-loadgen' }, body),
    );
    return new Promise((resolve, reject) => {
      this.send(frame.subarray(0, FRAME_HEAD_BYTES), frame.subarray(FRAME_HEAD_BYTES), (response) => {
        try {
          resolve(decodeResponse(apiKey, apiVersion, response).body);
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  close(): void {
    this.failure ??= new Error('closed');
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.failure !== null) return;
    this.failure = err;
    this.socket.destroy();
    this.onFailure?.(err);
  }

  private onData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.incoming.push(chunk);
    while (this.failure === null) {
      const size = this.incoming.peekSize();
      if (size === null) return;
      if (size < 4) {
        this.fail(new Error(`response frame of ${size} bytes`));
        return;
      }
      const frame = this.incoming.takeFrame(size);
      if (frame === null) return;
      this.deliver(frame);
    }
  }

  private deliver(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const next = this.outstanding[this.outstandingHead];
    if (next === undefined || next.correlationId !== correlationId) {
      this.fail(
        new Error(`response correlation id ${correlationId}, expected ${next?.correlationId ?? 'none'}`),
      );
      return;
    }
    this.outstandingHead++;
    if (this.outstandingHead > 1024 && this.outstandingHead * 2 > this.outstanding.length) {
      this.outstanding.splice(0, this.outstandingHead);
      this.outstandingHead = 0;
    }
    next.onResponse(frame);
  }
}
