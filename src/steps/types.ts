/**
 * The step contract. A step computes; it never writes to the store or arms timers. It returns an
 * Outcome describing what should happen, and the engine performs it (commit, park, reply, wake).
 */
import type { CompiledStep, CompiledWorkflow, NOT_SYNC, Scope } from '../core/compiled.js';
import type { Attempt, Json, JsonObject, Reply, Run, RunError, StepRecord } from '../core/types.js';

/** Outgoing HTTP as the engine provides it (the real client, or a test double in unit tests). */
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The whole exchange (connect, redirects, headers and body) must finish within this. */
  timeoutMs: number;
  /** Resolving and connecting one connection must finish within this (default 10 s, never above timeoutMs). */
  connectTimeoutMs?: number;
  tlsVerify: boolean;
  /** Bytes of response body kept; the rest is discarded and `truncated` is set. */
  maxResponseBytes: number;
  /** Follow 3xx answers with a Location (up to 5, each hop checked by the SSRF guard). Default true. */
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  truncated: boolean;
  /** The URL that gave this answer (after redirects), when the port followed any. */
  url?: string;
  /** Each redirect followed, in order: `{ status, location }`. */
  redirects?: { status: number; location: string }[];
}

/**
 * Why an outgoing request failed, as the HttpPort reports it. `code` is the attempt's error class:
 * `network`, `timeout`, `connect_timeout`, `tls`, `ssrf`, `redirects`. `retryable: false` means no
 * retry policy may repeat it (SSRF refusals and TLS verification failures, docs/spec.md §8.12).
 */
export class HttpFailure extends Error {
  constructor(readonly code: string, message: string, readonly retryable = true) {
    super(message);
    this.name = 'HttpFailure';
  }
}

export interface HttpPort {
  request(req: HttpRequest): Promise<HttpResponse>;
}

/** One child run a step asks for; `key` is unique within the step execution (e.g. the item index). */
export interface ChildSpec {
  key: string;
  workflow: string;
  data: JsonObject;
}

export type ChildStart = { key: string; run: Run } | { key: string; error: { code: string; message: string } };

/**
 * Starting child runs of the same tenant. Idempotent per (run, step record, key): a step executed
 * again after a crash gets the children it already started instead of new ones.
 */
export interface ChildPort {
  start(specs: ChildSpec[]): Promise<ChildStart[]>;
}

export interface StepContext {
  run: Readonly<Run>;
  workflow: CompiledWorkflow;
  step: CompiledStep;
  /** The JavaScript sandbox of `code` steps (absent only in unit tests of other step kinds). */
  sandbox?: SandboxPort;
  /** data + bound variables; templates evaluate against it. */
  scope: Scope;
  /** The sequence number of this step's record within the run. */
  seq: number;
  /** 1 for the first attempt of this step execution. */
  attempt: number;
  now(): number;
  http: HttpPort;
  children: ChildPort;
  /** The step record this execution continues (a resumed or retried step), else null. */
  record: StepRecord | null;
  /** The server's limits on what one step may ask for (absent in unit tests: the defaults apply). */
  limits?: StepLimits;
  /**
   * Delivers a POST to this run's own callback URL without a network call (docs/spec.md §6): the engine's
   * callback path (resume a wait, else set the reply once). Absent where there is no run (step tests).
   */
  selfCallback?: (body: JsonObject) => Promise<{ status: number; body: Json }>;
}

export interface StepLimits {
  /** Items one `foreach` may fan out to (FLOWGATE_MAX_FOREACH_ITEMS). */
  foreachItems: number;
}

/** What a step asks the engine to do. `input`/`output` are recorded on the step record. */
export type Outcome =
  | { kind: 'continue'; data?: JsonObject; next?: string | null; input?: Json; output?: Json; attempt?: Partial<Attempt>; progress?: number }
  | { kind: 'reply'; reply: Omit<Reply, 'at'>; input?: Json; output?: Json }
  /** Park until `until`, then `resume` with a timer; `output` (state) and `attempt` go on the record. */
  | { kind: 'sleep'; until: number; input?: Json; output?: Json; attempt?: Partial<Attempt> }
  | { kind: 'park'; timeoutAt: number; input?: Json }
  /** Park until one of `children` replies or ends, or `until`; `state` is kept as the record's output. */
  /** `data`: the run's data while it waits (a foreach keeps its `stats` current there). */
  | { kind: 'await'; children: string[]; wakeOn: 'reply' | 'end'; until: number; state: Json; input?: Json; progress?: number; data?: JsonObject }
  | { kind: 'retry'; at: number; input?: Json; attempt?: Partial<Attempt>; error: Omit<RunError, 'step'> }
  | { kind: 'fail'; error: Omit<RunError, 'step'>; input?: Json; output?: Json; attempt?: Partial<Attempt> }
  | { kind: 'end'; status: 'succeeded' | 'failed'; error?: Omit<RunError, 'step'>; input?: Json };

/** How a parked step is resumed. */
export type Resumption =
  | { kind: 'timer' }
  | { kind: 'callback'; body: JsonObject }
  /** A step parked by `await`: the current state of the children it awaited (any of them may be done). */
  | { kind: 'children'; runs: Run[] };

export interface StepKind {
  readonly type: string;
  execute(ctx: StepContext): Promise<Outcome>;
  /**
   * The outcome without a promise, when the step can have it synchronously (its templates are all
   * answered at once, see Template.trySync); NOT_SYNC sends the engine to `execute`. It must give
   * what `execute` would, and throw what `execute` would reject with.
   */
  executeSync?(ctx: StepContext): Outcome | typeof NOT_SYNC;
  /** For steps that park: turn the wake-up into an outcome (never `park` again for a callback). */
  resume?(ctx: StepContext, why: Resumption): Promise<Outcome>;
}

/** A typed failure a step throws; the engine records it as the step's error. */
export class StepError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'StepError';
  }
}

/**
 * User JavaScript evaluated in an isolated sandbox (the `code` step): no I/O, no clock, no host
 * objects; time, memory and stack bounded. `data` goes in as a deep copy; `value` comes back as JSON.
 */
export interface SandboxRequest {
  /** A JavaScript function body; `data` is in scope and `await` is allowed. */
  code: string;
  data: JsonObject;
  timeoutMs: number;
  /** Seeds the sandbox's deterministic Math.random (the same seed gives the same numbers). */
  seed: string;
}

export type SandboxFailureCode = 'code_timeout' | 'code_memory' | 'code_error';

export type SandboxResult =
  | { ok: true; value: Json | undefined }
  | { ok: false; error: { code: SandboxFailureCode; message: string; line?: number } };

export interface SandboxPort {
  run(req: SandboxRequest): Promise<SandboxResult>;
}
