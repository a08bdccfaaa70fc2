/** Rendering a run's answer (docs/spec.md §4 result / `?wait`) on the native API. */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Run } from '../core/types.js';
import { answerFor } from '../triggers/answer.js';
import type { Ctx } from './context.js';
import { sendJson, sendProblem, sendText } from './problem.js';
import { acceptedView } from './views.js';

const HOP_BY_HOP = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer']);

/**
 * The status monitor of the asynchronous request-reply pattern: `GET /v1/runs/{id}/result`, which
 * answers 202 with this same Location until the run settles, then its final answer. Every native 202
 * names it, so a generic poller (and `follow_async`) reads the run's answer, not a 200 resource view.
 */
export const monitorUrl = (ctx: Ctx, run: Run): string => `${ctx.base}/v1/runs/${run.id}/result`;

/** 202 Accepted with the status monitor as an absolute Location and an integer Retry-After. */
export function sendAccepted(ctx: Ctx, run: Run, retryAfter: number, extra: OutgoingHttpHeaders = {}, body: unknown = acceptedView(run, ctx.base)): void {
  sendJson(ctx.res, 202, body, { Location: monitorUrl(ctx, run), 'Retry-After': String(retryAfter), ...extra });
}

/** What `GET /v1/runs/{id}/result` answers for this run state; `?wait` answers exactly the same. */
export function sendRunAnswer(ctx: Ctx, run: Run, retryAfter: number): void {
  const answer = answerFor(run);
  const runHeaders = { 'Flowgate-Run-Id': run.id, 'Flowgate-Run-Status': run.status };
  if (!answer.done) return sendAccepted(ctx, run, retryAfter, runHeaders);
  if ('problem' in answer) {
    for (const [k, v] of Object.entries(runHeaders)) ctx.res.setHeader(k, v);
    return sendProblem(ctx.res, answer.problem, `/v1/runs/${run.id}`);
  }
  const headers: OutgoingHttpHeaders = { ...runHeaders };
  let contentType: string | undefined;
  for (const [k, v] of Object.entries(answer.headers)) {
    const lower = k.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower.startsWith('flowgate-')) continue;
    if (lower === 'content-type') contentType = v;
    else headers[k] = v;
  }
  if (contentType && !/json/i.test(contentType) && typeof answer.body === 'string') {
    return sendText(ctx.res, answer.httpStatus, contentType, answer.body, headers);
  }
  sendJson(ctx.res, answer.httpStatus, answer.body, headers);
}
