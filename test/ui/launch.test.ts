/**
 * The Luma launch-in-context view in a browser: a URL generated through the Luma API opens the
 * console's run page without sign-in, read-only (no actions, no top bar, no links into the console,
 * nothing kept in sessionStorage), with the graph and steps coloured by state and a step's panel a
 * click away; it follows a waiting run live to its end, also inside an <iframe> of a page served
 * from another port, and reads at 390 px. A refused key is a clear page, an expired key leaves the
 * last state with a note. Without JavaScript the server-rendered page shows instead (in its
 * <noscript>), styled under the page's policy.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { reply, startTarget, type Target, type TestServer } from '../helpers/server.js';
import { browserSkip, CHROMIUM, openConsole, SCREENSHOTS, type Console } from './harness.js';

const skip = browserSkip();
const G = '/gateway/api/v1';
const SECRET = 's3cr3t-partner-token';
let target: Target;
let c: Console;
let readKey: string;
let host: http.Server | undefined;

const workflow = (url: string) => `id: approval
name: Order approval
steps:
  - id: lookup
    name: Look up the customer
    type: http
    method: POST
    url: ${url}/customers
    headers: { Authorization: "Bearer {{ $secrets.partner_token }}" }
    body: { order: "{{ order }}" }
    save_as: customer
  - id: check
    type: condition
    cases:
      - when: customer.tier = "blocked"
        next: refuse
    default: decision
  - id: decision
    name: Wait for approval
    type: wait
    timeout: 1h
    save_as: answer
  - id: record
    name: Record the answer
    type: set
    set: { approved: "{{ answer.approved = true }}" }
    next: done
  - { id: refuse, type: end, status: failed }
  - { id: done, type: end, status: succeeded }
`;

async function setUp(server: TestServer): Promise<string> {
  assert.ok((await server.call('PUT', '/v1/secrets/partner_token', { json: { value: SECRET } })).status < 300);
  const put = await server.putWorkflow('approval', workflow(target.url));
  assert.equal(put.status, 201, put.text);
  return (await server.call('POST', '/v1/keys', { json: { name: 'luma', role: 'read' } })).body.token;
}

/** A waiting run and its launch URL, generated as Luma does (POST …/launchincontexturl/generate). */
async function launch(server: TestServer, key: string, order: string): Promise<{ runId: string; url: string }> {
  const r = await server.trigger('approval', { order });
  assert.equal(r.status, 202, r.text);
  await server.waitRun(r.body.id, (run) => run.status === 'waiting');
  const res = await fetch(`${server.url}${G}/launchincontexturl/generate`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ launchContext: 'WORKFLOW_EXECUTION_STATUS', contextInfo: { triggerId: r.body.id } }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return { runId: r.body.id, url: body.resultData };
}

async function resume(server: TestServer, runId: string): Promise<void> {
  const run = await server.waitRun(runId, (r) => r.status === 'waiting');
  const cb = await fetch(run.callback_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ approved: true }) });
  assert.equal(cb.status, 202);
}

before(async () => {
  if (skip) return;
  target = await startTarget((_req, res) => reply(res, 200, { name: 'Ada', tier: 'gold' }));
  c = await openConsole({ viewport: { width: 1100, height: 800 } });
  readKey = await setUp(c.server);
});
after(async () => {
  if (skip) return;
  await c?.close();
  await target?.close();
  if (host) await new Promise<void>((r) => host!.close(() => r()));
});

test('a launch URL opens the run page read-only without sign-in and follows the run live to its end', { skip }, async () => {
  const { page } = c;
  const { runId, url } = await launch(c.server, readKey, 'L-1');
  await page.goto(url);
  await page.getByRole('heading', { name: /Order approval/ }).waitFor();
  await page.locator('li[data-step="decision"][data-state="parked"]').waitFor();
  assert.equal(await page.locator('li[data-step="lookup"]').getAttribute('data-state'), 'succeeded');
  assert.equal(await page.locator('li[data-step="record"]').getAttribute('data-state'), 'not_reached');
  assert.equal(await page.locator('.wf-node[data-step="decision"]').getAttribute('data-state'), 'parked', 'the graph is coloured too');
  assert.equal(await page.locator('.wf-node[data-step="lookup"]').getAttribute('data-state'), 'succeeded');
  assert.match(await page.locator('#run-status').innerText(), /waiting/);
  assert.match(await page.locator('.launch-foot').innerText(), /Read-only view · this link works until/);
  // Read-only and on its own: no actions, no top bar, no sign-in, no link into the console.
  for (const name of [/Resume/, /Cancel/, /Retry/, /Sign (in|out)/]) assert.equal(await page.getByRole('button', { name }).count(), 0, String(name));
  assert.equal(await page.locator('.topbar').count(), 0);
  const links = await page.locator('main a[href]').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')).filter((h) => !h?.startsWith('https://reactflow.dev')));
  assert.deepEqual(links, [], 'no link leads into the console');
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the key is no sign-in: nothing is kept');

  // A click on a step opens its panel: the http exchange, the secret redacted.
  await page.locator('li[data-step="lookup"] button').click();
  const panel = page.locator('aside.step-panel');
  await panel.getByRole('heading', { name: 'Look up the customer' }).waitFor();
  const exchange = await panel.locator('.exchange').innerText();
  assert.match(exchange, /POST/);
  assert.match(exchange, /Ada/);
  assert.ok(!exchange.includes(SECRET), 'the secret is not shown');
  await c.screenshot('launch-waiting');
  await page.getByRole('button', { name: 'Close the step panel' }).click();

  // The callback arrives from elsewhere: the page follows without a reload.
  await resume(c.server, runId);
  await page.locator('#run-status').getByText('succeeded').waitFor();
  await page.locator('li[data-step="record"][data-state="succeeded"]').waitFor();
  assert.match(await page.locator('.run-path').innerText(), /lookup → check → decision → record → done/);
  assert.equal(await page.locator('.wf-node[data-step="record"]').getAttribute('data-state'), 'succeeded');
  await c.screenshot('launch-succeeded');

  // Without JavaScript (a plain fetch of the same URL): the server-rendered page lists each step's status.
  const html = await (await fetch(url)).text();
  const fallback = /<body>[\s\S]*<noscript>([\s\S]*?)<\/noscript>/.exec(html)?.[1] ?? '';
  assert.match(fallback, /<li data-step="record"><span class="name">Record the answer<\/span>[\s\S]*?COMPLETED/);
  assert.match(fallback, /id="run-status">Status <span class="status s-completed">COMPLETED/);
  c.assertNoErrors();
});

