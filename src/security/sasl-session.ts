/**
 * The SASL state of one connection on a SASL_PLAINTEXT / SASL_SSL listener:
 *
 *   handshake ──SaslHandshake v1──▶ authenticate ──SaslAuthenticate…──▶ done
 *       │                                │
 *       └──SaslHandshake v0──▶ raw ──raw token frames…──▶ done        any failure ──▶ failed (closed)
 *
 * Until `done`, the dispatcher serves only ApiVersions, SaslHandshake and SaslAuthenticate (or, in
 * `raw`, bare size-prefixed tokens with no Kafka header). A failed login is answered after a fixed
 * delay (connection.failed.authentication.delay.ms) with one message that does not say whether the
 * user or the password was wrong, and the connection is closed after the answer. A second
 * handshake after login (KIP-368 re-authentication) is ILLEGAL_SASL_STATE: sessions never expire
 * (sessionLifetimeMs 0). One authenticate() at a time: a second one while the first awaits its
 * credential check fails both (the connection already reads one frame at a time before login; this
 * keeps the session safe on its own).
 */
import type { Logger } from 'pino';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { SaslMechanism } from '../config/broker-config.js';
import type { CredentialStore } from './credentials.js';
import { parsePlainToken } from './plain.js';
import {
  AUTH_FAILED_MESSAGE,
  AuthenticationFailed,
  ScramServerSession,
  scramMechanismByName,
} from './scram.js';

/**
 * Largest frame read from a connection that has not logged in (Kafka's sasl.server.max.receive.size
 * default): SASL tokens are small, so an unauthenticated client cannot make the broker buffer up to
 * socket.request.max.bytes per connection.
 */
export const SASL_MAX_RECEIVE_BYTES = 512 * 1024;

export interface AuthObserver {
  onAuthentication(mechanism: string, ok: boolean): void;
}

export interface SaslConfig {
  mechanisms: readonly SaslMechanism[];
  credentials: CredentialStore;
  failureDelayMs: number;
  logger: Logger;
  observer?: AuthObserver;
}

export type SaslState = 'handshake' | 'authenticate' | 'raw' | 'done' | 'failed';

export interface HandshakeResult {
  errorCode: number;
  mechanisms: string[];
}

export interface AuthenticateResult {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  /** The connection must be closed once this answer is written. */
  close: boolean;
}

export class SaslSession {
  state: SaslState = 'handshake';
  mechanism: SaslMechanism | null = null;
  /** `User:<name>` once authenticated. */
  principal: string | null = null;
  private scram: ScramServerSession | null = null;
  /** An authenticate() call is awaiting its credential check. */
  private busy = false;

  constructor(
    private readonly config: SaslConfig,
    /** For log lines. */
    private readonly remoteAddress: string,
  ) {}

  get authenticated(): boolean {
    return this.state === 'done';
  }

  /** After a v0 handshake the next frames are bare SASL tokens. */
  get expectsRawToken(): boolean {
    return this.state === 'raw';
  }

  handshake(mechanism: string, version: number): HandshakeResult {
    const mechanisms = [...this.config.mechanisms];
    if (this.state !== 'handshake') return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    const found = this.config.mechanisms.find((m) => m === mechanism);
    if (found === undefined) {
      this.config.logger.info(
        { remote: this.remoteAddress, mechanism, enabled: mechanisms },
        'SASL handshake with a mechanism that is not enabled',
      );
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    this.mechanism = found;
    const scram = scramMechanismByName(found);
    if (scram !== undefined)
      this.scram = new ScramServerSession(scram, (user) => this.config.credentials.scram(scram, user));
    this.state = version === 0 ? 'raw' : 'authenticate';
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  /** One client token in, one server token (or an error) out. */
  async authenticate(token: Buffer): Promise<AuthenticateResult> {
    if (this.busy) {
      // Several attempts in flight at once would be many password guesses behind one failure
      // delay: the connection only reads the next frame once this one is answered, and this
      // catches anything else. Both attempts fail.
      this.state = 'failed';
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: 'SaslAuthenticate while another is in progress',
        authBytes: Buffer.alloc(0),
        close: true,
      };
    }
    if (this.state !== 'authenticate' && this.state !== 'raw') {
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: `Unexpected SaslAuthenticate request in state ${this.state}: send SaslHandshake first`,
        authBytes: Buffer.alloc(0),
        close: true,
      };
    }
    const mechanism = this.mechanism!;
    const started = Date.now();
    this.busy = true;
    try {
      const scram = this.scram;
      if (scram !== null) {
        const reply = await scram.evaluate(token);
        this.checkNotSpoiled();
        if (scram.complete) this.succeeded(scram.username);
        return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: reply, close: false };
      }
      const { user, password } = parsePlainToken(token);
      const ok = await this.config.credentials.verifyPlain(user, password);
      this.checkNotSpoiled();
      if (!ok) throw new AuthenticationFailed(`wrong password or unknown user ${user}`);
      this.succeeded(user);
      return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: Buffer.alloc(0), close: false };
    } catch (err) {
      this.state = 'failed';
      this.scram = null;
      const reason =
        err instanceof AuthenticationFailed ? err.reason : `internal error: ${(err as Error).message}`;
      if (!(err instanceof AuthenticationFailed))
        this.config.logger.error(
          { err, remote: this.remoteAddress },
          'SASL authentication failed unexpectedly',
        );
      this.config.logger.warn(
        { remote: this.remoteAddress, mechanism, reason },
        'SASL authentication failed; closing the connection',
      );
      this.config.observer?.onAuthentication(mechanism, false);
      // Slow down password guessing; each failed attempt costs the client a new connection too.
      // Counted from the start of the attempt, so that a slow check (PBKDF2 against a stored
      // credential) answers no later than a fast one (unknown user): the timing does not tell them
      // apart as long as the check is shorter than the delay.
      const wait = this.config.failureDelayMs - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return {
        errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: AUTH_FAILED_MESSAGE,
        authBytes: Buffer.alloc(0),
        close: true,
      };
    } finally {
      this.busy = false;
    }
  }

  /** A concurrent SaslAuthenticate (see `busy`) failed the session while this one awaited. */
  private checkNotSpoiled(): void {
    if (this.state === 'failed')
      throw new AuthenticationFailed('another SaslAuthenticate arrived during this one');
  }

  private succeeded(user: string): void {
    this.state = 'done';
    this.scram = null;
    this.principal = `User:${user}`;
    this.config.observer?.onAuthentication(this.mechanism!, true);
    this.config.logger.debug(
      { remote: this.remoteAddress, mechanism: this.mechanism, principal: this.principal },
      'SASL authentication succeeded',
    );
  }
}
