/**
 * Test certificates made with the `openssl` binary at test time (nothing checked in, nothing that
 * expires in the repo): a CA, a server certificate for localhost / 127.0.0.1 / ::1 signed by it, and
 * a client certificate (CN=streamhouse-client) for mTLS. Keys are unencrypted RSA 2048 unless
 * `keyPassword` is given, in which case the server key is encrypted with it (ssl.key.password).
 *
 *   const certs = makeCerts(mkdtempSync(join(tmpdir(), 'certs-')));
 *   startBroker({ securityProtocol: 'SSL', sslCertificateLocation: certs.certPath, sslKeyLocation: certs.keyPath });
 *   tls.connect({ host: '127.0.0.1', port, ca: certs.caPem });
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  /** The CA certificate (PEM text), for a client's `ca` option. */
  caPem: string;
  /** Path of the CA certificate (same content as caPem), e.g. for ssl.ca.location or kcat. */
  caPath: string;
  /** Server certificate and key (PEM files). */
  certPath: string;
  keyPath: string;
  /** Client certificate and key (PEM files) signed by the same CA, subject CN=streamhouse-client. */
  clientCertPath: string;
  clientKeyPath: string;
  /** The client certificate's subject; the broker's principal for it is `User:` + this. */
  clientSubject: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Write a CA, a server and a client certificate into `dir` (which must exist). Takes ~0.5 s. */
export function makeCerts(dir: string, opts: { keyPassword?: string } = {}): TestCerts {
  const days = '2';
  // CA
  openssl(['genrsa', '-out', 'ca.key', '2048'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      days,
      '-subj',
      '/CN=StreamHouse Test CA',
      '-out',
      'ca.pem',
    ],
    dir,
  );
  // Server: SAN for every name a test might dial.
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '',
    ].join('\n'),
  );
  openssl(['genrsa', '-out', 'server.key', '2048'], dir);
  openssl(['req', '-new', '-key', 'server.key', '-subj', '/CN=localhost', '-out', 'server.csr'], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      days,
      '-sha256',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
  let keyPath = join(dir, 'server.key');
  if (opts.keyPassword !== undefined) {
    openssl(
      [
        'pkcs8',
        '-topk8',
        '-in',
        'server.key',
        '-out',
        'server-enc.key',
        '-passout',
        `pass:${opts.keyPassword}`,
      ],
      dir,
    );
    keyPath = join(dir, 'server-enc.key');
  }
  // Client
  writeFileSync(
    join(dir, 'client.ext'),
    ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth', ''].join('\n'),
  );
  openssl(['genrsa', '-out', 'client.key', '2048'], dir);
  openssl(
    ['req', '-new', '-key', 'client.key', '-subj', '/CN=streamhouse-client', '-out', 'client.csr'],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      days,
      '-sha256',
      '-extfile',
      'client.ext',
      '-out',
      'client.pem',
    ],
    dir,
  );
  return {
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    caPath: join(dir, 'ca.pem'),
    certPath: join(dir, 'server.pem'),
    keyPath,
    clientCertPath: join(dir, 'client.pem'),
    clientKeyPath: join(dir, 'client.key'),
    clientSubject: 'CN=streamhouse-client',
  };
}
