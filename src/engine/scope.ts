/** The variables templates see (docs/spec.md §2 "Bound variables"), built from a run and its step records. */
import type { Scope } from '../core/compiled.js';
import type { Json, JsonObject, Run, StepRecord } from '../core/types.js';

export interface StepView {
  status: string;
  output: Json;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  response?: Json;
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export function stepView(r: StepRecord): StepView {
  const view: StepView = {
    status: r.status, output: r.output, started_at: new Date(r.started_at).toISOString(),
    finished_at: iso(r.finished_at), duration_ms: r.finished_at === null ? null : r.finished_at - r.started_at,
  };
  if (r.type === 'http') view.response = r.output;
  return view;
}

export interface ScopeSources {
  run: Run;
  workflowName: string;
  /** The callback URL of a token (built only when a template reads `$run.callback_url`). */
  callbackUrl: (token: string) => string;
  steps: Record<string, StepView>;
  secrets: Record<string, string>;
  stepCount: number;
  now: number;
}

/**
 * The scope of one step execution. `vars` is built on first use: the expressions of most steps
 * read only `data` (see src/core/fast-expr.ts), and building it costs several Date formattings.
 * A class, so a scope is one plain allocation (an object literal with a getter is not).
 */
class StepScope implements Scope {
  readonly data: JsonObject;
  private built: Record<string, unknown> | null = null;

  constructor(private readonly sources: ScopeSources) {
    this.data = sources.run.data;
  }

  get vars(): Record<string, unknown> {
    return (this.built ??= buildVars(this.sources));
  }
}

export function buildScope(s: ScopeSources): Scope {
  return new StepScope(s);
}

function buildVars(s: ScopeSources): Record<string, unknown> {
  const { run } = s;
  return {
    run: {
      id: run.id, ref: run.ref, workflow: run.workflow, version: run.version, status: run.status,
      created_at: new Date(run.created_at).toISOString(), attempt: run.attempt, callback_url: s.callbackUrl(run.callback_token),
    },
    workflow: { id: run.workflow, name: s.workflowName, version: run.version },
    steps: s.steps,
    secrets: s.secrets,
    error: run.error,
    plan: {
      name: s.workflowName, runId: run.id, startTime: iso(run.started_at ?? run.created_at),
      duration: s.now - (run.started_at ?? run.created_at), taskCount: s.stepCount,
    },
    now: new Date(s.now).toISOString(),
  };
}

/** Replaces every occurrence of a secret value inside recorded JSON with "[redacted]". */
export function redact<T extends Json>(value: T, secrets: string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: Json): Json => {
    if (typeof v === 'string') {
      let out = v;
      for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join('[redacted]');
      return out;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o: Record<string, Json> = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x);
      return o;
    }
    return v;
  };
  return walk(value) as T;
}
