/**
 * What the engine tells about the work it commits, for metrics (src/http/metrics.ts). The engine
 * calls these after the fact, never waits on them, and works the same without an observer.
 */
import type { CreateResult, NewRun, Transition, TransitionResult } from '../store/types.js';

/** One group commit: what was written and what the store answered, in the same order. */
export interface CommitReport {
  creates: readonly NewRun[];
  created: readonly CreateResult[];
  transitions: readonly Transition[];
  applied: readonly TransitionResult[];
  /** The store call's duration. */
  seconds: number;
}

/** How one result delivery attempt ended: delivered, to be tried again, or failed for good. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed';

export interface EngineObserver {
  committed?(report: CommitReport): void;
  delivered?(outcome: DeliveryOutcome): void;
}
