// The launch page (launch-routes.ts, launch-page.ts) in-process: with the console built it is the
// console's index.html with the server-rendered page as its no-script fallback, under a policy that
// allows framing and exactly the fallback's style; without the console it is the server-rendered
// page alone; FLOWGATE_LAUNCH_FRAME_ANCESTORS narrows who may frame it, and a bad value stops the start.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Run, StepRecord, Workflow } from '../../core/types.js';
import type { Ctx } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { LaunchKeys, launchSecret } from './launch.js';
import { consoleRunPage, runPageParts, STYLE_HASH } from './launch-page.js';
import { launchRoutes, launchRunView, parseFrameAncestors } from './launch-routes.js';

const now = Date.now();
const keys = new LaunchKeys(launchSecret('a master key for the test'), 900, () => now);
const RUN_ID = '01890000-0000-7000-8000-000000000001';

const run = (status: Run['status']): Run => ({
  id: RUN_ID, tenant: 'default', workflow: 'review', version: 1, ref: null, status, input: {}, data: {}, progress: 0, step: 'approve',
  step_seq: 1, reply: null, error: null, parking: null, wake_at: null, callback_token: 'cb-token-that-resumes-the-run', result_url: 'https://results.example.com/x',
  parent: { run_id: 'parent-run', step: 's', seq: 1 }, attempt: 1, owner: null, lease_until: null, rev: 1, created_at: now, started_at: now, finished_at: null, updated_at: now,
});
const workflow = { tenant: 'default', id: 'review', name: 'Review <b>', version: 1, definition: { id: 'review', steps: [{ id: 'approve', name: 'Approve', type: 'wait' }] }, hash: 'secret-hash' } as unknown as Workflow;
const records: StepRecord[] = [{ run_id: RUN_ID, seq: 1, step_id: 'approve', type: 'wait', name: 'Approve', status: 'waiting', attempts: [], input: {}, output: null, error: null, started_at: now, finished_at: null }];

const INDEX = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Flowgate</title>
    <script type="module" crossorigin src="/assets/index-abc.js"></script>
    <link rel="stylesheet" crossorigin href="/assets/index-abc.css">
  </head>
  <body>
    <div id="root"></div>
    <noscript>The Flowgate console needs JavaScript.</noscript>
  </body>
