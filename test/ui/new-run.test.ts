/** New run: declared params as key-value rows, a 422 shown on its field, a plain start, a waited reply, the JSON tab, a read key. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserSkip, openConsole } from './harness.js';

const WORKFLOW = `
id: doubler
name: Doubler
params:
  amount: { type: number, required: true, minimum: 0 }
  currency: { type: string, default: EUR, enum: [EUR, USD] }
steps:
  - { id: answer, type: reply, data: { total: "{{ amount * 2 }}", currency: "{{ currency }}", note: "{{ note }}" } }
`;

test('new run: key-value rows from the params, problems on their fields, a created run, a waited reply, the JSON tab, hidden for a read key', { skip: browserSkip() }, async () => {
  const c = await openConsole();
  try {
    const { page, server } = c;
    await server.createWorkflow('doubler', WORKFLOW);
    // The 422s below are provoked on purpose: Chromium logs those answers.
    c.allowErrors(/^http: POST \/v1\/workflows\/doubler\/runs 422$/);
    await c.open('/');
    await c.signIn('test-admin', 'default');
    await c.open('/workflows/doubler/run');
    await page.getByRole('heading', { name: 'New run' }).waitFor();

    // The declared params are rows: amount required, currency with its default and its enum.
    const amount = page.getByLabel('amount *');
    await amount.waitFor();
    assert.match(await page.locator('.kv-row').first().innerText(), /number · required/);
    assert.equal(await page.getByLabel('currency').locator('option').first().innerText(), '(default: EUR)');

    // Nothing typed: the server's 422 lands on the amount field.
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.locator('.field-error', { hasText: 'is required' }).waitFor();
    assert.equal(await amount.getAttribute('aria-invalid'), 'true');
    await c.screenshot('new-run-problem');

    // A bad number: the coercion problem, on its field.
    await amount.pressSequentially('abc');
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.locator('.field-error', { hasText: /number/ }).waitFor();

    // Good values, an undeclared field added with the button: the run is created (202) with a link.
    await amount.fill('');
    await amount.pressSequentially('21');
    await page.getByLabel('currency').selectOption('USD');
    await page.getByRole('button', { name: 'Add field' }).click();
    await page.getByLabel('Field 3 name').pressSequentially('note');
    await page.getByLabel('Field 3 value').pressSequentially('hello');
    await page.getByRole('button', { name: 'Start run' }).click();
    const created = page.getByRole('status').filter({ hasText: 'Run created' });
    await created.waitFor();
    const runId = (await created.getByRole('link').innerText()).trim();
    assert.equal(await created.getByRole('link').getAttribute('href'), `/runs/${runId}`);
    const run = await server.waitRun(runId);
    assert.equal(run.status, 'succeeded');
    assert.deepEqual([run.input.amount, run.input.currency, run.input.note], ['21', 'USD', 'hello']);
    await c.screenshot('new-run-created');

    // Waiting for the reply: the reply is shown.
    await page.getByLabel('Wait for the reply').check();
    await page.getByRole('button', { name: 'Start and wait' }).click();
    const reply = page.getByRole('status').filter({ hasText: 'The run answered 200' });
    await reply.waitFor();
    assert.deepEqual(JSON.parse(await reply.getByLabel('Reply').innerText()), { total: 42, currency: 'USD', note: 'hello' });
    await c.screenshot('new-run-reply');

    // The JSON tab carries the rows over; typing in the editor starts a run with that input.
    await page.getByRole('tab', { name: 'JSON' }).click();
    const editor = page.getByLabel('Run input (JSON)');
    await editor.waitFor();
    assert.deepEqual(JSON.parse(await editor.innerText()), { amount: '21', currency: 'USD', note: 'hello' });
    await editor.click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.press('Delete');
    await editor.pressSequentially('{"amount": 5');
    await page.getByRole('button', { name: 'Start and wait' }).click();
    await page.getByRole('status').filter({ hasText: 'The run answered 200' }).getByText('"total": 10').waitFor();
    await c.screenshot('new-run-json');

    // Back to the fields: the JSON fills them.
    await page.getByRole('tab', { name: 'Fields' }).click();
    assert.equal(await page.getByLabel('amount *').inputValue(), '5');

    await page.setViewportSize({ width: 390, height: 844 });
    await c.screenshot('new-run-390');
    await page.setViewportSize({ width: 1280, height: 800 });

    // A read key is not offered the form.
    const key = await server.call('POST', '/v1/keys', { json: { name: 'viewer', role: 'read' } });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await c.signIn(key.body.token);
    await c.open('/workflows/doubler/run');
    await page.getByRole('heading', { name: 'Your key cannot start runs' }).waitFor();
    assert.equal(await page.getByRole('button', { name: /Start/ }).count(), 0);
    c.assertNoErrors();
  } finally {
    await c.close();
  }
});
