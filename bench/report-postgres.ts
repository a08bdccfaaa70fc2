/**
 * The PostgreSQL rows of a bench run: targets against another row of the same run (one node on
 * PostgreSQL vs SQLite; two and three nodes vs one), and the table of what the database did per
 * trigger, each figure of a compared row also as a ratio to the row it is compared with.
 */
import { rowName, type ScenarioResult, type TableFormat } from './report.js';

/** Per trigger of the measured window (2xx answers completed in it). */
export interface PerTrigger {
  nodeCpuUs: number | null;
  dbCpuUs: number | null;
  roundTrips: number | null;
}

export function perTrigger(r: ScenarioResult): PerTrigger {
  const l = r.load;
  const db = l?.database;
  const triggers = l?.phases.measure.ok2xx ?? 0;
  return {
    nodeCpuUs: l?.serverCpu && triggers ? (l.serverCpu.seconds * 1e6) / triggers : null,
    dbCpuUs: db && triggers ? (db.backendCpuSeconds * 1e6) / triggers : null,
    roundTrips: db && triggers ? db.roundTrips / triggers : null,
  };
}

const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);

/**
 * Judges every `vsRow` target (req/s at least minRatio × the other row's, measured in the same round
 * of `--rounds`) and records, in the row's facts, its req/s and per-trigger costs as ratios to the
 * other row's (`vsRow`).
 */
export function compareWithRows(results: ScenarioResult[]): void {
  for (const r of results) {
    const vs = r.target?.vsRow;
    if (!vs || !r.load) continue;
    const other = results.find((o) => o.id === vs.id && o.round === r.round);
    if (!other?.load) {
      r.targetOk = false;
      r.checks.push({ name: `row (${vs.id}) measured`, ok: false, detail: `the target compares with row (${vs.id}): run it too (--only ${vs.id},${r.id})` });
    } else {
      const mine = perTrigger(r);
      const theirs = perTrigger(other);
      const rps = r.load.rps / other.load.rps;
      r.facts.vsRowRatio = rps;
      r.facts.vsRow = {
        id: vs.id, rps,
        nodeCpuPerTrigger: ratio(mine.nodeCpuUs, theirs.nodeCpuUs),
        dbCpuPerTrigger: ratio(mine.dbCpuUs, theirs.dbCpuUs),
        roundTripsPerTrigger: ratio(mine.roundTrips, theirs.roundTrips),
      };
      r.targetOk = r.targetOk !== false && rps >= vs.minRatio;
    }
    r.pass = r.error === null && r.targetOk !== false && r.checks.every((c) => c.ok);
  }
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const fixed = (n: unknown, digits: number): string => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '-');

/** How many statement kinds of each row the table lists under it. */
const TOP_STATEMENTS = 6;

export function postgresTables(results: ScenarioResult[], table: TableFormat): string[] {
  const pg = results.filter((r) => r.load?.database);
  if (pg.length === 0) return [];
  const rounds = Math.max(1, ...results.map((r) => r.round));
  const name = (r: ScenarioResult): string => rowName(r, rounds);
  const rows = pg.map((r) => {
    const db = r.load!.database!;
    const f = r.facts;
    const per = perTrigger(r);
    const vs = f.vsRow as { id: string; rps: number; nodeCpuPerTrigger: number | null; dbCpuPerTrigger: number | null; roundTripsPerTrigger: number | null } | undefined;
    return [
      name(r), String(r.load!.nodeCpu.length), int(db.roundTrips), int(db.groupCommits), fixed(f.triggersPerGroupCommit, 1),
      fixed(per.roundTrips, 3), fixed(f.roundTripsPerGroupCommit, 2), fixed(per.nodeCpuUs, 0), fixed(per.dbCpuUs, 0), fixed(f.dbCores, 2),
      vs ? `(${rounds > 1 ? `${vs.id} #${r.round}` : vs.id})` : '-', fixed(vs?.rps, 2), fixed(vs?.nodeCpuPerTrigger, 2), fixed(vs?.dbCpuPerTrigger, 2), fixed(vs?.roundTripsPerTrigger, 2),
    ];
  });
  const main = table(
    ['row', 'nodes', 'database round trips', 'group commits', 'triggers per group commit', 'round trips per trigger', 'round trips per group commit',
      'node CPU µs/trigger', 'database CPU µs/trigger', 'database cores', 'compared with', 'req/s ×', 'node CPU/trigger ×', 'database CPU/trigger ×', 'round trips/trigger ×'],
    rows, new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14]),
  );
  const statements = pg.flatMap((r) => {
    const by = r.load!.database!.byStatement;
    const triggers = r.load!.phases.measure.ok2xx || 1;
    const seconds = r.load!.measuredSeconds || 1;
    return Object.entries(by).slice(0, TOP_STATEMENTS).map(([text, n]) => [name(r), text, int(n), (n / triggers).toFixed(4), (n / seconds).toFixed(1)]);
  });
  const waits = pg.map((r) => {
    const { samples = 0, ...states } = r.load!.database!.waits;
    const mean = (n: number): string => (samples ? (n / samples).toFixed(2) : '-');
    const busy = Object.entries(states).filter(([k]) => k !== 'idle').sort((x, y) => y[1] - x[1]);
    return [name(r), String(samples), mean(states.idle ?? 0), busy.map(([k, n]) => `${k} ${mean(n)}`).join(', ') || '-'];
  });
  return [
    '', main,
    '', table(['row', 'statement (round trips in the window, most first)', 'round trips', 'per trigger', 'per second'], statements, new Set([2, 3, 4])),
    '', table(['row', 'samples', 'backends idle (waiting for a node)', 'backends in a statement, mean number by what they wait for ("active": on a CPU or waiting for one)'], waits, new Set([1, 2])),
  ];
}
