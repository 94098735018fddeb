/**
 * What a handler is: one Kafka API, the versions this broker serves, and a function from a decoded
 * request to a response body. Handlers return Kafka error codes as values inside the response; a
 * thrown error is turned into UNKNOWN_SERVER_ERROR (or a closed connection) in one place, the
 * dispatcher.
 *
 * To add an API: a definition in protocol/messages/, a handler file here (NN-<api>.ts) created
 * with `defineHandler`, and one line in handlers/index.ts. ApiVersions is derived from that list.
 */
import type { RequestHeader } from '../../protocol/headers.js';
import type { ApiDefinition, RequestOf, ResponseInput } from '../../protocol/schema/schema.js';
import type { BrokerContext } from '../broker/context.js';
import type { SaslSession } from '../security/sasl-session.js';

/** Returned by a handler to send no response at all (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('NO_RESPONSE');

export interface ConnectionInfo {
  readonly id: number;
  readonly remoteAddress: string;
  /** Mutable per-connection state handlers may keep (SASL state, fetch sessions, ...). */
  readonly state: Map<string, unknown>;
  /** The SASL exchange on SASL_PLAINTEXT / SASL_SSL listeners; null on PLAINTEXT and SSL. */
  readonly sasl: SaslSession | null;
  /**
   * Who the client is, for logs and (later) ACLs: `User:<name>` after SASL, `User:<certificate
   * subject>` for a verified client certificate on an SSL listener, else `User:ANONYMOUS`.
   */
  readonly principal: string;
  /** Close the connection once the responses to requests already received are written. */
  closeAfterResponses(reason: string): void;
}

export interface RequestContext {
  readonly broker: BrokerContext;
  readonly connection: ConnectionInfo;
  readonly header: RequestHeader;
  /** Bytes of the request frame (for metrics and quotas). */
  readonly requestBytes: number;
}

export interface Handler<A extends ApiDefinition = ApiDefinition> {
  readonly api: A;
  /** Versions served and advertised (may be narrower than the codec's). */
  readonly minVersion: number;
  readonly maxVersion: number;
  handle(
    ctx: RequestContext,
    request: RequestOf<A>,
  ): ResponseInput<A> | typeof NO_RESPONSE | Promise<ResponseInput<A> | typeof NO_RESPONSE>;
  /**
   * A response carrying `errorCode` for every part of `request`, used when `handle` throws.
   * Optional: without it, a response with a top-level errorCode gets that; otherwise the
   * connection is closed.
   */
  errorResponse?(request: RequestOf<A>, errorCode: number): ResponseInput<A>;
}

export function defineHandler<A extends ApiDefinition>(
  api: A,
  versions: { min: number; max: number },
  impl: Pick<Handler<A>, 'handle' | 'errorResponse'>,
): Handler<A> {
  return { api, minVersion: versions.min, maxVersion: versions.max, ...impl };
}
