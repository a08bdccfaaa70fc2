// W3C Trace Context through a run (docs/api.md "Tracing"): a trigger's traceparent is kept with the run
// (trace_id), handed to its child runs, and sent as a new span of the same trace on its outgoing http
// steps and on its result delivery; on every trigger surface; an invalid one is ignored.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { reply, startTarget, startTestServer, type Target, type TestServer } from '../helpers/server.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TP = `00-${TRACE}-00f067aa0ba902b7-01`;
let s: TestServer;
let target: Target;

before(async () => {
  target = await startTarget((_req, res) => reply(res, 200, { ok: true }));
  s = await startTestServer({ FLOWGATE_DELIVERY_BACKOFF_MS: '100' });
  const put = async (id: string, yaml: string): Promise<void> => {
    const r = await s.putWorkflow(id, yaml);
    assert.equal(r.status, 201, r.text);
  };
  await put('callee', `id: callee\nsteps:\n  - id: ping\n    type: http\n    url: "${target.url}/child"\n`);
  await put('caller', `id: caller\nsteps:\n  - id: ping\n    type: http\n    url: "${target.url}/parent"\n  - id: sub\n    type: call\n    workflow: callee\n  - id: answer\n    type: reply\n`);
  await put('own', `id: own\nsteps:\n  - id: ping\n    type: http\n    url: "${target.url}/own"\n    headers: { traceparent: "00-11111111111111111111111111111111-2222222222222222-00" }\n`);
});
after(async () => {
  await s?.close();
  await target?.close();
});

const spansTo = (path: string): string[] => target.requests.filter((r) => r.url.startsWith(path)).map((r) => String(r.headers.traceparent ?? ''));

test('the trace goes from the trigger to the run, its http steps, its child run and its result delivery', async () => {
  const r = await s.call('POST', `/v1/workflows/caller/runs?wait=10&callback_url=${encodeURIComponent(`${target.url}/hook`)}`, {
    json: {}, headers: { traceparent: TP, tracestate: 'vendor=abc' },
  });
  assert.equal(r.status, 200, r.text);
  const run = await s.waitRun(r.headers.get('flowgate-run-id')!);
  assert.equal(run.trace_id, TRACE);
  const [parentSpan] = spansTo('/parent');
  assert.match(parentSpan, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
  assert.notEqual(parentSpan, TP, 'a span of its own');
  assert.equal(target.requests.find((q) => q.url === '/parent')?.headers.tracestate, 'vendor=abc');
  const [childSpan] = spansTo('/child');
  assert.match(childSpan, new RegExp(`^00-${TRACE}-`), 'the child run belongs to the same trace');
  const children = await s.call('GET', `/v1/runs?parent=${run.id}`);
  assert.equal(children.body.items[0].trace_id, TRACE);
  for (let i = 0; i < 100 && spansTo('/hook').length === 0; i++) await new Promise((res) => setTimeout(res, 50));
  assert.match(spansTo('/hook')[0] ?? '', new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`), 'the delivery carries it');
});

test('a step that sends its own traceparent keeps it; a run without a trace sends none; an invalid header is ignored', async () => {
  await s.call('POST', '/v1/workflows/own/runs?wait=10', { json: {}, headers: { traceparent: TP } });
  assert.deepEqual(spansTo('/own'), ['00-11111111111111111111111111111111-2222222222222222-00']);
  const before = spansTo('/parent').length;
  const plain = await s.call('POST', '/v1/workflows/caller/runs?wait=10', { json: {}, headers: { traceparent: 'not-a-traceparent' } });
  assert.equal(plain.status, 200, 'an invalid traceparent is no reason to refuse');
  assert.equal((await s.waitRun(plain.headers.get('flowgate-run-id')!)).trace_id, null);
  assert.deepEqual(spansTo('/parent').slice(before), [''], 'no trace: no traceparent sent');
});

test('every trigger surface keeps the trace: batch and CSV import', async () => {
  const batch = await s.call('POST', '/v1/workflows/callee/runs/batch', { json: { items: [{ data: {} }] }, headers: { traceparent: TP } });
  assert.equal(batch.status, 200, batch.text);
  assert.equal((await s.waitRun(batch.body.items[0].run_id)).trace_id, TRACE);
  const csv = await s.call('POST', '/v1/workflows/callee/runs/import?header=false', { raw: 'x\n', type: 'text/csv', headers: { traceparent: TP } });
  assert.equal(csv.status, 200, csv.text);
  const runs = await s.call('GET', '/v1/runs?workflow=callee&limit=1');
  assert.equal(runs.body.items[0].trace_id, TRACE);
});
