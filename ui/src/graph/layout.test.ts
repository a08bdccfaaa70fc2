import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildGraph, type StepNode } from './build.js';
import { layoutGraph, NODE, nodeSize, type LayoutResult, type PositionedNode } from './layout.js';
import { bandsOf, curvePath, orthogonalPath, routeAround, segmentCrosses, type Lane, type Point } from './routes.js';

/** A workflow with branches, a loop back, error exits from several layers to one failure step, and a timeout. */
const BRANCHY = {
  steps: [
    { id: 'fetch', type: 'http', url: 'https://x.test/orders', on_error: 'failed' },
    { id: 'route', type: 'condition', cases: [{ when: 'amount > 1000', next: 'review' }, { when: 'country = "XX"', next: 'refuse' }], default: 'price' },
    { id: 'price', type: 'http', method: 'POST', url: 'https://x.test/price', on_error: 'failed', next: 'ship' },
    { id: 'review', type: 'wait', timeout: '2d', on_timeout: 'refuse', next: 'ship' },
    { id: 'ship', type: 'http', method: 'POST', url: 'https://x.test/ship', on_error: 'retry' },
    { id: 'retry', type: 'delay', for: '5m', next: 'ship2' },
    { id: 'ship2', type: 'http', url: 'https://x.test/ship-again', on_error: 'failed', next: 'answer' },
    { id: 'refuse', type: 'end', status: 'failed' },
    { id: 'answer', type: 'reply', data: {} },
    { id: 'failed', type: 'end', status: 'failed', name: 'Tell the caller it failed' },
  ],
};

function twoHundred(): Record<string, unknown>[] {
  const steps: Record<string, unknown>[] = [];
  for (let i = 0; i < 200; i++) {
    const id = `s${i}`;
    if (i % 10 === 0 && i + 7 < 200) steps.push({ id, type: 'condition', cases: [{ when: `n > ${i}`, next: `s${i + 5}` }, { when: `n < ${i}`, next: `s${i + 7}` }], default: `s${i + 1}` });
    else if (i % 17 === 0) steps.push({ id, type: 'foreach', items: 'xs', workflow: 'child' });
    else if (i % 13 === 0) steps.push({ id, type: 'http', url: `https://x.test/${i}`, on_error: i % 2 ? 's199' : `s${i + 3}` });
    else steps.push({ id, type: 'set', set: { i } });
  }
  return steps;
}

const onBorder = (p: Point, r: PositionedNode): boolean => {
  const within = (v: number, lo: number, hi: number) => v >= lo - 1 && v <= hi + 1;
  if (!within(p.x, r.x, r.x + r.width) || !within(p.y, r.y, r.y + r.height)) return false;
  return [Math.abs(p.x - r.x), Math.abs(p.x - r.x - r.width), Math.abs(p.y - r.y), Math.abs(p.y - r.y - r.height)].some((d) => d <= 1);
};

function crossings(laid: LayoutResult): string[] {
  const out: string[] = [];
  for (const e of laid.edges) {
    for (let i = 1; i < e.points.length; i++) {
      for (const n of laid.nodes) if (segmentCrosses(e.points[i - 1], e.points[i], n)) out.push(`${e.id} (${e.shape}) runs under ${n.id}`);
    }
  }
  return out;
}

test('node boxes grow with their text, within bounds, and have a line for each thing they show', () => {
  const step = (label: string, extra: Partial<StepNode> = {}): StepNode => ({ id: 'a', kind: 'step', type: 'set', label, stepId: 'a', ...extra });
  const short = nodeSize(step('a'));
  const long = nodeSize(step('Send the confirmation e-mail', { stepId: 'a' }));
  const huge = nodeSize(step('x'.repeat(400)));
  assert.equal(short.width, NODE.minWidth);
  assert.ok(long.width > short.width, `${long.width} > ${short.width}`);
  assert.equal(huge.width, NODE.maxWidth, 'a very long name is cut (ellipsis), not a huge box');
  // Head + name; + id when the name differs; + the detail line.
  const base = 2 * (NODE.padY + NODE.border) + NODE.head + NODE.label;
  assert.equal(nodeSize(step('a')).height, base);
  assert.equal(nodeSize(step('Named', { stepId: 'a' })).height, base + NODE.line);
  assert.equal(nodeSize(step('Named', { stepId: 'a', detail: 'GET https://x.test' })).height, base + 2 * NODE.line, 'name, id and detail all fit');
  assert.deepEqual(nodeSize({ id: '__start', kind: 'start', type: 'start', label: 'Start' }), { width: 96, height: 36 });
  // A measure from the browser is used when given.
  assert.equal(nodeSize(step('abc'), (t) => t.length * 100).width, NODE.maxWidth);
});

test('every edge has a route from its source border to its target border', () => {
  const laid = layoutGraph(buildGraph(BRANCHY));
  const byId = new Map(laid.nodes.map((n) => [n.id, n]));
  for (const e of laid.edges) {
    assert.ok(e.points.length >= 2, `${e.id} has a route`);
    assert.ok(onBorder(e.points[0], byId.get(e.source)!), `${e.id} starts on ${e.source}'s border: ${JSON.stringify(e.points[0])}`);
    assert.ok(onBorder(e.points[e.points.length - 1], byId.get(e.target)!), `${e.id} ends on ${e.target}'s border`);
  }
  const errors = laid.edges.filter((e) => e.kind === 'on_error' || e.kind === 'on_timeout');
  assert.equal(errors.length, 5);
  for (const e of errors) {
    assert.equal(e.shape, 'orthogonal');
    for (let i = 1; i < e.points.length; i++) {
      const [a, b] = [e.points[i - 1], e.points[i]];
      assert.ok(a.x === b.x || a.y === b.y, `${e.id}: segment ${i} is horizontal or vertical`);
    }
  }
  assert.ok(laid.edges.filter((e) => e.shape === 'curve').every((e) => e.kind !== 'on_error'));
});

