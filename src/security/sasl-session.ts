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
 * (sessionLifetimeMs 0).
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
    if (this.state !== 'authenticate' && this.state !== 'raw') {
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: `Unexpected SaslAuthenticate request in state ${this.state}: send SaslHandshake first`,
        authBytes: Buffer.alloc(0),
        close: true,
      };
    }
    const mechanism = this.mechanism!;
    try {
      if (this.scram !== null) {
        const reply = await this.scram.evaluate(token);
        if (this.scram.complete) this.succeeded(this.scram.username);
        return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: reply, close: false };
      }
      const { user, password } = parsePlainToken(token);
      if (!(await this.config.credentials.verifyPlain(user, password)))
        throw new AuthenticationFailed(`wrong password or unknown user ${user}`);
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
      if (this.config.failureDelayMs > 0) await new Promise((r) => setTimeout(r, this.config.failureDelayMs));
      return {
        errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: AUTH_FAILED_MESSAGE,
        authBytes: Buffer.alloc(0),
        close: true,
      };
    }
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
