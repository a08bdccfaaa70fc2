/**
 * Verified HTTPS to a name whose address the guard pinned: the socket goes to the resolved address,
 * but the certificate is checked against the NAME (SNI and identity), so a valid certificate for
 * the name passes and one for another name fails with class tls. Runs in a child process that
 * trusts a test certificate (NODE_EXTRA_CA_CERTS is read at start-up).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('the certificate is verified against the URL host name, not the pinned address', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-tls-name-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=svc.test', '-addext', 'subjectAltName=DNS:svc.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    const child = fileURLToPath(new URL('./tls-name-child.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', child], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'), TLS_CERT: join(dir, 'cert.pem'), TLS_KEY: join(dir, 'key.pem') },
      encoding: 'utf8', timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(results['svc.test'], '200', 'the right name verifies');
    assert.match(results['other.test'], /^tls: .*ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(results['127.0.0.1'], /^tls: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
