/**
 * A new run executed before it is stored (Engine.startRun → Executor.runFresh). Its first steps
 * run in memory and its first commit CREATES it, with those steps' records, so a run that replies
 * or ends at once costs one write instead of two. Only steps without effects run before that
 * commit (slice.ts: a step with effects commits the creation first).
 *
 * The trigger that started the run waits on `created`: answered once the creation is durable
 * (`created`, or the run that already holds its ref, in which case this one never existed), or
 * rejected when its slice fails before the creation (nothing was stored).
 */
import type { Run, StepRecord } from '../core/types.js';
import type { CreateResult, RefPolicy } from '../store/types.js';
import type { Committer } from './committer.js';

export class FreshRun {
  readonly created: Promise<CreateResult>;
  private answer!: (result: CreateResult) => void;
  private refuse!: (e: unknown) => void;

  constructor(readonly refPolicy: RefPolicy) {
    this.created = new Promise<CreateResult>((resolve, reject) => {
      this.answer = resolve;
      this.refuse = reject;
    });
  }

  /** The run's first commit: creates it with the records of the steps it ran, and answers the trigger. */
  async create(committer: Committer, run: Run, steps: StepRecord[]): Promise<CreateResult> {
    const result = await committer.create({ run, refPolicy: this.refPolicy, steps });
    this.answer(result);
    return result;
  }

  /** The run failed before it was stored: the trigger gets the error, nothing was created. */
  fail(e: unknown): void {
    this.refuse(e);
  }
}
