/**
 * What the fuzzer holds every answer to. Each check returns the findings of one request; the run
 * accounting (half-created and lost runs) asks the server itself, as the admin.
 */
import { jsonOf, send, type Outcome, type Reply } from './client.js';
import type { Category, FuzzRequest } from './requests.js';
import { A_MARKER, ADMIN_TOKEN, type Tenant, type World } from './world.js';

export const KINDS = ['5xx', 'hang', 'stall', 'crash', 'half-created', 'lost-run', 'stuck-run', 'cross-tenant', 'auth', 'contract'] as const;
export type Kind = (typeof KINDS)[number];

export interface Finding {
  kind: Kind;
  category: Category;
  index: number;
  route: string;
  request: string;
  answer: string;
  detail: string;
}

export function describeRequest(req: FuzzRequest): string {
  const { method, path, headers, body } = req.out;
  const shown = Object.entries(headers).map(([k, v]) => `${k}: ${k === 'authorization' || k === 'itas-api-access-key' ? v.replace(/(Bearer |bearer )?(.{0,12}).*/, (_, s: string | undefined, t: string) => `${s ?? ''}${t}…`) : v.length > 60 ? `${v.slice(0, 60)}…` : v}`);
  const text = body ? body.toString('utf8') : '';
  const excerpt = text.length > 240 ? `${JSON.stringify(text.slice(0, 160))}… (${body!.length} bytes)` : JSON.stringify(text);
  const p = path.length > 200 ? `${path.slice(0, 200)}… (${path.length} chars)` : path;
  return `${method} ${p} [${shown.join('; ')}] body ${body ? excerpt : '-'}`;
}

export function describeAnswer(o: Outcome): string {
  if (!o.ok) return `${o.error} after ${o.ms} ms: ${o.message}`;
  const t = o.reply.text.replace(/\s+/g, ' ');
  return `${o.reply.status} in ${o.reply.ms} ms: ${t.length > 200 ? `${t.slice(0, 200)}…` : t}`;
}

/** A run's own answer (`?wait`, result): its status is the run's, not the server's. */
const isRunAnswer = (r: Reply): boolean => r.headers['flowgate-run-id'] !== undefined || /problems\/run-failed/.test(r.text.slice(0, 300));

/** 5xx that are not documented answers; and "internal error" inside a Corezoid 200 envelope. */
export function serverFault(req: FuzzRequest, r: Reply): string | null {
  if (r.status >= 500) {
    if (r.status === 503 && r.headers['retry-after'] !== undefined) return null;
    if (isRunAnswer(r)) return null;
    if (r.status === 504 && req.route.surface === 'corezoid-sync') return null;
    // The MPO documentation's status table: incorrect API login details answer 500.
    if (r.status === 500 && req.route.surface.startsWith('corezoid') && /incorrect API login details/.test(r.text)) return null;
    return `answered ${r.status}`;
  }
  if (r.status < 300 && req.route.surface.startsWith('corezoid') && /internal error/i.test(r.text)) return 'an "internal error" op inside a 2xx envelope';
  return null;
}

/** Tenant B's answers never carry tenant A's data: A's marker, or an id of A that B's request did not name. */
export function crossTenantLeak(req: FuzzRequest, r: Reply, aIds: Set<string>): string | null {
  if (req.actor !== 'beta') return null;
  // /metrics is the server's own, across every tenant: the admin token reads it whatever tenant it
  // acts for (a tenant's key is refused there, which authBypass holds it to).
  if (req.credential === 'admin' && req.route.name === 'metrics') return null;
  if (r.text.includes(A_MARKER)) return `the answer carries tenant A's private marker`;
  const sent = `${req.out.path} ${req.out.body ? req.out.body.toString('utf8') : ''}`;
  for (const token of r.text.match(/[A-Za-z0-9_-]{6,}/g) ?? []) {
    if (aIds.has(token) && !sent.includes(token)) return `the answer carries tenant A's id ${token}`;
  }
  if (req.credential === 'key' && /"tenant"\s*:\s*"alpha"/.test(r.text)) return `a tenant B key got an answer about tenant A`;
  return null;
}

/** Documented invariants of an answer: a CSV import's counts add up (docs/api.md). */
export function contractBreach(req: FuzzRequest, r: Reply, body: any): string | null {
  if (req.route.name === 'importRuns' && r.status === 200 && body && typeof body.total === 'number' && body.dry_run !== true) {
    const { total, created, duplicates, failed } = body;
    if (created + duplicates + failed !== total) return `import counts do not add up: created ${created} + duplicates ${duplicates} + failed ${failed} ≠ total ${total}`;
  }
  return null;
}

export function authBypass(req: FuzzRequest, r: Reply): string | null {
  if (!req.expectRefused || r.status < 200 || r.status >= 300) return null;
  return req.foreign ? `another tenant's id answered ${r.status}` : `a wrong or missing credential answered ${r.status}`;
}

