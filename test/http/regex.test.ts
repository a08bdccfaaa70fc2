// User regexes never hold the event loop: a param `pattern` reached through a keyless direct URL
// and a JSONata regex in a set step, both with a pattern that backtracks exponentially in
// JavaScript's engine (`^(a+)+$` against a's and a `!`), while /healthz keeps answering.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let direct: string;

// 25 a's: JavaScript's engine needs ≈ 1–3 s for this input (each further a doubles it); RE2 microseconds.
const EVIL = `${'a'.repeat(25)}!`;
/**
 * The longest /healthz may take while such input is processed, counted from when each call was due.
 * Idle, it answers in a few ms; on a loaded test machine the same triggers without any regex delay
 * some answers by up to ≈ 260 ms, so the bar is above that and far below the ≥ 1.5 s for which
 * JavaScript's engine blocks the event loop on this input.
 */
const HEALTHZ_MS = 600;

before(async () => {
  s = await startTestServer();
  const param = await s.putWorkflow('rx-param', `id: rx-param
params:
  s: { type: string, pattern: "^(a+)+$" }
steps:
  - id: done
    type: end
`);
  assert.equal(param.status, 201, param.text);
  direct = param.body.triggers.urls.direct_json;
  const expr = await s.putWorkflow('rx-expr', `id: rx-expr
params:
  s: { type: string }
steps:
  - id: look
    type: set
    set:
      whole: "{{ $match(s, /^(a+)+$/) }}"
      has: "{{ $contains(s, /^(a|aa)+$/i) }}"
      parts: "{{ $split(s, /(a+)+!/) }}"
    next: answer
  - id: answer
    type: reply
    data: { whole: "{{ whole }}", has: "{{ has }}", parts: "{{ parts }}" }
`);
  assert.equal(expr.status, 201, expr.text);
});
after(() => s.close());

/**
 * Calls /healthz one after another (5 ms apart) until `work` settles; the longest answer time, in
 * ms, counted from when each call was due, so an event loop blocked between two calls counts too.
 */
async function longestHealthzDuring<T>(work: () => Promise<T>): Promise<{ result: T; longest: number; probes: number }> {
  let done = false;
  let longest = 0;
  let probes = 0;
  await (await fetch(`${s.url}/healthz`)).arrayBuffer();
  const all: number[] = [];
  const prober = (async () => {
    let due = performance.now();
    while (!done) {
      const r = await fetch(`${s.url}/healthz`);
      await r.arrayBuffer();
      const took = performance.now() - due;
      longest = Math.max(longest, took);
      all.push(Math.round(took));
      probes++;
      due = performance.now() + 5;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 30));
  try {
    const result = await work();
    await new Promise((resolve) => setTimeout(resolve, 30));
    return { result, longest, probes };
  } finally {
    done = true;
    await prober;
    if (process.env.DEBUG_PROBES) console.log(all.join(' '));
  }
}

test('a catastrophic param pattern, through a keyless direct URL: refused at once, /healthz keeps answering', async () => {
  const { result, longest, probes } = await longestHealthzDuring(async () => {
    const answers = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(direct, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ s: EVIL }) });
      answers.push({ status: res.status, body: await res.json() });
    }
    return answers;
  });
  for (const a of result) {
    assert.equal(a.status, 400, 'the op is refused: request_proc error');
    assert.equal(a.body.request_proc, 'error');
    assert.equal(a.body.ops[0].proc, 'error', JSON.stringify(a.body));
    assert.match(JSON.stringify(a.body.ops[0]), /must match \^\(a\+\)\+\$/);
  }
  assert.ok(probes > 0);
  assert.ok(longest < HEALTHZ_MS, `longest /healthz answer: ${longest.toFixed(1)} ms`);
  // and a value that matches still starts a run
  const ok = await fetch(direct, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ s: 'aaaa' }) });
  assert.equal((await ok.json()).ops[0].proc, 'ok');
});

test('catastrophic regexes in a set step ($match, $contains, $split): the run answers at once, /healthz keeps answering', async () => {
  const { result, longest } = await longestHealthzDuring(async () => {
    const answers = [];
    for (let i = 0; i < 2; i++) answers.push(await s.trigger('rx-expr', { s: EVIL }, 'wait=30'));
    return answers;
  });
  for (const r of result) {
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { whole: null, has: false, parts: ['', ''] });
  }
  assert.ok(longest < HEALTHZ_MS, `longest /healthz answer: ${longest.toFixed(1)} ms`);
});

test('a pattern RE2 cannot run is refused when the workflow is saved, at its path', async () => {
  const r = await s.putWorkflow('rx-bad', `id: rx-bad
params:
  s: { type: string, pattern: "^(a)\\\\1$" }
steps:
  - id: look
    type: set
    set: { m: "{{ $match(s, /(?<=a)b/) }}" }
`);
  assert.equal(r.status, 422, r.text);
  const problems = r.body.errors ?? r.body.problems;
  assert.ok(Array.isArray(problems), r.text);
  const at = Object.fromEntries(problems.map((p: { path: string; message: string }) => [p.path, p.message]));
  assert.match(at['params.s.pattern'], /backreference/);
  assert.match(at['steps[0].set.m'], /lookahead or lookbehind/);
  assert.equal((await s.call('GET', '/v1/workflows/rx-bad')).status, 404);
});
