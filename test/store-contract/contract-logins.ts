/** Contract cases: Corezoid-style API logins (numeric, global, tenant-scoped management). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ContractContext } from './contract.js';
import { T0 } from './fixtures.js';

type LoginStore = Parameters<Parameters<ContractContext['use']>[0]>[0];

/** A login the store must create (a null answer means the number was taken). */
async function created(store: LoginStore, input: Parameters<LoginStore['createApiLogin']>[0]) {
  const login = await store.createApiLogin(input);
  assert.ok(login, 'created');
  return login;
}

export function loginsContract({ use }: ContractContext): void {
  it('logins: a brought login number is kept; a taken one answers null and changes nothing; handed-out numbers skip brought ones', use(async (store) => {
    const first = await created(store, { tenant: 'default', name: 'auto', secret_ciphertext: 's0', created_at: T0 });
    const brought = await created(store, { tenant: 'acme', name: 'erp', secret_ciphertext: 's1', created_at: T0, login: first.login + 1 });
    assert.equal(brought.login, first.login + 1);
    assert.deepEqual(await store.findApiLogin(first.login + 1), brought);
    assert.equal(await store.createApiLogin({ tenant: 'default', name: 'again', secret_ciphertext: 's2', created_at: T0, login: first.login + 1 }), null);
    assert.deepEqual(await store.findApiLogin(first.login + 1), brought, 'the holder is unchanged');
    const next = await created(store, { tenant: 'default', name: 'auto2', secret_ciphertext: 's3', created_at: T0 });
    assert.equal(next.login, first.login + 2, 'the sequence skips the brought number');
    const small = await created(store, { tenant: 'default', name: 'old', secret_ciphertext: 's4', created_at: T0, login: 42 });
    assert.equal(small.login, 42);
  }));

  it('logins: numeric, unique and increasing across tenants; found by login from any tenant', use(async (store) => {
    const a = await created(store, { tenant: 'default', name: 'erp', secret_ciphertext: 'v1.a.b.c', created_at: T0 });
    const b = await created(store, { tenant: 'acme', name: null, secret_ciphertext: 'v1.d.e.f', created_at: T0 + 1 });
    assert.ok(Number.isSafeInteger(a.login) && a.login > 0);
    assert.ok(b.login > a.login);
    assert.deepEqual(a, { login: a.login, tenant: 'default', name: 'erp', secret_ciphertext: 'v1.a.b.c', created_at: T0 });
    assert.deepEqual(await store.findApiLogin(a.login), a);
    assert.deepEqual(await store.findApiLogin(b.login), b);
    assert.equal(await store.findApiLogin(b.login + 1000), null);
    assert.equal(await store.findApiLogin(Number.NaN), null);
    assert.equal((await store.getTenant('acme'))?.id, 'acme', 'a login for a new tenant creates the tenant');
  }));

  it('logins: listed and deleted per tenant only; a deleted login is never handed out again', use(async (store) => {
    const a1 = await created(store, { tenant: 'default', name: 'one', secret_ciphertext: 's1', created_at: T0 });
    const o1 = await created(store, { tenant: 'other', name: 'two', secret_ciphertext: 's2', created_at: T0 });
    const a2 = await created(store, { tenant: 'default', name: 'three', secret_ciphertext: 's3', created_at: T0 });
    assert.deepEqual(await store.listApiLogins('default'), [a1, a2]);
    assert.deepEqual(await store.listApiLogins('other'), [o1]);
    assert.deepEqual(await store.listApiLogins('nobody'), []);
    assert.equal(await store.deleteApiLogin('default', o1.login), false, "another tenant's login is not deletable");
    assert.deepEqual(await store.findApiLogin(o1.login), o1);
    assert.equal(await store.deleteApiLogin('default', a2.login), true);
    assert.equal(await store.deleteApiLogin('default', a2.login), false);
    assert.equal(await store.findApiLogin(a2.login), null);
    const a3 = await created(store, { tenant: 'default', name: null, secret_ciphertext: 's4', created_at: T0 });
    assert.ok(a3.login > a2.login, 'logins are not reused');
  }));

  it('logins survive migrate() again', use(async (store) => {
    const a = await created(store, { tenant: 'default', name: 'x', secret_ciphertext: 's', created_at: T0 });
    await store.migrate();
    assert.deepEqual(await store.findApiLogin(a.login), a);
  }));
}
