/**
 * S3FaultProxy: a small HTTP proxy for tests that sits between an S3 client and an S3-compatible
 * server (s3rver) and misbehaves on request.
 *
 *   const proxy = await S3FaultProxy.start({ host: '127.0.0.1', port: s3rverPort });
 *   proxy.faults.slowDownNext = 3;        // the next 3 requests get 503 SlowDown
 *   proxy.faults.slowDownMatching = /^PUT .*partNumber=2/;   // 503 for matching requests
 *   proxy.faults.rateLimitPerSec = 20;    // beyond 20 requests in the last second: 503 SlowDown
 *   proxy.faults.latencyMs = 50;          // delay every forwarded request
 *   proxy.faults.outage = 'reset';        // or 'hang': every request is dropped / never answered
 *
 * Faults apply to requests as they arrive. Every arrival time is recorded (`arrivals`) so tests can
 * check the client's request rate; `maxInWindow(ms)` is the most arrivals in any window of `ms`.
 * Headers pass through unchanged (the signature covers Host), except `Expect: 100-continue`, which
 * this proxy already answered on the client side.
 *
 *   proxy.captureRequests = true;         // keep headers and body of each request (`captured`)
 */
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface S3Faults {
  /** Answer this many next requests with 503 SlowDown (counts down). */
  slowDownNext: number;
  /** Answer each request with 503 SlowDown with this probability (0..1). */
  slowDownProbability: number;
  /** Answer every request whose `METHOD /path?query` matches with 503 SlowDown. null: none. */
  slowDownMatching: RegExp | null;
  /** Allow this many requests per sliding second; the rest get 503 SlowDown. null: no limit. */
  rateLimitPerSec: number | null;
  /** Delay before forwarding each request. */
  latencyMs: number;
  /** Full outage: 'reset' destroys each connection, 'hang' never answers. null: healthy. */
  outage: 'reset' | 'hang' | null;
}

/** One request as it arrived at the proxy (kept only while `captureRequests` is on). */
export interface CapturedRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  /** Lower-case header names, as received. */
  readonly headers: IncomingMessage['headers'];
  /** The body bytes exactly as received (after HTTP transfer decoding, before anything else). */
  readonly body: Buffer;
}

export interface S3FaultProxyCounts {
  requests: number;
  forwarded: number;
  slowDowns: number;
  resets: number;
  hung: number;
}

const SLOW_DOWN_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>';

export class S3FaultProxy {
  readonly faults: S3Faults = {
    slowDownNext: 0,
    slowDownProbability: 0,
    slowDownMatching: null,
    rateLimitPerSec: null,
    latencyMs: 0,
    outage: null,
  };
  readonly counts: S3FaultProxyCounts = { requests: 0, forwarded: 0, slowDowns: 0, resets: 0, hung: 0 };
  /** `METHOD /path?query` of every request, in arrival order. */
  readonly requestLog: string[] = [];
  /** performance.now() of every request's arrival. */
  readonly arrivals: number[] = [];
  /** Record every request's headers and body in `captured` (off by default: bodies can be large). */
  captureRequests = false;
  /** Requests recorded while `captureRequests` was on, in the order their bodies completed. */
  readonly captured: CapturedRequest[] = [];
  /** Arrival times of requests let through by the rate limit (sliding one-second window). */
  private readonly admitted: number[] = [];
  private readonly sockets = new Set<Socket>();
  /** Upstream connections, destroyed on close so the server behind can shut down. */
  private readonly agent = new Agent({ keepAlive: true });

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<S3FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new S3FaultProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (socket: Socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res, target));
    return proxy;
  }

  /** http://127.0.0.1:PORT, for the store's endpoint parameter. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The most arrivals within any window of `windowMs` (since `sinceMs`, a performance.now()). */
  maxInWindow(windowMs: number, sinceMs = 0): number {
    const times = this.arrivals.filter((at) => at >= sinceMs);
    let best = 0;
    let lo = 0;
    for (let hi = 0; hi < times.length; hi++) {
      while (times[hi]! - times[lo]! >= windowMs) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
  }

  /** Back to healthy (counts and arrivals are kept). */
  heal(): void {
    Object.assign(this.faults, {
      slowDownNext: 0,
      slowDownProbability: 0,
      slowDownMatching: null,
      rateLimitPerSec: null,
      latencyMs: 0,
      outage: null,
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Records the request once its body is complete. Called right after the body's consumer (pipe or
   * resume) is attached, so the extra 'data' listener does not start the flow early.
   */
  private capture(req: IncomingMessage): void {
    if (!this.captureRequests) return;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () =>
      this.captured.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: { ...req.headers },
        body: Buffer.concat(chunks),
      }),
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse, target: { host: string; port: number }): void {
    const now = performance.now();
    this.counts.requests++;
    this.arrivals.push(now);
    this.requestLog.push(`${req.method} ${req.url}`);
    const f = this.faults;
    if (f.outage === 'reset') {
      this.counts.resets++;
      req.socket.destroy();
      return;
    }
    if (f.outage === 'hang') {
      this.counts.hung++;
      req.resume(); // swallow the body; never answer
      this.capture(req);
      return;
    }
    let slowDown = false;
    if (f.slowDownNext > 0) {
      f.slowDownNext--;
      slowDown = true;
    } else if (f.slowDownMatching?.test(`${req.method} ${req.url}`)) {
      slowDown = true;
    } else if (f.slowDownProbability > 0 && Math.random() < f.slowDownProbability) {
      slowDown = true;
    } else if (f.rateLimitPerSec !== null) {
      while (this.admitted.length > 0 && now - this.admitted[0]! >= 1000) this.admitted.shift();
      if (this.admitted.length >= f.rateLimitPerSec) slowDown = true;
      else this.admitted.push(now);
    }
    if (slowDown) {
      this.counts.slowDowns++;
      req.resume();
      this.capture(req);
      req.on('end', () => {
        res.writeHead(503, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(SLOW_DOWN_BODY),
        });
        res.end(req.method === 'HEAD' ? undefined : SLOW_DOWN_BODY);
      });
      return;
    }
    const forward = () => {
      this.counts.forwarded++;
      const headers = { ...req.headers };
      delete headers.expect;
      const upstream = request(
        {
          host: target.host,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent: this.agent,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => req.socket.destroy());
      req.pipe(upstream);
      this.capture(req);
    };
    if (f.latencyMs > 0) setTimeout(forward, f.latencyMs);
    else forward();
  }
}
