/**
 * Inbound signatures for the trigger.verify tests, made by each provider's own code where a package
 * exists (standardwebhooks, stripe, @octokit/webhooks-methods) and by node:crypto otherwise — never
 * by Flowgate's code, so a wrong formula on either side shows.
 */
import { createHmac } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { TestServer } from './server.js';
import { sign as corezoidSign } from '../compat/corezoid-client.js';

const stripe = new Stripe('sk_test_x');

export interface Signature {
  headers: Record<string, string>;
  /** Query parameters (without `?`), '' when none. */
  query: string;
}

export interface SchemeCase {
  scheme: string;
  /** The tenant secret's name and value. */
  name: string;
  value: string;
  /** The `trigger.verify` mapping, as YAML flow. */
  verify: string;
  /** Whether the scheme signs a timestamp (so an old one is refused). */
  timestamped: boolean;
  sign(body: string, nowMs?: number, secret?: string): Promise<Signature>;
}

const whsec = `whsec_${Buffer.from('flowgate inbound key, 32 bytes!!').toString('base64')}`;

export const SCHEMES: SchemeCase[] = [
  {
    scheme: 'standard-webhooks', name: 'sw_secret', value: whsec, timestamped: true,
    verify: '{ scheme: standard-webhooks, secret: "{{ $secrets.sw_secret }}" }',
    async sign(body, nowMs = Date.now(), secret = whsec) {
      const id = `msg_${Math.random().toString(36).slice(2)}`;
      return {
        headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(nowMs / 1000)), 'webhook-signature': new Webhook(secret).sign(id, new Date(nowMs), body) },
        query: '',
      };
    },
  },
  {
    scheme: 'stripe', name: 'stripe_whsec', value: 'whsec_stripe_test_secret_123', timestamped: true,
    verify: '{ scheme: stripe, secret: "{{ $secrets.stripe_whsec }}" }',
    async sign(body, nowMs = Date.now(), secret = 'whsec_stripe_test_secret_123') {
      const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Math.floor(nowMs / 1000) });
      return { headers: { 'stripe-signature': header }, query: '' };
    },
  },
  {
    scheme: 'github', name: 'gh_secret', value: 'github hook secret', timestamped: false,
    verify: '{ scheme: github, secret: "{{ $secrets.gh_secret }}" }',
    async sign(body, _nowMs, secret = 'github hook secret') {
      return { headers: { 'x-hub-signature-256': await githubSign(secret, body) }, query: '' };
    },
  },
  {
    scheme: 'hmac', name: 'hmac_secret', value: 'generic hmac secret', timestamped: false,
    verify: '{ scheme: hmac, secret: "{{ $secrets.hmac_secret }}", header: X-Signature, algorithm: sha512, encoding: base64, prefix: "sha512=" }',
    async sign(body, _nowMs, secret = 'generic hmac secret') {
      return { headers: { 'x-signature': `sha512=${createHmac('sha512', secret).update(body).digest('base64')}` }, query: '' };
    },
  },
  {
    scheme: 'trifacta', name: 'tf_secret', value: 'trifacta secret', timestamped: true,
    verify: '{ scheme: trifacta, secret: "{{ $secrets.tf_secret }}" }',
    async sign(body, nowMs = Date.now(), secret = 'trifacta secret') {
      const t = Math.floor(nowMs / 1000);
      return { headers: { 'x-webhook-signature': `t=${t},sha256=${createHmac('sha256', secret).update(`${t}:${body}`).digest('hex')}` }, query: '' };
    },
  },
  {
    scheme: 'corezoid', name: 'cz_secret', value: 'corezoid secret', timestamped: true,
    verify: '{ scheme: corezoid, secret: "{{ $secrets.cz_secret }}" }',
    async sign(body, nowMs = Date.now(), secret = 'corezoid secret') {
      const t = Math.floor(nowMs / 1000);
      return { headers: {}, query: `conv_time=${t}&conv_signature=${corezoidSign(String(t), secret, body)}` };
    },
  },
];

/** How a request can be wrong: each must be refused with 401 and create nothing. */
export type Forgery = 'missing' | 'wrong secret' | 'tampered body' | 'old timestamp';

export async function forge(c: SchemeCase, body: string, how: Forgery): Promise<{ sig: Signature; body: string }> {
  switch (how) {
    case 'missing':
      return { sig: { headers: {}, query: '' }, body };
    case 'wrong secret':
      return { sig: await c.sign(body, Date.now(), c.scheme === 'standard-webhooks' ? `whsec_${Buffer.from('another key, also thirty-two byte').toString('base64')}` : 'not the secret'), body };
    case 'tampered body':
      return { sig: await c.sign(body), body: body.replace('42', '43') };
    case 'old timestamp':
      return { sig: await c.sign(body, Date.now() - 10 * 60_000), body };
  }
}

export const forgeries = (c: SchemeCase): Forgery[] => ['missing', 'wrong secret', 'tampered body', ...(c.timestamped ? ['old timestamp' as const] : [])];

/** Stores every scheme's secret for the tenant and creates one workflow per scheme (`v-<scheme>`, params amount). */
export async function putSchemeWorkflows(s: TestServer, steps = '  - { id: done, type: end }\n'): Promise<Record<string, any>> {
  const triggers: Record<string, any> = {};
  for (const c of SCHEMES) {
    const put = await s.call('PUT', `/v1/secrets/${c.name}`, { json: { value: c.value } });
    if (put.status !== 201 && put.status !== 200) throw new Error(`PUT secret answered ${put.status}: ${put.text}`);
    const r = await s.putWorkflow(`v-${c.scheme}`, `id: v-${c.scheme}\nparams:\n  amount: { type: number, required: true }\ntrigger:\n  verify: ${c.verify}\nsteps:\n${steps}`);
    if (r.status !== 201) throw new Error(`PUT workflow answered ${r.status}: ${r.text}`);
    triggers[c.scheme] = r.body.triggers;
  }
  return triggers;
}

/** Runs of one workflow the tenant can see. */
export async function runsOf(s: TestServer, workflow: string): Promise<number> {
  const r = await s.call('GET', `/v1/runs?workflow=${workflow}&limit=1000`);
  if (r.status !== 200) throw new Error(`GET /v1/runs answered ${r.status}`);
  return r.body.items.length;
}

/** Appends query parameters to a URL or path that may have some already. */
export const withQuery = (url: string, query: string): string => (query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url);
