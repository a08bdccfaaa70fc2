/**
 * The bounded fuzzer: sends generated requests to every route of a real Flowgate server, one at a
 * time, and holds each answer to the oracles (no undocumented 5xx, an answer within the bound, the
 * process alive, /healthz answering, no half-created or lost run, no run stuck running, no tenant
 * reading another's data, no wrong credential accepted). After a hang or a crash it records the
 * finding and starts a fresh server, so one defect does not hide the others.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import fc from 'fast-check';
import { closeClient, jsonOf, send, type Outcome } from './client.js';
import {
  accountRuns, adminGet, authBypass, contractBreach, crossTenantLeak, describeAnswer, describeRequest, KINDS, serverFault, type Finding, type Kind,
} from './oracles.js';
import { buildRequest, CATEGORIES, emptyPools, type Category, type FuzzRequest, type Pools } from './requests.js';
import { COMPAT_ROUTES, routesFromOpenApi, type Route } from './routes.js';
import { startWorld, type World } from './world.js';

export interface FuzzOptions {
  seed: number;
  /** Stop generating after this many seconds (the last request and the final checks still finish). */
  seconds: number;
  /** Stop after this many requests. */
  runs: number;
  /** An answer slower than this is a hang. */
  hangMs?: number;
  /** A /healthz answer slower than this while a request is handled is a stall. */
  stallMs?: number;
  /** A run of a workflow that always ends that is not over after this long is stuck. */
  stuckMs?: number;
  /** Draw only from these categories (default: all). */
  categories?: readonly Category[];
  log?: (line: string) => void;
  /** Logs every request and its answer. */
  verbose?: boolean;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  elapsedMs: number;
  restarts: number;
  tried: Record<Category, number>;
  counts: Record<Category, Record<Kind, number>>;
  /** The first finding of each (kind, category). */
  first: Finding[];
  /** Requests Node would not put on the wire (not counted as tried). */
  skipped: number;
}

/** The seed of request `index` of a run seeded `seed`. */
export const requestSeed = (seed: number, index: number): number => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) | 0;

const TERMINATES = new Set(['params', 'regex', 'expr', 'http', 'code', 'loop']);

interface Pending {
  id: string;
  tenant: 'alpha' | 'beta';
  req: FuzzRequest;
  at: number;
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const hangMs = opts.hangMs ?? 5000;
  const stallMs = opts.stallMs ?? 2000;
  const stuckMs = opts.stuckMs ?? 15_000;
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const tried = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as FuzzReport['tried'];
  const counts = Object.fromEntries(CATEGORIES.map((c) => [c, Object.fromEntries(KINDS.map((k) => [k, 0]))])) as FuzzReport['counts'];
  const first: Finding[] = [];
  let restarts = 0;
  let skipped = 0;
  let requests = 0;

  let world: World = await startWorldRetrying(log);
  let routes: Route[] = await loadRoutes(world);
  // The time budget is for requests: it starts once the first server is up.
  const deadline = Date.now() + opts.seconds * 1000;
  let pools: Pools = emptyPools();
  let pending: Pending[] = [];
  let current: FuzzRequest | null = null;
  let currentOutcome: Outcome | null = null;
  /** Set when the request at hand needs a fresh server afterwards. */
  let poisoned = false;
  const reported = new Set<string>();

  const record = (req: FuzzRequest, kind: Kind, detail: string, answer: string): void => {
    // One finding of each kind per request.
    const key = `${req.index}:${kind}`;
    if (reported.has(key)) return;
    reported.add(key);
    counts[req.category][kind]++;
    const f: Finding = { kind, category: req.category, index: req.index, route: req.route.name, request: describeRequest(req), answer, detail };
    if (!first.some((x) => x.kind === kind && x.category === req.category)) first.push(f);
    log(`#${req.index} ${kind} [${req.category}] ${req.route.name}: ${detail}`);
    if (kind === 'hang' || kind === 'crash') poisoned = true;
  };

