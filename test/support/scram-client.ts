/**
 * The client side of SCRAM (RFC 5802), for tests: builds client-first and client-final messages and
 * the server-final the client should expect. Written from the RFC, independent of src/security.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

export interface ScramClientMechanism {
  readonly hash: 'sha256' | 'sha512';
  readonly keyLength: number;
}

export function scramClientFirst(user: string, nonce = randomBytes(16).toString('base64')) {
  const bare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  return { message: `n,,${bare}`, bare, nonce };
}

export function scramClientFinal(
  m: ScramClientMechanism,
  password: string,
  clientFirst: string,
  serverFirst: string,
): { message: string; expectedServerFinal: string } {
  const attrs = new Map(serverFirst.split(',').map((p) => [p[0]!, p.slice(2)] as const));
  const nonce = attrs.get('r')!;
  const salt = Buffer.from(attrs.get('s')!, 'base64');
  const iterations = Number(attrs.get('i'));
  const salted = pbkdf2Sync(password, salt, iterations, m.keyLength, m.hash);
  const hmac = (k: Buffer, s: string) => createHmac(m.hash, k).update(s).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash(m.hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const bare = clientFirst.slice(clientFirst.indexOf('n=', 3));
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
  return {
    message: `${withoutProof},p=${proof.toString('base64')}`,
    expectedServerFinal: `v=${serverSignature.toString('base64')}`,
  };
}
