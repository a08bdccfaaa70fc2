/** The results of a bench run: the printed tables (Markdown, so they paste into docs) and the JSON file. */
import type { LoadRun } from './load-runner.js';
import type { ProfileSummary } from './profile.js';
import type { DiskProbe } from './disk.js';
import type { Check, Target } from './scenario.js';

export interface ScenarioResult {
  id: string;
  /** Which round of `--rounds` this measurement is (1 when the rows ran once). */
  round: number;
  title: string;
  server: string;
  target: Target | null;
  connections: number;
  load: LoadRun | null;
  /** Mean req/s of the baseline measurements just before and just after this scenario. */
  baselineRps: number | null;
  ratio: number | null;
  /**
   * Baseline server CPU per answer ÷ this row's (same neighbouring baselines): what the ratio would
   * be if both servers were CPU-bound on the same core; much less sensitive to the machine's noise.
   */
  cpuCostRatio: number | null;
  targetOk: boolean | null;
  checks: Check[];
  facts: Record<string, unknown>;
  pass: boolean;
  error: string | null;
  profile: ProfileSummary | null;
}

export interface BaselineResult {
  /** Position in the run: measured before scenario i (the last one after every scenario). */
  index: number;
  load: LoadRun;
}

/** Formats one Markdown table (`table` below; passed to the sections other files add). */
export type TableFormat = (header: string[], rows: string[][], rightAligned: Set<number>) => string;

/** The row as the tables name it: its id, and its round when the rows ran several times. */
export const rowName = (r: { id: string; round: number }, rounds: number): string => (rounds > 1 ? `${r.id} #${r.round}` : r.id);

export function targetText(t: Target | null): string {
  if (!t) return 'not judged';
  const parts: string[] = [];
  if (t.minRatio !== undefined) parts.push(`ratio ≥ ${t.minRatio.toFixed(2)}`);
  if (t.maxP99Ms !== undefined) parts.push(`p99 < ${t.maxP99Ms} ms`);
  if (t.vsRow !== undefined) parts.push(`req/s ≥ ${t.vsRow.minRatio.toFixed(2)}× (${t.vsRow.id})'s`);
  return parts.join(', ');
}

export function meetsTarget(t: Target | null, load: LoadRun, ratio: number | null): boolean | null {
  if (!t) return null;
  if (t.minRatio !== undefined && (ratio === null || ratio < t.minRatio)) return false;
  if (t.maxP99Ms !== undefined && !(load.latency.p99 < t.maxP99Ms)) return false;
  return true;
}

/** Checks every load gets, whatever the scenario: statuses as expected, no errors, bodies as expected. */
export function genericChecks(load: LoadRun, expectStatus: number, expectBody: boolean): Check[] {
  const t = load.total;
  const expected = t.status[expectStatus] ?? 0;
  const checks: Check[] = [
    { name: 'non-2xx = 0', ok: t.non2xx === 0, detail: `${t.non2xx} non-2xx of ${t.answers} answers ${JSON.stringify(t.status)}` },
    { name: `every answer ${expectStatus}`, ok: expected === t.answers, detail: `${expected} of ${t.answers}` },
    { name: 'no errors or timeouts', ok: t.errors === 0, detail: `${t.errors} errors (${t.timeouts} timeouts)${load.firstError ? `, first: ${load.firstError}` : ''}` },
  ];
  if (expectBody) {
    checks.push({ name: 'every body as expected', ok: t.mismatches === 0, detail: `${t.mismatches} mismatches${load.firstMismatch ? `, first: ${load.firstMismatch}` : ''}` });
  }
  return checks;
}

/** Server CPU (all its threads) per answer in the measured window, µs. */
export function cpuPerRequestUs(l: LoadRun): number | null {
  return l.serverCpu && l.rps > 0 ? (l.serverCpu.seconds * 1e6) / (l.rps * l.measuredSeconds) : null;
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
const threadText = (l: LoadRun): string =>
  l.serverMainThread ? `${pct(l.serverMainThread.onCpu)} / ${pct(l.serverMainThread.waitingForCpu)} / ${pct(l.serverMainThread.blockedOrIdle)}` : '-';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));

