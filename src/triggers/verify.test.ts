/** Inbound signatures, checked against each provider's own signing code where one exists. */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import type { VerifySpec, Workflow } from '../core/types.js';
import { checkSignature, verifyTrigger, type SignedRequest } from './verify.js';

const NOW = 1_750_000_000_000;
const T = NOW / 1000;
const BODY = '{"amount":42,"note":"héllo"}';
const stripe = new Stripe('sk_test_x');

function request(headers: Record<string, string>, body: string | Buffer = BODY, query = ''): SignedRequest {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { headers: lower, query: new URLSearchParams(query), body: Buffer.isBuffer(body) ? body : Buffer.from(body) };
}

const spec = (scheme: VerifySpec['scheme'], extra: Partial<VerifySpec> = {}): VerifySpec => ({ scheme, secret: '{{ $secrets.s }}', ...extra });
const check = (s: VerifySpec, secret: string, req: SignedRequest, now = NOW) => checkSignature(s, secret, req, now);
const reason = (r: ReturnType<typeof checkSignature>): string => (r.ok ? 'ok' : r.reason);

describe('standard-webhooks (the standardwebhooks package signs)', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
  const wh = new Webhook(secret);
  const headers = (id: string, at: number, body = BODY) => ({
    'webhook-id': id, 'webhook-timestamp': String(Math.floor(at / 1000)), 'webhook-signature': wh.sign(id, new Date(at), body),
  });

  it('accepts a valid signature, also among several (space-separated, e.g. during a key rotation)', () => {
    assert.equal(reason(check(spec('standard-webhooks'), secret, request(headers('msg_1', NOW)))), 'ok');
    const other = new Webhook(`whsec_${Buffer.from('another key, thirty-two bytes!!!').toString('base64')}`).sign('msg_1', new Date(NOW), BODY);
    const h = headers('msg_1', NOW);
    assert.equal(reason(check(spec('standard-webhooks'), secret, request({ ...h, 'webhook-signature': `v1a,xyz ${other} ${h['webhook-signature']}` }))), 'ok');
    assert.equal(reason(check(spec('standard-webhooks'), secret, request({ ...h, 'webhook-signature': other }))), 'webhook-signature does not match the body');
  });

  it('refuses a missing header, a tampered body or id, and a timestamp outside ±5 minutes (or the tolerance)', () => {
    const h = headers('msg_2', NOW);
    assert.match(reason(check(spec('standard-webhooks'), secret, request({ 'webhook-id': 'msg_2', 'webhook-timestamp': String(T) }))), /headers are required/);
    assert.equal(reason(check(spec('standard-webhooks'), secret, request(h, BODY.replace('42', '43')))), 'webhook-signature does not match the body');
    assert.equal(reason(check(spec('standard-webhooks'), secret, request({ ...h, 'webhook-id': 'msg_3' }))), 'webhook-signature does not match the body');
    const old = headers('msg_4', NOW - 301_000);
    assert.match(reason(check(spec('standard-webhooks'), secret, request(old))), /more than 300 s from the server's time/);
    assert.match(reason(check(spec('standard-webhooks'), secret, request(headers('msg_5', NOW + 301_000)))), /more than 300 s/);
    assert.equal(reason(check(spec('standard-webhooks'), secret, request(headers('msg_6', NOW - 299_000)))), 'ok');
    assert.equal(reason(check(spec('standard-webhooks', { tolerance: '10m' }), secret, request(old))), 'ok');
    assert.match(reason(check(spec('standard-webhooks', { tolerance: '30s' }), secret, request(headers('msg_7', NOW - 31_000)))), /more than 30 s/);
    assert.match(reason(check(spec('standard-webhooks'), secret, request({ ...h, 'webhook-timestamp': '17e8' }))), /Unix time in seconds/);
  });

  it('refuses a signature whose base64 is not canonical (changed trailing bits decode to the same bytes)', () => {
    const h = headers('msg_8', NOW);
    const sig = h['webhook-signature'];
    // A 32-byte digest in base64 ends with one character holding 2 unused bits: its neighbours decode alike.
    const last = sig.at(-2)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const twin = alphabet[(alphabet.indexOf(last) ^ 1)];
    const forged = `${sig.slice(0, -2)}${twin}=`;
    assert.deepEqual(Buffer.from(forged.slice(3), 'base64'), Buffer.from(sig.slice(3), 'base64'), 'the twin decodes to the same digest');
    assert.equal(reason(check(spec('standard-webhooks'), secret, request({ ...h, 'webhook-signature': forged }))), 'webhook-signature does not match the body');
  });
});

