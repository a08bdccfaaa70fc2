/**
 * The server-rendered run page behind a launch-in-context URL (docs/spec.md §8.18), for readers
 * without JavaScript: inside the console's page as its <noscript> (consoleRunPage), or the whole page
 * when the console is not built. It shows the run's status (in the Luma API's vocabulary) and, while it
 * means something, its progress; the workflow's steps as a graph (inline SVG, branch edges labelled
 * with their condition, the path the run took drawn bold) and as an ordered list, each with the status
 * of its latest execution and a `foreach`'s child counts; and the step records in execution order.
 * While the run is active the page refreshes itself (meta refresh). Every value that comes from users
 * (names, ids, messages, conditions) is HTML-escaped. Its one style element is allowed by hash
 * (STYLE_HASH): the pages carry no inline style or script beyond it.
 */
import { createHash } from 'node:crypto';
import { isTerminal, type Run, type StepDef, type StepRecord, type Workflow } from '../../core/types.js';
import { childCounts as countsOf, lumaRunStatus, lumaStepStatus } from './luma-history.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (v: unknown): string => String(v ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** Seconds between refreshes of an active run's page. */
export const REFRESH_SECONDS = 3;
const REFRESH_META = `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">`;

const iso = (t: number | null): string => (t === null ? '—' : new Date(t).toISOString().replace('.000Z', 'Z'));
const duration = (ms: number): string => (ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`);

/** Luma's statuses (and NOT REACHED for a step without a record), each with its colour. */
const COLORS: Record<string, string> = {
  COMPLETED: '#2e7d32', FAILED: '#c62828', RUNNING: '#1565c0', SUSPENDED: '#b7791f', TERMINATED: '#57606a', 'NOT REACHED': '#9e9e9e',
  /** A step that completed while some of its children failed: not a clean success. */
  'COMPLETED WITH FAILURES': '#bc4c00',
};
const NOT_REACHED = 'NOT REACHED';
const cssClass = (status: string): string => `s-${status.toLowerCase().replace(/ /g, '-')}`;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:16px 24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.muted{color:#656d76}.status{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
${Object.entries(COLORS).map(([k, c]) => `.${cssClass(k)}{background:${c}}`).join('')}
progress{width:240px;vertical-align:middle}.counts{font-size:12px}
ol.steps li{margin:4px 0}table{border-collapse:collapse;min-width:60%}
th,td{border-bottom:1px solid #d0d7de;padding:4px 10px;text-align:left;vertical-align:top}
.err{color:#c62828}svg text{font:13px system-ui,sans-serif}
`;

/** The style element's CSP source: the console's page allows exactly this inline style, nothing else. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** The steps a step can go to, with why (for the graph's labels). */
function targets(step: StepDef, following: string | undefined): { to: string; why: string }[] {
  const out: { to: string; why: string }[] = [];
  if (step.type === 'condition') {
    const cases = Array.isArray(step.cases) ? (step.cases as { when?: unknown; next?: unknown }[]) : [];
    for (const c of cases) if (typeof c?.next === 'string') out.push({ to: c.next, why: `when ${String(c.when ?? '')}` });
    const fallback = typeof step.default === 'string' ? step.default : following;
    if (fallback) out.push({ to: fallback, why: 'otherwise' });
  } else if (step.type !== 'end') {
    const next = typeof step.next === 'string' ? step.next : following;
    if (next) out.push({ to: next, why: '' });
  }
  if (typeof step.on_error === 'string') out.push({ to: step.on_error, why: 'on error' });
  return out;
}

function statusBadge(status: string): string {
  return `<span class="status ${escapeHtml(cssClass(status))}">${escapeHtml(status)}</span>`;
}

/** A `foreach` record's child counts, as it keeps them in its output while and after it runs. */
const childCounts = (record: StepRecord | undefined): ReturnType<typeof countsOf> =>
  (record?.type === 'foreach' ? countsOf(record.output) : null);

/** The transitions the run took: each record's step to the next record's step, in execution order. */
function takenEdges(records: StepRecord[]): Set<string> {
  const taken = new Set<string>();
  const ordered = [...records].sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < ordered.length; i++) taken.add(`${ordered[i - 1].step_id}→${ordered[i].step_id}`);
  return taken;
}

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The inline SVG graph: one box per step in definition order, arrows for every transition. */
function graphSvg(steps: StepDef[], statusOf: (id: string) => string, taken: Set<string>): string {
  const W = 640;
  const BOX_W = 260;
  const BOX_H = 40;
  const GAP = 34;
  const X = 20;
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const yOf = (i: number): number => 10 + i * (BOX_H + GAP);
  const height = yOf(steps.length) + 10;
  const parts: string[] = [];
  parts.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#57606a"/></marker></defs>');
  steps.forEach((step, i) => {
    const y = yOf(i);
    // Each label of a step on a line of its own: a condition's cases all leave from its right side.
    const labels = { down: 0, up: 0 };
    for (const t of targets(step, steps[i + 1]?.id)) {
      const j = index.get(t.to);
      if (j === undefined) continue;
      const took = taken.has(`${step.id}→${t.to}`);
      const stroke = took ? 'stroke="#0b3d91" stroke-width="3"' : 'stroke="#8c959f"';
      const mark = `data-edge="${escapeHtml(`${step.id}→${t.to}`)}"${took ? ' data-taken="true"' : ''}`;
      if (j === i + 1 && !t.why) {
        parts.push(`<line ${mark} x1="${X + BOX_W / 2}" y1="${y + BOX_H}" x2="${X + BOX_W / 2}" y2="${yOf(j) - 2}" ${stroke} marker-end="url(#arrow)"/>`);
      } else {
        // Other transitions curve around the right side of the column, labelled with their condition.
        const y1 = y + BOX_H / 2;
        const y2 = yOf(j) + BOX_H / 2;
        const bend = X + BOX_W + 30 + Math.min(120, Math.abs(j - i) * 14);
        const down = j > i ? 1 : -1;
        parts.push(`<path ${mark} d="M${X + BOX_W},${y1} C${bend},${y1} ${bend},${y2} ${X + BOX_W + 2},${y2}" fill="none" ${stroke} stroke-dasharray="${t.why === 'on error' ? '4 3' : '0'}" marker-end="url(#arrow)"><title>${escapeHtml(`${step.id} → ${t.to}${t.why ? ` (${t.why})` : ''}`)}</title></path>`);
        if (t.why) {
          const k = down > 0 ? labels.down++ : labels.up++;
          const ty = down > 0 ? y1 + 18 + k * 13 : y1 - 10 - k * 13;
          parts.push(`<text x="${X + BOX_W + 8}" y="${ty}" font-size="11" fill="${took ? '#0b3d91' : '#57606a'}">${escapeHtml(clip(t.why, 40))}</text>`);
        }
      }
    }
  });
  steps.forEach((step, i) => {
    const y = yOf(i);
    const status = statusOf(step.id);
    const color = COLORS[status] ?? COLORS[NOT_REACHED];
    const label = step.name ?? step.id;
    const shown = label.length > 30 ? `${label.slice(0, 29)}…` : label;
    parts.push(`<g data-step="${escapeHtml(step.id)}"><title>${escapeHtml(`${label} (${step.type}): ${status}`)}</title>`
      + `<rect x="${X}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${color}" fill-opacity="0.12" stroke="${color}" stroke-width="2"/>`
      + `<text x="${X + 10}" y="${y + 17}" fill="#1f2328">${escapeHtml(shown)}</text>`
      + `<text x="${X + 10}" y="${y + 33}" fill="${color}">${escapeHtml(`${step.type} · ${status}`)}</text></g>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="workflow graph" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}">${parts.join('')}</svg>`;
}

export interface RunPageInput {
  run: Run;
  /** The workflow version the run executes (null if it is gone: only the records are shown). */
  workflow: Workflow | null;
  records: StepRecord[];
  now: number;
  /** When the key that opened the page stops working (epoch ms). */
  expiresAt: number;
}

/** The run page in pieces: its title, what goes into <head> (the refresh), and the body's content. */
export interface RunPageParts {
  title: string;
  /** True while the run can still change: the page refreshes itself. */
  active: boolean;
  body: string;
}

export function runPageParts({ run, workflow, records, now, expiresAt }: RunPageInput): RunPageParts {
  const active = !isTerminal(run.status);
  const latest = new Map<string, StepRecord>();
  const times = new Map<string, number>();
  for (const r of records) {
    latest.set(r.step_id, r);
    times.set(r.step_id, (times.get(r.step_id) ?? 0) + 1);
  }
  const recordStatus = (rec: StepRecord): string => {
    const status = lumaStepStatus(rec, run);
    return status === 'COMPLETED' && (childCounts(rec)?.failed ?? 0) > 0 ? 'COMPLETED WITH FAILURES' : status;
  };
  const statusOf = (id: string): string => {
    const rec = latest.get(id);
    return rec ? recordStatus(rec) : NOT_REACHED;
  };
  const steps = workflow?.definition.steps ?? [];
  // Progress means something while the run is active and has moved it (a foreach, a step's `progress`).
  const showProgress = active && run.progress > 0;
  const progress = Math.floor(run.progress);

  const countsText = (rec: StepRecord | undefined): string => {
    const c = childCounts(rec);
    return c ? ` <span class="counts muted">${c.succeeded} succeeded · ${c.failed} failed · ${c.total} children</span>` : '';
  };
  const stepList = steps.map((s) => {
    const n = times.get(s.id) ?? 0;
    const rec = latest.get(s.id);
    const err = rec?.status === 'failed' && rec.error ? ` <span class="err">${escapeHtml(rec.error.message)}</span>` : '';
    return `<li data-step="${escapeHtml(s.id)}"><span class="name">${escapeHtml(s.name ?? s.id)}</span> <span class="muted">(${escapeHtml(s.type)})</span> ${statusBadge(statusOf(s.id))}${n > 1 ? ` <span class="muted">×${n}</span>` : ''}${countsText(rec)}${err}</li>`;
  }).join('\n');

  const rows = records.map((r) => {
    const spent = (r.finished_at ?? now) - r.started_at;
    return `<tr><td>${r.seq}</td><td>${escapeHtml(r.name ?? r.step_id)}</td><td>${escapeHtml(r.type)}</td><td>${statusBadge(recordStatus(r))}${countsText(r)}</td>`
      + `<td>${escapeHtml(iso(r.started_at))}</td><td>${escapeHtml(duration(Math.max(0, spent)))}</td><td>${Math.max(1, r.attempts.length)}</td>`
      + `<td class="err">${escapeHtml(r.error?.message ?? '')}</td></tr>`;
  }).join('\n');

  const runError = run.error && run.status === 'failed' ? `<p class="err">${escapeHtml(run.error.message)}</p>` : '';
  const body = `<h1>${escapeHtml(workflow?.name ?? run.workflow)}</h1>
<p class="muted">Run <code>${escapeHtml(run.id)}</code> · workflow <code>${escapeHtml(run.workflow)}</code> v${run.version}</p>
<p id="run-status">Status ${statusBadge(lumaRunStatus(run))}${showProgress ? ` · <progress max="100" value="${progress}">${progress}%</progress> <span id="progress">${progress}%</span>` : ''}</p>
<p class="muted">Started ${escapeHtml(iso(run.started_at ?? run.created_at))} · finished ${escapeHtml(iso(run.finished_at))}${active ? ` · this page refreshes every ${REFRESH_SECONDS} s` : ''}</p>
${runError}
<h2>Workflow</h2>
${steps.length ? graphSvg(steps, statusOf, takenEdges(records)) : '<p class="muted">The workflow definition is not available.</p>'}
<ol class="steps">
${stepList}
</ol>
<h2>Step records</h2>
${records.length ? `<table><thead><tr><th>#</th><th>Step</th><th>Type</th><th>Status</th><th>Started</th><th>Time</th><th>Attempts</th><th>Error</th></tr></thead><tbody>
${rows}
</tbody></table>` : '<p class="muted">No step has run yet.</p>'}
<p class="muted">Read-only view · this link works until ${escapeHtml(iso(expiresAt))}</p>`;
  return { title: `${workflow?.name ?? run.workflow} · run ${run.id}`, active, body };
}

/** The whole server-rendered page (answered when the console is not built). */
export function renderRunPage(input: RunPageInput): string {
  const { title, active, body } = runPageParts(input);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
${active ? `${REFRESH_META}\n` : ''}<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body>
${body}
</body></html>
`;
}

/** The page answered for a refused key or a missing run. */
export function renderRefusal(title: string, message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>
`;
}

/** Puts `text` in place of the first match of `re` at or after `from`, else before `marker` (else at the end). */
function put(html: string, from: number, re: RegExp, marker: string, text: string): string {
  const rest = html.slice(from);
  if (re.test(rest)) return html.slice(0, from) + rest.replace(re, () => text);
  const at = html.indexOf(marker, from);
  return at === -1 ? html + text : html.slice(0, at) + text + html.slice(at);
}

/**
 * The console's index.html as the launch page: the console's run page takes over with JavaScript;
 * without it the server-rendered page is shown (a <noscript> in the body), with its style and, while
 * the run is active, its refresh (a <noscript> in the head: readers that run the console do not
 * refresh). The title names the run; the console's own <noscript> note is replaced.
 */
export function consoleRunPage(index: string, parts: RunPageParts): string {
  const head = `<meta name="robots" content="noindex">\n<meta name="referrer" content="no-referrer">\n`
    + `<noscript>${parts.active ? REFRESH_META : ''}<style>${STYLE}</style></noscript>\n`;
  const fallback = `<noscript>\n${parts.body}\n</noscript>`;
  const bodyAt = Math.max(0, index.search(/<body[\s>]/));
  let html = put(index, bodyAt, /<noscript>[\s\S]*?<\/noscript>/, '</body>', fallback);
  html = put(html, 0, /<title>[\s\S]*?<\/title>/, '</head>', `<title>${escapeHtml(parts.title)}</title>`);
  const headEnd = html.indexOf('</head>');
  return headEnd === -1 ? head + html : html.slice(0, headEnd) + head + html.slice(headEnd);
}
