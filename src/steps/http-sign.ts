/**
 * Signatures of outgoing requests (docs/spec.md §6, §8.12), computed by core/signatures.ts:
 *
 * - `standard-webhooks` (default): `webhook-id`, `webhook-timestamp` (unix seconds) and
 *   `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`. A `whsec_…`
 *   secret's key is the base64-decoded rest; any other secret is used as its UTF-8 bytes.
 * - `trifacta`: `X-Webhook-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA256(secret, "<t>:<body>")>`
 *   (the Alteryx/Trifacta plan HTTP task); the secret is used as UTF-8 bytes, as typed.
 * - `corezoid`: query parameters `conv_time` (unix seconds) and `conv_signature` =
 *   `hex(sha1(time + secret + body + secret))`, the formula of the Corezoid ops API.
 */
import { corezoidSignature, standardWebhooksSignature, trifactaSignature } from '../core/signatures.js';

export { standardWebhooksKey, standardWebhooksSignature, trifactaSignature } from '../core/signatures.js';

export type SignatureScheme = 'standard-webhooks' | 'trifacta' | 'corezoid';

export interface Signed {
  /** Headers to add (lower-case names). */
  headers: Record<string, string>;
  /** Query parameters to append to the URL. */
  query: Record<string, string>;
}

/** Signs one attempt. `nowMs` is the attempt's clock; `id` is the step execution key (the webhook id). */
export function sign(scheme: SignatureScheme, secret: string, id: string, nowMs: number, body: string | Buffer | undefined): Signed {
  const t = Math.floor(nowMs / 1000);
  const raw = body ?? '';
  switch (scheme) {
    case 'trifacta':
      return { headers: { 'x-webhook-signature': trifactaSignature(secret, t, raw) }, query: {} };
    case 'corezoid':
      return { headers: {}, query: { conv_time: String(t), conv_signature: corezoidSignature(t, secret, raw) } };
    case 'standard-webhooks':
    default:
      return {
        headers: { 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': standardWebhooksSignature(secret, id, t, raw) },
        query: {},
      };
  }
}
