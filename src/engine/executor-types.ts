/** The executor's dependencies and jobs, shared by the executor and its slices. */
import type { Json, JsonObject, Run } from '../core/types.js';
import type { ChildSpec, ChildStart, HttpPort, Resumption, SandboxPort, StepLimits } from '../steps/types.js';
import type { Store } from '../store/types.js';
import type { RunBus } from './bus.js';
import type { Committer } from './committer.js';
import type { FreshRun } from './fresh-run.js';
import type { LoadedWorkflow, WorkflowCache } from './workflows.js';

export interface SecretsPort {
  /** The tenant's secrets, decrypted. */
  values(tenant: string): Promise<Record<string, string>>;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ExecutorDeps {
  store: Store;
  committer: Committer;
  bus: RunBus;
  workflows: WorkflowCache;
  http: HttpPort;
  /** The JavaScript sandbox of `code` steps; without it they fail with code_error. */
  sandbox?: SandboxPort;
  secrets: SecretsPort;
  log: Logger;
  owner: string;
  clock: () => number;
  callbackUrl: (token: string) => string;
  leaseMs: number;
  maxDataBytes: number;
  /** Steps a slice may run before it commits and yields to other runs. */
  stepsPerSlice: number;
  /** Steps one run may execute in all; a runaway loop fails the run. */
  maxStepsPerRun: number;
  maxActive: number;
  /** What one step may ask for (items of a foreach). */
  stepLimits: StepLimits;
  /** Starts child runs of `parent` for the step record `seq` (idempotent per key). */
  startChildren: (parent: Run, step: string, seq: number, specs: ChildSpec[]) => Promise<ChildStart[]>;
  /** A POST by a run's http step to its own callback URL (by token), handled without the network. */
  selfCallback?: (token: string, body: JsonObject) => Promise<{ status: number; body: Json }>;
  /** Called after every commit of a slice (timers are nudged, finished runs delivered). */
  onCommitted?: (run: Run) => void;
}

export interface Job {
  run: Run;
  resume?: Resumption;
  /** The run was reclaimed after a crash: a step left `running` is re-executed under its own record. */
  recovered?: boolean;
  /** The run is not stored yet: its first commit creates it (see FreshRun); cleared once it has. */
  fresh?: FreshRun;
  /** The run holds a slot of its workflow's concurrency cap already (started from the store's slot queue). */
  slotted?: boolean;
  /** The run's compiled workflow version, when the caller already holds it (saves a lookup). */
  loaded?: LoadedWorkflow;
  /**
   * Set by lease renewal when this node no longer holds the run (its lease expired and another node
   * claimed it, or it was cancelled): the slice stops before its next step instead of working on
   * a run whose next commit the store refuses anyway.
   */
  leaseLost?: boolean;
}
