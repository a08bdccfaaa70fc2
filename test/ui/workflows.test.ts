/**
 * The workflow pages in a browser: apply a workflow with a mistake in the editor, see the problem on
 * its line and on its node, fix it, see the graph; copy a direct URL from the Start panel and start a
 * run through it; rotate the hash; compare versions; the list and its search; the same at 390 px.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserSkip, openConsole } from './harness.js';

const WITH_MISTAKE = `name: Orders
params:
  order_id: { type: string, required: true }
  amount: { type: number, default: 0 }
steps:
  - id: check
    type: condition
    cases:
      - { when: amount > 1000, next: review }
    default: ship
  - id: review
    type: wait
    timeout: 1h
    on_timeout: ship
  - id: ship
    type: set
    set: { shipped: true }
    next: answr
  - id: answer
    type: reply
    data: { shipped: "{{ shipped }}" }
`;

test('workflow pages: editor problems on their line and node, graph, Start panel copy and run, rotate, versions, list', { skip: browserSkip(), timeout: 170_000 }, async () => {
  const c = await openConsole();
  try {
    const { page, server } = c;
    // The save with the mistake is answered 422 on purpose; a server without the versions list
    // answers 404 there and the console reads the versions one by one instead.
    c.allowErrors(/^http: PUT \/v1\/workflows\/orders 422$/);
    c.allowErrors(/^http: GET \/v1\/workflows\/orders\/versions 404$/);
    await c.open('/');
    await c.signIn();
    await page.getByRole('button', { name: 'New workflow' }).click();
    await page.getByRole('heading', { name: 'New workflow' }).waitFor();
    await page.getByLabel('Workflow id').pressSequentially('orders');

    const editor = page.locator('.cm-content').first();
    await editor.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(WITH_MISTAKE);
    await page.getByRole('button', { name: 'Save' }).click();

    // The problem: in the list with its line, underlined on that line, and on the step's node.
    const alert = page.locator('.definition-editor .problem');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /line 18/, text);
    assert.match(text, /steps\[2\]\.next/);
    const marked = page.locator('.cm-lintRange-error').first();
    await marked.waitFor();
    assert.match(await marked.innerText(), /next: answr/);
    await page.locator('.wf-has-problem[data-step="ship"]').waitFor();
    assert.equal(await page.locator('.wf-node-missing').count(), 1, 'the misspelt target is drawn as a missing step');
    await c.screenshot('workflow-editor-problem');

    // Fix it with real keystrokes: at the end of that line, erase the misspelt name and type the right one.
    await page.locator('.cm-line', { hasText: 'next: answr' }).click();
    await page.keyboard.press('End');
    for (let i = 0; i < 'answr'.length; i++) await page.keyboard.press('Backspace');
    await page.keyboard.type('answer');
    await page.keyboard.press('Control+S');
    await page.waitForURL(/\/workflows\/orders$/);
    await page.getByRole('heading', { name: /Orders/ }).waitFor();
    for (const step of ['check', 'review', 'ship', 'answer']) await page.locator(`.wf-node[data-step="${step}"]`).first().waitFor();
    assert.equal(await page.locator('.wf-has-problem').count(), 0);
    assert.equal(await page.locator('.wf-node-missing').count(), 0);
    // Condition cases are labelled with their when.
    await page.locator('.react-flow__edge-text', { hasText: 'amount > 1000' }).waitFor();
    const saved = await server.call('GET', '/v1/workflows/orders');
    assert.equal(saved.status, 200);
    assert.equal(saved.body.definition.steps[2].next, 'answer');
    await c.screenshot('workflow-page');

    // A second version, to compare.
    const nameLine = page.locator('.cm-line', { hasText: 'name: Orders' });
    await nameLine.click();
    await page.keyboard.press('End');
    await page.keyboard.type(' and returns');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 2' }).waitFor();

    // Start panel: copy the direct JSON URL and start a run through it.
    await page.getByRole('tab', { name: 'Start' }).click();
    await page.getByRole('heading', { name: 'Corezoid direct URLs' }).waitFor();
    await c.screenshot('workflow-start-panel');
    await page.getByRole('button', { name: 'Copy Direct URL (JSON)' }).click();
    await page.getByRole('button', { name: 'Copy Direct URL (JSON)' }).filter({ hasText: 'Copied' }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, new RegExp(`^${server.url}/api/1/json/public/\\d+/[0-9a-f]{40}$`));
    const before = await server.runCount();
    const res = await fetch(copied, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ order_id: 'A-1', amount: 5 }) });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await server.runCount(), before + 1);

    // Rotate the hash (with confirmation): the copied URL stops, the panel shows the new one.
    await page.getByRole('button', { name: 'Rotate the hash…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await page.waitForFunction((old) => !document.body.innerText.includes(old), copied);
    const after = await fetch(copied, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order_id":"A-2"}' });
    assert.notEqual(after.status, 200, 'the old direct URL no longer starts runs');
    await after.arrayBuffer();

    // Versions: both listed, compared side by side.
    await page.getByRole('tab', { name: 'Versions' }).click();
    await page.getByRole('button', { name: 'Compare version 1 with the current' }).click();
    await page.locator('.cm-mergeView').waitFor();
    assert.match(await page.locator('.cm-mergeView').innerText(), /and returns/);
    await c.screenshot('workflow-versions');

    // The list: the workflow with its version and triggers; search narrows it.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workflows' }).click();
    const row = page.getByRole('row', { name: /orders/ });
    await row.waitFor();
    assert.match(await row.innerText(), /Orders and returns[\s\S]*2/);
    await page.getByLabel('Search workflows').pressSequentially('nothing-like-it');
    await page.getByRole('heading', { name: 'No workflow matches' }).waitFor();
    await page.getByLabel('Search workflows').fill('');
    await page.getByLabel('Search workflows').pressSequentially('ord');
    await row.waitFor();
    await c.screenshot('workflows-list');

    // A phone-sized screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await c.screenshot('workflows-list-390');
    await row.getByRole('link', { name: 'orders' }).click();
    await page.locator('.wf-node[data-step="ship"]').first().waitFor();
    await c.screenshot('workflow-page-390');
    await page.getByRole('tab', { name: 'Start' }).click();
    await page.getByRole('heading', { name: 'Native API' }).waitFor();
    await c.screenshot('workflow-start-panel-390');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than a 390 px screen`);
    c.assertNoErrors();
  } catch (e) {
    await c.screenshot('failed-workflow-pages').catch(() => undefined);
    throw e;
  } finally {
    await c.close();
  }
});

test('a read key sees the workflow but no Save, New workflow, Archive or Rotate', { skip: browserSkip() }, async () => {
  const c = await openConsole();
  try {
    const { page, server } = c;
    await server.createWorkflow('hello', 'steps:\n  - { id: hi, type: reply, data: { hi: true } }\n');
    const key = await server.call('POST', '/v1/keys', { json: { name: 'viewer', role: 'read' } });
    await c.open('/');
    await c.signIn(key.body.token);
    await page.getByRole('row', { name: /hello/ }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New workflow' }).count(), 0);
    await page.getByRole('link', { name: 'hello' }).click();
    await page.locator('.wf-node[data-step="hi"]').first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /Archive/ }).count(), 0);
    assert.equal(await page.locator('.cm-content[contenteditable="true"]').count(), 0, 'the editor is read-only');
    await page.getByRole('tab', { name: 'Start' }).click();
    await page.getByRole('heading', { name: 'Native API' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Rotate/ }).count(), 0);
    c.assertNoErrors();
  } finally {
    await c.close();
  }
});
