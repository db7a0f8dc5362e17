import { randomBytes } from 'node:crypto';
import tls from 'node:tls';
import selfsigned from 'selfsigned';

export interface LoopbackCertificate {
  cert: string;
  key: string;
}

/**
 * @discordjs/voice always dials `wss://`, and neither it nor the `ws` client underneath lets a caller pass a CA.
 * Node 24's tls.setDefaultCACertificates changes the trust store of this process only (not the machine's,
 * not child processes), so the self-signed loopback certificate is trusted exactly where the bot runs.
 */
export async function createTrustedLoopbackCertificate(): Promise<LoopbackCertificate> {
  // A distinct subject per certificate: OpenSSL finds an issuer by subject name, so two stand-ins started in
  // one process with the same subject would make it check one's certificate against the other's key.
  const pems = await selfsigned.generate([{ name: 'commonName', value: `discord-sim ${randomBytes(8).toString('hex')}` }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 24 * 3_600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), pems.cert]);
  return { cert: pems.cert, key: pems.private };
}