  // /healthz, probed all along: an answer slower than stallMs is charged to the request at hand, unless
  // this process was held up as long itself (then the machine is overloaded, and nothing is learnt).
  let probing = false;
  const selfLag = monitorEventLoopDelay({ resolution: 20 });
  selfLag.enable();
  const prober = setInterval(() => {
    if (probing || !current) return;
    probing = true;
    const req = current;
    const w = world;
    selfLag.reset();
    void send(w.base, { method: 'GET', path: '/healthz', headers: {} }, stallMs * 4).then((o) => {
      probing = false;
      if (w !== world || !w.alive()) return;
      const ms = o.ok ? o.reply.ms : o.ms;
      const own = selfLag.max / 1e6;
      if (ms > stallMs && own < stallMs / 2) record(req, 'stall', `/healthz took ${ms} ms while this request was handled (bound ${stallMs} ms)`, currentOutcome ? describeAnswer(currentOutcome) : 'still in flight');
    });
  }, 250);

  const restart = async (): Promise<void> => {
    await world.close();
    world = await startWorldRetrying(log);
    routes = await loadRoutes(world);
    pools = emptyPools();
    pending = [];
    restarts++;
    poisoned = false;
  };

  const checkPending = async (all: boolean): Promise<void> => {
    const now = Date.now();
    const due = pending.filter((p) => all || now - p.at >= stuckMs);
    pending = pending.filter((p) => !due.includes(p));
    for (const p of due) {
      current = p.req;
      let o = await adminGet(world, p.tenant, `/v1/runs/${encodeURIComponent(p.id)}`, hangMs);
      const wait = p.at + stuckMs - Date.now();
      if (wait > 0 && o.ok && o.reply.status === 200 && !['succeeded', 'failed', 'cancelled'].includes(jsonOf(o.reply)?.status)) {
        // Not over yet and not yet late: look again once it is.
        await new Promise((r) => setTimeout(r, wait));
        o = await adminGet(world, p.tenant, `/v1/runs/${encodeURIComponent(p.id)}`, hangMs);
      }
      if (!o.ok) {
        record(p.req, o.error === 'timeout' ? 'hang' : 'lost-run', `GET /v1/runs/${p.id} of the run it started, ${Math.round((Date.now() - p.at) / 1000)} s later: ${describeAnswer(o)}`, '');
        if (poisoned) break;
        continue;
      }
      const run = jsonOf(o.reply);
      if (o.reply.status !== 200 && o.reply.status < 500) record(p.req, 'lost-run', `the run it started (${p.id}) answers ${o.reply.status} later`, describeAnswer(o));
      else if (o.reply.status >= 500) record(p.req, '5xx', `reading the run it started (${p.id}) later answers ${o.reply.status}`, describeAnswer(o));
      else if (run && !['succeeded', 'failed', 'cancelled'].includes(run.status)) record(p.req, 'stuck-run', `run ${p.id} of ${run?.workflow} is still ${run?.status} after ${Math.round((Date.now() - p.at) / 1000)} s (step ${run?.step})`, '');
    }
    current = null;
  };

