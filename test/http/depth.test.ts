// The nesting limit (docs/api.md "Limits", FLOWGATE_MAX_DEPTH): a value nested past it is refused on
// every surface where values enter, in that surface's own envelope, naming the limit; nothing is
// created, nothing hangs, no 500, and another tenant's timers keep firing. The band that wedged the
// store thread (3,000-3,400 levels) and far past it (10,000) are tried everywhere.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startServer, type RunningServer } from '../../src/app/app.js';
import { loadConfig } from '../../src/app/config.js';
import { newLogin, corezoid, type Login } from '../compat/corezoid-client.js';
import { ADMIN, reply, startTarget, startTestServer, type Target, type TestServer } from '../helpers/server.js';

const BAND = [3_000, 3_250, 3_300, 3_400, 10_000];
/** Far past the band, still under the 1 MiB body limit as JSON. */
const FAR = 100_000;
const LIMIT = /deeper than 64 levels/;

const deepJson = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const deepArray = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const deepXml = (n: number, root = 'task'): string => `<${root}>${'<a>'.repeat(n)}x${'</a>'.repeat(n)}</${root}>`;

interface Plain {
  status: number;
  text: string;
  body: any;
  type: string;
}

/** A POST that must be answered within 10 s (a hang fails the test instead of stalling it). */
async function post(url: string, body: string, type: string, headers: Record<string, string> = {}, method = 'POST'): Promise<Plain> {
  const res = await fetch(url, { method, body, headers: { 'content-type': type, ...headers }, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // XML or text
  }
  return { status: res.status, text, body: parsed, type: res.headers.get('content-type') ?? '' };
}

/** A 400 that names the limit; `problem` when it must be problem+json. */
function refused(r: Plain, what: string, opts: { problem?: boolean; status?: number } = {}): void {
  assert.equal(r.status, opts.status ?? 400, `${what}: ${r.text.slice(0, 300)}`);
  assert.match(r.text, LIMIT, what);
  if (opts.problem) {
    assert.match(r.type, /^application\/problem\+json/, what);
    assert.equal(r.body.type, 'https://flowgate.dev/problems/too-deep', what);
    assert.equal(r.body.max_depth, 64, what);
  }
}

let s: TestServer;
let target: Target;
let triggers: any;
let login: Login;
let otherRuns: string[] = [];

/** A key of another tenant (it makes the tenant). */
const OTHER = { token: '' };

before(async () => {
  s = await startTestServer();
  target = await startTarget((req, res) => {
    const n = Number(new URL(req.url, 'http://x').searchParams.get('n') ?? '1');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(deepJson(n));
  });
  const sink = await s.putWorkflow('sink', `id: sink
trigger: { public: true }
params:
  doc: { type: object }
steps:
  - { id: done, type: set, set: { ok: true } }
`);
  assert.equal(sink.status, 201, sink.text);
  triggers = sink.body.triggers;
  for (const [id, yaml] of Object.entries({
    hook: `id: hook
steps:
  - { id: hold, type: wait, timeout: 1h }
  - { id: done, type: set, set: { resumed: true } }
`,
    fetch: `id: fetch
params:
  n: { type: integer }
steps:
  - { id: get, type: http, method: GET, url: "${target.url}/deep?n={{ n }}", save_as: answer }
`,
    code: `id: code
params:
  n: { type: integer }
steps:
  - id: build
    type: code
    code: |
      let v = 1;
      for (let i = 0; i < data.n; i++) v = { a: v };
      return { v };
`,
  })) {
    const r = await s.putWorkflow(id, yaml);
    assert.equal(r.status, 201, r.text);
  }
  const key = await s.call('POST', '/v1/keys', { json: { name: 'other', role: 'admin', tenant: 'other' } });
  assert.equal(key.status, 201, key.text);
  OTHER.token = key.body.token;
  const other = await s.putWorkflow('ticker', `id: ticker
steps:
  - { id: pause, type: delay, for: 1s }
  - { id: done, type: set, set: { ticked: true } }
`, OTHER);
  assert.equal(other.status, 201, other.text);
  login = await newLogin(s);
  // Another tenant's timers, set before the attack; they must fire while it goes on.
  for (let i = 0; i < 3; i++) {
    const r = await s.trigger('ticker', {}, '', OTHER);
    assert.equal(r.status, 202, r.text);
    otherRuns.push(r.body.id);
  }
});
after(async () => {
  await s?.close();
  await target?.close();
});

describe('nesting past the limit is refused on every surface, nothing is created', () => {
  let runsBefore = 0;
  before(async () => {
    runsBefore = await s.runCount();
  });

  it('native trigger: JSON, arrays and XML bodies; a JSON string param coerced to an object', async () => {
    const url = `${s.url}/v1/workflows/sink/runs`;
    const auth = { authorization: `Bearer ${ADMIN}` };
    for (const n of [65, ...BAND]) {
      refused(await post(url, deepJson(n), 'application/json', auth), `JSON ${n}`, { problem: true });
      refused(await post(url, `{"doc":${deepArray(n)}}`, 'application/json', auth), `array ${n}`, { problem: true });
      refused(await post(url, deepXml(n), 'application/xml', auth), `XML ${n}`, { problem: true });
      refused(await post(`${url}?wait=5`, deepJson(n), 'application/json', auth), `JSON ${n} with wait`, { problem: true });
      refused(await post(url, JSON.stringify({ doc: JSON.parse(`{"b":${deepJson(Math.min(n, 3_000))}}`) }), 'application/json', auth), `coerced ${n}`, { problem: true });
      refused(await post(url, `doc=${encodeURIComponent(`{"b":${deepJson(n)}}`)}`, 'application/x-www-form-urlencoded', auth), `form-coerced ${n}`, { problem: true });
    }
    refused(await post(url, deepJson(FAR), 'application/json', auth), `JSON ${FAR}`, { problem: true });
    refused(await post(`${triggers.urls.direct_json}`, deepJson(FAR), 'application/json'), `direct JSON ${FAR}`);
    // At the limit is fine: 64 levels of body.
    const ok = await post(url, `{"doc":${deepJson(63)}}`, 'application/json', auth);
    assert.equal(ok.status, 202, ok.text);
    runsBefore++;
  });

  it('batch', async () => {
    const url = `${s.url}/v1/workflows/sink/runs/batch`;
    for (const n of [62, ...BAND, FAR]) {
      refused(await post(url, `{"items":[{"data":{"ok":1}},{"data":${deepJson(n)}}]}`, 'application/json', { authorization: `Bearer ${ADMIN}` }), `batch ${n}`, { problem: true });
    }
  });

  it('Corezoid signed ops and Sync API: a 400 envelope', async () => {
    for (const n of [...BAND, FAR]) {
      const text = `{"ops":[{"type":"create","obj":"task","conv_id":${triggers.conv_id},"data":${deepJson(n)}}]}`;
      for (const sync of [false, true]) {
        const r = await corezoid(s, login, text, { sync });
        assert.equal(r.status, 400, r.text.slice(0, 200));
        assert.equal(r.body.request_proc, 'error');
        assert.match(r.body.ops[0].description, LIMIT);
      }
    }
  });

  it('Corezoid direct URLs: JSON, XML and NVP, each in its envelope', async () => {
    const { direct_json: json, direct_xml: xml, direct_nvp: nvp } = triggers.urls;
    for (const n of BAND) {
      for (const [url, body, type] of [
        [json, deepJson(n), 'application/json'],
        [json, `{"ops":[{"type":"create","obj":"task","data":${deepJson(n)}}]}`, 'application/json'],
        [xml, deepXml(n), 'application/xml'],
        [nvp, deepJson(n), 'application/json'], // the Content-Type names a known format: it wins
      ] as const) {
        const r = await post(url, body, type);
        assert.equal(r.status, 400, `${url} ${n}: ${r.text.slice(0, 200)}`);
        assert.match(r.text, LIMIT);
        if (url === xml) assert.match(r.text, /^<\?xml|<response>/);
        else assert.equal(r.body.request_proc, 'error', r.text.slice(0, 200));
      }
      // A flat form whose value the param coerces into a deep object: the op fails on its own, naming
      // the limit (an envelope whose op is not ok is a 400 with request_proc error).
      const coerced = await post(nvp, `doc=${encodeURIComponent(deepJson(n))}`, 'application/x-www-form-urlencoded');
      assert.equal(coerced.status, 400, coerced.text.slice(0, 200));
      assert.equal(coerced.body.request_proc, 'error');
      assert.equal(coerced.body.ops[0].proc, 'error');
      assert.match(coerced.body.ops[0].description, LIMIT);
    }
  });

  it('CSI execute and executepolling', async () => {
    for (const n of [...BAND, FAR]) {
      for (const url of [triggers.urls.csi_execute, triggers.urls.csi_executepolling]) {
        refused(await post(url, `{"QueryParameters":${deepJson(n)}}`, 'application/json'), `CSI ${n}`, { problem: true });
        refused(await post(url, deepJson(n), 'text/plain'), `CSI sniffed ${n}`, { problem: true });
      }
    }
  });

  it('Luma trigger: a DataValidationError envelope', async () => {
    for (const n of [...BAND, FAR]) {
      const r = await post(`${s.url}/gateway/api/v1/workflow/trigger`, `{"workflowIdentifier":"sink","variables":${deepJson(n)}}`, 'application/json', { authorization: `Bearer ${ADMIN}` });
      assert.equal(r.status, 400, r.text.slice(0, 200));
      assert.equal(r.body.status, 'DataValidationError');
      assert.match(r.body.errors.join(' '), LIMIT);
    }
  });

  it('PUT /v1/workflows: a cyclic YAML alias, deep YAML (flow and block) and deep JSON definitions are 422 naming the limit', async () => {
    const docs: [string, string][] = [
      ['a: &a [*a]\n', 'application/yaml'],
      ['id: cyc\nsteps: &s\n  - { id: x, type: set, set: { loop: *s } }\n', 'application/yaml'],
      [`id: flow\nx: ${deepArray(10_000)}\nsteps: []\n`, 'application/yaml'],
      [`id: block\nx:\n${Array.from({ length: 1_200 }, (_, i) => `${' '.repeat(i + 1)}-`).join('\n')} 1\n`, 'application/yaml'],
      [`{"id":"deepjson","steps":[],"x":${deepJson(10_000)}}`, 'application/json'],
      [`{"id":"deepjson","steps":[],"x":${deepJson(3_300)}}`, 'application/yaml'],
    ];
    for (const [text, type] of docs) {
      const id = /"id":"(\w+)"|id: (\w+)/.exec(text)?.slice(1).find(Boolean) ?? 'alias';
      const r = await post(`${s.url}/v1/workflows/${id}`, text, type, { authorization: `Bearer ${ADMIN}` }, 'PUT');
      refused(r, text.slice(0, 40), { status: 422 });
      assert.equal(r.body.type, 'https://flowgate.dev/problems/invalid-definition');
    }
    const list = await s.call('GET', '/v1/workflows');
    assert.deepEqual(list.body.items.map((w: any) => w.id).sort(), ['code', 'fetch', 'hook', 'sink']);
  });

  it('nothing was created by any refused request', async () => {
    assert.equal(await s.runCount(), runsBefore);
  });
});

describe('values from outside a run are held to the limit: callbacks, http step answers, code step results', () => {
  it('a callback body past the limit is refused; the run keeps waiting and resumes with a good one', async () => {
    const started = await s.trigger('hook');
    assert.equal(started.status, 202, started.text);
    const run = await s.waitRun(started.body.id, (r) => r.status === 'waiting');
    const token = await s.call('GET', `/v1/runs/${run.id}/steps`).then(() => s.srv.store.loadRun(run.id)).then((r) => r!.callback_token);
    const url = `${s.url}/v1/callbacks/${token}`;
    for (const n of BAND) {
      refused(await post(url, deepJson(n), 'application/json'), `callback ${n}`, { problem: true });
      refused(await post(url, deepXml(n, 'r'), 'application/xml'), `callback XML ${n}`, { problem: true });
    }
    assert.equal((await s.call('GET', `/v1/runs/${run.id}`)).body.status, 'waiting');
    const ok = await post(url, '{"approved":true}', 'application/json');
    assert.ok(ok.status < 300, ok.text);
    const done = await s.waitRun(run.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.data.approved, true);
  });

  it('an http step whose answer nests past the limit fails with too_deep; the run and its records read back', async () => {
    for (const n of [65, ...BAND]) {
      const r = await s.trigger('fetch', { n });
      assert.equal(r.status, 202, r.text.slice(0, 300));
      const id = r.body.id;
      const run = await s.waitRun(id);
      assert.equal(run.status, 'failed');
      assert.equal(run.error.code, 'too_deep');
      assert.match(run.error.message, LIMIT);
      assert.equal(run.data.answer, undefined);
      const steps = await s.call('GET', `/v1/runs/${id}/steps`);
      assert.equal(steps.status, 200);
      assert.equal(steps.body.items[0].attempts[0].error.class, 'too_deep');
    }
    const fine = await s.trigger('fetch', { n: 60 });
    const run = await s.waitRun(fine.body.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
  });

  it('a code step whose result nests past the limit fails naming it', { timeout: 120_000 }, async () => {
    for (const n of [70, ...BAND]) {
      const r = await s.trigger('code', { n });
      assert.equal(r.status, 202, r.text.slice(0, 300));
      const run = await s.waitRun(r.body.id, undefined, { timeoutMs: 30_000 });
      assert.equal(run.status, 'failed', `${n}`);
      // Thousands of levels may exhaust the sandbox's own limits first (stack, time); either way the step fails.
      assert.ok(['too_deep', 'code_error', 'code_stack', 'code_timeout', 'code_memory'].includes(run.error.code), `${n}: ${JSON.stringify(run.error)}`);
      if (n < 1_000) {
        assert.equal(run.error.code, 'too_deep');
        assert.match(run.error.message, LIMIT);
      }
    }
  });

  it("another tenant's timers kept firing, and its new ones fire", { timeout: 60_000 }, async () => {
    for (const id of otherRuns) {
      const run = await s.waitRun(id, undefined, { ...OTHER, timeoutMs: 20_000 });
      assert.equal(run.status, 'succeeded');
    }
    const again = await s.trigger('ticker', {}, '', OTHER);
    const run = await s.waitRun(again.body.id, undefined, { ...OTHER, timeoutMs: 20_000 });
    assert.equal(run.status, 'succeeded');
    const h = await fetch(`${s.url}/readyz`);
    assert.equal(h.status, 200);
  });
});

describe('runs stored too deep to load (written before the limit existed) fail by themselves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-depth-'));
  const config = () => loadConfig({ port: 0, dataDir: dir, examples: false, logLevel: 'silent' }, { FLOWGATE_ADMIN_TOKEN: ADMIN });
  let srv: RunningServer | undefined;
  after(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async (method: string, path: string, token = ADMIN, json?: unknown): Promise<Plain> => {
    const res = await fetch(srv!.url + path, {
      method, headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: json === undefined ? undefined : JSON.stringify(json), signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, text, body: text ? JSON.parse(text) : null, type: res.headers.get('content-type') ?? '' };
  };
  const waitFor = async (id: string, token: string, status: string): Promise<any> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await api('GET', `/v1/runs/${id}`, token);
      assert.equal(r.status, 200, r.text.slice(0, 200));
      if (r.body.status === status) return r.body;
      assert.ok(Date.now() < deadline, `run ${id} is ${r.body.status}, not ${status}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  it("a poisoned timer and a poisoned orphan neither stop recovery nor another tenant's timers", { timeout: 120_000 }, async () => {
    srv = await startServer(config());
    const put = async (id: string, yaml: string, token = ADMIN): Promise<void> => {
      const res = await fetch(`${srv!.url}/v1/workflows/${id}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' }, body: yaml });
      assert.equal(res.status, 201, await res.text());
    };
    await put('sleepy', 'id: sleepy\nsteps:\n  - { id: pause, type: delay, for: 1h }\n');
    const key = await api('POST', '/v1/keys', ADMIN, { name: 'b', role: 'admin', tenant: 'b' });
    const b = key.body.token as string;
    await put('ticker', 'id: ticker\nsteps:\n  - { id: pause, type: delay, for: 1s }\n  - { id: done, type: set, set: { ticked: true } }\n', b);
    const timer = (await api('POST', '/v1/workflows/sleepy/runs', ADMIN, {})).body.id as string;
    const orphan = (await api('POST', '/v1/workflows/sleepy/runs', ADMIN, {})).body.id as string;
    await waitFor(timer, ADMIN, 'waiting');
    await waitFor(orphan, ADMIN, 'waiting');
    const ticking = (await api('POST', '/v1/workflows/ticker/runs', b, {})).body.id as string;
    await srv.close();
    srv = undefined;

    // The bad state, written directly: one run due now, one left running by a dead process.
    const db = new Database(join(dir, 'flowgate.db'));
    const deep = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    db.prepare('UPDATE runs SET data = ?, wake_at = ? WHERE id = ?').run(deep(10_000), Date.now() - 1000, timer);
    db.prepare("UPDATE runs SET data = ?, status = 'running', owner = 'dead:1', lease_until = 0, wake_at = NULL, parking = NULL WHERE id = ?").run(deep(3_300), orphan);
    db.close();

    // Recovery finishes (before, it waited forever for the store's answer and /readyz stayed 503).
    srv = await Promise.race([
      startServer(config()),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the server did not finish starting (recovery hung)')), 20_000)),
    ]);
    assert.equal((await fetch(`${srv.url}/readyz`)).status, 200);
    // The other tenant's timer fires, and new ones do.
    assert.equal((await waitFor(ticking, b, 'succeeded')).data.ticked, true);
    const next = (await api('POST', '/v1/workflows/ticker/runs', b, {})).body.id as string;
    await waitFor(next, b, 'succeeded');
    // The poisoned runs are failed, and reading them answers.
    for (const id of [timer, orphan]) {
      const run = await waitFor(id, ADMIN, 'failed');
      assert.equal(run.error.code, 'too_deep');
      assert.match(run.error.message, /nests deeper than \d+ levels/);
    }
    const list = await api('GET', '/v1/runs?workflow=sleepy');
    assert.equal(list.status, 200);
    assert.equal(list.body.items.length, 2);
    assert.equal((await api('GET', `/v1/runs/${timer}/steps`)).status, 200);
  });
});
