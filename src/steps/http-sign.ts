/**
 * Signatures of outgoing requests (docs/spec.md §6, §8.12). Pure functions of (secret, id, time, body):
 *
 * - `standard-webhooks` (default): `webhook-id`, `webhook-timestamp` (unix seconds) and
 *   `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`. A `whsec_…`
 *   secret's key is the base64-decoded rest; any other secret is used as its UTF-8 bytes.
 * - `trifacta`: `X-Webhook-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256(secret, "<t>:<body>")>`
 *   (the Alteryx/Trifacta plan HTTP task); the secret is used as UTF-8 bytes, as typed.
 * - `corezoid`: query parameters `conv_time` (unix seconds) and `conv_signature` =
 *   `hex(sha1(time + secret + body + secret))`, the formula of the Corezoid ops API.
 */
import { createHash, createHmac } from 'node:crypto';

export type SignatureScheme = 'standard-webhooks' | 'trifacta' | 'corezoid';

export interface Signed {
  /** Headers to add (lower-case names). */
  headers: Record<string, string>;
  /** Query parameters to append to the URL. */
  query: Record<string, string>;
}

/** The HMAC key of a Standard Webhooks secret. */
export function standardWebhooksKey(secret: string): Buffer {
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice('whsec_'.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

export function standardWebhooksSignature(secret: string, id: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', standardWebhooksKey(secret));
  mac.update(`${id}.${timestamp}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

export function trifactaSignature(secret: string, timestamp: number, body: string | Buffer): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8'));
  mac.update(`${timestamp}:`);
  mac.update(body);
  return `t=${timestamp},sha256=${mac.digest('hex')}`;
}

export function corezoidSignature(secret: string, timestamp: number, body: string | Buffer): string {
  const h = createHash('sha1');
  h.update(`${timestamp}${secret}`);
  h.update(body);
  h.update(secret);
  return h.digest('hex');
}

/** Signs one attempt. `nowMs` is the attempt's clock; `id` is the step execution key (the webhook id). */
export function sign(scheme: SignatureScheme, secret: string, id: string, nowMs: number, body: string | Buffer | undefined): Signed {
  const t = Math.floor(nowMs / 1000);
  const raw = body ?? '';
  switch (scheme) {
    case 'trifacta':
      return { headers: { 'x-webhook-signature': trifactaSignature(secret, t, raw) }, query: {} };
    case 'corezoid':
      return { headers: {}, query: { conv_time: String(t), conv_signature: corezoidSignature(secret, t, raw) } };
    case 'standard-webhooks':
    default:
      return {
        headers: { 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': standardWebhooksSignature(secret, id, t, raw) },
        query: {},
      };
  }
}
