// Idempotent intake (docs/spec.md §3, §8.6) and batch triggers (docs/spec.md §4, §8.5): refs from Idempotency-Key or
// ?ref=, conflicts, and batches answering per item in order without one bad item stopping the rest.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const r = await s.putWorkflow('orders', `id: orders
params:
  amount: { type: number, required: true, minimum: 0 }
steps:
  - id: done
    type: set
    set: { seen: true }
`);
  assert.equal(r.status, 201, r.text);
});
after(() => s.close());

const runsWithRef = async (ref: string): Promise<any[]> => {
  const r = await s.call('GET', `/v1/runs?workflow=orders&ref=${encodeURIComponent(ref)}`);
  assert.equal(r.status, 200);
  return r.body.items;
};

test('Idempotency-Key: the same input returns the same run; another input is 409', async () => {
  const before = await s.runCount();
  const first = await s.trigger('orders', { amount: 1 }, '', { headers: { 'idempotency-key': 'key-1' } });
  assert.equal(first.status, 202, first.text);
  assert.equal(first.body.ref, 'key-1');
  const again = await s.trigger('orders', { amount: 1 }, '', { headers: { 'idempotency-key': 'key-1' } });
  assert.ok(again.status === 202 || again.status === 200, `status ${again.status}`);
  assert.equal(again.body.id, first.body.id);
  assert.equal(await s.runCount(), before + 1, 'the repeat created no run');

  const other = await s.trigger('orders', { amount: 2 }, '', { headers: { 'idempotency-key': 'key-1' } });
  assert.equal(other.status, 409, other.text);
  assert.match(other.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(await s.runCount(), before + 1);
  assert.equal((await runsWithRef('key-1')).length, 1);
});

test('?ref= behaves the same, also after the run has finished, and with ?wait', async () => {
  const first = await s.trigger('orders', { amount: 3 }, 'ref=ref-2');
  assert.equal(first.status, 202);
  await s.waitRun(first.body.id);
  const again = await s.trigger('orders', { amount: 3 }, 'ref=ref-2&wait=5');
  assert.equal(again.status, 200, again.text);
  assert.equal(again.headers.get('flowgate-run-id'), first.body.id);
  assert.deepEqual(again.body, { amount: 3, seen: true });
  const conflict = await s.trigger('orders', { amount: 4 }, 'ref=ref-2');
  assert.equal(conflict.status, 409);
  assert.equal((await runsWithRef('ref-2')).length, 1);
});

test('a ref longer than 255 characters is refused with 4xx and creates nothing', async () => {
  const before = await s.runCount();
  const long = 'r'.repeat(256);
  const viaQuery = await s.trigger('orders', { amount: 1 }, `ref=${long}`);
  assert.ok(viaQuery.status >= 400 && viaQuery.status < 500, `status ${viaQuery.status}`);
  const viaHeader = await s.trigger('orders', { amount: 1 }, '', { headers: { 'idempotency-key': long } });
  assert.ok(viaHeader.status >= 400 && viaHeader.status < 500, `status ${viaHeader.status}`);
  const max = await s.trigger('orders', { amount: 1 }, `ref=${'m'.repeat(255)}`);
  assert.equal(max.status, 202, '255 characters are fine');
  assert.equal(await s.runCount(), before + 1);
});

test('refs are per workflow: the same ref on another workflow is another run', async () => {
  const put = await s.putWorkflow('other', `id: other
steps:
  - id: done
    type: set
    set: { x: 1 }
