/** Testing an http step from the console: a saved step and an edited (unsaved) one, against a local target, the exchange shown with secrets redacted. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { browserSkip, openConsole } from './harness.js';

interface Seen { method: string; url: string; auth: string; body: string }

async function startTarget(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: String(req.headers.authorization ?? ''), body });
      res.writeHead(req.url?.startsWith('/missing') ? 404 : 200, { 'Content-Type': 'application/json', 'X-Target': 'local' });
      res.end(JSON.stringify({ greeting: `hello ${JSON.parse(body || '{}').name ?? 'nobody'}` }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => srv.close(() => r())) };
}

test('step test: a saved http step and an edited one run against a local target; the exchange is shown, the secret redacted', { skip: browserSkip() }, async () => {
  const target = await startTarget();
  // The test server lets http steps reach 127.0.0.1 (FLOWGATE_HTTP_ALLOW), as test/http/http-step.test.ts does.
  const c = await openConsole({ env: { FLOWGATE_HTTP_ALLOW: '127.0.0.1' } });
  try {
    const { page, server } = c;
    assert.equal((await server.call('PUT', '/v1/secrets/HOOK_TOKEN', { json: { value: 's3cr3t-value-xyz' } })).status, 201);
    await server.createWorkflow('greeter', `
id: greeter
params:
  name: { type: string, required: true }
steps:
  - { id: prepare, type: set, set: { n: 1 } }
  - id: greet
    name: Greet the target
    type: http
    method: POST
    url: ${target.url}/greet
    headers: { Authorization: "Bearer {{ $secrets.HOOK_TOKEN }}" }
    body: { name: "{{ name }}" }
    save_as: greeting
`);
    await c.open('/');
    await c.signIn('test-admin', 'default');
    await c.open('/workflows/greeter/test?step=greet');
    await page.getByRole('heading', { name: 'Test an http step' }).waitFor();
    // Only the http step is offered, preselected.
    assert.deepEqual(await page.getByLabel('Step', { exact: true }).locator('option').allInnerTexts(), ['greet — Greet the target']);

    const data = page.getByLabel('Sample data (JSON)');
    await data.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await data.pressSequentially('{"name": "Ada"');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    const result = page.getByLabel('Test result');
    await result.waitFor();
    assert.equal(target.seen.length, 1);
    assert.deepEqual([target.seen[0].method, target.seen[0].url, target.seen[0].auth, JSON.parse(target.seen[0].body)], ['POST', '/greet', 'Bearer s3cr3t-value-xyz', { name: 'Ada' }]);
    const shown = await result.innerText();
    assert.match(shown, /continue/);
    assert.match(shown, new RegExp(`POST\\s+${target.url}/greet`));
    assert.match(shown, /hello Ada/);
    assert.match(shown, /\b200\b/);
    assert.match(shown, /\d+ ms/);
    assert.doesNotMatch(await page.content(), /s3cr3t-value-xyz/, 'the secret value never reaches the page');
    await c.screenshot('step-test-saved');

    // An edited copy, not saved: another path, answered 404, which fails the step.
    await page.getByRole('button', { name: 'Edit a copy before testing' }).click();
    const step = page.getByLabel('Step (JSON)');
    await step.waitFor();
    assert.equal(JSON.parse(await step.innerText()).id, 'greet');
    await step.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await step.pressSequentially(`{"id": "greet", "type": "http", "method": "POST", "url": "${target.url}/missing", "body": {"name": "{{ name }}"}`);
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await result.locator('.exchange-line', { hasText: '/missing' }).waitFor();
    assert.equal(target.seen.length, 2);
    assert.equal(target.seen[1].url, '/missing');
    assert.match(await result.innerText(), /fail/);
    assert.match(await result.innerText(), /\b404\b/);
    await c.screenshot('step-test-unsaved');

    // A step with a mistake: the server's problem at its path.
    c.allowErrors(/^http: POST \/v1\/steps\/test 422$/);
    await step.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await step.pressSequentially('{"id": "greet", "type": "http", "method": "POST"');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'step.url' }).waitFor();
    assert.equal(target.seen.length, 2, 'an invalid step sends nothing');

    await page.setViewportSize({ width: 390, height: 844 });
    await c.screenshot('step-test-390');
    c.assertNoErrors();
  } finally {
    await c.close();
    await target.close();
  }
});