test('inside an <iframe> of a page from another port, about 800×600, the view follows a waiting run to its end', { skip }, async () => {
  const { page } = c;
  const { runId, url } = await launch(c.server, readKey, 'L-2');
  host = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>Partner</title></head><body style="margin:0;font-family:sans-serif;background:#eef">
<h1 style="font-size:16px;margin:8px">Partner application</h1><iframe id="luma" src="${url}" width="800" height="600" style="border:1px solid #889"></iframe></body></html>`);
  });
  await new Promise<void>((r) => host!.listen(0, '127.0.0.1', r));
  const hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}/`;
  assert.notEqual(new URL(hostUrl).origin, new URL(url).origin);
  await page.setViewportSize({ width: 840, height: 680 });
  await page.goto(hostUrl);
  const frame = page.frameLocator('#luma');
  await frame.getByRole('heading', { name: /Order approval/ }).waitFor();
  await frame.locator('li[data-step="decision"][data-state="parked"]').waitFor();
  await frame.locator('.wf-node[data-step="decision"][data-state="parked"]').waitFor();
  await c.screenshot('launch-iframe-waiting');
  await frame.locator('li[data-step="decision"] button').click();
  await frame.locator('aside.step-panel').getByRole('heading', { name: 'Wait for approval' }).waitFor();
  await resume(c.server, runId);
  await frame.locator('#run-status').getByText('succeeded').waitFor();
  await frame.locator('li[data-step="record"][data-state="succeeded"]').waitFor();
  await c.screenshot('launch-iframe-succeeded');
  await page.setViewportSize({ width: 1100, height: 800 });
  c.assertNoErrors();
});

test('at 390 px the view reads without sideways scrolling; a refused key is a clear page, never a blank one', { skip }, async () => {
  const { page } = c;
  const { url } = await launch(c.server, readKey, 'L-3');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(url);
  await page.locator('li[data-step="decision"][data-state="parked"]').waitFor();
  await page.screenshot({ path: join(SCREENSHOTS, 'launch-390-top.png') });
  await page.locator('li[data-step="lookup"] button').click();
  await page.locator('aside.step-panel').waitFor();
  await c.screenshot('launch-390');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `no sideways scrolling at 390 px (${overflow}px)`);

  const key = url.slice(url.lastIndexOf('/') + 1);
  const altered = `${key.slice(0, -2)}${key.at(-2) === 'A' ? 'B' : 'A'}${key.at(-1)}`;
  c.allowErrors(new RegExp(`^http: GET /launch/${altered.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} 403$`));
  await page.goto(url.replace(key, altered));
  await page.getByRole('heading', { name: 'This link is not valid' }).waitFor();
  await c.screenshot('launch-refused');
  await page.setViewportSize({ width: 1100, height: 800 });
  c.assertNoErrors();
});

test('when the key expires the view keeps the last state and says the link expired (FLOWGATE_LAUNCH_TTL_SECONDS=4)', { skip }, async () => {
  const short = await openConsole({ env: { FLOWGATE_LAUNCH_TTL_SECONDS: '4' }, viewport: { width: 800, height: 600 } });
  try {
    const key = await setUp(short.server);
    const { url } = await launch(short.server, key, 'E-1');
    await short.page.goto(url);
    await short.page.locator('li[data-step="decision"][data-state="parked"]').waitFor();
    await short.page.getByText('This link has expired.').waitFor({ timeout: 8000 });
    assert.equal(await short.page.locator('li[data-step="decision"]').getAttribute('data-state'), 'parked', 'the last state stays');
    assert.match(await short.page.locator('.launch-foot').innerText(), /this link expired/);
    await short.screenshot('launch-expired');
    short.assertNoErrors();
  } finally {
    await short.close();
  }
});

test('without JavaScript the server-rendered page shows, its style applied under the page\'s policy', { skip }, async () => {
  const { url } = await launch(c.server, readKey, 'N-1');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 800, height: 600 } });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') violations.push(m.text()); });
    await page.goto(url);
    await page.locator('li[data-step="decision"]').getByText('SUSPENDED').waitFor();
    assert.equal(await page.locator('#root').innerHTML(), '', 'the console did not run');
    // The badge's colour comes from the page's own <style>: the policy let exactly it through.
    const badge = await page.locator('li[data-step="decision"] .status').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(badge, 'rgb(183, 121, 31)');
    await page.screenshot({ path: join(SCREENSHOTS, 'launch-no-javascript.png'), fullPage: true });
    assert.deepEqual(violations, []);
  } finally {
    await browser.close();
  }
});
