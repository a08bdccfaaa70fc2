/**
 * The workflow graph as drawn in the browser: node boxes hold their lines (a long name is cut with
 * an ellipsis and is whole in the tooltip), no drawn edge passes under a node, and a 200-step
 * workflow opens on its first steps at a readable zoom.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkip, openConsole } from './harness.js';

const LONG_NAME = 'Send the order confirmation to the customer and to the warehouse team';

const BRANCHY = `name: Branches and exits
params:
  amount: { type: number, default: 0 }
steps:
  - id: fetch
    type: http
    url: http://127.0.0.1:9/orders
    on_error: failed
  - id: route
    type: condition
    cases:
      - { when: amount > 1000, next: review }
      - { when: amount < 0, next: refuse }
    default: price
  - id: price
    type: http
    method: POST
    url: http://127.0.0.1:9/price
    on_error: failed
    next: notify
  - id: review
    type: wait
    timeout: 2d
    on_timeout: refuse
    next: notify
  - id: notify
    name: ${LONG_NAME}
    type: http
    method: POST
    url: http://127.0.0.1:9/a/rather/long/path/for/the/notification/endpoint
    on_error: failed
  - id: answer
    type: reply
    data: { ok: true }
  - id: refuse
    type: end
    status: failed
  - id: failed
    type: end
    status: failed
`;

function twoHundred(): string {
  const lines = ['name: Two hundred steps', 'steps:'];
  for (let i = 0; i < 200; i++) {
    if (i % 10 === 0 && i + 7 < 200) lines.push(`  - { id: s${i}, type: condition, cases: [{ when: "n > ${i}", next: s${i + 5} }, { when: "n < ${i}", next: s${i + 7} }], default: s${i + 1} }`);
    else if (i % 13 === 0) lines.push(`  - { id: s${i}, type: http, url: "http://127.0.0.1:9/${i}", on_error: s199 }`);
    else lines.push(`  - { id: s${i}, name: "Step number ${i}", type: set, set: { i: ${i} } }`);
  }
  return `${lines.join('\n')}\n`;
}

/** Drawn edges sampled along their length; the points that fall inside a node's box (its border excluded). */
function edgesUnderNodes(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const nodes = [...document.querySelectorAll<HTMLElement>('.react-flow__node')].map((n) => ({ id: n.dataset.id, r: n.getBoundingClientRect() }));
    const out: string[] = [];
    for (const path of document.querySelectorAll<SVGPathElement>('.react-flow__edge-path')) {
      const ctm = path.getScreenCTM()!;
      const len = path.getTotalLength();
      const id = path.closest('.react-flow__edge')?.getAttribute('data-id') ?? path.id;
      for (let i = 1; i < 60; i++) {
        const p = path.getPointAtLength((len * i) / 60);
        const x = ctm.a * p.x + ctm.c * p.y + ctm.e;
        const y = ctm.b * p.x + ctm.d * p.y + ctm.f;
        const under = nodes.find(({ r }) => x > r.left + 3 && x < r.right - 3 && y > r.top + 3 && y < r.bottom - 3);
        if (under) {
          out.push(`${id} under ${under.id}`);
          break;
        }
      }
    }
    return out;
  });
}

test('graph: boxes hold their lines, long names are cut with the full text in the tooltip, edges go around nodes, 200 steps open readable', { skip: browserSkip(), timeout: 120_000 }, async () => {
  const c = await openConsole();
  try {
    const { page, server } = c;
    await server.createWorkflow('branches', BRANCHY);
    await server.createWorkflow('two-hundred', twoHundred());
    await c.open('/');
    await c.signIn();
    await c.open('/workflows/branches');
    const notify = page.locator('.wf-node[data-step="notify"]');
    await notify.waitFor();
    await page.locator('.react-flow__edge-path').first().waitFor({ state: 'attached' });
    // Every line of every box is inside its box; a long one ends with an ellipsis.
    const boxes = await page.locator('.wf-node').evaluateAll((els) => els.map((el) => ({
      step: (el as HTMLElement).dataset.step ?? el.textContent,
      clippedBelow: el.scrollHeight > el.clientHeight + 1,
      lines: [...el.children].filter((ch) => !ch.classList.contains('react-flow__handle')).map((ch) => ({ cut: ch.scrollWidth > ch.clientWidth, text: ch.textContent })),
    })));
    assert.deepEqual(boxes.filter((b) => b.clippedBelow).map((b) => b.step), [], 'no box cuts its lines off at the bottom');
    const notifyBox = boxes.find((b) => b.step === 'notify')!;
    assert.ok(notifyBox.lines.some((l) => l.cut && l.text === LONG_NAME), 'the long name is cut with an ellipsis');
    assert.match((await notify.getAttribute('title'))!, new RegExp(LONG_NAME));
    assert.match((await notify.getAttribute('title'))!, /a\/rather\/long\/path/);
    for (const b of boxes.filter((x) => x.step !== 'notify')) assert.ok(b.lines.every((l) => !l.cut), `${b.step}: its lines fit`);
    // The error exits are drawn, and no drawn edge passes under a node.
    assert.equal(await page.locator('.wf-edge-on_error').count(), 3);
    assert.deepEqual(await edgesUnderNodes(page), []);
    await c.screenshot('graph-branches');

    // Steps typed in the editor come into the graph, and the view fits again so they are in sight.
    await c.open('/workflows/new');
    await page.locator('.wf-node[data-step="greet"]').waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(`steps:\n${Array.from({ length: 12 }, (_, i) => `  - { id: step${i}, type: set }`).join('\n')}\n`);
    await page.locator('.wf-node[data-step="step11"]').waitFor();
    await page.waitForFunction(() => {
      const pane = document.querySelector('.react-flow')!.getBoundingClientRect();
      const n = document.querySelector('.wf-node[data-step="step11"]')?.getBoundingClientRect();
      return !!n && n.bottom <= pane.bottom && n.top >= pane.top;
    }, undefined, { timeout: 5000 });

    // 200 steps: the first steps at a readable zoom, the start in sight; the rest a pan or the fit button away.
    await c.open('/workflows/two-hundred');
    await page.locator('.wf-node[data-step="s1"]').waitFor();
    const view = await page.evaluate(() => {
      const vp = document.querySelector<HTMLElement>('.react-flow__viewport')!;
      const zoom = new DOMMatrix(getComputedStyle(vp).transform).a;
      const pane = document.querySelector('.react-flow')!.getBoundingClientRect();
      const start = [...document.querySelectorAll('.react-flow__node')].find((n) => n.textContent === 'Start')!.getBoundingClientRect();
      return { zoom, startInside: start.top >= pane.top && start.bottom <= pane.bottom && start.left >= pane.left && start.right <= pane.right };
    });
    assert.ok(view.zoom >= 0.5, `zoom ${view.zoom}`);
    assert.ok(view.startInside, 'the start node is in sight');
    assert.deepEqual(await edgesUnderNodes(page), []);
    await c.screenshot('graph-200-steps');
    await page.getByRole('button', { name: 'Fit View' }).click();
    await page.waitForFunction(() => new DOMMatrix(getComputedStyle(document.querySelector('.react-flow__viewport')!).transform).a < 0.2);
    c.assertNoErrors();
  } catch (e) {
    await c.screenshot('failed-graph').catch(() => undefined);
    throw e;
  } finally {
    await c.close();
  }
});
