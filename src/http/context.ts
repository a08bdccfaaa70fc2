/** One request as route handlers see it. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from './auth.js';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
  /** The base of every URL handed out: FLOWGATE_PUBLIC_URL, else derived from the request's Host. */
  base: string;
  /** Set by `authed` routes. */
  principal: Principal;
}

export type Handler = (ctx: Ctx) => Promise<void>;

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Role needed; 'public' routes take no Authorization (their URL token is the credential). */
  auth: 'public' | 'read' | 'trigger' | 'admin';
  /** Route label for metrics. */
  name: string;
  /** The route starts runs of the workflow named by `:id` (per-workflow rate limits apply). */
  startsRuns?: boolean;
  handler: Handler;
}
