// Corezoid / MPO signed ops API (docs/spec.md §5.1, §8.7) and API logins, against a real server. Requests
// are signed by the test's own client (corezoid-client.ts), never by the server's code.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, until, type TestServer } from '../helpers/server.js';
import { convId, corezoid, newLogin, now, sign, type Login } from './corezoid-client.js';

let s: TestServer;
let login: Login;
let conv: Record<string, number> = {};

const DEFS: Record<string, string> = {
  loan: `id: loan
params:
  amount: { type: number, required: true, minimum: 0 }
  currency: { type: string, default: EUR }
steps:
  - id: answer
    type: reply
    data: { fee: "{{ amount * 0.01 }}" }
`,
  hold: `id: hold
steps:
  - id: park
    type: wait
    timeout: 1h
  - id: after
    type: set
    set: { released: true }
`,
  nap: `id: nap
steps:
  - id: sleep
    type: delay
    for: 1h
`,
  boom: `id: boom
steps:
  - id: stop
    type: end
    status: failed
    error: nope
`,
};

before(async () => {
  s = await startTestServer();
  for (const [id, yaml] of Object.entries(DEFS)) {
    const r = await s.putWorkflow(id, yaml);
    assert.equal(r.status, 201, r.text);
    conv[id] = r.body.triggers.conv_id;
  }
  login = await newLogin(s);
});
after(() => s.close());

const runsOf = async (workflow: string, tenant?: string): Promise<any[]> => {
  const r = await s.call('GET', `/v1/runs?workflow=${workflow}&limit=1000`, tenant ? { tenant } : {});
  assert.equal(r.status, 200, r.text);
  return r.body.items;
};

/** A malformed envelope: 400, `request_proc: error`, one op saying why. */
const REFUSED = (answer: { status: number; body: any }, pattern: RegExp): void => {
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.request_proc, 'error');
  assert.equal(answer.body.ops.length, 1);
  assert.equal(answer.body.ops[0].proc, 'error');
  assert.match(answer.body.ops[0].description, pattern);
};

/** The MPO table's bad signature or missing body: 400 `callback_hash_error`; `details` says which check failed. */
const HASH_REFUSED = (answer: { status: number; body: any }, pattern: RegExp): void => {
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.request_proc, 'error');
  assert.deepEqual(answer.body.ops.map((o: any) => [o.proc, o.description]), [['callback_hash_error', 'Bad request. Reason: callback_hash_error']]);
  assert.match(answer.body.ops[0].details, pattern);
};

/** The MPO table's incorrect API login details: 500. */
const LOGIN_REFUSED = (answer: { status: number; body: any }): void => {
  assert.equal(answer.status, 500, JSON.stringify(answer.body));
  assert.equal(answer.body.request_proc, 'error');
  assert.equal(answer.body.ops[0].proc, 'error');
  assert.match(answer.body.ops[0].description, /^unknown API login .*: an internal server error that may be caused by using the incorrect API login details$/);
};

// ---------------------------------------------------------------- API logins

