/**
 * Launch-in-context keys (docs/spec.md §5.2, §8.18): a temporary, signed, read-only key that opens the
 * status page of exactly one run without login.
 *
 * A key is `base64url(payload) "." base64url(HMAC-SHA256(secret, base64url(payload)))` with the
 * payload `{ v: 1, t: tenant, r: run id, e: expiry (epoch seconds) }`. The secret is derived from
 * the server's master key (HKDF-SHA256), so every node of a cluster accepts every node's keys and
 * rotating the master key revokes them all. Nothing is stored: a key cannot be revoked early.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** Default lifetime of a launch key: 15 minutes. */
export const LAUNCH_TTL_DEFAULT_SECONDS = 15 * 60;

export interface LaunchGrant {
  tenant: string;
  runId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export type LaunchCheck = { ok: true; grant: LaunchGrant } | { ok: false; reason: 'malformed' | 'signature' | 'expired' };

/** The signing key of launch keys, derived from the master key. */
export function launchSecret(masterKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'utf8'), Buffer.from('flowgate'), Buffer.from('launch-in-context keys v1'), 32));
}

export class LaunchKeys {
  constructor(
    private readonly secret: Buffer,
    readonly ttlSeconds: number,
    private readonly clock: () => number = Date.now,
  ) {}

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(payload).digest();
  }

  issue(tenant: string, runId: string): { key: string; expiresAt: number } {
    const e = Math.floor(this.clock() / 1000) + this.ttlSeconds;
    const payload = Buffer.from(JSON.stringify({ v: 1, t: tenant, r: runId, e })).toString('base64url');
    return { key: `${payload}.${this.sign(payload).toString('base64url')}`, expiresAt: e * 1000 };
  }

  /** Checks the signature first (an altered key says nothing about itself), then the expiry. */
  verify(key: string): LaunchCheck {
    const m = /^([A-Za-z0-9_-]{8,400})\.([A-Za-z0-9_-]{43})$/.exec(key);
    if (!m) return { ok: false, reason: 'malformed' };
    // 43 base64url characters carry 258 bits for the MAC's 256: Node's decoder drops the last two,
    // so four spellings decode to the same MAC. Only the canonical one (the re-encoding of what it
    // decodes to) is a key; the MAC itself is then compared in full, in constant time.
    const given = Buffer.from(m[2], 'base64url');
    if (given.toString('base64url') !== m[2]) return { ok: false, reason: 'signature' };
    const expected = this.sign(m[1]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature' };
    let p: { v?: unknown; t?: unknown; r?: unknown; e?: unknown };
    try {
      p = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8'));
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (p.v !== 1 || typeof p.t !== 'string' || typeof p.r !== 'string' || typeof p.e !== 'number') return { ok: false, reason: 'malformed' };
    if (this.clock() >= p.e * 1000) return { ok: false, reason: 'expired' };
    return { ok: true, grant: { tenant: p.t, runId: p.r, expiresAt: p.e * 1000 } };
  }
}