`);
  assert.equal(put.status, 201);
  const a = await s.trigger('orders', { amount: 1 }, 'ref=shared');
  const b = await s.trigger('other', { amount: 1 }, 'ref=shared');
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.notEqual(a.body.id, b.body.id);
});

// ---------------------------------------------------------------- batch

test('batch: 200 with one answer per item, in order; bad items do not stop good ones', async () => {
  const before = await s.runCount();
  const r = await s.call('POST', '/v1/workflows/orders/runs/batch', {
    json: {
      items: [
        { ref: 'b-1', data: { amount: 1 } },
        { ref: 'b-2', data: { amount: -5 } },
        { data: { amount: 3 } },
        { ref: 'b-4', data: 'not an object' },
        { ref: 'b-5', data: { amount: 5 } },
        { ref: 'r'.repeat(300), data: { amount: 6 } },
      ],
    },
  });
  assert.equal(r.status, 200, r.text);
  const items = r.body.items;
  assert.equal(items.length, 6);
  assert.equal(items[0].ref, 'b-1');
  assert.match(items[0].run_id, /^[0-9a-f-]{36}$/);
  assert.equal(items[0].error, undefined);
  assert.equal(items[1].ref, 'b-2');
  assert.equal(items[1].run_id, undefined);
  assert.equal(items[1].error.status, 422);
  assert.ok(items[1].error.errors.some((e: any) => /amount/.test(e.path)), JSON.stringify(items[1].error));
  assert.match(items[2].run_id, /^[0-9a-f-]{36}$/);
  assert.equal(items[2].ref, null);
  assert.ok(items[3].error, 'a non-object data is an item error');
  assert.match(items[4].run_id, /^[0-9a-f-]{36}$/);
  assert.ok(items[5].error, 'an over-long ref is an item error');
  assert.equal(new Set([items[0].run_id, items[2].run_id, items[4].run_id]).size, 3);
  assert.equal(await s.runCount(), before + 3);

  const run = await s.waitRun(items[4].run_id);
  assert.equal(run.ref, 'b-5');
  assert.deepEqual(run.input, { amount: 5 });
  assert.equal(run.status, 'succeeded');
});

test('batch items obey idempotency: same ref and data → the same run; other data → 409 item', async () => {
  const single = await s.trigger('orders', { amount: 9 }, 'ref=batch-dup');
  assert.equal(single.status, 202);
  const before = await s.runCount();
  const r = await s.call('POST', '/v1/workflows/orders/runs/batch', {
    json: { items: [{ ref: 'batch-dup', data: { amount: 9 } }, { ref: 'batch-dup', data: { amount: 10 } }, { ref: 'twice', data: { amount: 1 } }, { ref: 'twice', data: { amount: 1 } }] },
  });
  assert.equal(r.status, 200, r.text);
  const [same, changed, t1, t2] = r.body.items;
  assert.equal(same.run_id, single.body.id);
  assert.equal(changed.error?.status, 409, JSON.stringify(changed));
  assert.ok(t1.run_id);
  assert.equal(t2.run_id, t1.run_id, 'a ref repeated inside one batch names one run');
  assert.equal(await s.runCount(), before + 1);
});

test('batch over the item limit is 413 and creates nothing', async () => {
  const before = await s.runCount();
  const items = Array.from({ length: 1001 }, (_, i) => ({ ref: `big-${i}`, data: { amount: i } }));
  const r = await s.call('POST', '/v1/workflows/orders/runs/batch', { json: { items } });
  assert.equal(r.status, 413, r.text);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(await s.runCount(), before);
  const fine = await s.call('POST', '/v1/workflows/orders/runs/batch', { json: { items: items.slice(0, 1000) } });
  assert.equal(fine.status, 200, 'exactly 1000 items are accepted');
  assert.equal(fine.body.items.filter((i: any) => i.run_id).length, 1000);
  assert.equal(await s.runCount(), before + 1000);
});

test('a malformed batch envelope is 400/422 and creates nothing', async () => {
  const before = await s.runCount();
  const cases: { raw: string; type: string }[] = [
    { raw: '{"items": ', type: 'application/json' },
    { raw: '[{"data": {"amount": 1}}]', type: 'application/json' },
    { raw: '{"items": {"data": {"amount": 1}}}', type: 'application/json' },
    { raw: '{"things": []}', type: 'application/json' },
  ];
  for (const c of cases) {
    const r = await s.call('POST', '/v1/workflows/orders/runs/batch', c);
    assert.ok(r.status === 400 || r.status === 422, `${c.raw}: status ${r.status}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  }
  assert.equal(await s.runCount(), before);
});

test('batch on an unknown workflow is 404', async () => {
  const r = await s.call('POST', '/v1/workflows/ghost/runs/batch', { json: { items: [{ data: {} }] } });
  assert.equal(r.status, 404);
});
