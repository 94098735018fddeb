/**
 * SCRAM (RFC 5802) with SHA-256 / SHA-512 (RFC 7677), server side, as Kafka speaks it:
 *
 *   client-first  = gs2-header client-first-bare        gs2-header = "n,," | "y,," | "n,a=<authzid>,"
 *   client-first-bare = "n=" saslname ",r=" c-nonce ["," extensions]
 *   server-first  = "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" iterations
 *   client-final  = "c=" base64(gs2-header) ",r=" nonce ",p=" base64(ClientProof)
 *   server-final  = "v=" base64(ServerSignature)
 *
 * Credentials hold only salt, iterations, StoredKey and ServerKey (never the password):
 *   SaltedPassword = PBKDF2(password, salt, i)   ClientKey = HMAC(SaltedPassword, "Client Key")
 *   StoredKey = H(ClientKey)                      ServerKey = HMAC(SaltedPassword, "Server Key")
 *
 * Failures throw AuthenticationFailed with one message whatever went wrong (unknown user, bad proof),
 * so a client cannot tell which part was wrong. Channel binding ("p=") and Kafka's `tokenauth`
 * extension (delegation tokens) are not supported and fail the same way.
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface ScramMechanism {
  readonly name: ScramMechanismName;
  readonly hash: 'sha256' | 'sha512';
  readonly keyLength: number;
  /** The mechanism's number in DescribeUserScramCredentials / AlterUserScramCredentials. */
  readonly type: 1 | 2;
}

export const SCRAM_SHA_256: ScramMechanism = {
  name: 'SCRAM-SHA-256',
  hash: 'sha256',
  keyLength: 32,
  type: 1,
};
export const SCRAM_SHA_512: ScramMechanism = {
  name: 'SCRAM-SHA-512',
  hash: 'sha512',
  keyLength: 64,
  type: 2,
};
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = [SCRAM_SHA_256, SCRAM_SHA_512];

export function scramMechanismByName(name: string): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((m) => m.name === name);
}
export function scramMechanismByType(type: number): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((m) => m.type === type);
}

/** Kafka's bounds for SCRAM iterations (ScramMechanism.minIterations / maxIterations). */
export const SCRAM_MIN_ITERATIONS = 4096;
export const SCRAM_MAX_ITERATIONS = 16384;
export const SCRAM_DEFAULT_ITERATIONS = 4096;

export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

/** The message every failed authentication carries: it does not say which part was wrong. */
export const AUTH_FAILED_MESSAGE = 'Authentication failed: Invalid username or password';

export class AuthenticationFailed extends Error {
  override readonly name = 'AuthenticationFailed';
  /** `reason` is for the broker's log only; the client sees AUTH_FAILED_MESSAGE. */
  constructor(readonly reason: string) {
    super(AUTH_FAILED_MESSAGE);
  }
}

const hmac = (m: ScramMechanism, key: Buffer, data: string | Buffer) =>
  createHmac(m.hash, key).update(data).digest();
const hash = (m: ScramMechanism, data: Buffer) => createHash(m.hash).update(data).digest();

export async function saltPassword(
  m: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<Buffer> {
  // The password's UTF-8 bytes as they are, no SASLprep/NFKC: Kafka (ScramFormatter) and its clients
  // hash them unnormalised, so normalising here would lock out users whose passwords change under it.
  return pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, m.keyLength, m.hash);
}

export function credentialFromSaltedPassword(
  m: ScramMechanism,
  saltedPassword: Buffer,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  const clientKey = hmac(m, saltedPassword, 'Client Key');
  return {
    salt,
    iterations,
    storedKey: hash(m, clientKey),
    serverKey: hmac(m, saltedPassword, 'Server Key'),
  };
}

/** A fresh credential for `password`: random 32-byte salt, `iterations` rounds. */
export async function deriveCredential(
  m: ScramMechanism,
  password: string,
  iterations = SCRAM_DEFAULT_ITERATIONS,
  salt: Buffer = randomBytes(32),
): Promise<ScramCredential> {
  return credentialFromSaltedPassword(m, await saltPassword(m, password, salt, iterations), salt, iterations);
}

/** True when `password` is the one `credential` was derived from (constant-time comparison). */
export async function passwordMatches(
  m: ScramMechanism,
  credential: ScramCredential,
  password: string,
): Promise<boolean> {
  const salted = await saltPassword(m, password, credential.salt, credential.iterations);
  const derived = credentialFromSaltedPassword(m, salted, credential.salt, credential.iterations);
  return safeEqual(derived.storedKey, credential.storedKey);
}

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** saslname (RFC 5802 §5.1): "=2C" is ',', "=3D" is '='; any other '=' is malformed. */
export function decodeSaslName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** Parse "k=v,k=v" attributes, keeping order. Null when an attribute is malformed. */
function attributes(s: string): [string, string][] | null {
  const out: [string, string][] = [];
  for (const part of s.split(',')) {
    const m = /^([A-Za-z]+)=(.*)$/s.exec(part);
    if (m === null) return null;
    out.push([m[1]!, m[2]!]);
  }
  return out;
}

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

