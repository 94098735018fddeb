/**
 * TLS for the Kafka listener (security.protocol SSL / SASL_SSL): the server options built from the
 * PEM files in the config, checked at start so that a wrong path, a key that does not match the
 * certificate or a wrong key password stops the start with SH_TLS_CONFIG_INVALID instead of failing
 * every handshake later.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type TLSSocket, type TlsOptions } from 'node:tls';
import type { BrokerConfig } from '../config/broker-config.js';
import { StreamhouseError } from '../errors.js';

export function usesTls(config: Pick<BrokerConfig, 'securityProtocol'>): boolean {
  return config.securityProtocol === 'SSL' || config.securityProtocol === 'SASL_SSL';
}

export function usesSasl(config: Pick<BrokerConfig, 'securityProtocol'>): boolean {
  return config.securityProtocol === 'SASL_PLAINTEXT' || config.securityProtocol === 'SASL_SSL';
}

function readPem(key: string, path: string | null): Buffer {
  if (path === null)
    throw new StreamhouseError(
      'SH_TLS_CONFIG_INVALID',
      `${key} is not set; security.protocol SSL and SASL_SSL need ssl.certificate.location and ssl.key.location`,
    );
  try {
    return readFileSync(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new StreamhouseError('SH_TLS_CONFIG_INVALID', `${key}=${path} cannot be read (${reason})`, {
      cause: err,
    });
  }
}

/** Server options for node:tls from the config; throws SH_TLS_CONFIG_INVALID when unusable. */
export function buildTlsOptions(config: BrokerConfig): TlsOptions {
  const cert = readPem('ssl.certificate.location', config.sslCertificateLocation);
  const key = readPem('ssl.key.location', config.sslKeyLocation);
  const ca = config.sslCaLocation === null ? undefined : readPem('ssl.ca.location', config.sslCaLocation);
  const options: TlsOptions = {
    cert,
    key,
    ...(config.sslKeyPassword !== null ? { passphrase: config.sslKeyPassword } : {}),
    ...(ca !== undefined ? { ca } : {}),
    requestCert: config.sslClientAuth !== 'none',
    rejectUnauthorized: config.sslClientAuth === 'required',
    // A client that connects and never finishes the handshake must not hold a socket for long.
    handshakeTimeout: 10_000,
  };
  try {
    createSecureContext(options);
  } catch (err) {
    const msg = (err as Error).message;
    const hint = /mismatch/i.test(msg)
      ? `the key ${config.sslKeyLocation} does not belong to the certificate ${config.sslCertificateLocation}`
      : /bad decrypt|bad password|passphrase|interrupted or cancelled/i.test(msg)
        ? `the key ${config.sslKeyLocation} is encrypted and ssl.key.password is missing or wrong`
        : `certificate ${config.sslCertificateLocation}, key ${config.sslKeyLocation}${ca ? `, CA ${config.sslCaLocation}` : ''} are not usable PEM`;
    throw new StreamhouseError('SH_TLS_CONFIG_INVALID', `${hint} (${msg})`, { cause: err });
  }
  return options;
}

/**
 * `User:<subject>` for a verified client certificate (RFC 2253 order, most specific first, as
 * Kafka prints X500 names), else null.
 */
export function certificatePrincipal(socket: TLSSocket): string | null {
  if (!socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  if (cert === null || cert.subject === undefined) return null;
  const parts = Object.entries(cert.subject).flatMap(([k, v]) =>
    (Array.isArray(v) ? v : [v]).map((x) => `${k}=${String(x).replace(/([,+"\\<>;])/g, '\\$1')}`),
  );
  if (parts.length === 0) return null;
  return `User:${parts.reverse().join(',')}`;
}
