/**
 * Launch in context (docs/compatibility.md "Launch in context"): the page a launch URL opens and the
 * two reads its key allows.
 *
 * `GET /launch/{key}` needs no login. With the console built it answers the console's index.html:
 * the console's run page, read-only, takes over (ui/src/pages/launch/), and a <noscript> carries
 * the server-rendered page (launch-page.ts) for readers without JavaScript. Without the console it
 * answers the server-rendered page alone. A refused key answers 403, a run that is gone 404, each
 * with a short page that says so.
 *
 * The console's page reads with `Authorization: Launch <key>` (never the key in another URL):
 * `GET /launch/api/run` (the run, its step records and the workflow version it runs) and
 * `GET /launch/api/run/events` (its changes as Server-Sent Events, ending when the run ends or the
 * key expires). The key opens nothing else: it is not a principal of any other route (src/http/auth.ts
 * refuses the Launch scheme there with 403). What it reads leaves out what would act on the run or
 * open more: the callback URL (it resumes a waiting run), the result URL, links to the native API,
 * the parent run, and the workflow's trigger identifiers (a direct URL's hash starts runs).
 */
import { FlowgateError, notFound } from '../../core/errors.js';
import type { Run } from '../../core/types.js';
import { launchKeyOf } from '../auth.js';
import { consoleCsp, type ConsoleSite } from '../console.js';
import type { Ctx, RouteDef } from '../context.js';
import type { RouteDeps } from '../deps.js';
import { sendJson, sendText } from '../problem.js';
import { header } from '../request.js';
import { followRun } from '../run-events.js';
import { openSse } from '../sse.js';
import { runView, stepRecordView, workflowView } from '../views.js';
import type { LaunchGrant, LaunchKeys } from './launch.js';
import { consoleRunPage, renderRefusal, renderRunPage, runPageParts, STYLE_HASH } from './launch-page.js';

export interface LaunchOptions {
  keys: LaunchKeys;
  /** Who may frame the launch pages (FLOWGATE_LAUNCH_FRAME_ANCESTORS): a CSP source list, or null for anyone. */
  frameAncestors: string | null;
  /** The web console, whose run page the launch page is; absent or not built: the server-rendered page. */
  console?: Pick<ConsoleSite, 'index'>;
}

const SOURCE = /^(?:'self'|\*|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::(?:\d{1,5}|\*))?(?:\/[A-Za-z0-9._~%/-]*)?)$/i;

/**
 * FLOWGATE_LAUNCH_FRAME_ANCESTORS: the pages that may show launch pages in a frame, as CSP
 * `frame-ancestors` sources separated by spaces (`https://luma.example.com`, `https://*.example.com`,
 * `'self'`, `'none'`). Unset or empty: any page may (the directive is left out). Anything else
 * stops the start, naming the bad source.
 */
export function parseFrameAncestors(raw: string | undefined): string | null {
  const sources = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  if (sources.length === 0) return null;
  if (sources.includes("'none'")) {
    if (sources.length > 1) throw new Error("FLOWGATE_LAUNCH_FRAME_ANCESTORS: 'none' stands alone (no page may frame the launch pages)");
    return "'none'";
  }
  const bad = sources.find((s) => !SOURCE.test(s));
  if (bad !== undefined) {
    throw new Error(`FLOWGATE_LAUNCH_FRAME_ANCESTORS: ${JSON.stringify(bad)} is not a frame-ancestors source (e.g. https://luma.example.com, https://*.example.com, 'self')`);
  }
  return sources.join(' ');
}

/** The run as the launch view reads it: the native view without what acts on the run or leads elsewhere. */
export function launchRunView(run: Run, base: string): Record<string, unknown> {
  const { callback_url: _callback, result_url: _result, links: _links, parent_run_id: _parent, ...shown } = runView(run, base);
  return shown;
}

