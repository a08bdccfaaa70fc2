/**
 * Every page of the console at 1280×800 and at 390×844, in the light and the dark scheme (the
 * system's, emulated): each is saved to test-artifacts/screenshots/screens-<page>-<width>-<scheme>.png
 * and checked: no sideways scrolling, every navigation link in sight, every control named, the
 * focus visible wherever Tab goes, and text contrast (WCAG 2 AA) against its background.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reply, startTarget, type Target } from '../helpers/server.js';
import { focusWithoutIndicator, horizontalOverflow, lowContrastText, unlabelledControls } from './checks.js';
import { browserSkip, openConsole, type Console } from './harness.js';

const ORDERS = (url: string) => `name: Orders
params:
  order_id: { type: string, required: true, description: The order's number }
  amount: { type: number, default: 0 }
  channel: { type: string, enum: [web, shop, phone], default: web }
steps:
  - id: lookup
    name: Look up the customer
    type: http
    method: POST
    url: ${url}/customers
    body: { order: "{{ order_id }}" }
    save_as: customer
    on_error: failed
  - id: check
    type: condition
    cases:
      - { when: amount > 1000, next: review }
    default: ship
  - id: review
    name: Wait for a manager
    type: wait
    timeout: 1h
    on_timeout: failed
  - id: ship
    type: set
    set: { shipped: true }
  - id: answer
    type: reply
    data: { shipped: "{{ shipped }}" }
  - id: failed
    type: end
    status: failed
`;

interface Screen {
  name: string;
  path: string;
  /** Signed in (the default) or not. */
  signedOut?: boolean;
  /** Shown once this is on the page. */
  ready: (c: Console) => Promise<void>;
}

async function setUp(c: Console, target: Target): Promise<Screen[]> {
  const { server, page } = c;
  await server.createWorkflow('orders', ORDERS(target.url));
  await server.createWorkflow('hello', 'name: Hello\nsteps:\n  - { id: greet, type: set, set: { hi: true } }\n');
  // A second version, for the versions tab.
  assert.equal((await server.putWorkflow('hello', 'name: Hello again\nsteps:\n  - { id: greet, type: set, set: { hi: 2 } }\n')).status, 201);
  const waiting = await server.trigger('orders', { order_id: 'A-1', amount: 5000 }, 'ref=A-1');
  await server.waitRun(waiting.body.id, (r) => r.status === 'waiting');
  const done = await server.trigger('orders', { order_id: 'A-2', amount: 5 }, 'ref=A-2');
  await server.waitRun(done.body.id);
  await server.trigger('hello', {});
  await server.call('POST', '/v1/keys', { json: { name: 'ci', role: 'trigger' } });
  await server.call('PUT', '/v1/secrets/CRM_TOKEN', { json: { value: 'x' } });
  await server.call('POST', '/v1/api-logins', { json: { name: 'erp' } });
  const heading = (name: string | RegExp) => async () => { await page.getByRole('heading', { name }).first().waitFor(); };
  const graph = async () => { await page.locator('.wf-node[data-step="lookup"]').waitFor(); await page.locator('.cm-content').first().waitFor(); };
  return [
    { name: 'sign-in', path: '/', signedOut: true, ready: heading('Sign in to Flowgate') },
    { name: 'workflows', path: '/workflows', ready: async () => { await page.getByRole('row', { name: /orders/ }).waitFor(); } },
    { name: 'workflow', path: '/workflows/orders', ready: graph },
    { name: 'workflow-start', path: '/workflows/orders?tab=start', ready: heading('Native API') },
    { name: 'workflow-versions', path: '/workflows/hello?tab=versions', ready: async () => { await page.getByRole('button', { name: 'View version 1' }).waitFor(); } },
    { name: 'workflow-new', path: '/workflows/new', ready: async () => { await page.locator('.cm-content').first().waitFor(); } },
    { name: 'new-run', path: '/workflows/orders/run', ready: async () => { await page.getByLabel(/^order_id/).waitFor(); } },
    { name: 'import', path: '/workflows/orders/import', ready: heading('Import from CSV') },
    { name: 'step-test', path: '/workflows/orders/test', ready: async () => { await page.getByLabel('Sample data (JSON)').waitFor(); } },
    { name: 'runs', path: '/runs', ready: async () => { await page.locator('.table .badge-waiting').first().waitFor(); } },
    { name: 'run-waiting', path: `/runs/${waiting.body.id}`, ready: async () => { await page.locator('li[data-step="review"][data-state="parked"]').waitFor(); } },
    { name: 'run-succeeded', path: `/runs/${done.body.id}`, ready: async () => { await page.locator('li[data-step="answer"][data-state="succeeded"]').waitFor(); } },
    { name: 'settings-keys', path: '/settings', ready: async () => { await page.getByRole('row', { name: /ci/ }).waitFor(); } },
    { name: 'settings-secrets', path: '/settings?tab=secrets', ready: async () => { await page.getByRole('row', { name: /CRM_TOKEN/ }).waitFor(); } },
    { name: 'settings-logins', path: '/settings?tab=logins', ready: async () => { await page.getByRole('row', { name: /erp/ }).waitFor(); } },
    { name: 'settings-webhook', path: '/settings?tab=webhook', ready: heading('Webhook signing secret') },
    { name: 'no-such-page', path: '/nothing/here', ready: heading('No such page') },
  ];
}

