/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): a trigger's `traceparent` (and
 * `tracestate`) is kept with the run (Run.meta.trace), handed to its child runs, sent on its
 * outgoing http steps and result deliveries as a new span of the same trace, and written in the log
 * lines about the run (`trace_id`). An invalid `traceparent` is ignored, as the specification says
 * (the request is not refused for it); without one, a run belongs to no trace.
 */
import type { JsonObject, Run } from './types.js';
import { randomBytesPooled } from './ids.js';

export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** version 00: 2 hex version, 32 hex trace id, 16 hex parent id, 2 hex flags (lowercase). */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** tracestate is at most 32 list members of at most 256 characters: 512 is what we keep of it. */
const MAX_TRACESTATE = 512;

/** The valid traceparent of `value` (normalised to version 00's four fields), else null. */
export function parseTraceparent(value: string | undefined): string | null {
  if (value === undefined) return null;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags, rest] = m;
  if (version === 'ff' || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  // A version 00 header has exactly four fields; a later version may have more, of which we keep four.
  if (version === '00' && rest !== undefined) return null;
  return `00-${traceId}-${spanId}-${flags}`;
}

/** The trace context of a request's headers, or undefined when it carries no valid traceparent. */
export function traceOf(headers: Record<string, string | string[] | undefined>): TraceContext | undefined {
  const raw = headers.traceparent;
  const traceparent = parseTraceparent(Array.isArray(raw) ? raw[0] : raw);
  if (traceparent === null) return undefined;
  const state = headers.tracestate;
  const tracestate = (Array.isArray(state) ? state.join(',') : state)?.trim();
  return tracestate ? { traceparent, tracestate: tracestate.slice(0, MAX_TRACESTATE) } : { traceparent };
}

/** A new span of the same trace: the trace id and flags kept, a fresh parent id. */
export function childSpan(ctx: TraceContext): TraceContext {
  const [, traceId, , flags] = ctx.traceparent.split('-');
  let span = randomBytesPooled(8).toString('hex');
  if (span === ZERO_SPAN) span = '0000000000000001';
  const traceparent = `00-${traceId}-${span}-${flags}`;
  return ctx.tracestate ? { traceparent, tracestate: ctx.tracestate } : { traceparent };
}

/** The trace a run belongs to (kept in its meta), if any. */
export function traceOfRun(run: Pick<Run, 'meta'>): TraceContext | undefined {
  const t = run.meta?.trace as JsonObject | undefined;
  if (!t || typeof t.traceparent !== 'string') return undefined;
  return typeof t.tracestate === 'string' ? { traceparent: t.traceparent, tracestate: t.tracestate } : { traceparent: t.traceparent };
}

/** The trace id of a run, for its log lines. */
export function traceIdOf(run: Pick<Run, 'meta'>): string | undefined {
  return traceOfRun(run)?.traceparent.slice(3, 35);
}

/** The headers that carry a trace context to another service. */
export function traceHeaders(ctx: TraceContext): Record<string, string> {
  return ctx.tracestate ? { traceparent: ctx.traceparent, tracestate: ctx.tracestate } : { traceparent: ctx.traceparent };
}
