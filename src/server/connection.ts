/**
 * One client connection: Kafka framing, pipelined requests answered strictly in order, limits and
 * backpressure.
 *
 *   stream := { size INT32, frame[size] }*        (size excludes its own 4 bytes)
 *
 * Invariants
 * - Requests are dispatched synchronously in arrival order, so handlers that act before their first
 *   `await` (Produce assigns offsets there) see requests in the order the client sent them.
 * - Responses are written in request order, whatever order handlers finish in. A request without a
 *   response (Produce acks=0) just frees its slot. Responses completed in the same microtask round
 *   leave together (corked: one writev), not one syscall each.
 * - A frame larger than `maxRequestBytes` (or with a negative size) closes the connection before a
 *   single byte of it is buffered beyond what the socket already delivered.
 * - Reading pauses while the socket's write buffer is over its high-water mark or too many requests
 *   are in flight, and resumes on 'drain' / completion: a slow reader cannot make us buffer without
 *   bound.
 * - Nothing a client sends can throw out of this class: protocol errors close this connection only.
 * - On a SASL listener, until the client has logged in: frames over SASL_MAX_RECEIVE_BYTES close the
 *   connection (as Kafka's sasl.server.max.receive.size), and frames are handled one at a time — the
 *   next is read only once the previous one is answered (Kafka mutes the channel the same way). So
 *   a frame pipelined behind a login is judged by the login's outcome, and several SaslAuthenticate
 *   attempts cannot run at once behind one failure delay.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameBuffer } from '../../protocol/frame-buffer.js';
import type { ConnectionInfo } from '../handlers/handler.js';
import { SASL_MAX_RECEIVE_BYTES, type SaslSession } from '../security/sasl-session.js';

export interface ConnectionLimits {
  maxRequestBytes: number;
  idleTimeoutMs: number;
  maxInFlightRequests: number;
}

/** What the connection needs from the dispatcher. */
export interface FrameDispatcher {
  /**
   * Handle one frame. Returns response chunks (size prefix included), null for "no response", or
   * throws CloseConnection to drop the connection after logging.
   */
  dispatch(frame: Buffer, conn: ConnectionInfo): Promise<Buffer[] | null>;
}

/** Who is on the other end, decided by the listener (null/absent on a PLAINTEXT listener). */
export interface ConnectionSecurity {
  /** The SASL exchange to run before other requests (SASL_* listeners). */
  sasl?: SaslSession | null;
  /** Principal from TLS (a verified client certificate's subject), e.g. `User:CN=alice`. */
  tlsPrincipal?: string | null;
}

export class CloseConnection extends Error {
  override readonly name = 'CloseConnection';
}

interface Slot {
  done: boolean;
  chunks: Buffer[] | null;
}

let nextConnectionId = 1;

