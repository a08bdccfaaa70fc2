/**
 * Inbound signatures (`trigger.verify`, docs/workflow-format.md): a workflow that declares one starts
 * runs only from requests whose raw body carries a valid signature made with the tenant secret it
 * names. Every surface that starts runs calls `verifyTrigger` with the exact bytes it received,
 * before it parses them; the formulas are core/signatures.ts, the same that sign outgoing requests.
 *
 * | scheme | carried in | signed over |
 * |---|---|---|
 * | `standard-webhooks` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> …` | `<id>.<timestamp>.<body>`, HMAC-SHA256, `whsec_` key base64-decoded |
 * | `stripe` | `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=…]` | `<t>.<body>`, HMAC-SHA256 |
 * | `github` | `X-Hub-Signature-256: sha256=<hex>` | the body, HMAC-SHA256 |
 * | `hmac` | the declared `header`: `[prefix]<hex or base64>` | the body, HMAC with `algorithm` (sha256) |
 * | `trifacta` | `X-Webhook-Signature: t=<unix s>,sha256=<hex>` | `<t>:<body>`, HMAC-SHA256 |
 * | `corezoid` | query `conv_time`, `conv_signature` | `hex(sha1(time + secret + body + secret))` (or SHA-2 by length) |
 *
 * Schemes with a timestamp refuse one further than `tolerance` (default 5 minutes) from the server's
 * clock, either way. Digests are compared in constant time; an encoding that is not canonical (upper
 * and lower case aside for hex) never matches.
 */