function table(header: string[], rows: string[][], rightAligned: Set<number>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (rightAligned.has(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** `sections`: more tables (the PostgreSQL rows'), made with the same table format, printed before the failures. */
export function formatTables(
  baselines: BaselineResult[], results: ScenarioResult[], connections: number, disk: DiskProbe, sections: (format: TableFormat) => string[] = () => [],
): string {
  const rounds = Math.max(1, ...results.map((r) => r.round));
  const name = (r: ScenarioResult): string => rowName(r, rounds);
  const mean = baselines.reduce((s, b) => s + b.load.rps, 0) / baselines.length;
  const spread = baselines.map((b) => int(b.load.rps)).join(', ');
  const rows: string[][] = [];
  const p50s = baselines.map((b) => b.load.latency.p50);
  const p99s = baselines.map((b) => b.load.latency.p99);
  const avg = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  rows.push(['baseline: plain node:http, same 202 JSON', int(mean), ms(avg(p50s)), ms(avg(p99s)), '1.00', 'ceiling', '-']);
  for (const r of results) {
    const l = r.load;
    rows.push([
      `(${name(r)}) ${r.title}`,
      l ? int(l.rps) : '-', l ? ms(l.latency.p50) : '-', l ? ms(l.latency.p99) : '-',
      r.ratio === null ? '-' : r.ratio.toFixed(2),
      targetText(r.target),
      r.error ? 'ERROR' : r.pass ? 'pass' : 'FAIL',
    ]);
  }
  const main = table(['scenario', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'target', 'result'], rows, new Set([1, 2, 3, 4]));

  const detailRows = results.filter((r) => r.load).map((r) => {
    const l = r.load!;
    const f = r.facts;
    const cpuPerReq = cpuPerRequestUs(l);
    return [
      name(r), int(l.total.ok2xx), String(l.total.non2xx), String(l.total.errors),
      f.runsCreated === undefined ? '-' : int(Number(f.runsCreated)),
      f.runsSucceeded === undefined ? '-' : int(Number(f.runsSucceeded)),
      f.settleSecondsAfterLoad === undefined ? '-' : Number(f.settleSecondsAfterLoad).toFixed(1),
      l.serverCpu ? l.serverCpu.cores.toFixed(2) : '-',
      cpuPerReq === null ? '-' : int(cpuPerReq),
      r.cpuCostRatio === null ? '-' : r.cpuCostRatio.toFixed(2),
      l.generatorCpu ? l.generatorCpu.cores.toFixed(2) : '-',
      l.otherCpu ? l.otherCpu.cores.toFixed(2) : '-',
      threadText(l),
    ];
  });
  const baselineRows = baselines.map((b, i) => {
    const l = b.load;
    const cpuPerReq = cpuPerRequestUs(l);
    return [`baseline #${i + 1}`, int(l.total.ok2xx), String(l.total.non2xx), String(l.total.errors), '-', '-', '-',
      l.serverCpu ? l.serverCpu.cores.toFixed(2) : '-', cpuPerReq === null ? '-' : int(cpuPerReq), '1.00', l.generatorCpu ? l.generatorCpu.cores.toFixed(2) : '-',
      l.otherCpu ? l.otherCpu.cores.toFixed(2) : '-', threadText(l)];
  });
  const details = table(
    ['row', '2xx (all phases)', 'non-2xx', 'errors', 'runs created', 'succeeded', 'settle s', 'server cores', 'server CPU µs/req', 'CPU-cost ratio', 'loadgen cores', 'other procs cores', 'server main thread: on CPU / waiting for CPU / blocked or idle'],
    [...baselineRows, ...detailRows], new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
  );
  const failing = results.flatMap((r) => [
    ...(r.error ? [`(${name(r)}) error: ${r.error}`] : []),
    ...r.checks.filter((c) => !c.ok).map((c) => `(${name(r)}) check failed: ${c.name}: ${c.detail}`),
  ]);
  return [
    `${connections} connections; ratio = req/s ÷ mean of the baseline measured just before and just after that row (baseline runs: ${spread} req/s)`,
    `CPU-cost ratio = baseline server CPU µs per answer ÷ this row's; "other procs" = CPU used by the rest of the machine during the window (noise)`,
    `disk: fdatasync after a 96 KiB WAL-like write p50 ${disk.p50Ms.toFixed(2)} ms, p90 ${disk.p90Ms.toFixed(2)} ms (every durable answer waits for one group commit's)`,
    '',
    main,
    '',
    details,
    ...sections(table),
    ...(failing.length ? ['', ...failing] : []),
  ].join('\n');
}
