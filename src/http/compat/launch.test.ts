// Launch keys (launch.ts): a key is accepted exactly as issued. Every one-character change, in any
// position and to any base64url character (or the dot), is refused; so are the other spellings of
// the same MAC bits, which a lenient base64 decoder would accept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LaunchKeys, launchSecret } from './launch.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const now = 1_800_000_000_000;
const keys = new LaunchKeys(launchSecret('a master key for the test'), 900, () => now);

test('the issued key opens its run; every one-character change of it is refused', () => {
  for (const runId of ['01890000-0000-7000-8000-000000000000', 'r', 'a-longer-run-id-with-more-characters-in-it']) {
    const { key } = keys.issue('default', runId);
    const ok = keys.verify(key);
    assert.ok(ok.ok);
    assert.equal(ok.grant.runId, runId);
    let tried = 0;
    const accepted: string[] = [];
    for (let i = 0; i < key.length; i++) {
      for (const c of B64URL + '.') {
        if (c === key[i]) continue;
        const v = key.slice(0, i) + c + key.slice(i + 1);
        tried++;
        if (keys.verify(v).ok) accepted.push(v);
      }
    }
    assert.equal(tried, key.length * 64);
    assert.deepEqual(accepted, []);
  }
});

test('a MAC spelled with other trailing bits is refused as a signature, not accepted', () => {
  const { key } = keys.issue('default', 'run-1');
  const [payload, sig] = key.split('.');
  const last = B64URL.indexOf(sig[sig.length - 1]);
  // The last of 43 characters carries 4 MAC bits and 2 padding bits: the three other paddings.
  for (let pad = 1; pad < 4; pad++) {
    const alias = sig.slice(0, -1) + B64URL[(last & ~3) | ((last + pad) & 3)];
    assert.notEqual(alias, sig);
    assert.deepEqual(Buffer.from(alias, 'base64url'), Buffer.from(sig, 'base64url'), 'decodes to the same bytes');
    assert.deepEqual(keys.verify(`${payload}.${alias}`), { ok: false, reason: 'signature' });
  }
});

test('another secret, an expired key and made-up keys are refused', () => {
  const { key } = keys.issue('default', 'run-1');
  assert.deepEqual(new LaunchKeys(launchSecret('another master key'), 900, () => now).verify(key), { ok: false, reason: 'signature' });
  assert.deepEqual(new LaunchKeys(launchSecret('a master key for the test'), 900, () => now + 901_000).verify(key), { ok: false, reason: 'expired' });
  assert.equal(keys.verify('').ok, false);
  assert.equal(keys.verify(`${key}=`).ok, false);
  assert.equal(keys.verify(key.replace('.', '..')).ok, false);
});
