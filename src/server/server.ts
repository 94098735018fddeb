/**
 * The Kafka listener: accepts TCP connections (or TLS connections, once their handshake is done) and
 * hands each to a Connection. Owns the set of live connections so shutdown can stop accepting, let
 * in-flight requests finish, and close the rest.
 *
 * A TLS handshake that fails (a plaintext client on a TLS port, an untrusted client certificate)
 * closes that socket only, with one log line naming the client address.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { type SaslConfig, SaslSession } from '../security/sasl-session.js';
import { certificatePrincipal } from '../security/tls.js';
import { Connection, type ConnectionLimits, type FrameDispatcher } from './connection.js';

/** What the listener needs for security.protocol: TLS options and/or the SASL setup (null = off). */
export interface ListenerSecurity {
  tls: TlsOptions | null;
  sasl: SaslConfig | null;
}

export interface ListenerEvents {
  onConnectionOpened?(conn: Connection): void;
  onConnectionClosed?(conn: Connection): void;
}

export class KafkaListener {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();

  constructor(
    private readonly dispatcher: FrameDispatcher,
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    private readonly events: ListenerEvents = {},
    private readonly security: ListenerSecurity = { tls: null, sasl: null },
  ) {
    if (security.tls !== null) {
      const server = createTlsServer({ ...security.tls, noDelay: true }, (socket) => this.accept(socket));
      server.on('tlsClientError', (err, socket) =>
        this.log.warn(
          { remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, reason: err.message },
          'TLS handshake failed; connection closed',
        ),
      );
      this.server = server;
    } else {
      this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    }
    this.server.on('error', (err) => this.log.error({ err }, 'listener error'));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Bytes received and sent so far on the connections that are open now. */
  liveTraffic(): { bytesIn: number; bytesOut: number } {
    let bytesIn = 0;
    let bytesOut = 0;
    for (const c of this.connections) {
      bytesIn += c.bytesIn;
      bytesOut += c.bytesOut;
    }
    return { bytesIn, bytesOut };
  }

  private accept(socket: Socket): void {
    const { tls, sasl } = this.security;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const conn = new Connection(
      socket,
      this.dispatcher,
      this.limits,
      this.log,
      (c) => {
        this.connections.delete(c);
        this.events.onConnectionClosed?.(c);
      },
      {
        sasl: sasl === null ? null : new SaslSession(sasl, remote),
        tlsPrincipal: tls === null ? null : certificatePrincipal(socket as TLSSocket),
      },
    );
    this.connections.add(conn);
    this.log.debug({ conn: conn.id, remote: conn.remoteAddress }, 'connection opened');
    this.events.onConnectionOpened?.(conn);
  }

  /** Listen; resolves with the bound address (port 0 → a free port). */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        if (addr === null || typeof addr === 'string') reject(new Error('listener has no TCP address'));
        else resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Stop accepting, give in-flight requests `graceMs` to be answered, then close every connection. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections].map((c) => c.drain(graceMs)));
    await closed;
  }
}