test('api-logins: created with a numeric login and a secret shown once; listed without it; deleted', async () => {
  const r = await s.call('POST', '/v1/api-logins', { json: { name: 'erp' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(typeof r.body.login, 'number');
  assert.match(r.body.secret, /^[A-Za-z0-9]{40}$/);
  assert.equal(r.body.name, 'erp');
  assert.equal(r.body.tenant, 'default');
  assert.ok(!Number.isNaN(Date.parse(r.body.created_at)));
  assert.equal(r.headers.get('location'), `${s.url}/v1/api-logins/${r.body.login}`);

  const list = await s.call('GET', '/v1/api-logins');
  assert.equal(list.status, 200);
  const mine = list.body.items.find((l: any) => l.login === r.body.login);
  assert.deepEqual(mine, { login: r.body.login, name: 'erp', tenant: 'default', created_at: r.body.created_at });
  assert.ok(!JSON.stringify(list.body).includes(r.body.secret), 'the secret is never listed');
  assert.equal(list.body.next_cursor, null);

  // It signs requests until it is deleted; then it is an unknown login at once.
  const l: Login = { login: r.body.login, secret: r.body.secret };
  assert.equal((await corezoid(s, l, { ops: [] })).status, 200);
  assert.equal((await s.call('DELETE', `/v1/api-logins/${l.login}`)).status, 204);
  assert.equal((await s.call('DELETE', `/v1/api-logins/${l.login}`)).status, 404);
  LOGIN_REFUSED(await corezoid(s, l, { ops: [] }));
});

test('api-logins: admin role only; another tenant sees and deletes only its own; name is optional', async () => {
  const key = await s.call('POST', '/v1/keys', { json: { name: 't', role: 'trigger' } });
  assert.equal((await s.call('POST', '/v1/api-logins', { json: {}, token: key.body.token })).status, 403);
  assert.equal((await s.call('GET', '/v1/api-logins', { token: null })).status, 401);
  const other = await s.call('POST', '/v1/keys', { json: { name: 'o', role: 'admin', tenant: 'other-co' } });
  const theirs = await s.call('POST', '/v1/api-logins', { token: other.body.token });
  assert.equal(theirs.status, 201, theirs.text);
  assert.equal(theirs.body.tenant, 'other-co');
  assert.equal(theirs.body.name, null);
  const ours = await s.call('GET', '/v1/api-logins');
  assert.ok(!ours.body.items.some((l: any) => l.login === theirs.body.login));
  assert.equal((await s.call('DELETE', `/v1/api-logins/${theirs.body.login}`)).status, 404, "another tenant's login is 404");
  assert.equal((await s.call('POST', '/v1/api-logins', { json: { name: 7 } })).status, 422);
});

// ---------------------------------------------------------------- create

test('create exactly as the documentation shows: 200, request_proc ok, op with id, proc, obj, ref, obj_id; the run exists', async () => {
  const body = { ops: [{ type: 'create', obj: 'task', company_id: 'default', conv_id: conv.loan, ref: '3159895014223541328', data: { amount: 250 } }] };
  const r = await corezoid(s, login, body);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.request_proc, 'ok');
  const [op] = r.body.ops;
  assert.deepEqual(Object.keys(op).sort(), ['id', 'obj', 'obj_id', 'proc', 'ref']);
  assert.equal(op.id, '');
  assert.equal(op.proc, 'ok');
  assert.equal(op.obj, 'task');
  assert.equal(op.ref, '3159895014223541328');
  const run = await s.waitRun(op.obj_id);
  assert.equal(run.ref, '3159895014223541328');
  assert.equal(run.status, 'succeeded');
  assert.deepEqual(run.input, { amount: 250 });
  assert.equal(run.data.currency, 'EUR');
  assert.deepEqual(run.reply.data, { fee: 2.5 });
});

test('processID is an alias of conv_id; an op id is echoed; api version 2 and a numeric ref work', async () => {
  const r = await corezoid(s, login, { ops: [{ id: 'op-7', type: 'create', obj: 'task', processID: conv.loan, ref: 42, data: { amount: '10' } }] }, { version: 2 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.ops[0].proc, 'ok');
  assert.equal(r.body.ops[0].id, 'op-7');
  assert.equal(r.body.ops[0].ref, 42);
  const run = await s.waitRun(r.body.ops[0].obj_id);
  assert.equal(run.ref, '42');
  assert.equal(run.data.amount, 10, 'string values are coerced by params');
});

test('signatures: SHA-1 and SHA-224/256/384/512 chosen by length, any letter case', async () => {
  for (const algorithm of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const) {
    for (const upper of [false, true]) {
      const r = await corezoid(s, login, { ops: [] }, { algorithm, upper });
      assert.equal(r.status, 200, `${algorithm} upper=${upper}: ${r.text}`);
      assert.equal(r.body.request_proc, 'ok');
    }
  }
});

test('bad signature, stale or future time, missing body: 400 callback_hash_error; unknown login: 500; malformed envelopes: 400; nothing created', async () => {
  const before = await s.runCount();
  const op = { type: 'create', obj: 'task', conv_id: conv.loan, data: { amount: 1 } };
  const good = { ops: [op] };
  HASH_REFUSED(await corezoid(s, login, good, { signBody: JSON.stringify({ ops: [{ ...op, data: { amount: 2 } }] }) }), /bad signature/);
  HASH_REFUSED(await corezoid(s, login, good, { signature: 'zz'.repeat(20) }), /bad signature/);
  HASH_REFUSED(await corezoid(s, login, good, { signature: 'ab'.repeat(21) }), /bad signature/);
  HASH_REFUSED(await corezoid(s, { login: login.login, secret: 'not-the-secret' }, good), /bad signature/);
  HASH_REFUSED(await corezoid(s, login, good, { time: now() - 301 }), /outside the allowed window/);
  HASH_REFUSED(await corezoid(s, login, good, { time: now() + 301 }), /outside the allowed window/);
  HASH_REFUSED(await corezoid(s, login, ''), /the body is missing/);
  LOGIN_REFUSED(await corezoid(s, { login: 999_999_999, secret: login.secret }, good));
  LOGIN_REFUSED(await corezoid(s, { login: 'abc' as unknown as number, secret: login.secret }, good));
  REFUSED(await corezoid(s, login, 'not json'), /JSON/);
  REFUSED(await corezoid(s, login, { ops: {} }), /"ops" must be an array/);
  REFUSED(await corezoid(s, login, [op]), /ops/);
  REFUSED(await corezoid(s, login, { op: [op] }), /no "ops"/);
  REFUSED(await corezoid(s, login, { ops: 'create' }), /array/);
  REFUSED(await corezoid(s, login, { ops: Array.from({ length: 101 }, () => op) }), /too many ops in one request: 101 \(at most 100\)/);
  assert.equal(await s.runCount(), before, 'nothing was created');
  // Inside the window is fine.
  const ok = await corezoid(s, login, good, { time: now() - 280 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(await s.runCount(), before + 1);
});

test('per-op errors beside a good op: HTTP 400 and request_proc error, each op with its own proc and a description; only the good op creates', async () => {
  const other = await s.call('POST', '/v1/keys', { json: { name: 'a', role: 'admin', tenant: 'acme' } });
  const put = await s.putWorkflow('theirs', DEFS.loan.replace('id: loan', 'id: theirs'), { token: other.body.token });
  assert.equal(put.status, 201, put.text);
  const theirConv = put.body.triggers.conv_id;
  const before = await s.runCount();
  const ops = [
    { id: 'good', type: 'create', obj: 'task', conv_id: conv.loan, data: { amount: 5 } },
    { id: 'unknown-conv', type: 'create', obj: 'task', conv_id: 987654321, data: {} },
    { id: 'their-conv', type: 'create', obj: 'task', conv_id: theirConv, data: { amount: 5 } },
    { id: 'company', type: 'create', obj: 'task', company_id: 'i123456789', conv_id: conv.loan, data: { amount: 5 } },
    { id: 'invalid', type: 'create', obj: 'task', conv_id: conv.loan, data: { amount: -1 } },
    { id: 'missing', type: 'create', obj: 'task', conv_id: conv.loan, data: {} },
    { id: 'no-conv', type: 'create', obj: 'task', data: { amount: 5 } },
    { id: 'bad-obj', type: 'create', obj: 'conv', conv_id: conv.loan, data: { amount: 5 } },
    { id: 'bad-type', type: 'delete', obj: 'task', conv_id: conv.loan },
    { id: 'bad-data', type: 'create', obj: 'task', conv_id: conv.loan, data: [1] },
    { id: 'long-ref', type: 'create', obj: 'task', conv_id: conv.loan, ref: 'x'.repeat(256), data: { amount: 5 } },
    'not an op',
  ];
  const r = await corezoid(s, login, { ops });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.request_proc, 'error', 'not every op is ok');
  assert.equal(r.body.ops.length, ops.length);
  const byId = Object.fromEntries(r.body.ops.map((o: any, i: number) => [typeof ops[i] === 'string' ? 'string' : o.id, o]));
  assert.equal(byId.good.proc, 'ok');
  for (const [id, pattern] of Object.entries({
    'unknown-conv': /process 987654321 not found/, company: /company_id/, invalid: /amount/, missing: /amount.*required/,
    'no-conv': /conv_id.*required/, 'bad-obj': /obj/, 'bad-type': /op type/, 'bad-data': /data/, 'long-ref': /255/, string: /object/,
  })) {
    assert.equal(byId[id].proc, 'error', id);
    assert.match(byId[id].description, pattern, id);
  }
  assert.equal(byId['their-conv'].proc, 'error');
  assert.equal(byId['their-conv'].description, `process ${theirConv} not found`, "another tenant's conv_id is answered like an unknown one");
  assert.equal(await s.runCount(), before + 1, 'only the good op created a run');
  assert.equal((await runsOf('theirs', 'acme')).length, 0, "the other tenant's workflow was never touched");
  // company_id equal to the login's tenant is accepted.
  const same = await corezoid(s, login, { ops: [{ type: 'create', obj: 'task', company_id: 'default', conv_id: conv.loan, data: { amount: 1 } }] });
  assert.equal(same.body.ops[0].proc, 'ok');
});

test('a login of another tenant starts only that tenant\'s processes', async () => {
  const key = await s.call('POST', '/v1/keys', { json: { name: 'b', role: 'admin', tenant: 'beta' } });
  assert.equal((await s.putWorkflow('loan', DEFS.loan, { token: key.body.token })).status, 201);
  const betaConv = await convId(s, 'loan', 'beta');
  const betaLogin = await newLogin(s, 'beta');
  const r = await corezoid(s, betaLogin, { ops: [
    { type: 'create', obj: 'task', company_id: 'beta', conv_id: betaConv, data: { amount: 1 } },
    { type: 'create', obj: 'task', conv_id: conv.loan, data: { amount: 1 } },
  ] });
  assert.equal(r.body.ops[0].proc, 'ok');
  assert.equal(r.body.ops[1].proc, 'error');
  const run = await s.call('GET', `/v1/runs/${r.body.ops[0].obj_id}`, { tenant: 'beta' });
  assert.equal(run.status, 200);
  assert.equal((await s.call('GET', `/v1/runs/${r.body.ops[0].obj_id}`)).status, 404, 'the run is in beta, not default');
});

test('100 creates in one request all answer in order; each is a run; they are written in one transaction', async () => {
  const before = (await runsOf('loan')).length;
  const ops = Array.from({ length: 100 }, (_, i) => ({ id: String(i), type: 'create', obj: 'task', conv_id: conv.loan, ref: `bulk-${i}`, data: { amount: i } }));
  // Watch the store's write verbs: one call is one transaction (one fsync).
  const store = s.srv.store;
  const createRuns = store.createRuns.bind(store);
  const writeBatch = store.writeBatch.bind(store);
  const batches: number[] = [];
  store.createRuns = (batch) => {
    batches.push(batch.length);
    return createRuns(batch);
  };
  store.writeBatch = (creates, transitions) => {
    if (creates.length > 0) batches.push(creates.length);
    return writeBatch(creates, transitions);
  };
  let r;
  try {
    r = await corezoid(s, login, { ops });
  } finally {
    store.createRuns = createRuns;
    store.writeBatch = writeBatch;
  }
  assert.deepEqual(batches, [100], 'the 100 creates were committed together');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.ops.map((o: any) => o.id), ops.map((o) => o.id));
  assert.ok(r.body.ops.every((o: any) => o.proc === 'ok'));
  assert.equal(new Set(r.body.ops.map((o: any) => o.obj_id)).size, 100);
  assert.equal((await runsOf('loan')).length, before + 100);
});

// ---------------------------------------------------------------- refs, modify, show

test('not_unical_ref: an active run\'s ref answers with its obj_id whatever the data; once it ends, the ref starts a new run', async () => {
  const create = (data: object, id = '') => ({ id, type: 'create', obj: 'task', conv_id: conv.hold, ref: 'order-1', data });
  const first = await corezoid(s, login, { ops: [create({ n: 1 })] });
  assert.equal(first.body.ops[0].proc, 'ok');
  const objId = first.body.ops[0].obj_id;
  await s.waitRun(objId, (r) => r.status === 'waiting');

  const again = await corezoid(s, login, { ops: [create({ n: 1 }, 'a'), create({ n: 2 }, 'b')] });
  assert.equal(again.status, 400);
  assert.equal(again.body.request_proc, 'error', 'a not_unical_ref op is not ok');
  for (const op of again.body.ops) {
    assert.equal(op.proc, 'not_unical_ref');
    assert.equal(op.obj_id, objId);
    assert.equal(op.ref, 'order-1');
  }
  // Two creates of one new ref in one request: the second meets the first.
  const pair = await corezoid(s, login, { ops: [{ ...create({}), ref: 'pair' }, { ...create({}), ref: 'pair' }] });
  assert.equal(pair.body.ops[0].proc, 'ok');
  assert.equal(pair.body.ops[1].proc, 'not_unical_ref');
  assert.equal(pair.body.ops[1].obj_id, pair.body.ops[0].obj_id);

  // modify by ref + conv_id releases the wait; the run ends; the ref is free again.
  const mod = await corezoid(s, login, { ops: [{ id: 'm', type: 'modify', obj: 'task', conv_id: conv.hold, ref: 'order-1', data: { approved: true } }] });
  assert.deepEqual(mod.body.ops[0], { id: 'm', proc: 'ok', obj: 'task', ref: 'order-1', obj_id: objId });
  const done = await s.waitRun(objId);
  assert.equal(done.status, 'succeeded');
  assert.equal(done.data.approved, true);
  assert.equal(done.data.released, true);
  const third = await corezoid(s, login, { ops: [create({ n: 3 })] });
  assert.equal(third.body.ops[0].proc, 'ok');
  assert.notEqual(third.body.ops[0].obj_id, objId);
});

test('modify by obj_id of a run not parked in wait merges data and releases nothing; unknown tasks are per-op errors', async () => {
  const c = await corezoid(s, login, { ops: [{ type: 'create', obj: 'task', conv_id: conv.nap, ref: 'napper', data: { a: 1 } }] });
  const id = c.body.ops[0].obj_id;
  await s.waitRun(id, (r) => r.status === 'waiting');
  const r = await corezoid(s, login, { ops: [
    { type: 'modify', obj: 'task', obj_id: id, data: { b: 2 } },
    { type: 'modify', obj: 'task', obj_id: '01900000-0000-7000-8000-000000000000', data: {} },
    { type: 'modify', obj: 'task', conv_id: conv.nap, ref: 'nobody', data: {} },
    { type: 'modify', obj: 'task', ref: 'napper', data: {} },
    { type: 'modify', obj: 'task', obj_id: id, data: 'x' },
  ] });
  assert.equal(r.status, 400);
  assert.equal(r.body.request_proc, 'error');
  assert.deepEqual(r.body.ops.map((o: any) => o.proc), ['ok', 'error', 'error', 'error', 'error']);
  assert.match(r.body.ops[1].description, /not found/);
  assert.match(r.body.ops[2].description, /not found/);
  assert.match(r.body.ops[3].description, /conv_id/);
  const run = await until(async () => {
    const x = (await s.call('GET', `/v1/runs/${id}`)).body;
    return x.data.b === 2 ? x : null;
  }, 'the merged data');
  assert.equal(run.status, 'waiting', 'still in its delay');
  assert.deepEqual({ a: run.data.a, b: run.data.b }, { a: 1, b: 2 });
});

test('show: status created|processing|delayed|processed|canceled, data and times, by obj_id or ref', async () => {
  const c = await corezoid(s, login, { ops: [
    { type: 'create', obj: 'task', conv_id: conv.hold, ref: 'show-1', data: { x: 1 } },
    { type: 'create', obj: 'task', conv_id: conv.loan, ref: 'show-2', data: { amount: 100 } },
    { type: 'create', obj: 'task', conv_id: conv.boom, ref: 'show-3', data: {} },
    { type: 'create', obj: 'task', conv_id: conv.nap, ref: 'show-4', data: {} },
  ] });
  const [hold, loan, boom, nap] = c.body.ops.map((o: any) => o.obj_id);
  await s.waitRun(hold, (r) => r.status === 'waiting');
  await s.waitRun(loan);
  await s.waitRun(boom);
  await s.waitRun(nap, (r) => r.status === 'waiting');
  assert.equal((await s.call('POST', `/v1/runs/${nap}/cancel`)).status, 200);
  const r = await corezoid(s, login, { ops: [
    { id: 1, type: 'show', obj: 'task', obj_id: hold },
    { id: 2, type: 'show', obj: 'task', conv_id: conv.loan, ref: 'show-2' },
    { id: 3, type: 'show', obj: 'task', obj_id: boom },
    { id: 4, type: 'show', obj: 'task', obj_id: nap },
    { id: 5, type: 'show', obj: 'task', obj_id: 'nope' },
  ] });
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.request_proc, 'error', 'the unknown task is not ok');
  const [a, b, c3, d, e] = r.body.ops;
  assert.equal(a.status, 'delayed');
  assert.equal(a.proc, 'ok');
  assert.equal(a.obj_id, hold);
  assert.equal(a.ref, 'show-1');
  assert.equal(a.conv_id, conv.hold);
  assert.deepEqual(a.data, { x: 1 });
  assert.equal(typeof a.create_time, 'number');
  assert.ok(Math.abs(a.create_time - now()) < 60);
  assert.equal(b.status, 'processed');
  assert.equal(b.obj_id, loan);
  assert.equal(b.data.amount, 100);
  assert.equal(c3.status, 'processed', 'failed runs are processed too');
  assert.equal(d.status, 'canceled');
  assert.equal(e.proc, 'error');
  assert.equal(e.id, 5);
});

test('a create followed by a show of its ref in the same request sees the new task', async () => {
  const r = await corezoid(s, login, { ops: [
    { type: 'create', obj: 'task', conv_id: conv.hold, ref: 'same-request', data: { y: 1 } },
    { type: 'show', obj: 'task', conv_id: conv.hold, ref: 'same-request' },
  ] });
  assert.equal(r.body.ops[1].proc, 'ok', JSON.stringify(r.body));
  assert.equal(r.body.ops[1].obj_id, r.body.ops[0].obj_id);
  assert.ok(['created', 'processing', 'delayed'].includes(r.body.ops[1].status));
});

test('the signature is checked over the raw bytes (whitespace and key order as sent)', async () => {
  const text = `{ "ops" : [ {"data":{"amount":3},"conv_id":${conv.loan},"obj":"task","type":"create"} ] }\n`;
  const r = await corezoid(s, login, text);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.ops[0].proc, 'ok');
  const time = String(now());
  // A client that signs the body before re-serialising it is refused.
  const res = await fetch(`${s.url}/api/1/json/${login.login}/${time}/${sign(time, login.secret, JSON.stringify(JSON.parse(text)))}`, { method: 'POST', body: text });
  assert.equal(res.status, 400);
});

test('configured limits: time window, ops per request', async () => {
  const t = await startTestServer({ FLOWGATE_COREZOID_TIME_WINDOW: '10', FLOWGATE_COREZOID_MAX_OPS: '3' });
  try {
    const l = await newLogin(t);
    HASH_REFUSED(await corezoid(t, l, { ops: [] }, { time: now() - 20 }), /±10 s/);
    assert.equal((await corezoid(t, l, { ops: [] }, { time: now() - 5 })).status, 200);
    REFUSED(await corezoid(t, l, { ops: [{}, {}, {}, {}] }), /at most 3/);
    assert.equal((await corezoid(t, l, { ops: [{}, {}, {}] })).status, 400, 'three ops are processed (each answered as an error)');
  } finally {
    await t.close();
  }
});
