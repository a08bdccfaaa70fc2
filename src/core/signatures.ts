/**
 * The signature formulas Flowgate computes, in one place: the same function signs an outgoing
 * request (steps/http-sign.ts), checks an incoming one (triggers/verify.ts) and checks the Corezoid
 * signed API (http/compat/corezoid-sign.ts). Pure functions of their inputs; each returns the raw
 * digest bytes so a check can compare them in constant time, plus the encoded form a sender writes.
 *
 * - Standard Webhooks: base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>"); a `whsec_…` secret's key
 *   is the base64-decoded rest, any other secret is its UTF-8 bytes.
 * - Trifacta / Alteryx: hex HMAC-SHA256(secret, "<t>:<body>").
 * - Stripe: hex HMAC-SHA256(secret, "<t>.<body>"), the `whsec_…` secret used as typed.
 * - GitHub: hex HMAC-SHA256(secret, body).
 * - Corezoid: hex HASH(time + secret + body + secret), HASH SHA-1 by default.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type Bytes = string | Buffer;

/** A keyed digest of the parts, in order. */
export function hmac(algorithm: string, key: Bytes, ...parts: Bytes[]): Buffer {
  const mac = createHmac(algorithm, key);
  for (const p of parts) mac.update(p);
  return mac.digest();
}

/** The HMAC key of a Standard Webhooks secret. */
export function standardWebhooksKey(secret: string): Buffer {
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice('whsec_'.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

export function standardWebhooksDigest(secret: string, id: string, timestamp: number | string, body: Bytes): Buffer {
  return hmac('sha256', standardWebhooksKey(secret), `${id}.${timestamp}.`, body);
}

/** The `webhook-signature` value of one secret: `v1,<base64>`. */
export function standardWebhooksSignature(secret: string, id: string, timestamp: number, body: Bytes): string {
  return `v1,${standardWebhooksDigest(secret, id, timestamp, body).toString('base64')}`;
}

export function trifactaDigest(secret: string, timestamp: number | string, body: Bytes): Buffer {
  return hmac('sha256', Buffer.from(secret, 'utf8'), `${timestamp}:`, body);
}

/** The `X-Webhook-Signature` value: `t=<unix seconds>,sha256=<hex>`. */
export function trifactaSignature(secret: string, timestamp: number, body: Bytes): string {
  return `t=${timestamp},sha256=${trifactaDigest(secret, timestamp, body).toString('hex')}`;
}

export function stripeDigest(secret: string, timestamp: number | string, body: Bytes): Buffer {
  return hmac('sha256', Buffer.from(secret, 'utf8'), `${timestamp}.`, body);
}

export function githubDigest(secret: string, body: Bytes): Buffer {
  return hmac('sha256', Buffer.from(secret, 'utf8'), body);
}

export function corezoidDigest(time: number | string, secret: string, body: Bytes, algorithm = 'sha1'): Buffer {
  return createHash(algorithm).update(`${time}${secret}`).update(body).update(secret).digest();
}

/** `hex(sha1(time + secret + body + secret))` (or another hash), the Corezoid formula. */
export function corezoidSignature(time: number | string, secret: string, body: Bytes, algorithm = 'sha1'): string {
  return corezoidDigest(time, secret, body, algorithm).toString('hex');
}

/** Corezoid digest algorithm by the length of the hex signature. */
const COREZOID_ALGORITHM_BY_HEX_LENGTH: Readonly<Record<number, string>> = { 40: 'sha1', 56: 'sha224', 64: 'sha256', 96: 'sha384', 128: 'sha512' };
const HEX_RE = /^[0-9a-fA-F]+$/;

/**
 * True when `signature` is the hex Corezoid digest of the request, SHA-1 or SHA-224/256/384/512 by
 * its length, in any letter case; constant-time in the digest's bytes.
 */
export function corezoidSignatureMatches(signature: string, time: string, secret: string, body: Bytes): boolean {
  const algorithm = COREZOID_ALGORITHM_BY_HEX_LENGTH[signature.length];
  if (!algorithm || !HEX_RE.test(signature)) return false;
  return digestEquals(Buffer.from(signature, 'hex'), corezoidDigest(time, secret, body, algorithm));
}

/** Constant-time equality of two digests (false, without comparing, when the lengths differ). */
export function digestEquals(given: Buffer, expected: Buffer): boolean {
  return given.length === expected.length && timingSafeEqual(given, expected);
}