import { FlowgateError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { secretRefName } from '../core/definition.js';
import {
  corezoidSignatureMatches, digestEquals, githubDigest, hmac, standardWebhooksDigest, stripeDigest, trifactaDigest,
} from '../core/signatures.js';
import type { VerifySpec, Workflow } from '../core/types.js';
import type { Logger, SecretsPort } from '../engine/executor-types.js';

/** What a signature is checked against: the request as received. */
export interface SignedRequest {
  /** Lower-case header names, as node:http gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  query: URLSearchParams;
  /** The raw body bytes, before any parsing. */
  body: Buffer;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Default replay window of the schemes that sign a timestamp. */
export const DEFAULT_TOLERANCE_MS = 5 * 60_000;
const MAX_SIGNATURES = 16;
const TIMESTAMP_RE = /^\d{1,12}$/;
const HEX_RE = /^[0-9a-fA-F]+$/;

const OK: SignatureCheck = { ok: true };
const refuse = (reason: string): SignatureCheck => ({ ok: false, reason });

function headerOf(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v.join(', ') : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/** Bytes of a hex digest, or null when it is not hex of the right length. */
function fromHex(text: string, bytes: number): Buffer | null {
  return text.length === bytes * 2 && HEX_RE.test(text) ? Buffer.from(text, 'hex') : null;
}

/** Bytes of a base64 digest, or null unless `text` is exactly the canonical padded encoding. */
function fromBase64(text: string, bytes: number): Buffer | null {
  const b = Buffer.from(text, 'base64');
  return b.length === bytes && b.toString('base64') === text ? b : null;
}

const matches = (given: Buffer | null, expected: Buffer): boolean => given !== null && digestEquals(given, expected);

/** A signed timestamp (unix seconds) inside the window, or the reason it is not. */
function checkTimestamp(raw: string | undefined, what: string, nowMs: number, toleranceMs: number): SignatureCheck {
  if (raw === undefined) return refuse(`${what} is missing`);
  if (!TIMESTAMP_RE.test(raw)) return refuse(`${what} must be the Unix time in seconds`);
  const skewMs = Math.abs(Number(raw) * 1000 - nowMs);
  if (skewMs > toleranceMs) {
    return refuse(`${what} ${raw} is more than ${Math.round(toleranceMs / 1000)} s from the server's time (${Math.floor(nowMs / 1000)}); a replayed or delayed request is refused`);
  }
  return OK;
}

/** `k=v,k=v` pairs in order (Stripe-Signature, X-Webhook-Signature). */
function pairs(value: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.push([part.slice(0, eq).trim(), part.slice(eq + 1).trim()]);
  }
  return out;
}

/** Checks one request against a declared signature with the secret's value. Pure. */
export function checkSignature(spec: VerifySpec, secret: string, req: SignedRequest, nowMs: number): SignatureCheck {
  const toleranceMs = spec.tolerance !== undefined ? parseDuration(spec.tolerance) : DEFAULT_TOLERANCE_MS;
  const body = req.body;
  switch (spec.scheme) {
    case 'standard-webhooks': {
      const id = headerOf(req, 'webhook-id');
      const timestamp = headerOf(req, 'webhook-timestamp');
      const signature = headerOf(req, 'webhook-signature');
      if (id === undefined || signature === undefined) return refuse('the webhook-id, webhook-timestamp and webhook-signature headers are required');
      const time = checkTimestamp(timestamp, 'webhook-timestamp', nowMs, toleranceMs);
      if (!time.ok) return time;
      const expected = standardWebhooksDigest(secret, id, timestamp!, body);
      const given = signature.split(' ').filter((s) => s !== '').slice(0, MAX_SIGNATURES);
      const any = given.some((s) => s.startsWith('v1,') && matches(fromBase64(s.slice(3), expected.length), expected));
      return any ? OK : refuse('webhook-signature does not match the body');
    }
    case 'stripe': {
      const header = headerOf(req, 'stripe-signature');
      if (header === undefined) return refuse('the Stripe-Signature header is required');
      const fields = pairs(header);
      const t = fields.filter(([k]) => k === 't');
      if (t.length !== 1) return refuse('Stripe-Signature must carry one t=<timestamp>');
      const time = checkTimestamp(t[0][1], 'the Stripe-Signature timestamp', nowMs, toleranceMs);
      if (!time.ok) return time;
      const expected = stripeDigest(secret, t[0][1], body);
      const v1 = fields.filter(([k]) => k === 'v1').slice(0, MAX_SIGNATURES);
      if (v1.length === 0) return refuse('Stripe-Signature carries no v1 signature');
      return v1.some(([, v]) => matches(fromHex(v, expected.length), expected)) ? OK : refuse('Stripe-Signature does not match the body');
    }
    case 'github': {
      const header = headerOf(req, 'x-hub-signature-256');
      if (header === undefined) return refuse('the X-Hub-Signature-256 header is required');
      if (!header.startsWith('sha256=')) return refuse('X-Hub-Signature-256 must be sha256=<hex>');
      const expected = githubDigest(secret, body);
      return matches(fromHex(header.slice(7), expected.length), expected) ? OK : refuse('X-Hub-Signature-256 does not match the body');
    }
    case 'hmac': {
      const name = spec.header!;
      const header = headerOf(req, name);
      if (header === undefined) return refuse(`the ${name} header is required`);
      const prefix = spec.prefix ?? '';
      if (!header.startsWith(prefix)) return refuse(`${name} must start with ${JSON.stringify(prefix)}`);
      const expected = hmac(spec.algorithm ?? 'sha256', Buffer.from(secret, 'utf8'), body);
      const text = header.slice(prefix.length);
      const given = (spec.encoding ?? 'hex') === 'hex' ? fromHex(text, expected.length) : fromBase64(text, expected.length);
      return matches(given, expected) ? OK : refuse(`${name} does not match the body`);
    }
    case 'trifacta': {
      const header = headerOf(req, 'x-webhook-signature');
      if (header === undefined) return refuse('the X-Webhook-Signature header is required');
      const fields = new Map(pairs(header));
      const time = checkTimestamp(fields.get('t'), 'the X-Webhook-Signature timestamp', nowMs, toleranceMs);
      if (!time.ok) return time;
      const expected = trifactaDigest(secret, fields.get('t')!, body);
      return matches(fromHex(fields.get('sha256') ?? '', expected.length), expected) ? OK : refuse('X-Webhook-Signature does not match the body');
    }
    case 'corezoid': {
      const time = req.query.get('conv_time') ?? undefined;
      const signature = req.query.get('conv_signature');
      if (time === undefined || signature === null) return refuse('the conv_time and conv_signature query parameters are required');
      const window = checkTimestamp(time, 'conv_time', nowMs, toleranceMs);
      if (!window.ok) return window;
      return corezoidSignatureMatches(signature, time, secret, body) ? OK : refuse('conv_signature does not match the body');
    }
    default:
      return refuse(`unknown signature scheme ${JSON.stringify((spec as { scheme: unknown }).scheme)}`);
  }
}

/** The 401 a refused signature answers (each surface renders it in its own envelope). */
export function signatureRefused(spec: VerifySpec, reason: string): FlowgateError {
  return new FlowgateError('signature_invalid', `the request's ${spec.scheme} signature is not valid: ${reason}`, {
    headers: { 'WWW-Authenticate': `Signature scheme="${spec.scheme}"` },
  });
}

/**
 * Checks a request to start runs of `wf` against its `trigger.verify`. Resolves when the signature
 * is valid, or at once (without a promise) when the workflow declares none; rejects with the 401
 * `signature_invalid` otherwise, also when the named secret is not set (nothing can be verified).
 */
export function verifyTrigger(wf: Workflow, req: SignedRequest, secrets: SecretsPort, nowMs: number, log: Logger): Promise<void> | undefined {
  const spec = wf.definition.trigger.verify;
  if (!spec) return undefined;
  return secretValue(spec, wf, secrets, log).then((secret) => {
    if (secret === undefined) throw signatureRefused(spec, "the workflow's signing secret is not set");
    const check = checkSignature(spec, secret, req, nowMs);
    if (!check.ok) throw signatureRefused(spec, check.reason);
  });
}

/** When a missing secret was last logged, per workflow (a refused caller may retry often). */
const warned = new Map<string, number>();
const WARN_EVERY_MS = 60_000;

async function secretValue(spec: VerifySpec, wf: Workflow, secrets: SecretsPort, log: Logger): Promise<string | undefined> {
  const name = secretRefName(spec.secret);
  // A definition saved before secrets had to be named holds its secret itself; it still works.
  if (name === null) return spec.secret === '' ? undefined : spec.secret;
  const value = (await secrets.values(wf.tenant))[name];
  if (value === undefined || value === '') {
    const key = `${wf.tenant}/${wf.id}`;
    const now = Date.now();
    if ((warned.get(key) ?? -Infinity) > now - WARN_EVERY_MS) return undefined;
    if (warned.size >= 10_000) warned.clear();
    warned.set(key, now);
    log.warn({ tenant: wf.tenant, workflow: wf.id, secret: name }, 'trigger.verify names a secret that is not set; every trigger is refused');
    return undefined;
  }
  return value;
}