/** setTimeout for any delay (Node's own fires at once past 2^31 - 1 ms, and a key may live longer). */
function at(when: number, clock: () => number, fn: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = when - clock();
    if (left <= 0) return fn();
    timer = setTimeout(arm, Math.min(left, 2 ** 31 - 1));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

export function launchRoutes(d: RouteDeps, opts: LaunchOptions): RouteDef[] {
  const { keys } = opts;
  const HTML = 'text/html; charset=utf-8';
  const framing = { frameAncestors: opts.frameAncestors };
  const common = { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' };
  /** The server-rendered pages: no script at all, only their one style element. */
  const plainHeaders = {
    ...common,
    'Content-Security-Policy': [
      "default-src 'none'", `style-src ${STYLE_HASH}`, 'img-src data:', "base-uri 'none'", "form-action 'none'",
      ...(opts.frameAncestors === null ? [] : [`frame-ancestors ${opts.frameAncestors}`]),
    ].join('; '),
  };
  /** The console's page: the console's policy, but framing as configured, the fallback's style, no forms. */
  const consoleHeaders = { ...common, 'Content-Security-Policy': consoleCsp({ ...framing, styleHashes: [STYLE_HASH], formAction: "'none'" }) };

  const refusal = (ctx: Ctx, status: number, title: string, message: string): void =>
    sendText(ctx.res, status, HTML, renderRefusal(title, message), plainHeaders);

  const page = async (ctx: Ctx): Promise<void> => {
    try {
      const check = keys.verify(ctx.params.key ?? '');
      if (!check.ok) {
        const expired = check.reason === 'expired';
        return refusal(ctx, 403,
          expired ? 'This link has expired' : 'This link is not valid',
          expired ? 'Launch-in-context links work for a limited time. Ask for a new link.' : 'The link is incomplete or was altered. Ask for a new link.');
      }
      const { tenant, runId, expiresAt } = check.grant;
      const run = await d.store.getRun(tenant, runId);
      if (!run) return refusal(ctx, 404, 'Run not found', 'This run no longer exists.');
      const [workflow, records] = await Promise.all([d.store.getWorkflow(tenant, run.workflow, run.version), d.store.listSteps(run.id)]);
      const input = { run, workflow, records, now: d.clock(), expiresAt };
      const index = opts.console?.index() ?? null;
      if (!index) return sendText(ctx.res, 200, HTML, renderRunPage(input), plainHeaders);
      sendText(ctx.res, 200, HTML, consoleRunPage(index.toString('utf8'), runPageParts(input)), consoleHeaders);
    } catch (e) {
      // Logged without the path: it holds the key.
      if (!(e instanceof FlowgateError)) d.log.error({ err: e, path: '/launch/{key}' }, 'launch page failed');
      const status = e instanceof FlowgateError && e.status >= 500 ? e.status : 500;
      refusal(ctx, status, 'This page could not be shown', 'Try again in a moment.');
    }
  };

  /** The grant of the request's `Authorization: Launch <key>`: 401 without one, 403 for a key refused. */
  const grantOf = (ctx: Ctx): LaunchGrant => {
    const key = launchKeyOf(header(ctx, 'authorization'));
    if (key === null) {
      throw new FlowgateError('unauthorized', 'send the launch-in-context key as Authorization: Launch <key>', { headers: { 'WWW-Authenticate': 'Launch' } });
    }
    const check = keys.verify(key);
    if (check.ok) return check.grant;
    if (check.reason === 'expired') throw new FlowgateError('forbidden', 'the launch-in-context key has expired: ask for a new link', { extra: { reason: 'expired' } });
    throw new FlowgateError('forbidden', 'the launch-in-context key is not valid: it is incomplete or was altered', { extra: { reason: 'invalid' } });
  };

  const runOf = async (grant: LaunchGrant): Promise<Run> => {
    const run = await d.store.getRun(grant.tenant, grant.runId);
    if (!run) throw notFound('run');
    return run;
  };

  const read = async (ctx: Ctx): Promise<void> => {
    const grant = grantOf(ctx);
    const run = await runOf(grant);
    const [wf, records] = await Promise.all([d.store.getWorkflow(run.tenant, run.workflow, run.version), d.store.listSteps(run.id)]);
    sendJson(ctx.res, 200, {
      run: launchRunView(run, ctx.base),
      steps: records.map(stepRecordView),
      workflow: wf ? { id: wf.id, name: wf.name, version: wf.version, definition: workflowView(wf, ctx.base).definition } : null,
      expires_at: new Date(grant.expiresAt).toISOString(),
    }, { 'Cache-Control': 'no-store' });
  };

  /** As `GET /v1/runs/{id}/events` (src/http/routes/runs.ts), in the launch view's shape, ending when the key does. */
  const events = async (ctx: Ctx): Promise<void> => {
    const grant = grantOf(ctx);
    const run = await runOf(grant);
    const follow = followRun(d.engine.bus, run.id);
    const stream = openSse(ctx.req, ctx.res, d.sse);
    const expiry = at(grant.expiresAt, d.clock, () => {
      stream.send('expired', { expires_at: new Date(grant.expiresAt).toISOString() });
      stream.close();
    });
    stream.onClose(() => {
      follow.stop();
      expiry();
    });
    await follow.stream(stream, () => d.store.getRun(grant.tenant, run.id), run, (r) => launchRunView(r, ctx.base));
  };

  return [
    { method: 'GET', path: '/launch/:key', auth: 'public', name: 'launch.page', handler: page },
    { method: 'GET', path: '/launch/api/run', auth: 'public', name: 'launch.run', handler: read },
    { method: 'GET', path: '/launch/api/run/events', auth: 'public', name: 'launch.events', handler: events },
  ];
}