export class Connection implements ConnectionInfo {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  readonly state = new Map<string, unknown>();
  private readonly incoming = new FrameBuffer();
  private readonly slots: Slot[] = [];
  private inFlight = 0;
  private closed = false;
  private pausedForWrite = false;
  private pausedForInFlight = false;
  private flushScheduled = false;
  /** Set by closeAfterResponses: stop reading, end once every slot is written. */
  private endReason: string | null = null;
  /** A frame sent before SASL login is being handled: read no further until it is answered. */
  private awaitingLoginStep = false;
  readonly sasl: SaslSession | null;
  private readonly tlsPrincipal: string | null;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly socket: Socket,
    private readonly dispatcher: FrameDispatcher,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    private readonly onClose: (conn: Connection) => void,
    security: ConnectionSecurity = {},
  ) {
    this.sasl = security.sasl ?? null;
    this.tlsPrincipal = security.tlsPrincipal ?? null;
    this.remoteAddress = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setNoDelay(true);
    if (limits.idleTimeoutMs > 0) {
      socket.setTimeout(limits.idleTimeoutMs, () => this.close('idle timeout'));
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.pausedForWrite = false;
      this.maybeResume();
    });
    socket.on('error', (err) => this.close(`socket error: ${err.message}`));
    socket.on('close', () => this.close(null));
  }

  get principal(): string {
    return this.sasl?.principal ?? this.tlsPrincipal ?? 'User:ANONYMOUS';
  }

  closeAfterResponses(reason: string): void {
    if (this.closed || this.endReason !== null) return;
    this.endReason = reason;
    this.socket.pause();
    this.scheduleFlush();
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.endReason !== null) return;
    this.bytesIn += chunk.length;
    this.incoming.push(chunk);
    this.takeFrames();
  }

  private takeFrames(): void {
    while (!this.closed && this.endReason === null && !this.awaitingLoginStep) {
      const size = this.incoming.peekSize();
      if (size === null) return;
      const beforeLogin = this.sasl !== null && !this.sasl.authenticated;
      const max = beforeLogin
        ? Math.min(this.limits.maxRequestBytes, SASL_MAX_RECEIVE_BYTES)
        : this.limits.maxRequestBytes;
      if (size < 0 || size > max) {
        this.close(
          beforeLogin
            ? `request size ${size} outside [0, ${max}] before SASL authentication`
            : `request size ${size} outside [0, ${max}] (socket.request.max.bytes)`,
        );
        return;
      }
      const frame = this.incoming.takeFrame(size);
      if (frame === null) return;
      if (beforeLogin) {
        this.awaitingLoginStep = true;
        this.socket.pause();
      }
      this.handleFrame(frame, beforeLogin);
    }
  }

  private handleFrame(frame: Buffer, beforeLogin: boolean): void {
    const slot: Slot = { done: false, chunks: null };
    this.slots.push(slot);
    this.inFlight++;
    if (this.inFlight >= this.limits.maxInFlightRequests && !this.pausedForInFlight) {
      this.pausedForInFlight = true;
      this.socket.pause();
    }
    let result: Promise<Buffer[] | null>;
    try {
      result = this.dispatcher.dispatch(frame, this);
    } catch (err) {
      this.failed(err);
      return;
    }
    result.then(
      (chunks) => {
        slot.done = true;
        slot.chunks = chunks;
        this.inFlight--;
        this.scheduleFlush();
        if (beforeLogin) {
          this.awaitingLoginStep = false;
          this.takeFrames();
        }
        this.maybeResume();
      },
      (err: unknown) => this.failed(err),
    );
  }

  private failed(err: unknown): void {
    if (err instanceof CloseConnection) this.close(err.message);
    else {
      this.log.error({ err, conn: this.id }, 'unexpected error while dispatching; closing connection');
      this.close('internal error');
    }
  }

  /**
   * Flush in a microtask rather than at once: requests answered together (one WAL group commit
   * resolves many produce requests in one loop) finish in the same microtask round, so their
   * responses leave in one writev instead of one write syscall each.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed) return;
    let corked = false;
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const slot = this.slots.shift()!;
      if (slot.chunks === null) continue;
      if (!corked) {
        this.socket.cork();
        corked = true;
      }
      for (const c of slot.chunks) {
        this.bytesOut += c.length;
        if (!this.socket.write(c)) this.pausedForWrite = true;
      }
    }
    if (corked) this.socket.uncork();
    if (this.pausedForWrite) this.socket.pause();
    if (this.endReason !== null && this.slots.length === 0) this.endAfterWrites(this.endReason);
  }

  /** Close after what is written has gone out (a FIN, or TLS close_notify, not a reset). */
  private endAfterWrites(reason: string): void {
    this.closed = true;
    this.log.warn({ conn: this.id, remote: this.remoteAddress, reason }, 'closing connection');
    this.socket.end();
    // A peer that never closes its side must not keep the socket open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
    this.incoming.clear();
    this.onClose(this);
  }

  private maybeResume(): void {
    if (this.closed || this.endReason !== null || this.awaitingLoginStep) return;
    if (this.pausedForInFlight && this.inFlight < this.limits.maxInFlightRequests)
      this.pausedForInFlight = false;
    if (!this.pausedForWrite && !this.pausedForInFlight && this.socket.isPaused()) this.socket.resume();
  }

  /** Close this connection; `reason` null means the peer closed it. Logs one line. */
  close(reason: string | null): void {
    if (this.closed) return;
    this.closed = true;
    if (reason !== null)
      this.log.warn({ conn: this.id, remote: this.remoteAddress, reason }, 'closing connection');
    else this.log.debug({ conn: this.id, remote: this.remoteAddress }, 'connection closed by peer');
    this.socket.destroy();
    this.incoming.clear();
    this.slots.length = 0;
    this.onClose(this);
  }

  /** Graceful end: stop reading, let in-flight responses go out (bounded by `timeoutMs`), then close. */
  async drain(timeoutMs: number): Promise<void> {
    this.socket.pause();
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && this.slots.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!this.closed) {
      this.closed = true;
      this.socket.end();
      this.onClose(this);
    }
  }
}
