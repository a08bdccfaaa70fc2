/**
 * Flowgate's vocabulary, shared by every layer.
 *
 * - tenant: an isolated account owning workflows, runs, keys and secrets (`default` always exists).
 * - workflow: a versioned definition (declared params + steps). A run keeps the version it started with.
 * - run: one execution of one workflow version, with its own `data` object.
 * - step: one node of a workflow; a step record is what happened at one step of one run.
 * - reply: the answer a run gives its caller, at most once.
 * - ref: a caller-chosen key of a run, unique within its workflow.
 * - lease: the right of one node to advance a run, held until `lease_until`, fenced by `rev`.
 *
 * Times inside the server are epoch milliseconds; the HTTP layer renders them as ISO 8601.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';
export const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];
export const isTerminal = (s: RunStatus): boolean => s === 'succeeded' || s === 'failed' || s === 'cancelled';

export type Role = 'admin' | 'trigger' | 'read';

// ---------------------------------------------------------------- definitions

export type ParamType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';
export type ParamFormat = 'email' | 'uri' | 'date-time' | 'uuid';

export interface ParamSpec {
  type: ParamType;
  required?: boolean;
  default?: Json;
  enum?: Json[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: ParamFormat;
  description?: string;
}

export type VerifyScheme = 'standard-webhooks' | 'github' | 'stripe' | 'hmac' | 'trifacta' | 'corezoid';

/** `trigger.verify`: how an incoming request's signature is checked. */
export interface VerifySpec {
  scheme: VerifyScheme;
  /** `{{ $secrets.<name> }}`: the tenant secret that keys the signature. */
  secret: string;
  /** Accepted clock difference of a signed timestamp (a duration; schemes with a timestamp). */
  tolerance?: string;
  /** `hmac` only: the header carrying the signature, its digest, its encoding and a prefix before it. */
  header?: string;
  algorithm?: 'sha256' | 'sha512' | 'sha1';
  encoding?: 'hex' | 'base64';
  prefix?: string;
}

export interface TriggerSpec {
  /** false turns off the hash- or GUID-guarded public URLs. */
  public: boolean;
  /** An inbound signature every trigger must carry (docs/workflow-format.md, trigger options). */
  verify?: VerifySpec;
  concurrency?: number;
  /** Retry-After handed to polling callers, as a duration string. */
  retry_after?: string;
}

/** A step exactly as written in the definition (after structural validation). */
export interface StepDef {
  id: string;
  type: string;
  name?: string;
  next?: string;
  on_error?: string;
  progress?: number | string;
  [field: string]: unknown;
}

export interface Definition {
  id: string;
  name: string;
  description?: string;
  params: Record<string, ParamSpec>;
  undeclared: 'keep' | 'reject';
  trigger: TriggerSpec;
  start?: string;
  steps: StepDef[];
}

/** A stored workflow version plus the identifiers its public URLs use. */
export interface Workflow {
  tenant: string;
  id: string;
  name: string;
  version: number;
  definition: Definition;
  /** The document as the user sent it (YAML or JSON text). */
  source: string;
  conv_id: number;
  hash: string;
  guid: string;
  archived: boolean;
  created_at: number;
  updated_at: number;
}

// ---------------------------------------------------------------- runs

export interface Reply {
  status: 'ok' | 'error';
  http_status?: number;
  headers?: Record<string, string>;
  data: Json;
  at: number;
}

export interface RunError {
  step?: string;
  code: string;
  message: string;
}

/** Why a run is parked in `waiting`, and what wakes it. */
export type Parking =
  | { kind: 'delay'; step: string; seq: number }
  | { kind: 'callback'; step: string; seq: number }
  | { kind: 'retry'; step: string; seq: number; attempt: number }
  /** Waiting for child runs; woken when one of them replies (`reply`) or ends (`end`), or at wake_at. */
  | { kind: 'child'; step: string; seq: number; children: string[]; wake_on: 'reply' | 'end' };

export interface Run {
  /** A UUIDv7 whose timestamp is not earlier than `created_at` (ids sort by creation; stores rely on it to bound `since`). */
  id: string;
  tenant: string;
  workflow: string;
  version: number;
  ref: string | null;
  status: RunStatus;
  input: JsonObject;
  data: JsonObject;
  progress: number;
  /** The step to execute next, or the step the run is parked in. */
  step: string | null;
  /** How many step records the run has; the next record gets seq = step_seq + 1. */
  step_seq: number;
  reply: Reply | null;
  error: RunError | null;
  parking: Parking | null;
  /** When a parked run must be woken (delay end, wait timeout, retry backoff). */
  wake_at: number | null;
  callback_token: string;
  /** Where the run's result is POSTed when it ends (the trigger's `callback_url`). */
  result_url: string | null;
  parent: { run_id: string; step: string; seq: number } | null;
  /**
   * Facts about how the run was started that are not data (e.g. Luma's initiatorContactId,
   * initiatorApplicationId, initiationInfo). Set at creation, never changed; absent when none.
   */
  meta?: JsonObject;
  /** How many times the run was retried by `POST /v1/runs/{id}/retry`, plus one. */
  attempt: number;
  owner: string | null;
  lease_until: number | null;
  /** Bumped by every write; transitions are fenced by it. */
  rev: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export type StepStatus = 'running' | 'waiting' | 'succeeded' | 'failed' | 'skipped';

export interface Attempt {
  n: number;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  /** For http steps: method, url, headers (secrets redacted), body excerpt. */
  request?: Json;
  response?: Json;
  error?: { class: string; message: string } | null;
}

export interface StepRecord {
  run_id: string;
  seq: number;
  step_id: string;
  type: string;
  name: string | null;
  status: StepStatus;
  attempts: Attempt[];
  input: Json;
  output: Json;
  error: RunError | null;
  started_at: number;
  finished_at: number | null;
}

// ---------------------------------------------------------------- access

export interface Tenant {
  id: string;
  created_at: number;
}

export interface ApiKey {
  id: string;
  tenant: string;
  name: string;
  role: Role;
  /** sha256 hex of the token; the token itself is never stored. */
  token_hash: string;
  created_at: number;
}

export interface SecretMeta {
  name: string;
  created_at: number;
  updated_at: number;
}
