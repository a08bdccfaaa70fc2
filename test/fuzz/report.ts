/** The fuzzer's summary: one row per category, one column per kind of finding, then the first failing request of each. */
import { KINDS } from './oracles.js';
import { CATEGORIES } from './requests.js';
import type { FuzzReport } from './fuzz.js';

export function summary(r: FuzzReport, replay: string): string {
  const cols = ['category', 'inputs', ...KINDS];
  const rows: string[][] = CATEGORIES.map((c) => [c, String(r.tried[c]), ...KINDS.map((k) => String(r.counts[c][k]))]);
  rows.push(['total', String(r.requests), ...KINDS.map((k) => String(CATEGORIES.reduce((n, c) => n + r.counts[c][k], 0)))]);
  const width = cols.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join(' | ')} |`;
  const out = [
    `seed ${r.seed}: ${r.requests} requests in ${(r.elapsedMs / 1000).toFixed(1)} s, ${r.restarts} server restart(s)${r.skipped ? `, ${r.skipped} not sendable (skipped)` : ''}`,
    '',
    line(cols),
    `|${width.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ];
  if (r.first.length) {
    out.push('', 'first failing request of each kind and category:');
    for (const f of r.first) {
      out.push(`- ${f.kind} [${f.category}] #${f.index} ${f.route}: ${f.detail}`, `    request: ${f.request}`);
      if (f.answer) out.push(`    answer:  ${f.answer}`);
    }
    out.push('', `replay: ${replay} (request #N is built from the seed and N; --runs N+1 replays the run up to it)`);
  }
  return out.join('\n');
}
