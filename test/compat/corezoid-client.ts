/**
 * A Corezoid API client for tests, written from Corezoid's documentation and its public SDKs, not from the
 * server's code: the URL is `{base}/api/{v}/json/{login}/{unixtime}/{signature}` and the signature is
 * `hex(sha1(time + secret + body + secret))` over the exact body text that is sent.
 */
import { createHash } from 'node:crypto';
import type { TestServer } from '../helpers/server.js';

export interface SignOptions {
  /** Unix seconds to put in the URL (default now). */
  time?: number;
  algorithm?: 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
  upper?: boolean;
  /** Sign this text instead of the body that is sent. */
  signBody?: string;
  /** Use this signature as is. */
  signature?: string;
  version?: 1 | 2;
  sync?: boolean;
}

export interface Login {
  login: number;
  secret: string;
}

export const now = (): number => Math.floor(Date.now() / 1000);

export function sign(time: string, secret: string, body: string, algorithm = 'sha1'): string {
  return createHash(algorithm).update(time + secret + body + secret, 'utf8').digest('hex');
}

export interface CzAnswer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

/** POSTs a body (an object is sent as JSON) to the signed ops API, or to the Sync API with `sync`. */
export async function corezoid(s: TestServer, login: Login, body: unknown, opts: SignOptions = {}): Promise<CzAnswer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const time = String(opts.time ?? now());
  let signature = opts.signature ?? sign(time, login.secret, opts.signBody ?? text, opts.algorithm);
  if (opts.upper) signature = signature.toUpperCase();
  const path = `${opts.sync ? '/sync' : ''}/api/${opts.version ?? 1}/json/${login.login}/${time}/${signature}`;
  const res = await fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
  const raw = await res.text();
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // left as text
  }
  return { status: res.status, body: parsed, text: raw, headers: res.headers };
}

/** Creates an API login through the native API (as the admin, for `tenant`). */
export async function newLogin(s: TestServer, tenant?: string, name = 'test'): Promise<Login> {
  const r = await s.call('POST', '/v1/api-logins', { json: { name }, ...(tenant ? { tenant } : {}) });
  if (r.status !== 201) throw new Error(`POST /v1/api-logins answered ${r.status}: ${r.text}`);
  return { login: r.body.login, secret: r.body.secret };
}

/** The conv_id of a workflow (from its triggers). */
export async function convId(s: TestServer, id: string, tenant?: string): Promise<number> {
  const r = await s.call('GET', `/v1/workflows/${id}`, tenant ? { tenant } : {});
  if (r.status !== 200) throw new Error(`GET /v1/workflows/${id} answered ${r.status}`);
  return r.body.triggers.conv_id;
}