describe('stripe (Stripe\'s generateTestHeaderString signs)', () => {
  const secret = 'whsec_test_0123456789abcdef';
  const header = (timestamp: number, payload = BODY, s = secret) => stripe.webhooks.generateTestHeaderString({ payload, secret: s, timestamp });

  it('accepts a valid header, and any of several v1 signatures', () => {
    assert.equal(reason(check(spec('stripe'), secret, request({ 'Stripe-Signature': header(T) }))), 'ok');
    const wrong = header(T, BODY, 'whsec_other').split(',')[1];
    const [t, v1] = header(T).split(',');
    assert.equal(reason(check(spec('stripe'), secret, request({ 'Stripe-Signature': `${t},${wrong},${v1},v0=abc` }))), 'ok');
    assert.equal(reason(check(spec('stripe'), secret, request({ 'Stripe-Signature': `${t},${wrong}` }))), 'Stripe-Signature does not match the body');
  });

  it('refuses a missing header, a tampered body, an old timestamp, and a header without t or v1', () => {
    assert.equal(reason(check(spec('stripe'), secret, request({}))), 'the Stripe-Signature header is required');
    assert.equal(reason(check(spec('stripe'), secret, request({ 'Stripe-Signature': header(T) }, `${BODY} `))), 'Stripe-Signature does not match the body');
    assert.match(reason(check(spec('stripe'), secret, request({ 'Stripe-Signature': header(T - 301) }))), /more than 300 s/);
    assert.equal(reason(check(spec('stripe', { tolerance: '1h' }), secret, request({ 'Stripe-Signature': header(T - 3000) }))), 'ok');
    assert.equal(reason(check(spec('stripe'), secret, request({ 'Stripe-Signature': header(T).split(',')[1] }))), 'Stripe-Signature must carry one t=<timestamp>');
    assert.equal(reason(check(spec('stripe'), secret, request({ 'Stripe-Signature': `t=${T}` }))), 'Stripe-Signature carries no v1 signature');
  });
});

describe('github (@octokit/webhooks-methods signs)', () => {
  const secret = 'It\'s a Secret to Everybody';

  it('accepts X-Hub-Signature-256, in either letter case; refuses a tampered body, another secret, a missing header', async () => {
    const sig = await githubSign(secret, BODY);
    assert.equal(reason(check(spec('github'), secret, request({ 'X-Hub-Signature-256': sig }))), 'ok');
    assert.equal(reason(check(spec('github'), secret, request({ 'X-Hub-Signature-256': `sha256=${sig.slice(7).toUpperCase()}` }))), 'ok');
    assert.equal(reason(check(spec('github'), secret, request({ 'X-Hub-Signature-256': sig }, BODY.replace('é', 'e')))), 'X-Hub-Signature-256 does not match the body');
    assert.equal(reason(check(spec('github'), secret, request({ 'X-Hub-Signature-256': await githubSign('other', BODY) }))), 'X-Hub-Signature-256 does not match the body');
    assert.equal(reason(check(spec('github'), secret, request({ 'X-Hub-Signature': 'sha1=abc' }))), 'the X-Hub-Signature-256 header is required');
    assert.equal(reason(check(spec('github'), secret, request({ 'X-Hub-Signature-256': sig.slice(7) }))), 'X-Hub-Signature-256 must be sha256=<hex>');
  });
});

