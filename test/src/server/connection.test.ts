/**
 * Connection over a real loopback socket with a scripted dispatcher: pipelined requests are answered
 * in request order whatever order the dispatcher finishes them in, responses finished together leave
 * in one corked write, "no response" frees its slot, and an oversize frame closes the connection.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import t from 'tap';
import type { ConnectionInfo } from '../../../src/handlers/handler.js';
import { Connection, type FrameDispatcher } from '../../../src/server/connection.js';

/** Frames are `id INT32`; the response echoes the id (size-prefixed), or nothing for id < 0. */
function frame(id: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32BE(4, 0);
  b.writeInt32BE(id, 4);
  return b;
}

function response(id: number): Buffer[] {
  const b = Buffer.alloc(8);
  b.writeInt32BE(4, 0);
  b.writeInt32BE(id, 4);
  return [b];
}

interface Harness {
  client: Socket;
  serverSocket: Socket;
  /** Ids the client has received, in order. */
  received: number[];
  /** Resolvers of dispatched frames by id. */
  pending: Map<number, () => void>;
  closed: Promise<void>;
  server: Server;
}

async function harness(maxRequestBytes = 1024): Promise<Harness> {
  const pending = new Map<number, () => void>();
  const dispatcher: FrameDispatcher = {
    dispatch(f: Buffer, _conn: ConnectionInfo) {
      const id = f.readInt32BE(0);
      return new Promise((resolve) => {
        pending.set(id, () => resolve(id < 0 ? null : response(id)));
      });
    },
  };
  let closedResolve: () => void = () => undefined;
  const closed = new Promise<void>((r) => {
    closedResolve = r;
  });
  let serverSocket: Socket | null = null;
  const server = createServer((socket) => {
    serverSocket = socket;
    new Connection(
      socket,
      dispatcher,
      { maxRequestBytes, idleTimeoutMs: 0, maxInFlightRequests: 100 },
      pino({ level: 'silent' }),
      () => closedResolve(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => client.once('connect', () => r()));
  while (serverSocket === null) await new Promise((r) => setImmediate(r));
  const received: number[] = [];
  let buffered = Buffer.alloc(0);
  client.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 8) {
      received.push(buffered.readInt32BE(4));
      buffered = buffered.subarray(8);
    }
  });
  return { client, serverSocket, received, pending, closed, server };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
}

async function teardown(h: Harness): Promise<void> {
  h.client.destroy();
  await h.closed;
  await new Promise<void>((r) => h.server.close(() => r()));
}

t.test('responses go out in request order, whatever order handlers finish in', async (t) => {
  const h = await harness();
  h.client.write(Buffer.concat([frame(1), frame(2), frame(3)]));
  await until(() => h.pending.size === 3);
  h.pending.get(3)!();
  h.pending.get(2)!();
  await new Promise((r) => setTimeout(r, 20));
  t.same(h.received, [], 'nothing before the first request is answered');
  h.pending.get(1)!();
  await until(() => h.received.length === 3);
  t.same(h.received, [1, 2, 3]);
  await teardown(h);
});

t.test('responses finished in the same turn leave in one corked write', async (t) => {
  const h = await harness();
  let corks = 0;
  const cork = h.serverSocket.cork.bind(h.serverSocket);
  h.serverSocket.cork = () => {
    corks++;
    cork();
  };
  h.client.write(Buffer.concat([frame(1), frame(2), frame(3), frame(4)]));
  await until(() => h.pending.size === 4);
  for (const id of [1, 2, 3, 4]) h.pending.get(id)!();
  await until(() => h.received.length === 4);
  t.same(h.received, [1, 2, 3, 4]);
  t.equal(corks, 1, 'one flush for four responses');
  await teardown(h);
});

t.test('a request without a response frees its slot', async (t) => {
  const h = await harness();
  h.client.write(Buffer.concat([frame(1), frame(-2), frame(3)]));
  await until(() => h.pending.size === 3);
  for (const id of [3, -2, 1]) h.pending.get(id)!();
  await until(() => h.received.length === 2);
  t.same(h.received, [1, 3]);
  await teardown(h);
});

t.test('a frame larger than maxRequestBytes closes the connection', async (t) => {
  const h = await harness(16);
  const big = Buffer.alloc(4 + 17);
  big.writeInt32BE(17, 0);
  h.client.write(big);
  await h.closed;
  t.equal(h.pending.size, 0, 'never dispatched');
  h.client.destroy();
  await new Promise<void>((r) => h.server.close(() => r()));
});
