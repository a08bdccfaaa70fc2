// trigger.verify on the native API, with a real server: the native trigger and the batch called with a key of
// the trigger role need the workflow's signature over the raw body (made by each provider's own code); an admin
// credential does not; a secret is never written into a definition, and never shown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { forge, forgeries, putSchemeWorkflows, runsOf, SCHEMES, withQuery } from '../helpers/signing.js';

let s: TestServer;
let triggerKey: string;

before(async () => {
  s = await startTestServer();
  await putSchemeWorkflows(s);
  const key = await s.call('POST', '/v1/keys', { json: { name: 'hooks', role: 'trigger' } });
  assert.equal(key.status, 201, key.text);
  triggerKey = key.body.token;
});
after(() => s.close());

const BODY = '{"amount":42}';

const post = (path: string, body: string, headers: Record<string, string>, token: string | null = triggerKey) =>
  s.call('POST', path, { raw: body, type: 'application/json', headers, token });

function assertRefused(r: { status: number; headers: Headers; body: any; text: string }, what: string): void {
  assert.equal(r.status, 401, `${what}: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  assert.equal(r.body.type, 'https://flowgate.dev/problems/signature-invalid', what);
  assert.equal(r.body.title, 'Invalid signature', what);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Signature scheme=/, what);
}

describe('POST /v1/workflows/{id}/runs with a trigger key', () => {
  for (const c of SCHEMES) {
    it(`${c.scheme}: a valid signature creates the run; ${forgeries(c).join(', ')} answer 401 and create nothing`, async () => {
      const path = `/v1/workflows/v-${c.scheme}/runs`;
      const before = await runsOf(s, `v-${c.scheme}`);
      for (const how of forgeries(c)) {
        const f = await forge(c, BODY, how);
        assertRefused(await post(withQuery(path, f.sig.query), f.body, f.sig.headers), `${c.scheme} ${how}`);
      }
      assert.equal(await runsOf(s, `v-${c.scheme}`), before, 'no run was created by a refused request');
      const sig = await c.sign(BODY);
      const ok = await post(withQuery(path, sig.query), BODY, sig.headers);
      assert.equal(ok.status, 202, ok.text);
      const run = await s.waitRun(ok.body.id);
      assert.deepEqual(run.input, { amount: 42 });
      assert.equal(await runsOf(s, `v-${c.scheme}`), before + 1);
    });
  }

  it('the signature is checked before the body is parsed: an unsigned malformed body is 401, not 400', async () => {
    assertRefused(await post('/v1/workflows/v-github/runs', '{"amount":', {}), 'malformed');
  });

  it('an admin credential needs no signature (it may change the workflow anyway)', async () => {
    const r = await s.call('POST', '/v1/workflows/v-stripe/runs', { raw: BODY, type: 'application/json' });
    assert.equal(r.status, 202, r.text);
    const adminKey = await s.call('POST', '/v1/keys', { json: { name: 'ops', role: 'admin' } });
    const viaKey = await post('/v1/workflows/v-stripe/runs', BODY, {}, adminKey.body.token);
    assert.equal(viaKey.status, 202, viaKey.text);
  });

  it('a secret that is not set refuses every trigger (nothing can be verified)', async () => {
    const put = await s.putWorkflow('v-unset', 'id: v-unset\ntrigger:\n  verify: { scheme: github, secret: "{{ $secrets.never_set }}" }\nsteps:\n  - { id: done, type: end }\n');
    assert.equal(put.status, 201, put.text);
    const r = await post('/v1/workflows/v-unset/runs', BODY, { 'x-hub-signature-256': 'sha256=00' });
    assertRefused(r, 'unset secret');
    assert.match(r.body.detail, /signing secret is not set/);
    assert.equal(await runsOf(s, 'v-unset'), 0);
  });

  it('a rotated secret is used at once (the cache is dropped when a secret changes)', async () => {
    const c = SCHEMES.find((x) => x.scheme === 'github')!;
    await s.call('PUT', `/v1/secrets/${c.name}`, { json: { value: 'rotated' } });
    try {
      const old = await c.sign(BODY);
      assertRefused(await post('/v1/workflows/v-github/runs', BODY, old.headers), 'old secret');
      const fresh = await c.sign(BODY, Date.now(), 'rotated');
      assert.equal((await post('/v1/workflows/v-github/runs', BODY, fresh.headers)).status, 202);
    } finally {
      await s.call('PUT', `/v1/secrets/${c.name}`, { json: { value: c.value } });
    }
  });
});

describe('POST /v1/workflows/{id}/runs/batch with a trigger key', () => {
  for (const c of SCHEMES) {
    it(`${c.scheme}: the whole batch body is signed`, async () => {
      const path = `/v1/workflows/v-${c.scheme}/runs/batch`;
      const body = JSON.stringify({ items: [{ data: { amount: 42 } }, { data: { amount: 7 } }] });
      const before = await runsOf(s, `v-${c.scheme}`);
      for (const how of forgeries(c)) {
        const f = await forge(c, body, how);
        assertRefused(await post(withQuery(path, f.sig.query), f.body, f.sig.headers), `${c.scheme} ${how}`);
      }
      assert.equal(await runsOf(s, `v-${c.scheme}`), before);
      const sig = await c.sign(body);
      const ok = await post(withQuery(path, sig.query), body, sig.headers);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body.items.map((i: any) => i.status), ['created', 'created']);
      assert.equal(await runsOf(s, `v-${c.scheme}`), before + 2);
    });
  }
});

describe('CSV import', () => {
  it('a workflow that asks for a signature takes no CSV import from a trigger key; an admin may import', async () => {
    const csv = 'amount\n1\n2\n';
    const before = await runsOf(s, 'v-github');
    const r = await s.call('POST', '/v1/workflows/v-github/runs/import', { raw: csv, type: 'text/csv', token: triggerKey });
    assertRefused(r, 'import');
    assert.equal(await runsOf(s, 'v-github'), before);
    const admin = await s.call('POST', '/v1/workflows/v-github/runs/import', { raw: csv, type: 'text/csv' });
    assert.equal(admin.status, 200, admin.text);
    assert.equal(admin.body.created, 2);
  });
});

describe('the secret in the definition', () => {
  it('a literal secret is refused at save time with 422 naming trigger.verify.secret; nothing is stored', async () => {
    for (const secret of ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'plain-text-secret', '{{ "inline" }}']) {
      const r = await s.putWorkflow('v-literal', `id: v-literal\ntrigger:\n  verify: { scheme: standard-webhooks, secret: ${JSON.stringify(secret)} }\nsteps:\n  - { id: done, type: end }\n`);
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.type, 'https://flowgate.dev/problems/invalid-definition');
      assert.deepEqual(r.body.errors.map((e: any) => e.path), ['trigger.verify.secret']);
      assert.ok(!r.text.includes(secret) || secret.startsWith('{{'), 'the refusal does not echo the secret');
    }
    assert.equal((await s.call('GET', '/v1/workflows/v-literal')).status, 404);
  });

  it('GET /v1/workflows/{id} shows the reference, never the value', async () => {
    for (const c of SCHEMES) {
      const r = await s.call('GET', `/v1/workflows/v-${c.scheme}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.definition.trigger.verify.secret, `{{ $secrets.${c.name} }}`);
      assert.ok(!r.text.includes(c.value), `${c.scheme}: the secret's value is not in the answer`);
    }
    const list = await s.call('GET', '/v1/workflows');
    for (const c of SCHEMES) assert.ok(!list.text.includes(c.value));
  });

  it('a definition stored before secrets had to be named keeps working, and its secret is not shown', async () => {
    const literal = 'legacy-inline-secret-7f3a';
    const source = `id: v-legacy\ntrigger:\n  verify: { scheme: github, secret: ${literal} }\nsteps:\n  - { id: done, type: end }\n`;
    const definition = {
      id: 'v-legacy', name: 'v-legacy', params: {}, undeclared: 'keep' as const,
      trigger: { public: true, verify: { scheme: 'github' as const, secret: literal } }, steps: [{ id: 'done', type: 'end' }],
    };
    await s.srv.store.saveWorkflow('default', definition, source, { hash: 'a'.repeat(40), guid: '0b1c7e0e-6d1f-4a55-9d4c-2f0f6a1b2c3d' }, Date.now());
    const got = await s.call('GET', '/v1/workflows/v-legacy');
    assert.equal(got.status, 200, got.text);
    assert.ok(!got.text.includes(literal), 'neither the definition nor the source shows it');
    assert.equal(got.body.definition.trigger.verify.secret, '[redacted]');
    assert.match(got.body.source, /secret: \[redacted\]/);
    const c = SCHEMES.find((x) => x.scheme === 'github')!;
    assertRefused(await post('/v1/workflows/v-legacy/runs', BODY, {}), 'legacy unsigned');
    const sig = await c.sign(BODY, Date.now(), literal);
    assert.equal((await post('/v1/workflows/v-legacy/runs', BODY, sig.headers)).status, 202);
  });
});
