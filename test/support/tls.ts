import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM material made for one test run by the openssl CLI: a CA, a server and a client certificate. */
export interface TestCerts {
  readonly ca: string;
  readonly serverKey: string;
  readonly serverCert: string;
  readonly clientKey: string;
  readonly clientCert: string;
  /** A CA nobody signed anything with (for "untrusted" cases). */
  readonly otherCa: string;
}

/** Generates certificates in a temporary directory (removed before returning). */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'reflex-tls-'));
  const f = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  try {
    for (const ca of ['ca', 'other']) {
      ssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        `/CN=${ca} test CA`,
        '-keyout',
        f(`${ca}.key`),
        '-out',
        f(`${ca}.pem`),
      );
    }
    writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const who of ['server', 'client']) {
      ssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${who === 'server' ? 'localhost' : 'consumer-service'}`,
        '-keyout',
        f(`${who}.key`),
        '-out',
        f(`${who}.csr`),
      );
      ssl(
        'x509',
        '-req',
        '-in',
        f(`${who}.csr`),
        '-CA',
        f('ca.pem'),
        '-CAkey',
        f('ca.key'),
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        f(`${who}.ext`),
        '-out',
        f(`${who}.pem`),
      );
    }
    const r = (name: string): string => readFileSync(f(name), 'utf8');
    return {
      ca: r('ca.pem'),
      serverKey: r('server.key'),
      serverCert: r('server.pem'),
      clientKey: r('client.key'),
      clientCert: r('client.pem'),
      otherCa: r('other.pem'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