/** The run ids an answer says it started or returned, by surface; `created` when it counts without ids (CSV import). */
export function acknowledged(req: FuzzRequest, r: Reply): { ids: string[]; created?: number; refused: boolean; known: boolean } {
  const body = jsonOf(r);
  const header = r.headers['flowgate-run-id'];
  if (header) return { ids: [String(header)], refused: false, known: true };
  // A processed Corezoid envelope whose ops are not all ok is a 400 (docs/compatibility.md), yet its
  // ok ops took effect: such an answer is read op by op below, not as a refusal.
  const processedEnvelope = req.route.surface.startsWith('corezoid') && (r.status === 400 || r.status === 500)
    && Array.isArray(body?.ops) && body.ops.some((o: any) => o?.proc === 'ok' || o?.proc === 'not_unical_ref');
  if (r.status >= 400 && !processedEnvelope && !(req.route.surface === 'corezoid-sync' && r.status === 504)) {
    // A Sync API op whose run failed answers proc "error" without an obj_id, so a processed Sync
    // envelope that is not all ok may have created runs it does not name. It is told from a refusal
    // of the whole request by its shape: processed Sync answers are written `{"ops":[…],"request_proc":…}`
    // (the documented order), refusals `{"request_proc":…,"ops":[…]}`.
    const syncOps = req.route.surface === 'corezoid-sync' && r.text.startsWith('{"ops"');
    return syncOps ? { ids: [], refused: false, known: false } : { ids: [], refused: true, known: true };
  }
  switch (req.route.surface) {
    case 'native':
      if (req.route.name === 'triggerBatch') return { ids: (body?.items ?? []).map((x: any) => x?.run_id).filter(Boolean), refused: false, known: true };
      if (req.route.name === 'importRuns') {
        const created = Number(body?.created ?? r.headers['flowgate-import-created'] ?? NaN);
        return { ids: [], created: Number.isFinite(created) ? created : undefined, refused: false, known: Number.isFinite(created) };
      }
      return { ids: body?.id ? [body.id] : [], refused: false, known: true };
    case 'csi':
      return { ids: body?.runId ? [body.runId] : [], refused: false, known: true };
    case 'luma': {
      const id = body?.resultData?.executionConfig?.triggerId;
      return { ids: id ? [id] : [], refused: false, known: true };
    }
    case 'corezoid':
    case 'corezoid-direct': {
      if (body?.ops) return { ids: body.ops.filter((o: any) => o?.proc === 'ok' && o.obj_id).map((o: any) => String(o.obj_id)), refused: false, known: true };
      const xml = [...r.text.matchAll(/<obj_id>([^<]+)<\/obj_id>/g)].map((m) => m[1]!);
      return { ids: xml, refused: false, known: body !== undefined || xml.length > 0 || /<response>/.test(r.text) };
    }
    default:
      // The Sync API answers without run ids.
      return { ids: [], refused: false, known: false };
  }
}

export async function adminGet(world: World, tenant: Tenant, path: string, timeoutMs: number): Promise<Outcome> {
  return send(world.base, { method: 'GET', path, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'flowgate-tenant': tenant } }, timeoutMs);
}

export interface Accounting {
  problems: { kind: Kind; detail: string }[];
  /** Acknowledged runs that exist, with their callback tokens; `created`: this request created it (not an existing run it named). */
  found: { id: string; token: string | null; created: boolean }[];
}

/**
 * Counts the workflow's top-level runs created since `since` and compares them with what the answer
 * acknowledged; then reads every acknowledged run.
 */
export async function accountRuns(world: World, req: FuzzRequest, r: Reply, since: number, timeoutMs: number): Promise<Accounting> {
  const wf = req.starts!;
  const problems: Accounting['problems'] = [];
  const found: Accounting['found'] = [];
  const ack = acknowledged(req, r);
  const listed = await adminGet(world, wf.tenant, `/v1/runs?workflow=${wf.id}&since=${encodeURIComponent(new Date(since).toISOString())}&limit=1000`, timeoutMs);
  if (!listed.ok) {
    problems.push({ kind: listed.error === 'timeout' ? 'hang' : 'lost-run', detail: `listing the workflow's runs after this request: ${describeAnswer(listed)}` });
    return { problems, found };
  }
  const items: any[] = (jsonOf(listed.reply)?.items ?? []).filter((x: any) => !x.parent_run_id);
  const newIds = items.map((x) => String(x.id));
  if (ack.refused && newIds.length) problems.push({ kind: 'half-created', detail: `refused with ${r.status}, yet ${newIds.length} run(s) were created: ${newIds.slice(0, 3).join(', ')}` });
  else if (!ack.refused && ack.known) {
    if (ack.created !== undefined) {
      if (newIds.length > ack.created) problems.push({ kind: 'half-created', detail: `the import says created ${ack.created}, yet ${newIds.length} runs exist` });
      else if (newIds.length < ack.created) problems.push({ kind: 'lost-run', detail: `the import says created ${ack.created}, but only ${newIds.length} runs exist` });
    } else {
      const unacked = newIds.filter((id) => !ack.ids.includes(id));
      if (unacked.length) problems.push({ kind: 'half-created', detail: `${unacked.length} run(s) created that the answer (${r.status}) does not acknowledge: ${unacked.slice(0, 3).join(', ')}` });
    }
  }
  for (const id of [...new Set(ack.ids)].slice(0, 20)) {
    const got = await adminGet(world, wf.tenant, `/v1/runs/${encodeURIComponent(id)}`, timeoutMs);
    if (!got.ok) {
      problems.push({ kind: got.error === 'timeout' ? 'hang' : 'lost-run', detail: `GET /v1/runs/${id} (acknowledged): ${describeAnswer(got)}` });
      break;
    }
    if (got.reply.status >= 500) problems.push({ kind: '5xx', detail: `reading the acknowledged run ${id} answers ${got.reply.status}` });
    else if (got.reply.status !== 200) problems.push({ kind: 'lost-run', detail: `acknowledged run ${id}: GET answered ${got.reply.status}` });
    else found.push({ id, token: String(jsonOf(got.reply)?.callback_url ?? '').split('/').pop() || null, created: newIds.includes(id) });
  }
  return { problems, found };
}
