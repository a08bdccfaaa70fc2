/**
 * Compiled forms of a workflow: what the engine executes. Produced once per workflow version by
 * `compileWorkflow` (core/definition.ts) and cached; evaluating them never re-parses JSONata.
 */
import type { Json, JsonObject, StepDef, Workflow } from './types.js';

/** What templates and expressions see: `data` is the JSONata input; `vars` are bound as `$name`. */
export interface Scope {
  data: JsonObject;
  /** run, workflow, steps, secrets, error, item, index, plan, now (names without the `$`). */
  vars: Record<string, unknown>;
}

/**
 * What `trySync` answers when a value cannot be had without an asynchronous evaluation (JSONata
 * itself); the caller then awaits `evaluate`. Most expressions are answered at once by the direct
 * evaluator (src/core/fast-expr.ts), and a step whose values all are runs without a promise.
 */
export const NOT_SYNC: unique symbol = Symbol('not synchronous');

/** A bare JSONata expression (`when:`, `until:`, `items:`, a string `progress:`). */
export interface Expression {
  readonly source: string;
  evaluate(scope: Scope): Promise<unknown>;
  /** The value `evaluate` would give, when it can be computed synchronously; else NOT_SYNC. */
  trySync(scope: Scope): unknown;
}

/**
 * A value that may hold `{{ expr }}` anywhere inside (strings, nested objects, arrays).
 * A string that is exactly one `{{ … }}` yields the expression's typed value; otherwise the pieces
 * are interpolated as text. `constant` is true when no `{{` occurs anywhere (evaluate is then free).
 */
export interface Template {
  readonly constant: boolean;
  evaluate(scope: Scope): Promise<Json>;
  /** The value `evaluate` would give, when every expression in it is answered synchronously; else NOT_SYNC. */
  trySync(scope: Scope): Json | typeof NOT_SYNC;
}

export interface CompiledStep {
  def: StepDef;
  index: number;
  /** Where a success goes when the outcome names no step: `next`, else the following step, else null (end). */
  next: string | null;
  /** The step's template fields, compiled (e.g. `set`, `url`, `headers`, `body`, `data`, `error`). */
  fields: Record<string, Template>;
  /** The step's expression fields: `until`, `items`, `progress`, and `cases.<i>.when` for conditions. */
  expressions: Record<string, Expression>;
}

export interface CompiledWorkflow {
  workflow: Workflow;
  start: string;
  steps: Map<string, CompiledStep>;
}

export type { Json, JsonObject };
