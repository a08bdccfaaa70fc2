/** Contract cases: migrations, settings, tenants, API keys, secrets. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ContractContext } from './contract.js';
import { makeKey } from './fixtures.js';

export function accountsContract({ use }: ContractContext): void {
  it('migrate() is idempotent and keeps data', use(async (store) => {
    await store.putSetting('admin_token_hash', 'abc');
    await store.migrate();
    await store.migrate();
    assert.equal(await store.getSetting('admin_token_hash'), 'abc');
  }));

  it('settings: missing is null, put creates and overwrites', use(async (store) => {
    assert.equal(await store.getSetting('nope'), null);
    await store.putSetting('k', 'v1');
    assert.equal(await store.getSetting('k'), 'v1');
    await store.putSetting('k', 'v2');
    assert.equal(await store.getSetting('k'), 'v2');
    await store.putSetting('empty', '');
    assert.equal(await store.getSetting('empty'), '');
  }));

  it('tenants: default exists from the start; ensureTenant is idempotent', use(async (store) => {
    const def = await store.getTenant('default');
    assert.equal(def?.id, 'default');
    assert.equal(await store.getTenant('acme'), null);
    const acme = await store.ensureTenant('acme');
    assert.equal(acme.id, 'acme');
    assert.equal(typeof acme.created_at, 'number');
    assert.deepEqual(await store.ensureTenant('acme'), acme);
    assert.deepEqual(await store.getTenant('acme'), acme);
  }));

  it('keys: found by hash, listed and deleted per tenant only', use(async (store) => {
    await store.ensureTenant('acme');
    await store.ensureTenant('other');
    const a1 = makeKey('acme', { name: 'first', role: 'admin', created_at: 1 });
    const a2 = makeKey('acme', { name: 'second', role: 'read', created_at: 2 });
    const o1 = makeKey('other', { created_at: 3 });
    for (const k of [a1, a2, o1]) await store.createKey(k);

    assert.deepEqual(await store.findKeyByHash(a2.token_hash), a2);
    assert.equal(await store.findKeyByHash('0'.repeat(64)), null);
    assert.deepEqual(await store.listKeys('acme'), [a1, a2]);
    assert.deepEqual(await store.listKeys('other'), [o1]);
    assert.deepEqual(await store.listKeys('nobody'), []);

    assert.equal(await store.deleteKey('acme', o1.id), false, "another tenant's key id is not deletable");
    assert.deepEqual(await store.findKeyByHash(o1.token_hash), o1);
    assert.equal(await store.deleteKey('acme', a1.id), true);
    assert.equal(await store.deleteKey('acme', a1.id), false);
    assert.equal(await store.findKeyByHash(a1.token_hash), null);
    assert.deepEqual(await store.listKeys('acme'), [a2]);
  }));

  it('keys: a token hash is unique; a key for a new tenant creates the tenant', use(async (store) => {
    const k = makeKey('fresh');
    await store.createKey(k);
    assert.equal((await store.getTenant('fresh'))?.id, 'fresh');
    await assert.rejects(store.createKey(makeKey('fresh', { token_hash: k.token_hash })));
    assert.deepEqual(await store.listKeys('fresh'), [k]);
  }));

  it('secrets: created then updated, listed by name, isolated per tenant', use(async (store) => {
    await store.ensureTenant('acme');
    await store.ensureTenant('other');
    assert.equal(await store.putSecret('acme', 'review_key', 'c1'), 'created');
    assert.equal(await store.putSecret('acme', 'inbound', 'c2'), 'created');
    assert.equal(await store.putSecret('acme', 'review_key', 'c3'), 'updated');
    assert.equal(await store.putSecret('other', 'review_key', 'x1'), 'created');

    assert.deepEqual(await store.getSecretCiphertexts('acme'), new Map([['inbound', 'c2'], ['review_key', 'c3']]));
    assert.deepEqual(await store.getSecretCiphertexts('other'), new Map([['review_key', 'x1']]));
    assert.deepEqual(await store.getSecretCiphertexts('nobody'), new Map());

    const metas = await store.listSecrets('acme');
    assert.deepEqual(metas.map((m) => m.name), ['inbound', 'review_key']);
    for (const m of metas) {
      assert.equal(typeof m.created_at, 'number');
      assert.ok(m.updated_at >= m.created_at);
      assert.equal(Object.keys(m).sort().join(), 'created_at,name,updated_at', 'no ciphertext in listings');
    }

    assert.equal(await store.deleteSecret('other', 'inbound'), false);
    assert.equal(await store.deleteSecret('acme', 'inbound'), true);
    assert.equal(await store.deleteSecret('acme', 'inbound'), false);
    assert.deepEqual([...(await store.getSecretCiphertexts('acme')).keys()], ['review_key']);
    assert.deepEqual([...(await store.getSecretCiphertexts('other')).keys()], ['review_key']);
  }));
}