  try {
    for (let i = 0; i < opts.runs && Date.now() < deadline; i++) {
      const [g] = fc.sample(fc.gen(), { seed: requestSeed(opts.seed, i), numRuns: 1 });
      const req = buildRequest(g!, i, { world, pools, routes, categories: opts.categories });
      current = req;
      currentOutcome = null;
      const since = Date.now() - 2;
      const o = await send(world.base, req.out, hangMs);
      currentOutcome = o;
      if (!o.ok && o.error === 'refused-by-client') {
        skipped++;
        current = null;
        continue;
      }
      requests++;
      tried[req.category]++;
      if (opts.verbose) log(`#${i} [${req.category}] ${req.note} :: ${describeRequest(req).slice(0, 300)} => ${describeAnswer(o)}`);
      if (!o.ok && o.error === 'timeout') record(req, 'hang', `no answer within ${hangMs} ms`, describeAnswer(o));
      if (o.ok) {
        const r = o.reply;
        const fault = serverFault(req, r);
        if (fault) record(req, '5xx', fault, describeAnswer(o));
        const leak = crossTenantLeak(req, r, new Set([...world.aIds(), ...world.tenants.alpha.workflows.map((w) => w.id)]));
        if (leak) record(req, 'cross-tenant', leak, describeAnswer(o));
        const bypass = authBypass(req, r);
        if (bypass) record(req, req.foreign ? 'cross-tenant' : 'auth', bypass, describeAnswer(o));
        const breach = contractBreach(req, r, jsonOf(r));
        if (breach) record(req, 'contract', breach, describeAnswer(o));
        learn(req, r.status, jsonOf(r), pools, r.text);
        if (req.starts && !poisoned && world.alive()) {
          const acc = await accountRuns(world, req, r, since, hangMs);
          for (const p of acc.problems) record(req, p.kind, p.detail, describeAnswer(o));
          const fx = world.tenants[req.starts.tenant];
          for (const f of acc.found) {
            if (!fx.runs.includes(f.id)) fx.runs.push(f.id);
            if (f.token && !fx.callbackTokens.includes(f.token)) fx.callbackTokens.push(f.token);
            if (f.created && TERMINATES.has(req.starts.kind)) pending.push({ id: f.id, tenant: req.starts.tenant, req, at: Date.now() });
            if (req.starts.kind === 'foreach') await settle(world, req.starts.tenant, f.id, 30_000);
          }
        }
      }
      if (!world.alive()) {
        record(req, 'crash', `the server process exited (${world.proc.child.exitCode ?? world.proc.child.signalCode})`, `${describeAnswer(o)}; last output: ${world.proc.output().slice(-600)}`);
      } else if (!poisoned) {
        const h = await send(world.base, { method: 'GET', path: '/healthz', headers: {} }, hangMs);
        if (!h.ok || h.reply.status !== 200) record(req, 'hang', `/healthz did not answer after this request: ${describeAnswer(h)}`, describeAnswer(o));
      }
      current = null;
      if (!poisoned && i % 20 === 19) await checkPending(false);
      if (poisoned) {
        log(`restarting the server after request #${i}`);
        await restart();
      }
    }
    if (!poisoned) await checkPending(true);
  } finally {
    clearInterval(prober);
    selfLag.disable();
    await world.close().catch(() => {});
    closeClient();
  }
  return { seed: opts.seed, requests, elapsedMs: Date.now() - started, restarts, tried, counts, first, skipped };
}

/** A loaded machine can make a start miss its deadline: two more tries before giving up. */
async function startWorldRetrying(log: (line: string) => void): Promise<World> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startWorld();
    } catch (e) {
      if (attempt === 3) throw e;
      log(`the server did not start (${(e as Error).message.split('\n')[0]}); trying again`);
    }
  }
}

async function loadRoutes(world: World): Promise<Route[]> {
  const o = await send(world.base, { method: 'GET', path: '/v1/openapi.json', headers: {} }, 15_000);
  if (!o.ok || o.reply.status !== 200) throw new Error(`GET /v1/openapi.json: ${describeAnswer(o)}`);
  return [...routesFromOpenApi(JSON.parse(o.reply.text)), ...COMPAT_ROUTES];
}

/** Waits (bounded) until a run is over, so the work it fans out is charged to the request that started it. */
async function settle(world: World, tenant: 'alpha' | 'beta', id: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const o = await adminGet(world, tenant, `/v1/runs/${id}`, 5000);
    if (!o.ok || o.reply.status !== 200 || ['succeeded', 'failed', 'cancelled'].includes(jsonOf(o.reply)?.status)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Remembers ids the server handed out (scratch workflows, keys, logins, secrets, launch keys). */
function learn(req: FuzzRequest, status: number, body: any, pools: Pools, text: string): void {
  if (status < 200 || status >= 300 || !req.actor) return;
  const t = req.actor;
  const push = <T>(list: T[], v: T): void => {
    if (v !== undefined && v !== null && !list.includes(v) && list.length < 50) list.push(v);
  };
  switch (req.route.name) {
    case 'putWorkflow': push(pools.scratchWorkflows[t], body?.id); break;
    case 'createKey': if (body?.tenant === t) push(pools.scratchKeys[t], body?.id); break;
    case 'createApiLogin': push(pools.scratchLogins[t], body?.login); break;
    case 'putSecret': push(pools.scratchSecrets[t], decodeURIComponent(req.out.path.split('/').pop() ?? '')); break;
    case 'luma.launch': {
      const m = /\/launch\/([A-Za-z0-9_.-]+)/.exec(String(body?.resultData ?? text));
      if (m) push(pools.launchKeys[t], m[1]!);
      break;
    }
    default: break;
  }
}
