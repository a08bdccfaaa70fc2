/**
 * The `code` step through the HTTP API on a real server: results merged into data, escapes refused,
 * and code that loops forever or allocates without end fails its own run while /healthz stays 200
 * and other runs keep completing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

const wf = (code: string, extra: Record<string, unknown> = {}): object => ({
  steps: [{ id: 'js', type: 'code', code, ...extra }],
});

describe('code step over the API', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ FLOWGATE_CODE_WORKERS: '2', FLOWGATE_CODE_MEMORY_MB: '32' });
  });
  after(() => srv?.close());

  const put = async (id: string, def: object): Promise<void> => {
    const r = await srv.putWorkflow(id, def);
    assert.ok(r.status === 201 || r.status === 200, r.text);
  };
  const runOf = async (id: string, data: object = {}, timeoutMs = 15_000): Promise<any> => {
    const t = await srv.trigger(id, data);
    assert.equal(t.status, 202, t.text);
    return srv.waitRun(t.body.id, undefined, { timeoutMs });
  };

  it('merges the returned object into data; later steps and the reply see it', async () => {
    await put('score', {
      params: { items: { type: 'array', required: true } },
      steps: [
        { id: 'calc', type: 'code', code: 'const total = data.items.reduce((s, i) => s + i.price * i.qty, 0);\nreturn { total, big: total > 100, names: data.items.map((i) => i.name.toUpperCase()) };' },
        { id: 'answer', type: 'reply', data: { total: '{{ total }}', big: '{{ big }}', names: '{{ names }}' } },
      ],
    });
    const t = await srv.trigger('score', { items: [{ name: 'a', price: 10, qty: 3 }, { name: 'b', price: 40, qty: 2 }] }, 'wait=10');
    assert.equal(t.status, 200, t.text);
    assert.deepEqual(t.body, { total: 110, big: true, names: ['A', 'B'] });
    const steps = await srv.call('GET', `/v1/runs/${t.headers.get('flowgate-run-id')}/steps`);
    const rec = steps.body.items.find((s: any) => s.step_id === 'calc');
    assert.equal(rec.status, 'succeeded');
    assert.deepEqual(rec.output, { total: 110, big: true, names: ['A', 'B'] });
  });

  it('a definition with invalid JavaScript is refused at save time', async () => {
    const r = await srv.putWorkflow('broken', wf('return {'));
    assert.equal(r.status, 422);
    assert.match(JSON.stringify(r.body.errors), /steps\[0\]\.code/);
  });

  it('escapes are refused: no process, require or fetch; no real clock', async () => {
    await put('probe', wf('return { process: typeof process, require: typeof require, fetch: typeof fetch, now: Date.now(), year: new Date().getUTCFullYear() }'));
    const run = await runOf('probe');
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual({ ...run.data }, { process: 'undefined', require: 'undefined', fetch: 'undefined', now: 0, year: 1970 });

    await put('reach', wf('const fs = require("fs");\nreturn { text: fs.readFileSync("/etc/passwd", "utf8") }'));
    const failed = await runOf('reach');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'code_error');
    assert.match(failed.error.message, /require.*\(line 1\)/);
    assert.equal(failed.error.step, 'js');

    await put('proc', wf('process.exit(1)'));
    const p = await runOf('proc');
    assert.equal(p.status, 'failed');
    assert.match(p.error.message, /ReferenceError/);
  });

  it('a non-object return fails the run with a clear error; on_error can take over with $error', async () => {
    await put('array', wf('return [1, 2, 3]'));
    const r = await runOf('array');
    assert.equal(r.status, 'failed');
    assert.match(r.error.message, /must return an object/);

    await put('handled', {
      steps: [
        { id: 'js', type: 'code', code: 'throw new Error("bad input")', on_error: 'fallback' },
        { id: 'done', type: 'set', set: { reached: true } },
        { id: 'fallback', type: 'set', set: { handled: '{{ $error.code }}', why: '{{ $error.message }}' } },
      ],
    });
    const h = await runOf('handled');
    assert.equal(h.status, 'succeeded');
    assert.equal(h.data.handled, 'code_error');
    assert.match(h.data.why, /Error: bad input/);
  });

  it('endless loops and huge allocations fail their runs; /healthz stays 200 and other runs complete', async () => {
    await put('spin', wf('while (true) {}', { timeout: '1s' }));
    await put('hog', wf('const parts = [];\nfor (;;) parts.push("x".repeat(1 << 20));'));
    await put('bomb', wf('return { s: "y".repeat(1 << 30) }'));
    await put('quick', { steps: [{ id: 'js', type: 'code', code: 'return { doubled: data.n * 2 }' }] });

    const spinning = await Promise.all([1, 2, 3].map(() => srv.trigger('spin', {})));
    const hogs = await Promise.all([srv.trigger('hog', {}), srv.trigger('bomb', {})]);
    // While the sandbox is busy with them, the server answers and unrelated runs finish.
    const started = Date.now();
    const health = await fetch(`${srv.url}/healthz`);
    assert.equal(health.status, 200);
    assert.ok(Date.now() - started < 1500, `healthz answered at once (${Date.now() - started} ms)`);
    const quick = await Promise.all(Array.from({ length: 10 }, (_, n) => srv.trigger('quick', { n })));
    for (const [n, t] of quick.entries()) {
      const run = await srv.waitRun(t.body.id, undefined, { timeoutMs: 20_000 });
      assert.equal(run.status, 'succeeded');
      assert.equal(run.data.doubled, n * 2);
    }

    for (const t of spinning) {
      const run = await srv.waitRun(t.body.id, undefined, { timeoutMs: 20_000 });
      assert.equal(run.status, 'failed');
      assert.equal(run.error.code, 'code_timeout');
    }
    const [hog, bomb] = await Promise.all(hogs.map((t) => srv.waitRun(t.body.id, undefined, { timeoutMs: 20_000 })));
    assert.equal(hog.status, 'failed');
    assert.ok(['code_memory', 'code_timeout'].includes(hog.error.code), JSON.stringify(hog.error));
    assert.equal(bomb.status, 'failed');
    assert.equal(bomb.error.code, 'code_memory');
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    // And the sandbox still works afterwards.
    const after = await runOf('quick', { n: 21 });
    assert.equal(after.data.doubled, 42);
  });
});