export interface ScramLookup {
  /** The credential of `user` for this mechanism, or null when there is none. */
  (user: string): Promise<ScramCredential | null>;
}

/**
 * One SCRAM exchange on the server: two client messages in, two server messages out.
 * `evaluate` throws AuthenticationFailed; after a failure or success the session is finished.
 */
export class ScramServerSession {
  private step: 'first' | 'final' | 'done' = 'first';
  private user = '';
  private gs2Header = '';
  private nonce = '';
  private clientNonce = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private credential: ScramCredential | null = null;
  /** Set when the user has no credential: the exchange runs on to the proof, then fails. */
  private unknownUser = false;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: ScramLookup,
    /** For tests (RFC 7677 vector): the server's half of the nonce. */
    private readonly serverNonce: string = randomBytes(18).toString('base64'),
  ) {}

  /** The authenticated user, once `complete`. */
  get username(): string {
    return this.user;
  }

  get complete(): boolean {
    return this.step === 'done' && this.credential !== null;
  }

  async evaluate(token: Buffer): Promise<Buffer> {
    if (this.step === 'first') return this.first(token.toString('utf8'));
    if (this.step === 'final') return this.final(token.toString('utf8'));
    throw new AuthenticationFailed('SCRAM exchange already finished');
  }

  private async first(msg: string): Promise<Buffer> {
    this.step = 'done'; // until it succeeds
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(msg);
    if (m === null) throw new AuthenticationFailed('malformed client-first message');
    if (m[1]!.startsWith('p=')) throw new AuthenticationFailed('channel binding is not supported');
    const bare = m[3]!;
    const attrs = attributes(bare);
    if (attrs === null || attrs.length < 2 || attrs[0]![0] !== 'n' || attrs[1]![0] !== 'r')
      throw new AuthenticationFailed('malformed client-first message');
    const user = decodeSaslName(attrs[0]![1]);
    const clientNonce = attrs[1]![1];
    if (user === null || user === '') throw new AuthenticationFailed('malformed user name');
    if (!PRINTABLE_NONCE.test(clientNonce)) throw new AuthenticationFailed('malformed nonce');
    for (const [k, v] of attrs.slice(2)) {
      if (k === 'tokenauth' && v.toLowerCase() === 'true')
        throw new AuthenticationFailed('delegation tokens (tokenauth) are not supported');
    }
    if (m[2] !== undefined) {
      const authzid = decodeSaslName(m[2].slice(2));
      if (authzid !== user) throw new AuthenticationFailed(`authorization id ${authzid} differs from user`);
    }
    this.user = user;
    this.gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = bare;
    this.clientNonce = clientNonce;
    this.nonce = clientNonce + this.serverNonce;
    let credential = await this.lookup(user);
    if (credential === null) {
      // Do not reveal that the user does not exist: answer with a made-up salt, fail at the proof.
      this.unknownUser = true;
      credential = {
        salt: hmac(this.mechanism, UNKNOWN_USER_SECRET, user).subarray(0, 32),
        iterations: SCRAM_DEFAULT_ITERATIONS,
        storedKey: randomBytes(this.mechanism.keyLength),
        serverKey: randomBytes(this.mechanism.keyLength),
      };
    }
    this.credential = credential;
    this.serverFirst = `r=${this.nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.step = 'final';
    return Buffer.from(this.serverFirst, 'utf8');
  }

  private async final(msg: string): Promise<Buffer> {
    this.step = 'done';
    const credential = this.credential!;
    this.credential = null;
    const attrs = attributes(msg);
    if (attrs === null || attrs.length < 3) throw new AuthenticationFailed('malformed client-final message');
    const [c, r] = [attrs[0]!, attrs[1]!];
    const p = attrs[attrs.length - 1]!;
    if (c[0] !== 'c' || r[0] !== 'r' || p[0] !== 'p')
      throw new AuthenticationFailed('malformed client-final message');
    if (c[1] !== Buffer.from(this.gs2Header, 'utf8').toString('base64'))
      throw new AuthenticationFailed('channel binding does not match the gs2 header');
    // librdkafka before 2.6.1 sends the client nonce twice (client nonce + server's r); Kafka up to
    // 3.9 accepts that, so do we. Either way the server's nonce must be there (no replay).
    if (r[1] !== this.nonce && r[1] !== this.clientNonce + this.nonce)
      throw new AuthenticationFailed('nonce mismatch');
    const withoutProof = msg.slice(0, msg.lastIndexOf(',p='));
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const proof = Buffer.from(p[1], 'base64');
    const m = this.mechanism;
    const clientSignature = hmac(m, credential.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new AuthenticationFailed('malformed proof');
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const ok = safeEqual(hash(m, clientKey), credential.storedKey);
    if (!ok || this.unknownUser)
      throw new AuthenticationFailed(this.unknownUser ? 'unknown user' : 'wrong password (proof mismatch)');
    this.credential = credential;
    const serverSignature = hmac(m, credential.serverKey, authMessage);
    return Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8');
  }
}

/** Per-process secret for made-up salts of unknown users (stable within a run, so retries match). */
const UNKNOWN_USER_SECRET = randomBytes(32);
