import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildGraph, childNodeId, END_NODE, missingNodeId, nodeForProblemPath, START_NODE } from './build.js';
import { layoutGraph } from './layout.js';
import { locatePath, parseSource, splitPath } from './locate.js';

const loanCheck = {
  id: 'loan-check',
  steps: [
    { id: 'check', type: 'condition', cases: [{ when: 'amount > 1000', next: 'manual' }, { when: 'amount < 0', next: 'refuse' }], default: 'auto' },
    { id: 'auto', type: 'set', set: { decision: 'approved' }, next: 'answer' },
    { id: 'manual', type: 'wait', timeout: '2d', on_timeout: 'answer' },
    { id: 'refuse', type: 'end', status: 'failed' },
    { id: 'answer', type: 'reply', name: 'Answer the caller', data: {} },
  ],
};

const edge = (g: ReturnType<typeof buildGraph>, source: string, target: string) => g.edges.filter((e) => e.source === source && e.target === target);

test('one node per step with its type and name, plus start and end', () => {
  const g = buildGraph(loanCheck);
  assert.deepEqual(g.nodes.filter((n) => n.kind === 'step').map((n) => [n.id, n.type, n.label]), [
    ['check', 'condition', 'check'], ['auto', 'set', 'auto'], ['manual', 'wait', 'manual'], ['refuse', 'end', 'refuse'], ['answer', 'reply', 'Answer the caller'],
  ]);
  assert.ok(g.nodes.some((n) => n.id === START_NODE));
  assert.ok(g.nodes.some((n) => n.id === END_NODE));
  assert.equal(edge(g, START_NODE, 'check').length, 1);
});

test('condition cases are labelled with their when, default with "default"', () => {
  const g = buildGraph(loanCheck);
  assert.deepEqual(edge(g, 'check', 'manual').map((e) => [e.kind, e.label]), [['case', 'amount > 1000']]);
  assert.deepEqual(edge(g, 'check', 'refuse').map((e) => [e.kind, e.label]), [['case', 'amount < 0']]);
  assert.deepEqual(edge(g, 'check', 'auto').map((e) => [e.kind, e.label]), [['default', 'default']]);
  // A condition without default falls through to the following step, labelled default.
  const g2 = buildGraph({ steps: [{ id: 'c', type: 'condition', cases: [{ when: 'x', next: 'b' }] }, { id: 'a', type: 'set' }, { id: 'b', type: 'set' }] });
  assert.deepEqual(edge(g2, 'c', 'a').map((e) => e.kind), ['default']);
});

test('next, the following step, the end of the list, on_error, on_timeout and end steps', () => {
  const g = buildGraph(loanCheck);
  assert.deepEqual(edge(g, 'auto', 'answer').map((e) => e.kind), ['next']);
  assert.deepEqual(edge(g, 'manual', 'refuse').map((e) => e.kind), ['next'], 'a wait without next goes to the following step');
  assert.deepEqual(edge(g, 'manual', 'answer').map((e) => [e.kind, e.label]), [['on_timeout', 'on timeout']]);
  assert.deepEqual(edge(g, 'refuse', END_NODE).map((e) => e.kind), ['next'], 'an end step ends the run');
  assert.equal(edge(g, 'refuse', 'answer').length, 0, 'an end step has no fall-through');
  assert.deepEqual(edge(g, 'answer', END_NODE).map((e) => e.kind), ['next'], 'after the last step the run succeeds');
  const g2 = buildGraph({ start: 'b', steps: [{ id: 'a', type: 'http', method: 'POST', url: 'https://x.test/a', on_error: 'oops' }, { id: 'b', type: 'set', next: 'a' }, { id: 'oops', type: 'end', status: 'failed' }] });
  assert.equal(edge(g2, START_NODE, 'b').length, 1, 'start names the first step');
  assert.deepEqual(edge(g2, 'a', 'oops').map((e) => e.kind), ['on_error']);
  assert.deepEqual(edge(g2, 'a', 'b').map((e) => e.kind), ['next']);
  assert.equal(g2.nodes.find((n) => n.id === 'a')!.detail, 'POST https://x.test/a');
});

test('call and foreach draw the child workflow they start', () => {
  const g = buildGraph({ steps: [
    { id: 'each', type: 'foreach', items: 'orders', workflow: 'ship-order', concurrency: 5 },
    { id: 'sub', type: 'call', workflow: 'notify', wait: false },
  ] });
  const each = g.nodes.find((n) => n.id === childNodeId('each'))!;
  assert.equal(each.kind, 'child');
  assert.equal(each.label, 'ship-order');
  assert.match(each.detail!, /5 at once/);
  assert.deepEqual(edge(g, 'each', childNodeId('each')).map((e) => [e.kind, e.label]), [['child', 'each item']]);
  assert.deepEqual(edge(g, 'sub', childNodeId('sub')).map((e) => [e.kind, e.label]), [['child', 'calls']]);
  assert.equal(edge(g, 'each', 'sub').length, 1);
});

