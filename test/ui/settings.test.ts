/**
 * Settings in a browser, with real clicks and typing: an API key created with a role shows its
 * token once, the token works through fetch as that role, and stops working once revoked; a secret
 * written in the form reaches a workflow's http step but is never shown again; a Corezoid API login
 * signs an ops API request, and is refused once deleted; the webhook signing secret is shown and
 * rotated; a read key is told Settings need an admin key.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { browserSkip, openConsole } from './harness.js';

async function startTarget(): Promise<{ url: string; auth: string[]; close(): Promise<void> }> {
  const auth: string[] = [];
  const srv = http.createServer((req, res) => {
    auth.push(String(req.headers.authorization ?? ''));
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, auth, close: () => new Promise((r) => srv.close(() => r())) };
}

test('settings: a key with a role (token once, usable, revoked), a write-only secret, an API login, the webhook secret', { skip: browserSkip(), timeout: 150_000 }, async () => {
  const target = await startTarget();
  const c = await openConsole({ env: { FLOWGATE_HTTP_ALLOW: '127.0.0.1' } });
  try {
    const { page, server } = c;
    await server.createWorkflow('charge', `
params:
  amount: { type: number, default: 1 }
steps:
  - id: pay
    type: http
    method: POST
    url: ${target.url}/pay
    headers: { Authorization: "Bearer {{ $secrets.PAYMENT_TOKEN }}" }
    body: { amount: "{{ amount }}" }
  - { id: answer, type: reply, data: { paid: true } }
`);
    await c.open('/');
    await c.signIn();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByRole('heading', { name: 'No keys yet' }).waitFor();
    await c.screenshot('settings-keys-empty');

    // --- An API key with the read role: its token shown once.
    await page.getByLabel('Key name').click();
    await page.keyboard.type('ci-reader');
    await page.getByLabel('Role').focus();
    await page.getByLabel('Role').selectOption('read');
    await page.getByRole('button', { name: 'Create key' }).click();
    const tokenEl = page.getByLabel('New token', { exact: true });
    await tokenEl.waitFor();
    const token = (await tokenEl.innerText()).trim();
    assert.match(token, /^\S{20,}$/);
    assert.match(await page.locator('.once-box').innerText(), /Key ci-reader created \(read\)[\s\S]*not shown again/);
    await page.getByRole('row', { name: /ci-reader/ }).waitFor();
    assert.match(await page.getByRole('row', { name: /ci-reader/ }).innerText(), /read/);
    await c.screenshot('settings-key-created');

    // The token works, as a read key: it reads, it cannot start a run.
    const auth = { Authorization: `Bearer ${token}` };
    const me = await fetch(`${server.url}/v1/whoami`, { headers: auth });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { role: string }).role, 'read');
    const list = await fetch(`${server.url}/v1/workflows`, { headers: auth });
    assert.equal(list.status, 200);
    assert.deepEqual(((await list.json()) as { items: { id: string }[] }).items.map((w) => w.id), ['charge']);
    const start = await fetch(`${server.url}/v1/workflows/charge/runs`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(start.status, 403);
    await start.arrayBuffer();

    // Done: the token is gone from the page, and a reload does not bring it back.
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByLabel('New token', { exact: true }).count(), 0);
    await page.reload();
    await page.getByRole('row', { name: /ci-reader/ }).waitFor();
    assert.ok(!(await page.content()).includes(token), 'the token is shown only once');

    // Revoke it (after a confirmation): the same token is refused from then on.
    await page.getByRole('button', { name: 'Revoke ci-reader' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('heading', { name: 'Revoke ci-reader?' }).waitFor();
    await c.screenshot('settings-key-revoke');
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('heading', { name: 'No keys yet' }).waitFor();
    const refused = await fetch(`${server.url}/v1/workflows`, { headers: auth });
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();

    // --- A secret: written in the form, used by a step, never shown again.
    await page.getByRole('tab', { name: 'Secrets' }).click();
    await page.getByRole('heading', { name: 'No secrets yet' }).waitFor();
    await page.getByLabel('Secret name').click();
    await page.keyboard.type('PAYMENT_TOKEN');
    await page.getByLabel('Value').click();
    await page.keyboard.type('pay-s3cr3t-1');
    assert.equal(await page.getByLabel('Value').getAttribute('type'), 'password', 'the value is not shown while typed');
    await page.getByRole('button', { name: 'Save secret' }).click();
    await page.getByRole('status').filter({ hasText: 'PAYMENT_TOKEN created' }).waitFor();
    await page.getByRole('row', { name: /PAYMENT_TOKEN/ }).waitFor();
    assert.equal(await page.getByLabel('Value').inputValue(), '', 'the form forgets the value');
    assert.ok(!(await page.content()).includes('pay-s3cr3t-1'), 'the value is nowhere in the page');
    await c.screenshot('settings-secret-saved');
    const listed = await server.call('GET', '/v1/secrets');
    assert.ok(!JSON.stringify(listed.body).includes('pay-s3cr3t-1'), 'the API does not give it back either');
    const paid = await server.call('POST', '/v1/workflows/charge/runs?wait=10', { json: { amount: 5 } });
    assert.equal(paid.status, 200, paid.text);
    assert.deepEqual(target.auth, ['Bearer pay-s3cr3t-1'], 'the step sent the secret written in the form');

    // Replace it: the name comes into the form, the new value is what steps get.
    await page.getByRole('button', { name: 'Replace PAYMENT_TOKEN' }).click();
    assert.equal(await page.getByLabel('Secret name').inputValue(), 'PAYMENT_TOKEN');
    await page.keyboard.type('pay-s3cr3t-2');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'PAYMENT_TOKEN replaced' }).waitFor();
    assert.equal((await server.call('POST', '/v1/workflows/charge/runs?wait=10', { json: {} })).status, 200);
    assert.equal(target.auth[1], 'Bearer pay-s3cr3t-2');

    // --- A Corezoid API login: its secret shown once, it signs an ops API request.
    await page.getByRole('tab', { name: 'API logins' }).click();
    await page.getByRole('heading', { name: 'No API logins yet' }).waitFor();
    await page.getByLabel('Login name (optional)').click();
    await page.keyboard.type('erp');
    await page.getByRole('button', { name: 'Create login' }).click();
    const login = (await page.getByLabel('New login', { exact: true }).innerText()).trim();
    const secret = (await page.getByLabel('New login secret', { exact: true }).innerText()).trim();
    assert.match(login, /^\d+$/);
    assert.match(secret, /^[A-Za-z0-9]{40}$/);
    await page.getByRole('row', { name: new RegExp(login) }).waitFor();
    await c.screenshot('settings-login-created');
    const convId = (await server.call('GET', '/v1/workflows/charge')).body.triggers.conv_id;
    const signedCreate = async () => {
      const body = JSON.stringify({ ops: [{ type: 'create', obj: 'task', conv_id: convId, ref: `erp-${Date.now()}-${Math.random()}`, data: { amount: 2 } }] });
      const time = String(Math.floor(Date.now() / 1000));
      const signature = createHash('sha1').update(time + secret + body + secret).digest('hex');
      const res = await fetch(`${server.url}/api/2/json/${login}/${time}/${signature}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      return { status: res.status, body: await res.json() as { request_proc: string; ops: { proc: string }[] } };
    };
    const created = await signedCreate();
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.ops[0].proc, 'ok');
    await page.getByRole('button', { name: 'Done' }).click();
    assert.ok(!(await page.content()).includes(secret), 'the login secret is shown only once');
    await page.getByRole('button', { name: `Delete login ${login}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'No API logins yet' }).waitFor();
    assert.equal((await signedCreate()).status, 500, 'an unknown login is refused (the MPO status table)');

    // --- The webhook signing secret: shown on request, rotated after a confirmation.
    await page.getByRole('tab', { name: 'Webhook secret' }).click();
    await page.getByRole('button', { name: 'Show the secret' }).click();
    const shown = page.locator('code[aria-label="Webhook secret"]');
    await shown.waitFor();
    const first = (await shown.innerText()).trim();
    assert.match(first, /^whsec_/);
    assert.equal(first, (await server.call('GET', '/v1/webhook-secret')).body.secret);
    await c.screenshot('settings-webhook-secret');
    await page.getByRole('button', { name: 'Rotate…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await page.waitForFunction((old) => {
      const el = document.querySelector('[aria-label="Webhook secret"]');
      return !!el && el.textContent !== old;
    }, first);
    const second = (await shown.innerText()).trim();
    assert.match(second, /^whsec_/);
    assert.equal(second, (await server.call('GET', '/v1/webhook-secret')).body.secret);
    await page.getByText('The previous secret still signs until').waitFor();
    await c.screenshot('settings-webhook-rotated');

    // A phone-sized screen: the tabs and forms still fit.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('tab', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'Create a key' }).waitFor();
    await c.screenshot('settings-390');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than a 390 px screen`);
    await page.setViewportSize({ width: 1280, height: 800 });

    // A read key is told what Settings need, and offered nothing.
    const readKey = (await server.call('POST', '/v1/keys', { json: { name: 'viewer', role: 'read' } })).body.token as string;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await c.signIn(readKey);
    await c.open('/settings');
    await page.getByRole('heading', { name: 'Settings need an admin key' }).waitFor();
    assert.equal(await page.getByRole('tab').count(), 0);
    c.assertNoErrors();
  } catch (e) {
    await c.screenshot('failed-settings').catch(() => undefined);
    throw e;
  } finally {
    await c.close();
    await target.close();
  }
});