test('no edge runs under a node: branches, loops, error exits, 200 steps', () => {
  assert.deepEqual(crossings(layoutGraph(buildGraph(BRANCHY))), []);
  assert.deepEqual(crossings(layoutGraph(buildGraph({ steps: twoHundred() }))), []);
});

test('labels sit where the layout put them: cases between their layers, exits beside their lane', () => {
  const laid = layoutGraph(buildGraph(BRANCHY));
  const byId = new Map(laid.nodes.map((n) => [n.id, n]));
  for (const e of laid.edges.filter((x) => x.label)) {
    assert.ok(e.labelAt, `${e.id} has a label position`);
    for (const n of laid.nodes) {
      const inside = e.labelAt!.x > n.x && e.labelAt!.x < n.x + n.width && e.labelAt!.y > n.y && e.labelAt!.y < n.y + n.height;
      assert.ok(!inside, `${e.id}'s label is on node ${n.id}`);
    }
  }
  const amount = laid.edges.find((e) => e.label === 'amount > 1000')!;
  assert.ok(amount.labelAt!.y > byId.get('route')!.y && amount.labelAt!.y < byId.get('review')!.y);
});

test('error exits that pass the same layers take lanes apart', () => {
  // Three layers of one node each, 100 px wide; two exits from the top layer to the bottom one.
  const nodes = [0, 1, 2].map((i) => ({ x: 0, y: i * 100, width: 100, height: 40 }));
  const bands = bandsOf(nodes);
  const lanes: Lane[] = [];
  const a = routeAround(nodes[0], nodes[2], bands, lanes);
  const b = routeAround(nodes[0], nodes[2], bands, lanes);
  const laneX = (pts: Point[]) => pts.find((p, i) => i > 0 && pts[i - 1].x === p.x && p.x > 100)!.x;
  assert.ok(laneX(a.points) > 100, 'the lane is right of the middle node');
  assert.ok(Math.abs(laneX(a.points) - laneX(b.points)) >= 12, 'the second lane keeps its distance');
  // To the next layer: across the gap, no lane.
  const next = routeAround(nodes[0], nodes[1], bands, []);
  assert.ok(next.points.every((p) => p.x <= 100));
  // Back up (a loop): beside the layers from the target's to the source's.
  const up = routeAround(nodes[2], nodes[0], bands, []);
  assert.equal(up.points[0].y, 240, 'leaves its source at the bottom');
  assert.equal(up.points[up.points.length - 1].y, 0, 'arrives at the top of its target');
  assert.deepEqual([nodes[0], nodes[1], nodes[2]].map((n) => up.points.some((p, i) => i > 0 && segmentCrosses(up.points[i - 1], p, n))), [false, false, false]);
});

test('paths start at the first point and end at the last', () => {
  const pts = [{ x: 0, y: 0 }, { x: 0, y: 50 }, { x: 80, y: 50 }, { x: 80, y: 120 }];
  for (const d of [orthogonalPath(pts), curvePath(pts)]) {
    assert.match(d, /^M0,0 /);
    assert.match(d, / L80,120$/);
  }
  assert.match(orthogonalPath(pts), /Q0,50 /, 'corners are rounded');
  assert.equal(curvePath([{ x: 1, y: 2 }, { x: 3, y: 4 }]), 'M1,2 L3,4');
});

test('segmentCrosses: through, beside, along the border, inside', () => {
  const r = { x: 10, y: 10, width: 20, height: 20 };
  assert.equal(segmentCrosses({ x: 0, y: 20 }, { x: 40, y: 20 }, r), true);
  assert.equal(segmentCrosses({ x: 0, y: 5 }, { x: 40, y: 5 }, r), false);
  assert.equal(segmentCrosses({ x: 10, y: 0 }, { x: 10, y: 40 }, r), false, 'along the border is not under it');
  assert.equal(segmentCrosses({ x: 15, y: 15 }, { x: 16, y: 16 }, r), true);
  assert.equal(segmentCrosses({ x: 20, y: 30 }, { x: 20, y: 60 }, r), false, 'from the border outwards');
});

test('labels do not lie on one another', () => {
  for (const laid of [layoutGraph(buildGraph(BRANCHY)), layoutGraph(buildGraph({ steps: twoHundred() }))]) {
    const boxes = laid.edges.filter((e) => e.labelAt).map((e) => ({ id: e.id, x: e.labelAt!.x - (e.label!.length * 6.4 + 12) / 2, y: e.labelAt!.y - 9, w: e.label!.length * 6.4 + 12 }));
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i], boxes[j]];
        const overlap = a.x < b.x + b.w - 1 && b.x < a.x + a.w - 1 && a.y < b.y + 17 && b.y < a.y + 17;
        assert.ok(!overlap, `${a.id}'s label lies on ${b.id}'s`);
      }
    }
  }
});
