/**
 * `flowgate runs watch <id>`: follows GET /v1/runs/{id}/events (Server-Sent Events) and prints every
 * run and step change until the run is succeeded, failed or cancelled.
 *
 * The server sends the current run state first (docs/spec.md §8.19), then changes. Events are read by
 * shape, so both `event: run` / `event: step` with the record as data and one envelope
 * `{ run?, step? }` work. When the stream closes early (a proxy, an idle timeout) the run is read
 * once and, still active, the stream is reopened with Last-Event-ID; repeated states are not
 * printed twice. Exit code: 0 when the run succeeded, 1 when it failed or was cancelled.
 */
import { CliError, isObject, type SseEvent } from '../client.js';
import { durationBetween, formatDuration, formatProgress, formatTime } from '../format.js';
import { seg, type CliContext } from './context.js';
import { errorText, isTerminal, type RunView, type StepView } from './run-view.js';

const MAX_RECONNECTS = 10;

export interface WatchOptions {
  /** Delay before reopening a closed stream, in ms (grows with each consecutive retry). */
  reconnectDelayMs?: number;
}

export async function watchRun(ctx: CliContext, id: string, options: WatchOptions = {}): Promise<number> {
  const printer = new ChangePrinter(ctx);
  const path = `/v1/runs/${seg(id)}/events`;
  let lastEventId: string | undefined;
  let failures = 0;
  let everConnected = false;

  for (;;) {
    const controller = new AbortController();
    try {
      for await (const ev of ctx.client.events(path, { lastEventId, signal: controller.signal })) {
        everConnected = true;
        failures = 0;
        if (ev.id) lastEventId = ev.id;
        const final = printer.event(ev, id);
        if (final) {
          controller.abort();
          return printer.finish(final);
        }
      }
    } catch (err) {
      // An HTTP answer (404, 401…) or a server that was never reachable ends the watch at once.
      if (!(err instanceof CliError) || err.status !== undefined || !everConnected) throw err;
    } finally {
      controller.abort();
    }

    // The stream ended before a terminal status: read the run, then reopen the stream if it goes on.
    const run = await ctx.client.get<RunView>(`/v1/runs/${seg(id)}`);
    const final = printer.run(run);
    if (final) return printer.finish(final);
    failures++;
    if (failures > MAX_RECONNECTS) {
      throw new CliError(`the event stream of run ${id} keeps closing; gave up after ${MAX_RECONNECTS} reconnects`, {
        hint: `the run is still ${run.status ?? 'active'}: see it with flowgate runs show ${id}`,
      });
    }
    await sleep(Math.min((options.reconnectDelayMs ?? 500) * failures, 5000));
  }
}

/** Prints each distinct run/step state once; reports the run when it reaches a terminal status. */
class ChangePrinter {
  private lastRun = '';
  private readonly steps = new Map<string, string>();

  constructor(private readonly ctx: CliContext) {}

  /** Handles one event; returns the run when it is terminal. */
  event(ev: SseEvent, runId: string): RunView | undefined {
    let payload: unknown;
    try {
      payload = JSON.parse(ev.data);
    } catch {
      return undefined; // keep-alives and non-JSON notes
    }
    if (!isObject(payload)) return undefined;
    if (this.ctx.json) this.ctx.out(JSON.stringify({ event: ev.event, ...(ev.id ? { id: ev.id } : {}), data: payload }));

    const { run, steps } = classify(ev.event, payload, runId);
    for (const step of steps) this.step(step);
    return run ? this.run(run) : undefined;
  }

  run(run: RunView): RunView | undefined {
    const key = `${run.status}|${run.progress}`;
    if (key !== this.lastRun) {
      this.lastRun = key;
      if (!this.ctx.json) {
        const when = formatTime(run.finished_at ?? (run as { updated_at?: unknown }).updated_at ?? run.started_at ?? Date.now());
        const progress = typeof run.progress === 'number' ? `  ${formatProgress(run.progress)}` : '';
        this.ctx.out(`${when}  run   ${run.status ?? '?'}${progress}`);
      }
    }
    return isTerminal(run.status) ? run : undefined;
  }

  private step(s: StepView): void {
    const attempts = s.attempts ?? [];
    const key = `${s.status}|${attempts.length}|${s.finished_at ?? ''}`;
    const id = String(s.seq ?? s.step_id);
    if (this.steps.get(id) === key) return;
    this.steps.set(id, key);
    if (this.ctx.json) return;
    const when = formatTime(s.finished_at ?? s.started_at ?? Date.now());
    const duration = s.finished_at ? `  ${formatDuration(durationBetween(s.started_at, s.finished_at))}` : '';
    const attempt = attempts.length > 1 ? `  attempt ${attempts.length}` : '';
    const lastError = attempts[attempts.length - 1]?.error;
    const error = s.error
      ? `  ${errorText(s.error, false)}`
      : lastError ? `  ${lastError.class ? `[${lastError.class}] ` : ''}${lastError.message ?? ''}` : '';
    this.ctx.out(`${when}  step  ${s.step_id}${s.type ? ` (${s.type})` : ''}  ${s.status ?? '?'}${attempt}${duration}${error}`);
  }

  finish(run: RunView): number {
    if (!this.ctx.json) {
      const took = durationBetween(run.started_at ?? run.created_at, run.finished_at);
      const tail = took !== undefined ? ` in ${formatDuration(took)}` : '';
      const error = run.status === 'failed' && run.error ? `: ${errorText(run.error, true)}` : '';
      this.ctx.out(`run ${run.id} ${run.status}${tail}${error}`);
    }
    return run.status === 'succeeded' ? 0 : 1;
  }
}

/**
 * Reads an event by its name and shape: `{ run, step }` envelopes, a bare step record (has
 * `step_id`), or a bare run (named `run…`, or carrying a status without `step_id`).
 */
export function classify(name: string, payload: Record<string, unknown>, runId: string): { run?: RunView; steps: StepView[] } {
  const steps: StepView[] = [];
  let run: RunView | undefined;
  if (isObject(payload.run)) run = payload.run as unknown as RunView;
  if (isObject(payload.step)) steps.push(payload.step as unknown as StepView);
  if (Array.isArray(payload.steps)) steps.push(...payload.steps.filter(isObject).map((s) => s as unknown as StepView));
  if (run || steps.length) return { run: run && withId(run, runId), steps };

  if (typeof payload.step_id === 'string' || name.startsWith('step')) {
    if (typeof payload.step_id === 'string') steps.push(payload as unknown as StepView);
    return { steps };
  }
  if (name.startsWith('run') || typeof payload.status === 'string') {
    return { run: withId(payload as unknown as RunView, runId), steps };
  }
  return { steps };
}

const withId = (run: RunView, runId: string): RunView => (run.id ? run : { ...run, id: runId });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
