/**
 * Corezoid / Mambu Process Orchestrator request signing (docs/spec.md §5.1): the URL
 * `/api/{1|2}/json/{login}/{gmt_unixtime}/{signature}` carries a numeric API login, the client's clock
 * in Unix seconds, and `hex(HASH(time + secret + raw_body + secret))`, HASH being SHA-1 (40 hex) or
 * SHA-224/256/384/512 (56/64/96/128 hex), in any letter case. Checked against the raw bytes, before
 * the body is parsed, with a constant-time comparison.
 *
 * Logins are looked up through the node's `logins` cache (src/engine/caches.ts: 5 s, also for unknown
 * logins); deleting a login through the API forgets it at once here and, through a hint, on the other nodes.
 */
import { corezoidSignatureMatches as signatureMatches } from '../../core/signatures.js';
import type { SecretBox } from '../../core/secretbox.js';
import type { Caches, TtlCache } from '../../engine/caches.js';
import type { Logger } from '../../engine/executor.js';
import type { Store } from '../../store/types.js';

const TIME_RE = /^\d{1,12}$/;
const LOGIN_RE = /^\d{1,15}$/;

export interface LoginEntry {
  login: number;
  tenant: string;
  secret: string;
}

/** Logins with their opened secrets, briefly cached. */
export class LoginDirectory {
  private readonly cache: TtlCache<LoginEntry | null>;

  constructor(private readonly store: Store, private readonly box: SecretBox, private readonly log: Logger, private readonly caches: Caches) {
    this.cache = caches.cache('logins');
  }

  find(login: number): Promise<LoginEntry | null> {
    return this.cache.load(String(login), () => this.store.findApiLogin(login).then((row) => {
      if (!row) return null;
      try {
        return { login: row.login, tenant: row.tenant, secret: this.box.open(row.secret_ciphertext) };
      } catch {
        this.log.error({ login }, 'an API login secret could not be decrypted (wrong FLOWGATE_MASTER_KEY?)');
        return null;
      }
    }));
  }

  forget(login: number): void {
    this.caches.changed('logins', String(login));
  }
}

const directories = new WeakMap<Store, LoginDirectory>();

/** The one directory of a store, shared by the signed API and the api-logins routes. */
export function loginDirectory(store: Store, box: SecretBox, log: Logger, caches: Caches): LoginDirectory {
  let dir = directories.get(store);
  if (!dir) {
    dir = new LoginDirectory(store, box, log, caches);
    directories.set(store, dir);
  }
  return dir;
}

/**
 * `login`: the API login is unknown (the seed's 500, "incorrect API login details"); `hash`: the time,
 * the signature or the body is wrong or missing (the seed's 400 `callback_hash_error`).
 */
export type SignedCheck = { ok: true; login: LoginEntry } | { ok: false; kind: 'login' | 'hash'; description: string };

/**
 * Checks the login, the body's presence, the time window and the signature of a signed request, in
 * that order. Every refusal is described (the caller answers with the Corezoid error envelope).
 */
export async function checkSignedRequest(
  dir: LoginDirectory,
  url: { login: string; time: string; signature: string },
  body: Buffer,
  nowMs: number,
  windowSeconds: number,
): Promise<SignedCheck> {
  const login = LOGIN_RE.test(url.login) ? Number(url.login) : NaN;
  const entry = Number.isSafeInteger(login) ? await dir.find(login) : null;
  if (!entry) return { ok: false, kind: 'login', description: `unknown API login ${JSON.stringify(url.login)}` };
  if (body.length === 0) return { ok: false, kind: 'hash', description: 'the body is missing: send the signed {"ops": [...]} envelope' };
  if (!TIME_RE.test(url.time)) return { ok: false, kind: 'hash', description: 'bad time: the URL must carry GMT_UNIXTIME, the Unix time in seconds' };
  const skew = Number(url.time) - Math.floor(nowMs / 1000);
  if (Math.abs(skew) > windowSeconds) {
    return { ok: false, kind: 'hash', description: `time ${url.time} is outside the allowed window of ±${windowSeconds} s around the server's time (${Math.floor(nowMs / 1000)})` };
  }
  if (!signatureMatches(url.signature, url.time, entry.secret, body)) {
    return { ok: false, kind: 'hash', description: 'bad signature: expected hex(sha1(time + secret + body + secret)) (or SHA-224/256/384/512)' };
  }
  return { ok: true, login: entry };
}
