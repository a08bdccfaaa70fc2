/**
 * A run's step records → the state of each step of its workflow and the path it took. Pure: no
 * React, no DOM, so the run page, the launch view and the tests share one reading.
 *
 * A step's state is that of its latest record (a step can run more than once: loops, retries from
 * the failed step): `running`; `parked` while it waits (a `wait` for its callback, a `delay` for its
 * time); `succeeded`, `failed`, `skipped` as recorded; `not_reached` without a record. When the run
 * itself was cancelled, a step that was still running or parked is `cancelled`.
 */
import type { RunStatus } from '../../api/types.js';

export type NodeState = 'not_reached' | 'running' | 'parked' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/** The fields of a step record this reading needs (GET /v1/runs/{id}/steps items have them). */
export interface RecordLike {
  seq: number;
  step_id: string;
  type?: string;
  status: string;
}

export interface RunStates<R extends RecordLike = RecordLike> {
  /** Every step of the definition (and any recorded step the definition does not name) → its state. */
  states: Record<string, NodeState>;
  /** Step ids in execution order, one entry per record (a step that ran twice appears twice). */
  path: string[];
  /** The transitions taken, as `from→to` keys (see `edgeKey`), start and end included. */
  taken: Set<string>;
  /** Each step's records in execution order. */
  records: Record<string, R[]>;
  /** How many times each step ran. */
  times: Record<string, number>;
}

export const edgeKey = (from: string, to: string): string => `${from}→${to}`;

export interface RunStatesOptions {
  /** The node the graph starts at (an edge from it to the first step is part of the path). */
  startNode?: string;
  /** The node the graph ends at (reached when the run succeeded). */
  endNode?: string;
}

function stateOf(record: RecordLike, runStatus: RunStatus | string): NodeState {
  const active = record.status === 'running' || record.status === 'waiting';
  if (active && runStatus === 'cancelled') return 'cancelled';
  switch (record.status) {
    case 'waiting': return 'parked';
    case 'running': return 'running';
    case 'succeeded': return 'succeeded';
    case 'failed': return 'failed';
    case 'skipped': return 'skipped';
    default: return 'running';
  }
}

export function runStates<R extends RecordLike>(stepIds: string[], records: R[], runStatus: RunStatus | string, opts: RunStatesOptions = {}): RunStates<R> {
  const ordered = [...records].sort((a, b) => a.seq - b.seq);
  const states: Record<string, NodeState> = {};
  const byStep: Record<string, R[]> = {};
  const times: Record<string, number> = {};
  for (const id of stepIds) {
    states[id] = 'not_reached';
    byStep[id] = [];
    times[id] = 0;
  }
  for (const r of ordered) {
    (byStep[r.step_id] ??= []).push(r);
    times[r.step_id] = (times[r.step_id] ?? 0) + 1;
    states[r.step_id] = stateOf(r, runStatus);
  }
  const path = ordered.map((r) => r.step_id);
  const taken = new Set<string>();
  if (path.length && opts.startNode) taken.add(edgeKey(opts.startNode, path[0]));
  for (let i = 1; i < path.length; i++) taken.add(edgeKey(path[i - 1], path[i]));
  if (path.length && opts.endNode && runStatus === 'succeeded') taken.add(edgeKey(path[path.length - 1], opts.endNode));
  return { states, path, taken, records: byStep, times };
}

/** The step ids a definition names, in order (tolerates a definition that is not what it should be). */
export function definitionStepIds(definition: unknown): string[] {
  const steps = (definition as { steps?: unknown } | null | undefined)?.steps;
  if (!Array.isArray(steps)) return [];
  return steps.map((s) => (s && typeof s === 'object' ? (s as { id?: unknown }).id : undefined)).filter((id): id is string => typeof id === 'string');
}

/** A `foreach` record's child counts, as it keeps them in its output (live while the children run). */
export function childCounts(output: unknown): { total: number; succeeded: number; failed: number } | null {
  const o = output as Record<string, unknown> | null | undefined;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return null;
  const { total, succeeded, failed } = o;
  return typeof total === 'number' && typeof succeeded === 'number' && typeof failed === 'number' ? { total, succeeded, failed } : null;
}

/** A duration in words: 850 ms, 2.4 s, 3 min 5 s, 2 h 4 min. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/** A run's duration: from start (or creation) to its end, or to `now` while it is not finished. */
export function runDuration(run: { created_at?: string | null; started_at?: string | null; finished_at?: string | null }, now: number): number | null {
  const from = Date.parse(run.started_at ?? run.created_at ?? '');
  if (Number.isNaN(from)) return null;
  const to = run.finished_at ? Date.parse(run.finished_at) : now;
  return Number.isNaN(to) ? null : Math.max(0, to - from);
}
