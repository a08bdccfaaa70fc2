/**
 * Child process of tls-name.test.ts (NODE_EXTRA_CA_CERTS must name the certificate in TLS_CERT):
 * serves HTTPS on 127.0.0.1 with a certificate for svc.test, and asks OutboundHttp for it under
 * several names, the resolver pinning every name to 127.0.0.1. Prints one JSON line of outcomes.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { OutboundHttp } from '../../src/app/outbound.js';
import { parseAllowList } from '../../src/app/ssrf.js';

const cert = readFileSync(process.env.TLS_CERT!);
const key = readFileSync(process.env.TLS_KEY!);
const server = https.createServer({ key, cert }, (_req, res) => res.end('ok'));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;
const out = new OutboundHttp({ allow: parseAllowList('127.0.0.1'), resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
const results: Record<string, string> = {};
for (const host of ['svc.test', 'other.test', '127.0.0.1']) {
  try {
    const r = await out.request({ method: 'GET', url: `https://${host}:${port}/`, headers: {}, timeoutMs: 3000, tlsVerify: true, maxResponseBytes: 1000 });
    results[host] = String(r.status);
  } catch (e) {
    results[host] = `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
}
await out.close();
server.close();
process.stdout.write(`${JSON.stringify(results)}\n`);
