// Luma launch-in-context (docs/spec.md §5.2, §8.18): the generate request from the spec, a URL
// `{public_url}/launch/{key}` that opens a read-only page of exactly that run without login: the
// console's run page (test/ui/launch.test.ts drives it in a browser), and for readers without
// JavaScript the server-rendered page in its <noscript> (every user value escaped, refreshing itself
// while the run is active); and keys that are refused once expired or altered. What the key reads
// through the API is test/compat/luma-launch-api.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sleep, startTestServer, type TestServer } from '../helpers/server.js';

const G = '/gateway/api/v1';
const NASTY = `<script>alert("x")</script> & 'quotes'`;

let s: TestServer;
let shortLived: TestServer;
let key: string;

async function luma(srv: TestServer, method: string, path: string, body?: unknown, token = key): Promise<{ status: number; body: any }> {
  const res = await fetch(srv.url + path, {
    method, headers: { 'itas-api-access-key': token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

async function page(url: string): Promise<{ status: number; headers: Headers; html: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, headers: res.headers, html: await res.text() };
}

const generate = (srv: TestServer, triggerId: string, token = key): Promise<{ status: number; body: any }> =>
  luma(srv, 'POST', `${G}/launchincontexturl/generate`, { launchContext: 'WORKFLOW_EXECUTION_STATUS', contextInfo: { triggerId } }, token);

const WORKFLOW = `id: review
name: ${JSON.stringify(`Review ${NASTY}`)}
steps:
  - id: prepare
    name: ${JSON.stringify(`Prepare ${NASTY}`)}
    type: set
    set: { ready: true }
  - id: route
    type: condition
    cases:
      - when: ready = false
        next: reject
    default: approve
  - id: approve
    name: Wait for approval
    type: wait
    timeout: 1h
  - id: publish
    name: Publish
    type: set
    set: { published: true }
    next: done
  - id: reject
    name: Reject
    type: end
    status: failed
  - id: done
    type: end
    status: succeeded
`;

before(async () => {
  s = await startTestServer();
  shortLived = await startTestServer({ FLOWGATE_LAUNCH_TTL_SECONDS: '1' });
  for (const srv of [s, shortLived]) {
    const r = await srv.putWorkflow('review', WORKFLOW);
    assert.equal(r.status, 201, r.text);
  }
  const k = await s.call('POST', '/v1/keys', { json: { name: 'luma', role: 'read' } });
  key = k.body.token;
});
after(async () => {
  await s.close();
  await shortLived.close();
});

test('generate → {public_url}/launch/{key}; the page shows the run and its steps without login, live while active', async () => {
  const started = await s.trigger('review', {});
  const runId = started.body.id;
  await s.waitRun(runId, (r) => r.status === 'waiting');
  const gen = await generate(s, runId);
  assert.equal(gen.status, 200);
  assert.equal(gen.body.status, 'Success');
  assert.equal(gen.body.statusCode, 0);
  assert.equal(typeof gen.body.resultData, 'string');
  const url: string = gen.body.resultData;
  assert.match(url, new RegExp(`^${s.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/launch/[A-Za-z0-9_.-]+$`));

  const p = await page(url); // no Authorization, no cookie
  assert.equal(p.status, 200);
  assert.match(p.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(p.headers.get('cache-control'), 'no-store');
  assert.equal(p.headers.get('referrer-policy'), 'no-referrer');
  // The console's page: its own script, nothing inline, framing allowed (Luma opens it in an IFrame).
  const csp = p.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /frame-ancestors|unsafe-inline/);
  assert.equal(p.headers.get('x-frame-options'), null);
  assert.match(p.html, /<script type="module"[^>]* src="\/assets\/index-[^"]+\.js"><\/script>/, 'the console');
  assert.doesNotMatch(p.html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'no inline script (and the user\'s <script> is escaped)');
  assert.match(p.html, /<noscript><meta http-equiv="refresh" content="\d+">/, 'an active run refreshes itself for readers without script');
  assert.ok(p.html.includes(runId));
  assert.ok(p.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;'), 'user values are escaped');
  assert.match(p.html, /<svg[\s\S]*<\/svg>/, 'the step graph');
  // Each step's name and status, in the ordered list.
  const item = (id: string): string => {
    const m = new RegExp(`<li data-step="${id}">([\\s\\S]*?)</li>`).exec(p.html);
    assert.ok(m, `step ${id} is listed`);
    return m![1];
  };
  assert.match(item('prepare'), /Prepare &lt;script&gt;[\s\S]*COMPLETED/);
  assert.match(item('route'), /route[\s\S]*COMPLETED/);
  assert.match(item('approve'), /Wait for approval[\s\S]*SUSPENDED/);
  assert.match(item('publish'), /Publish[\s\S]*NOT REACHED/);
  assert.match(item('reject'), /Reject[\s\S]*NOT REACHED/);
  assert.match(p.html, /id="run-status">Status <span class="status s-suspended">SUSPENDED<\/span><\/p>/, 'Luma\'s vocabulary; no progress bar for a run that has not moved it');
  // Branch edges carry their condition as visible text; the path the run took is drawn bold.
  assert.match(p.html, /<text [^>]*>when ready = false<\/text>/);
  assert.match(p.html, /<text [^>]*>otherwise<\/text>/);
  assert.match(p.html, /data-edge="prepare→route" data-taken="true"/);
  assert.match(p.html, /data-edge="route→approve" data-taken="true"/);
  assert.match(p.html, /data-edge="route→reject"(?! data-taken)/, 'the branch not taken stays thin');

  // The same key follows the run live: once it ends, the page shows it and stops refreshing.
  const run = await s.waitRun(runId, (r) => r.status === 'waiting');
  await s.call('POST', new URL(run.callback_url).pathname, { json: {}, token: null });
  await s.waitRun(runId);
  const done = await page(url);
  assert.equal(done.status, 200);
  assert.doesNotMatch(done.html, /http-equiv="refresh"/, 'a finished run does not refresh');
  assert.match(done.html, /<li data-step="publish">[\s\S]*?COMPLETED/);
  assert.match(done.html, /id="run-status">Status <span class="status s-completed">COMPLETED<\/span><\/p>/);
  assert.doesNotMatch(done.html, /<progress/, 'a finished run shows its status, not a progress bar');
  assert.match(done.html, /data-edge="approve→publish" data-taken="true"/);
});

test('the key opens only that run\'s page: not the API, not another run', async () => {
  const a = await s.trigger('review', {});
  const b = await s.trigger('review', {});
  const url = (await generate(s, a.body.id)).body.resultData as string;
  const launchKey = url.slice(url.lastIndexOf('/') + 1);
  const p = await page(url);
  assert.ok(p.html.includes(a.body.id));
  assert.ok(!p.html.includes(b.body.id));
  for (const path of [`/v1/runs/${a.body.id}`, `${G}/workflowhistory/${a.body.id}`]) {
    const res = await fetch(s.url + path, { headers: { authorization: `Bearer ${launchKey}` } });
    assert.equal(res.status, 401, `${path} with the launch key as a token`);
    const launch = await fetch(s.url + path, { headers: { authorization: `Launch ${launchKey}` } });
    assert.equal(launch.status, 403, `${path} with the launch key in its own scheme`);
  }
  const viaHeader = await fetch(s.url + `${G}/workflowhistory/${a.body.id}`, { headers: { 'itas-api-access-key': launchKey } });
  assert.equal(viaHeader.status, 401);
  // Grafting b's id onto a's signature does not work.
  const [payload, sig] = launchKey.split('.');
  const forged = JSON.parse(Buffer.from(payload, 'base64url').toString());
  forged.r = b.body.id;
  const graft = await page(`${s.url}/launch/${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sig}`);
  assert.equal(graft.status, 403);
  assert.ok(!graft.html.includes(b.body.id));
});

test('altered, truncated or made-up keys are refused with an HTML page, never the run', async () => {
  const r = await s.trigger('review', {});
  const url = (await generate(s, r.body.id)).body.resultData as string;
  const k = url.slice(url.lastIndexOf('/') + 1);
  const flip = (str: string, i: number): string => str.slice(0, i) + (str[i] === 'A' ? 'B' : 'A') + str.slice(i + 1);
  const variants = [
    flip(k, 3), // payload changed
    flip(k, k.length - 2), // signature changed
    k.slice(0, -1), // truncated
    `${k}x`,
    'not-a-key',
    `${k.split('.')[0]}.`,
    'e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  ];
  for (const v of variants) {
    const p = await page(`${s.url}/launch/${encodeURIComponent(v)}`);
    assert.equal(p.status, 403, v);
    assert.match(p.headers.get('content-type') ?? '', /^text\/html/);
    assert.ok(!p.html.includes(r.body.id), 'nothing about the run leaks');
    assert.match(p.html, /not valid/);
  }
});

test('an expired key is refused (FLOWGATE_LAUNCH_TTL_SECONDS=1)', async () => {
  const k = await shortLived.call('POST', '/v1/keys', { json: { name: 'luma', role: 'read' } });
  const r = await shortLived.trigger('review', {});
  const gen = await generate(shortLived, r.body.id, k.body.token);
  assert.equal(gen.status, 200);
  const url = gen.body.resultData as string;
  assert.equal(gen.body.metaInfo.expiresAt <= Date.now() + 1000, true, 'the key lives at most the configured TTL');
  await sleep(1100);
  const p = await page(url);
  assert.equal(p.status, 403);
  assert.match(p.html, /expired/);
  assert.ok(!p.html.includes(r.body.id));
});

test('generate refuses a wrong launchContext or a missing triggerId (DataValidationError), unknown runs 404, and needs a token', async () => {
  const r = await s.trigger('review', {});
  const wrong = await luma(s, 'POST', `${G}/launchincontexturl/generate`, { launchContext: 'SOMETHING_ELSE', contextInfo: { triggerId: r.body.id } });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.status, 'DataValidationError');
  const missing = await luma(s, 'POST', `${G}/launchincontexturl/generate`, { launchContext: 'WORKFLOW_EXECUTION_STATUS' });
  assert.equal(missing.status, 400);
  assert.deepEqual(missing.body.errors, ['contextInfo.triggerId is required']);
  const both = await luma(s, 'POST', `${G}/launchincontexturl/generate`, {});
  assert.equal(both.body.errors.length, 2);
  const unknown = await generate(s, '01890000-0000-7000-8000-000000000000');
  assert.equal(unknown.status, 404);
  const anon = await fetch(`${s.url}${G}/launchincontexturl/generate`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(anon.status, 401);
});

test('a foreach whose children partly failed shows its counts and is visibly not a clean success', async () => {
  await s.createWorkflow('maybe-fail', `id: maybe-fail
steps:
  - id: check
    type: condition
    cases: [{ when: bad = true, next: boom }]
    default: fine
  - { id: fine, type: end, status: succeeded }
  - { id: boom, type: end, status: failed }
`);
  await s.createWorkflow('fan', `id: fan
params:
  items: { type: array, required: true }
steps:
  - { id: spread, name: Spread, type: foreach, workflow: maybe-fail, items: items }
`);
  const r = await s.trigger('fan', { items: [{ bad: false }, { bad: true }, { bad: false }, { bad: true }, { bad: false }] }, 'wait=20');
  assert.equal(r.status, 200, r.text);
  const p = await page((await generate(s, r.headers.get('flowgate-run-id')!)).body.resultData);
  const item = /<li data-step="spread">([\s\S]*?)<\/li>/.exec(p.html)?.[1] ?? '';
  assert.match(item, /COMPLETED WITH FAILURES/);
  assert.match(item, /3 succeeded · 2 failed · 5 children/);
  assert.doesNotMatch(item, /s-completed"/, 'not the clean COMPLETED badge');
});

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Every key that differs from `k` in exactly one character, that character any of base64url's 64 (or the dot). */
function oneCharChanges(k: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < k.length; i++) {
    for (const c of B64URL + '.') if (c !== k[i]) out.push(k.slice(0, i) + c + k.slice(i + 1));
  }
  return out;
}

test('every one-character change of a key\'s signature is refused: trailing bits of the signature are not ignored', async () => {
  const r = await s.trigger('review', {});
  const url = (await generate(s, r.body.id)).body.resultData as string;
  const k = url.slice(url.lastIndexOf('/') + 1);
  assert.equal((await page(url)).status, 200, 'the key itself opens the page');
  // Over HTTP every change of the signature and the dot (the whole key's, in-process, in
  // src/http/compat/launch.test.ts).
  const dot = k.indexOf('.');
  const variants = oneCharChanges(k).filter((v) => v.slice(0, dot) === k.slice(0, dot));
  assert.equal(variants.length, (k.length - dot) * 64);
  const opened: string[] = [];
  // A few at a time: the page is cheap, but the machine is shared.
  for (let i = 0; i < variants.length; i += 16) {
    const batch = variants.slice(i, i + 16);
    const answers = await Promise.all(batch.map(async (v) => {
      const res = await fetch(`${s.url}/launch/${encodeURIComponent(v)}`, { redirect: 'manual' });
      const html = await res.text();
      return { v, status: res.status, leaks: html.includes(r.body.id) };
    }));
    for (const a of answers) if (a.status !== 403 || a.leaks) opened.push(`${a.v} → ${a.status}`);
  }
  assert.deepEqual(opened, [], 'no altered key opens anything');
});
