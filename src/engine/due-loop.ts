/**
 * A loop that sleeps until the earliest due time it knows of, runs one pass, and sleeps again.
 * Passes never overlap (a wake-up during a pass runs another pass after it); `nudge` makes it wake
 * earlier when something due sooner was just written; a failed pass is retried a second later.
 * The timer loop of parked runs and the result-delivery loop are both one of these.
 */
import type { Logger } from './executor.js';

export const MAX_SLEEP_MS = 30_000;

export class DueLoop {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = Infinity;
  private running = false;
  private rerun = false;
  private stopped = true;

  /**
   * `pass` does the due work and returns when the loop should wake next (null: nothing known,
   * sleep the maximum).
   */
  constructor(
    private readonly pass: () => Promise<number | null>,
    private readonly opts: { clock: () => number; log: Logger; what: string },
  ) {}

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Something is due at `at`: make sure the loop wakes by then. */
  nudge(at: number): void {
    if (this.stopped || at >= this.dueAt) return;
    this.arm(at);
  }

  /** Runs a pass now (after the one in progress, if any). */
  wake(): void {
    void this.tick();
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = at;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, Math.min(MAX_SLEEP_MS, at - this.opts.clock())));
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = true;
    this.dueAt = Infinity;
    try {
      const next = await this.pass();
      // A nudge that came during the pass (this.dueAt) may be earlier than what the pass saw.
      if (!this.stopped) this.arm(Math.min(next ?? this.opts.clock() + MAX_SLEEP_MS, this.dueAt));
    } catch (e) {
      this.opts.log.error({ err: e }, `${this.opts.what} failed; retrying in 1s`);
      if (!this.stopped) this.arm(Math.min(this.opts.clock() + 1000, this.dueAt));
    } finally {
      this.running = false;
      if (this.rerun && !this.stopped) {
        this.rerun = false;
        void this.tick();
      }
    }
  }
}