test('a step that names a missing step gets a "missing" node; broken documents still draw', () => {
  const g = buildGraph({ steps: [{ id: 'a', type: 'set', next: 'nope' }, 'garbage', { id: 'a', type: 'set' }] });
  const m = g.nodes.find((n) => n.id === missingNodeId('nope'))!;
  assert.equal(m.kind, 'missing');
  assert.equal(edge(g, 'a', missingNodeId('nope')).length, 1);
  assert.equal(g.nodes.filter((n) => n.kind === 'step').length, 1, 'a duplicate id is drawn once');
  assert.deepEqual(buildGraph(null).nodes.map((n) => n.id), [START_NODE, END_NODE]);
  assert.deepEqual(buildGraph({ steps: 'x' }).edges.map((e) => [e.source, e.target]), [[START_NODE, END_NODE]]);
});

test('a problem path names its step node', () => {
  assert.equal(nodeForProblemPath(loanCheck, 'steps[2].timeout'), 'manual');
  assert.equal(nodeForProblemPath(loanCheck, 'steps[9].x'), null);
  assert.equal(nodeForProblemPath(loanCheck, 'params.amount'), null);
});

function overlaps(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

test('a 200-step workflow lays out with no overlapping nodes, quickly', () => {
  const steps: Record<string, unknown>[] = [];
  for (let i = 0; i < 200; i++) {
    const id = `s${i}`;
    if (i % 10 === 0 && i + 7 < 200) steps.push({ id, type: 'condition', cases: [{ when: `n > ${i}`, next: `s${i + 5}` }, { when: `n < ${i}`, next: `s${i + 7}` }], default: `s${i + 1}` });
    else if (i % 17 === 0) steps.push({ id, type: 'foreach', items: 'xs', workflow: 'child' });
    else if (i % 13 === 0) steps.push({ id, type: 'http', url: `https://x.test/${i}`, on_error: 's199' });
    else steps.push({ id, type: 'set', set: { i } });
  }
  const started = performance.now();
  const laid = layoutGraph(buildGraph({ steps }));
  const ms = performance.now() - started;
  assert.equal(laid.nodes.filter((n) => n.kind === 'step').length, 200);
  for (let i = 0; i < laid.nodes.length; i++) {
    for (let j = i + 1; j < laid.nodes.length; j++) {
      assert.ok(!overlaps(laid.nodes[i], laid.nodes[j]), `${laid.nodes[i].id} overlaps ${laid.nodes[j].id}`);
    }
  }
  // About 0.25 s on an idle core (seconds before error exits were left out of the ranking); the bound
  // is loose because the test machine may be busy.
  assert.ok(ms < 8000, `layout took ${ms} ms`);
  // Same graph, same positions.
  assert.deepEqual(layoutGraph(buildGraph({ steps })).nodes.map((n) => [n.x, n.y]), laid.nodes.map((n) => [n.x, n.y]));
});

const YAML = `id: orders
params:
  amount: { type: number }
steps:
  - id: first
    type: set
    set: { a: 1 }
  - id: second
    type: http
    url: https://x.test
    nxt: first
`;

test('a problem path is found on its line in YAML and JSON sources', () => {
  assert.deepEqual(splitPath('steps[1].cases[0].when'), ['steps', 1, 'cases', 0, 'when']);
  assert.equal(locatePath(YAML, 'steps[1].nxt')!.line, 11);
  assert.equal(YAML.slice(locatePath(YAML, 'steps[1].nxt')!.from, locatePath(YAML, 'steps[1].nxt')!.to), 'nxt: first');
  assert.equal(locatePath(YAML, 'params.amount.type')!.line, 3);
  assert.equal(locatePath(YAML, 'steps[1]')!.line, 8);
  // A missing field points at its parent (the step that lacks it).
  assert.equal(locatePath(YAML, 'steps[0].next')!.line, 5);
  assert.equal(locatePath(YAML, '')!.line, 1);
  const json = JSON.stringify({ id: 'orders', steps: [{ id: 'a', type: 'set' }, { id: 'b', type: 'bogus' }] }, null, 2);
  const at = locatePath(json, 'steps[1].type')!;
  assert.equal(json.split('\n')[at.line - 1].trim(), '"type": "bogus"');
  // A syntax error's message names the line.
  assert.equal(locatePath('a: 1\nb: [\n', '', 'YAML syntax error: Missing closing ] at line 2, column 4')!.line, 2);
});

test('parseSource reads YAML and JSON, null for text that does not parse', () => {
  assert.deepEqual((parseSource(YAML) as { id: string }).id, 'orders');
  assert.deepEqual(parseSource('{"id": "x", "steps": []}'), { id: 'x', steps: [] });
  assert.equal(parseSource('a: [\n'), null);
});