describe('hmac (node:crypto signs)', () => {
  const secret = 'generic-secret';

  it('reads the declared header, algorithm, encoding and prefix', () => {
    const sha256hex = createHmac('sha256', secret).update(BODY).digest('hex');
    assert.equal(reason(check(spec('hmac', { header: 'X-Signature' }), secret, request({ 'x-signature': sha256hex }))), 'ok');
    const sha512b64 = createHmac('sha512', secret).update(BODY).digest('base64');
    const s512 = spec('hmac', { header: 'X-Shopify-Hmac-Sha512', algorithm: 'sha512', encoding: 'base64', prefix: 'sha512=' });
    assert.equal(reason(check(s512, secret, request({ 'X-Shopify-Hmac-Sha512': `sha512=${sha512b64}` }))), 'ok');
    assert.equal(reason(check(s512, secret, request({ 'X-Shopify-Hmac-Sha512': sha512b64 }))), 'X-Shopify-Hmac-Sha512 must start with "sha512="');
    const sha1 = createHmac('sha1', secret).update(BODY).digest('hex');
    assert.equal(reason(check(spec('hmac', { header: 'X-Sig', algorithm: 'sha1' }), secret, request({ 'X-Sig': sha1 }))), 'ok');
  });

  it('refuses a digest of another algorithm, a tampered body, a missing header', () => {
    const sha1 = createHmac('sha1', secret).update(BODY).digest('hex');
    assert.equal(reason(check(spec('hmac', { header: 'X-Sig' }), secret, request({ 'X-Sig': sha1 }))), 'X-Sig does not match the body');
    const good = createHmac('sha256', secret).update(BODY).digest('hex');
    assert.equal(reason(check(spec('hmac', { header: 'X-Sig' }), secret, request({ 'X-Sig': good }, '{}'))), 'X-Sig does not match the body');
    assert.equal(reason(check(spec('hmac', { header: 'X-Sig' }), secret, request({}))), 'the X-Sig header is required');
  });
});

describe('trifacta and corezoid (the formulas Flowgate signs its own requests with)', () => {
  it('trifacta: X-Webhook-Signature t=…,sha256=… with a replay window', () => {
    const header = (t: number, body = BODY) => `t=${t},sha256=${createHmac('sha256', 'k').update(`${t}:${body}`).digest('hex')}`;
    assert.equal(reason(check(spec('trifacta'), 'k', request({ 'X-Webhook-Signature': header(T) }))), 'ok');
    assert.equal(reason(check(spec('trifacta'), 'k', request({ 'X-Webhook-Signature': header(T) }, '{}'))), 'X-Webhook-Signature does not match the body');
    assert.match(reason(check(spec('trifacta'), 'k', request({ 'X-Webhook-Signature': header(T - 400) }))), /more than 300 s/);
  });

  it('corezoid: conv_time and conv_signature in the query; SHA-1 or SHA-2 by length', () => {
    const sig = (t: number, alg = 'sha1', body = BODY) => createHash(alg).update(`${t}k${body}k`).digest('hex');
    assert.equal(reason(check(spec('corezoid'), 'k', request({}, BODY, `conv_time=${T}&conv_signature=${sig(T)}`))), 'ok');
    assert.equal(reason(check(spec('corezoid'), 'k', request({}, BODY, `conv_time=${T}&conv_signature=${sig(T, 'sha256')}`))), 'ok');
    assert.equal(reason(check(spec('corezoid'), 'k', request({}, '{}', `conv_time=${T}&conv_signature=${sig(T)}`))), 'conv_signature does not match the body');
    assert.match(reason(check(spec('corezoid'), 'k', request({}, BODY, `conv_time=${T - 400}&conv_signature=${sig(T - 400)}`))), /more than 300 s/);
    assert.match(reason(check(spec('corezoid'), 'k', request({}))), /query parameters are required/);
  });
});

describe('verifyTrigger', () => {
  const wf = (verify?: VerifySpec): Workflow => ({ tenant: 't', id: 'w', definition: { trigger: { public: true, ...(verify ? { verify } : {}) } } } as unknown as Workflow);
  const log = { info() {}, warn() {}, error() {} };
  const secrets = (values: Record<string, string>) => ({ values: async () => values });
  const signed = request({ 'x-sig': createHmac('sha256', 'v').update(BODY).digest('hex') });

  it('costs no promise for a workflow without verify', () => {
    assert.equal(verifyTrigger(wf(), signed, secrets({}), NOW, log), undefined);
  });

  it('reads the named tenant secret; refuses with 401 signature_invalid when it is wrong or not set', async () => {
    const s = spec('hmac', { header: 'X-Sig' });
    await verifyTrigger(wf(s), signed, secrets({ s: 'v' }), NOW, log);
    await assert.rejects(verifyTrigger(wf(s), signed, secrets({ s: 'other' }), NOW, log)!, (e: any) => e.code === 'signature_invalid' && e.status === 401 && /X-Sig does not match/.test(e.message));
    await assert.rejects(verifyTrigger(wf(s), signed, secrets({}), NOW, log)!, (e: any) => e.status === 401 && /signing secret is not set/.test(e.message));
  });
});