const VIEWPORTS = [{ width: 1280, height: 800 }, { width: 390, height: 844 }];

for (const scheme of ['light', 'dark'] as const) {
  test(`screens (${scheme}): every page at 1280 and 390 px fits, names its controls, shows focus, has readable text`, { skip: browserSkip(), timeout: 175_000 }, async () => {
    const target = await startTarget((_req, res) => reply(res, 200, { name: 'Ada' }));
    const c = await openConsole({ env: { FLOWGATE_HTTP_ALLOW: '127.0.0.1' } });
    const problems: string[] = [];
    try {
      const { page } = c;
      await page.emulateMedia({ colorScheme: scheme });
      const screens = await setUp(c, target);
      for (const viewport of VIEWPORTS) {
        await page.setViewportSize(viewport);
        for (const s of screens) {
          const at = `${s.name} ${viewport.width} ${scheme}`;
          await c.open(s.path);
          if (s.signedOut) await page.evaluate(() => sessionStorage.clear());
          else if (!(await page.evaluate(() => sessionStorage.getItem('flowgate.token')))) {
            await c.signIn();
            await c.open(s.path);
          }
          if (s.signedOut) await page.reload();
          await s.ready(c);
          // Fonts and the graph's fit settle; then the picture.
          await page.evaluate(() => document.fonts.ready.then(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))));
          await c.screenshot(`screens-${s.name}-${viewport.width}-${scheme}`);
          const overflow = await horizontalOverflow(page);
          if (overflow > 1) problems.push(`${at}: ${overflow}px wider than the window`);
          if (!s.signedOut && s.name !== 'no-such-page') {
            for (const link of await page.getByRole('navigation', { name: 'Main' }).getByRole('link').all()) {
              const box = await link.boundingBox();
              if (!box || box.x < 0 || box.x + box.width > viewport.width + 1) problems.push(`${at}: nav link ${await link.innerText()} is not in sight`);
            }
          }
          for (const p of await unlabelledControls(page)) problems.push(`${at}: ${p}`);
          for (const p of await lowContrastText(page)) problems.push(`${at}: contrast ${p}`);
          if (viewport.width === 1280) for (const p of await focusWithoutIndicator(page)) problems.push(`${at}: ${p}`);
        }
      }
      assert.deepEqual([...new Set(problems)], []);
      c.assertNoErrors();
    } catch (e) {
      await c.screenshot(`failed-screens-${scheme}`).catch(() => undefined);
      throw e;
    } finally {
      await c.close();
      await target.close();
    }
  });
}
