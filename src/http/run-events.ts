/**
 * One run's committed changes as Server-Sent Events (`GET /v1/runs/{id}/events` and the launch view's
 * stream): the run's current state first, then each step record and run state as it is committed,
 * the stream ending with the run. Subscribed before the current state is read (`followRun` is called
 * before the stream opens), so nothing committed in between is missed; what arrived meanwhile is
 * replayed after the first state.
 */
import { isTerminal, type Run } from '../core/types.js';
import type { RunBus, RunEvent } from '../engine/bus.js';
import type { SseStream } from './sse.js';
import { stepRecordView } from './views.js';

export interface RunFollow {
  /** Unsubscribes (call it when the stream closes). */
  stop(): void;
  /** Sends the current state (read by `current`, else `fallback`) and then every change, until the run ends or the stream closes. */
  stream(stream: SseStream, current: () => Promise<Run | null>, fallback: Run, view: (run: Run) => unknown): Promise<void>;
}

export function followRun(bus: RunBus, runId: string): RunFollow {
  const queue: RunEvent[] = [];
  let off = bus.subscribe(runId, (e) => queue.push(e));
  return {
    stop: () => off(),
    async stream(stream, current, fallback, view) {
      const onEvent = (e: RunEvent): void => {
        if (e.type === 'step') stream.send('step', stepRecordView(e.record));
        else {
          stream.send('run', view(e.run));
          if (isTerminal(e.run.status)) stream.close();
        }
      };
      const now = (await current()) ?? fallback;
      if (stream.closed) return;
      stream.send('run', view(now));
      if (isTerminal(now.status)) return stream.close();
      off();
      for (const e of queue.splice(0)) if (!stream.closed) onEvent(e);
      if (stream.closed) return;
      off = bus.subscribe(runId, onEvent);
    },
  };
}
