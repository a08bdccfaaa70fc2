/**
 * The HTTP side of `trigger.verify` (triggers/verify.ts): the request as received, the tenant's
 * secrets, and who may skip the check. Requests made with an admin credential (the admin token or a
 * key of the admin role) are not checked: they may change or replace the workflow anyway. Everyone
 * else who starts runs of the workflow (a trigger key, a Corezoid API login, the hash- and
 * GUID-guarded URLs, which need no key at all) must sign the raw body.
 */
import type { Workflow } from '../core/types.js';
import { signatureRefused, verifyTrigger } from '../triggers/verify.js';
import type { Ctx } from './context.js';
import type { RouteDeps } from './deps.js';

/** Undefined (no promise) when nothing is to check; else rejects with the 401 `signature_invalid`. */
export function requireSignature(d: RouteDeps, ctx: Ctx, wf: Workflow, body: Buffer): Promise<void> | undefined {
  if (!wf.definition.trigger.verify || ctx.principal.role === 'admin') return undefined;
  return verifyTrigger(wf, { headers: ctx.req.headers, query: ctx.query, body }, d.secrets, d.clock(), d.log);
}

/**
 * For surfaces that stream their body into runs (CSV import): a signature over the whole body could
 * only be known after the rows are read, so a workflow that declares one refuses them, unless the
 * caller holds an admin credential.
 */
export function refuseUnsignedStream(ctx: Ctx, wf: Workflow): void {
  const spec = wf.definition.trigger.verify;
  if (spec && ctx.principal.role !== 'admin') throw signatureRefused(spec, 'this workflow is started only by signed requests; a CSV import needs an admin key');
}
