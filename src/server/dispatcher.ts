/**
 * From a request frame to response chunks: header, version negotiation, decode, handler, encode.
 *
 * This is the one place where a thrown error becomes a protocol answer:
 * - unknown API key, or a version outside what the handler serves → close the connection (as Kafka
 *   does), except ApiVersions, which is answered at v0 with UNSUPPORTED_VERSION (KIP-511);
 * - a body that does not decode → close the connection, one log line with the reason;
 * - a handler that throws → UNKNOWN_SERVER_ERROR via the handler's errorResponse (or a top-level
 *   errorCode), else close the connection.
 *
 * On a SASL listener, until the connection has logged in, only ApiVersions, SaslHandshake and
 * SaslAuthenticate are served (anything else closes the connection, as Kafka does), and after a
 * SaslHandshake v0 the frames are bare SASL tokens answered with bare tokens. On other listeners
 * `conn.sasl` is null and that one null check is all this costs.
 */
import type { Logger } from 'pino';
import { apiKeyName } from '../../protocol/api-keys.js';
import { apiCodec, encodeResponse } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { API_VERSIONS_KEY, peekRequestHeader, readRequestHeader } from '../../protocol/headers.js';
import { isProtocolError } from '../../protocol/primitives/errors.js';
import { Reader } from '../../protocol/primitives/reader.js';
import type { BrokerContext } from '../broker/context.js';
import { type ConnectionInfo, type Handler, NO_RESPONSE, type RequestContext } from '../handlers/handler.js';
import type { SaslSession } from '../security/sasl-session.js';
import { CloseConnection, type FrameDispatcher } from './connection.js';

/** What may be asked before SASL authentication: ApiVersions, SaslHandshake, SaslAuthenticate. */
const BEFORE_LOGIN_KEYS = new Set([API_VERSIONS_KEY, 17, 36]);

export interface DispatchObserver {
  onRequest(apiKey: number, apiVersion: number, durationMs: number, failed: boolean): void;
}

export class Dispatcher implements FrameDispatcher {
  private readonly byKey: (Handler | undefined)[] = [];

  constructor(
    handlers: readonly Handler[],
    private readonly broker: BrokerContext,
    private readonly log: Logger,
    private readonly observer?: DispatchObserver,
  ) {
    for (const h of handlers) this.byKey[h.api.apiKey] = h;
  }

  dispatch(frame: Buffer, conn: ConnectionInfo): Promise<Buffer[] | null> {
    if (conn.sasl !== null && !conn.sasl.authenticated) return this.beforeLogin(frame, conn, conn.sasl);
    return this.serve(frame, conn);
  }

  private async beforeLogin(
    frame: Buffer,
    conn: ConnectionInfo,
    sasl: SaslSession,
  ): Promise<Buffer[] | null> {
    if (sasl.expectsRawToken) {
      const result = await sasl.authenticate(frame);
      // SaslHandshake v0 clients learn of a failure only by the connection closing.
      if (result.close) throw new CloseConnection('SASL authentication failed (SaslHandshake v0 raw token)');
      const out = Buffer.allocUnsafe(4 + result.authBytes.length);
      out.writeInt32BE(result.authBytes.length, 0);
      result.authBytes.copy(out, 4);
      return [out];
    }
    let apiKey: number;
    try {
      apiKey = peekRequestHeader(frame).apiKey;
    } catch {
      throw new CloseConnection(`request of ${frame.length} bytes is too short for a header`);
    }
    if (!BEFORE_LOGIN_KEYS.has(apiKey)) {
      const name = apiKeyName(apiKey) ?? `api key ${apiKey}`;
      throw new CloseConnection(
        `${name} request before SASL authentication (state ${sasl.state}); only ApiVersions, SaslHandshake and SaslAuthenticate are allowed until the client logs in`,
      );
    }
    return this.serve(frame, conn);
  }

  private async serve(frame: Buffer, conn: ConnectionInfo): Promise<Buffer[] | null> {
    let peek: ReturnType<typeof peekRequestHeader>;
    try {
      peek = peekRequestHeader(frame);
    } catch {
      throw new CloseConnection(`request of ${frame.length} bytes is too short for a header`);
    }
    const { apiKey, apiVersion, correlationId } = peek;
    const handler = apiKey >= 0 ? this.byKey[apiKey] : undefined;
    if (handler === undefined) throw new CloseConnection(`unknown or unsupported api key ${apiKey}`);
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) return this.unsupportedApiVersions(correlationId);
      throw new CloseConnection(
        `${handler.api.name} v${apiVersion} not supported (serving ${handler.minVersion}-${handler.maxVersion})`,
      );
    }
    const codec = apiCodec(apiKey)!;
    const started = performance.now();
    let request: Record<string, unknown>;
    let header: ReturnType<typeof readRequestHeader>;
    try {
      const r = new Reader(frame);
      header = readRequestHeader(r, codec.isFlexible(apiVersion));
      request = codec.decodeRequestBody(apiVersion, r);
      if (r.offset !== r.end) throw new CloseConnection(`${r.end - r.offset} trailing bytes after the body`);
    } catch (err) {
      if (err instanceof CloseConnection) throw err;
      if (isProtocolError(err)) {
        throw new CloseConnection(`malformed ${handler.api.name} v${apiVersion} request: ${err.message}`);
      }
      throw err;
    }
    const ctx: RequestContext = {
      broker: this.broker,
      connection: conn,
      header,
      requestBytes: frame.length + 4,
    };
    let response: unknown;
    let failed = false;
    try {
      response = await handler.handle(ctx, request as never);
    } catch (err) {
      failed = true;
      this.log.error({ err, api: handler.api.name, version: apiVersion, conn: conn.id }, 'handler failed');
      response = this.errorResponse(handler, request, codec.def.response);
    }
    this.observer?.onRequest(apiKey, apiVersion, performance.now() - started, failed);
    if (response === NO_RESPONSE) return null;
    return encodeResponse({ apiKey, apiVersion, correlationId }, response as object);
  }

  private errorResponse(handler: Handler, request: Record<string, unknown>, responseFields: object): object {
    if (handler.errorResponse)
      return handler.errorResponse(request as never, ErrorCode.UNKNOWN_SERVER_ERROR) as object;
    if ('errorCode' in responseFields) return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR };
    throw new CloseConnection(`${handler.api.name} failed and has no error response`);
  }

  /** KIP-511: answer an ApiVersions version we don't know with a v0 body carrying our range. */
  private unsupportedApiVersions(correlationId: number): Buffer[] {
    return encodeResponse(
      { apiKey: API_VERSIONS_KEY, apiVersion: 0, correlationId },
      { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: this.apiVersionsList() },
    );
  }

  /** The advertised API ranges, derived from the handler registry. */
  apiVersionsList(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    const out: { apiKey: number; minVersion: number; maxVersion: number }[] = [];
    for (const h of this.byKey) {
      if (h === undefined) continue;
      out.push({ apiKey: h.api.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion });
    }
    return out;
  }
}
