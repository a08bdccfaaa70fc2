/**
 * The runs pages in a browser: a run that waits appears in the list and turns green there and on its
 * page, live, when its callback arrives; a step's panel shows the http exchange with the secret
 * redacted; a waiting run is resumed with a JSON body typed into the dialog, another is cancelled.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { reply, startTarget, type Target } from '../helpers/server.js';
import { browserSkip, openConsole, type Console } from './harness.js';

const skip = browserSkip();
let target: Target;
let c: Console;

const workflow = (url: string) => `id: approval
name: Order approval
params:
  order: { type: string, required: true }
steps:
  - id: lookup
    name: Look up the customer
    type: http
    method: POST
    url: ${url}/customers
    headers: { Authorization: "Bearer {{ $secrets.crm_token }}" }
    body: { order: "{{ order }}" }
    save_as: customer
  - id: decision
    name: Wait for approval
    type: wait
    timeout: 1h
    save_as: answer
  - id: record
    type: set
    set: { approved: "{{ answer.approved = true }}" }
`;

before(async () => {
  if (skip) return;
  target = await startTarget((_req, res) => reply(res, 200, { name: 'Ada', tier: 'gold' }));
  c = await openConsole({ env: { FLOWGATE_HTTP_ALLOW: '127.0.0.1' } });
  assert.equal((await c.server.call('PUT', '/v1/secrets/crm_token', { json: { value: 's3cr3t-crm-token' } })).status < 300, true);
  const put = await c.server.putWorkflow('approval', workflow(target.url));
  assert.equal(put.status, 201, put.text);
});
after(async () => {
  if (skip) return;
  await c?.close();
  await target?.close();
});

const start = async (order: string): Promise<string> => {
  const r = await c.server.trigger('approval', { order }, `ref=${order}`);
  assert.equal(r.status, 202, r.text);
  await c.server.waitRun(r.body.id, (run) => run.status === 'waiting');
  return r.body.id;
};

test('a waiting run turns green live in the list and on its page; the step panel shows the exchange', { skip }, async () => {
  const { page } = c;
  await c.open('/runs');
  await c.signIn();
  await page.getByRole('heading', { name: 'No runs yet' }).waitFor();
  const first = await start('A-1');
  const row = page.locator('tr', { has: page.locator(`a[title="${first}"]`) });
  await row.getByText('waiting').waitFor();
  // A run started after the page opened appears without a reload.
  const second = await start('A-2');
  const row2 = page.locator('tr', { has: page.locator(`a[title="${second}"]`) });
  await row2.getByText('waiting').waitFor();
  await c.screenshot('runs-list');

  // Its callback arrives from elsewhere: the row turns green.
  const run = await c.server.waitRun(first, (r) => r.status === 'waiting');
  const cb = await fetch(run.callback_url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ approved: true }) });
  assert.equal(cb.status, 202);
  await row.getByText('succeeded').waitFor();

  // Filters live in the URL.
  await page.getByLabel('Status').selectOption('waiting');
  await page.waitForURL(/status=waiting/);
  await row2.waitFor();
  assert.equal(await row.count(), 0, 'the succeeded run is not listed under waiting');
  await page.getByLabel('Ref').fill('');
  await page.getByLabel('Ref').pressSequentially('A-9');
  await page.getByLabel('Ref').press('Enter');
  await page.getByRole('heading', { name: 'No run matches' }).waitFor();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.waitForURL((u) => u.search === '');

  // The second run's page: the wait step is parked, the http step's panel shows the exchange.
  await row2.locator('a').first().click();
  await page.waitForURL(new RegExp(`/runs/${second}$`));
  await page.getByRole('heading', { name: /Order approval/ }).waitFor();
  assert.equal(await page.locator('li[data-step="decision"]').getAttribute('data-state'), 'parked');
  // The graph colours the same states: its node of the parked step, and the path through the lookup.
  assert.equal(await page.locator('.wf-node[data-step="decision"]').getAttribute('data-state'), 'parked');
  assert.equal(await page.locator('.wf-node[data-step="lookup"]').getAttribute('data-state'), 'succeeded');
  assert.equal(await page.locator('li[data-step="lookup"]').getAttribute('data-state'), 'succeeded');
  assert.equal(await page.locator('li[data-step="record"]').getAttribute('data-state'), 'not_reached');
  await page.locator('li[data-step="lookup"] button').click();
  const panel = page.locator('aside.step-panel');
  await panel.getByRole('heading', { name: 'Look up the customer' }).waitFor();
  const exchange = await panel.locator('.exchange').innerText();
  assert.match(exchange, /POST/);
  assert.match(exchange, /\/customers/);
  assert.match(exchange, /Ada/);
  assert.ok(!exchange.includes('s3cr3t-crm-token'), 'the secret is not shown');
  assert.match(exchange, /redacted|\*\*\*/i, 'the Authorization header is shown redacted');
  await c.screenshot('run-page-step-panel');

  // Resume it with a JSON body typed into the dialog: the page follows it to the end.
  await page.getByRole('button', { name: 'Resume…' }).click();
  const body = page.getByLabel('JSON body');
  await body.fill('');
  await body.pressSequentially('{"approved": tru');
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await page.getByText('The body is not JSON').waitFor();
  await body.press('End');
  await body.pressSequentially('e}');
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await page.locator('#run-status').getByText('succeeded').waitFor();
  await page.locator('li[data-step="record"][data-state="succeeded"]').waitFor();
  const done = await c.server.waitRun(second);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.data.approved, true);
  assert.match(await page.locator('.run-path').innerText(), /lookup → decision → record/);
  await c.screenshot('run-page-succeeded');
  c.assertNoErrors();
});

test('cancel a waiting run (with a confirmation); at 390 px the pages still read', { skip }, async () => {
  const { page } = c;
  const id = await start('C-1');
  await c.open(`/runs/${id}`);
  await page.locator('li[data-step="decision"][data-state="parked"]').waitFor();
  await page.getByRole('button', { name: 'Cancel run' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('Cancel this run?').waitFor();
  await dialog.getByRole('button', { name: 'Cancel the run' }).click();
  await page.locator('#run-status').getByText('cancelled').waitFor();
  assert.equal((await c.server.waitRun(id)).status, 'cancelled');
  assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0, 'a finished run offers no cancel');

  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator('li[data-step="decision"] button').click();
  await page.locator('aside.step-panel').waitFor();
  await c.screenshot('run-page-390');
  await c.open('/runs');
  await page.locator('tr', { has: page.locator(`a[title="${id}"]`) }).getByText('cancelled').waitFor();
  await c.screenshot('runs-list-390');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `no sideways scrolling at 390 px (${overflow}px)`);
  await page.setViewportSize({ width: 1280, height: 800 });
  c.assertNoErrors();
});