</html>
`;

async function serve(opts: { index: string | null; frameAncestors?: string | null; status?: Run['status'] }, path: string): Promise<{ status: number; headers: Headers; html: string }> {
  const deps = {
    clock: () => now,
    log: { error: () => undefined },
    store: {
      getRun: async (tenant: string, id: string) => (tenant === 'default' && id === RUN_ID ? run(opts.status ?? 'waiting') : null),
      getWorkflow: async () => workflow,
      listSteps: async () => records,
    },
  } as unknown as RouteDeps;
  const routes = launchRoutes(deps, {
    keys, frameAncestors: opts.frameAncestors ?? null,
    console: { index: () => (opts.index === null ? null : Buffer.from(opts.index)) },
  });
  const page = routes.find((r) => r.name === 'launch.page')!;
  const server = http.createServer((req, res) => {
    const key = decodeURIComponent(req.url!.slice('/launch/'.length));
    void page.handler({ req, res, params: { key }, query: new URLSearchParams(), base: 'http://127.0.0.1' } as unknown as Ctx);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
    return { status: res.status, headers: res.headers, html: await res.text() };
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
}

test('with the console built: its index.html, the fallback in <noscript>, a frameable policy that allows only the fallback\'s style', async () => {
  const { key } = keys.issue('default', RUN_ID);
  const p = await serve({ index: INDEX }, `/launch/${key}`);
  assert.equal(p.status, 200);
  assert.match(p.headers.get('content-type')!, /^text\/html/);
  assert.equal(p.headers.get('cache-control'), 'no-store');
  assert.equal(p.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(p.headers.get('x-frame-options'), null, 'framing is allowed');
  const csp = p.headers.get('content-security-policy')!;
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.ok(csp.includes(`style-src 'self' ${STYLE_HASH}`), csp);
  assert.doesNotMatch(csp, /unsafe-inline|frame-ancestors/);
  assert.match(csp, /form-action 'none'/);
  // The console's script and style tags stay; its own <noscript> note is replaced by the page.
  assert.match(p.html, /<script type="module" crossorigin src="\/assets\/index-abc\.js"><\/script>/);
  assert.match(p.html, /<div id="root"><\/div>/);
  assert.doesNotMatch(p.html, /console needs JavaScript/);
  assert.match(p.html, /<title>Review &lt;b&gt; · run 01890000-0000-7000-8000-000000000001<\/title>/);
  const head = p.html.slice(0, p.html.indexOf('</head>'));
  assert.match(head, /<noscript><meta http-equiv="refresh" content="3"><style>/, 'the refresh only for readers without script');
  assert.doesNotMatch(p.html.replace(/<noscript>[\s\S]*?<\/noscript>/g, ''), /http-equiv="refresh"/, 'a reader with script never refreshes');
  const body = /<body>[\s\S]*<noscript>([\s\S]*?)<\/noscript>/.exec(p.html)?.[1] ?? '';
  assert.match(body, /<li data-step="approve"><span class="name">Approve<\/span>[\s\S]*SUSPENDED/);
  assert.ok(!p.html.includes('cb-token-that-resumes-the-run'), 'the callback token is not on the page');
  // The hash is the style element's: a browser applies exactly it.
  const style = /<noscript>[^<]*(?:<meta[^>]*>)?<style>([\s\S]*?)<\/style>/.exec(head)?.[1];
  assert.ok(style);
  const { createHash } = await import('node:crypto');
  assert.equal(`'sha256-${createHash('sha256').update(style!).digest('base64')}'`, STYLE_HASH);
});

test('a finished run\'s page does not refresh; without the console the server-rendered page is answered, with no script at all', async () => {
  const { key } = keys.issue('default', RUN_ID);
  const done = await serve({ index: INDEX, status: 'succeeded' }, `/launch/${key}`);
  assert.doesNotMatch(done.html, /http-equiv="refresh"/);
  const plain = await serve({ index: null }, `/launch/${key}`);
  assert.equal(plain.status, 200);
  assert.doesNotMatch(plain.html, /<script/i);
  assert.match(plain.html, /<meta http-equiv="refresh" content="3">/);
  assert.match(plain.headers.get('content-security-policy')!, /^default-src 'none'; style-src 'sha256-/);
  assert.match(plain.html, /<li data-step="approve">/);
});

test('refused keys and a missing run answer their pages (403, 404), framed as configured', async () => {
  const other = keys.issue('default', '01890000-0000-7000-8000-00000000ffff').key;
  const gone = await serve({ index: INDEX, frameAncestors: 'https://luma.example.com' }, `/launch/${other}`);
  assert.equal(gone.status, 404);
  assert.match(gone.html, /Run not found/);
  assert.match(gone.headers.get('content-security-policy')!, /frame-ancestors https:\/\/luma\.example\.com/);
  const bad = await serve({ index: INDEX }, '/launch/not-a-key');
  assert.equal(bad.status, 403);
  assert.match(bad.html, /not valid/);
  assert.doesNotMatch(bad.html, /<script/i);
  const expired = new LaunchKeys(launchSecret('a master key for the test'), 1, () => now - 5000).issue('default', RUN_ID).key;
  const old = await serve({ index: INDEX }, `/launch/${expired}`);
  assert.equal(old.status, 403);
  assert.match(old.html, /expired/);
  const { key } = keys.issue('default', RUN_ID);
  const framed = await serve({ index: INDEX, frameAncestors: "'self' https://*.example.com" }, `/launch/${key}`);
  assert.match(framed.headers.get('content-security-policy')!, /frame-ancestors 'self' https:\/\/\*\.example\.com/);
});

test('FLOWGATE_LAUNCH_FRAME_ANCESTORS: sources as CSP writes them; anything that could end the directive is refused', () => {
  assert.equal(parseFrameAncestors(undefined), null);
  assert.equal(parseFrameAncestors('  '), null);
  assert.equal(parseFrameAncestors("https://luma.example.com  'self'"), "https://luma.example.com 'self'");
  assert.equal(parseFrameAncestors('https://*.example.com:8443 http://127.0.0.1:3000 https:'), 'https://*.example.com:8443 http://127.0.0.1:3000 https:');
  assert.equal(parseFrameAncestors("'none'"), "'none'");
  for (const bad of ["'none' https://a.example", 'https://a.example; script-src *', 'https://a.example,https://b.example', "'unsafe-inline'", 'https://a.example/"x', 'https://a..example']) {
    assert.throws(() => parseFrameAncestors(bad), /FLOWGATE_LAUNCH_FRAME_ANCESTORS/, bad);
  }
});

test('the run as a launch key reads it has no callback URL, result URL, parent or API links', () => {
  const shown = launchRunView(run('waiting'), 'http://127.0.0.1');
  assert.equal(shown.id, RUN_ID);
  assert.equal(shown.status, 'waiting');
  for (const k of ['callback_url', 'result_url', 'links', 'parent_run_id']) assert.equal(k in shown, false, k);
  assert.ok(!JSON.stringify(shown).includes('cb-token-that-resumes-the-run'));
});

test('consoleRunPage keeps an index without a <noscript> or a <title> whole', () => {
  const parts = runPageParts({ run: run('running'), workflow, records, now, expiresAt: now + 1000 });
  const html = consoleRunPage('<html><head></head><body><div id="root"></div></body></html>', parts);
  assert.match(html, /<title>Review &lt;b&gt;/);
  assert.match(html, /<div id="root"><\/div><noscript>\n<h1>/);
  assert.match(html, /<\/noscript><\/body>/);
});
