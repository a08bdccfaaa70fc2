/** Signature formulas of outgoing requests, checked against independent computations and the official package. */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { corezoidSignature } from '../core/signatures.js';
import { sign, standardWebhooksKey, trifactaSignature } from './http-sign.js';

const T = 1_700_000_000_000;

test('standard-webhooks: whsec_ keys are base64-decoded, other secrets are UTF-8 bytes; the official package agrees', () => {
  const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
  assert.deepEqual(standardWebhooksKey(secret), Buffer.from('0123456789abcdef0123456789abcdef'));
  assert.deepEqual(standardWebhooksKey('plain'), Buffer.from('plain'));
  const signed = sign('standard-webhooks', secret, 'msg_1', T, '{"a":1}');
  assert.deepEqual(Object.keys(signed.headers).sort(), ['webhook-id', 'webhook-signature', 'webhook-timestamp']);
  assert.equal(signed.headers['webhook-timestamp'], String(T / 1000));
  assert.equal(signed.headers['webhook-signature'], new Webhook(secret).sign('msg_1', new Date(T), '{"a":1}'));
  const plain = sign('standard-webhooks', 'p@ss', 'msg_2', T, 'x');
  assert.equal(plain.headers['webhook-signature'], new Webhook('p@ss', { format: 'raw' }).sign('msg_2', new Date(T), 'x'));
  assert.equal(sign('standard-webhooks', 'p@ss', 'm', T, undefined).headers['webhook-signature'], new Webhook('p@ss', { format: 'raw' }).sign('m', new Date(T), ''), 'no body signs the empty string');
});

test('trifacta: t=<unix s>,sha256=<hex HMAC-SHA256(secret, "t:body")>', () => {
  const t = T / 1000;
  assert.equal(trifactaSignature('k', t, 'body'), `t=${t},sha256=${createHmac('sha256', 'k').update(`${t}:body`).digest('hex')}`);
  assert.deepEqual(sign('trifacta', 'k', 'id', T, 'body'), { headers: { 'x-webhook-signature': trifactaSignature('k', t, 'body') }, query: {} });
});

test('corezoid: conv_time and conv_signature = hex(sha1(time + secret + body + secret))', () => {
  const t = T / 1000;
  assert.equal(corezoidSignature(t, 's', '{"ops":[]}'), createHash('sha1').update(`${t}s{"ops":[]}s`).digest('hex'));
  assert.deepEqual(sign('corezoid', 's', 'id', T + 999, 'b'), { headers: {}, query: { conv_time: String(t), conv_signature: corezoidSignature(t, 's', 'b') } });
});
