/**
 * Rate limits (docs/spec.md §4, §8.14): token buckets per API key and per workflow, off unless configured.
 * The admin token is exempt, and so are child runs started by the engine (they never pass here).
 * A refused request is answered 429 with an integer Retry-After before anything is created.
 *
 * Every surface that starts runs draws from the same buckets: the native API (checked by the server
 * before the body is read) and the compatibility surfaces (checked by their handlers once they know
 * the caller and the workflows, still before anything is created). A workflow's bucket is keyed by
 * tenant and workflow id, so a workflow started through its direct URL, its GUID and the native API
 * shares one rate.
 */
import { FlowgateError } from '../core/errors.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  /** `perSecond` tokens refill each second, up to `burst`. */
  constructor(private readonly perSecond: number, private readonly burst: number, private readonly clock: () => number = Date.now) {}

  /** Takes a token for `key`; returns 0 when granted, else the seconds until one is available. */
  take(key: string): number {
    const wait = this.waitFor(key);
    if (wait === 0) this.buckets.get(key)!.tokens -= 1;
    return wait;
  }

  /** Seconds until `key` has a token (0: it has one now); takes nothing. */
  waitFor(key: string): number {
    const now = this.clock();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear(); // bounded memory; a cleared bucket starts full
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
      b.at = now;
    }
    return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}

export interface WorkflowKey {
  tenant: string;
  id: string;
}

export interface RateLimitConfig {
  /** Requests per second per API key (0 = off). */
  perKey: number;
  /** Trigger requests per second per workflow (0 = off). */
  perWorkflow: number;
}

export class RateLimiter {
  private readonly keys: TokenBuckets | null;
  private readonly workflows: TokenBuckets | null;

  constructor(config: RateLimitConfig, clock: () => number = Date.now) {
    this.keys = config.perKey > 0 ? new TokenBuckets(config.perKey, Math.max(1, config.perKey), clock) : null;
    this.workflows = config.perWorkflow > 0 ? new TokenBuckets(config.perWorkflow, Math.max(1, config.perWorkflow), clock) : null;
  }

  get enabled(): boolean {
    return this.keys !== null || this.workflows !== null;
  }

  /**
   * Takes a token for the caller (`keyId`: an API key's id, or `login:<n>` for an API login) and one
   * for each workflow the request starts runs of, all or none: when any of them is over its rate,
   * nothing is taken and a 429 problem is thrown. A request refused here must create nothing.
   */
  check(keyId: string | undefined, workflows: readonly WorkflowKey[] = []): void {
    const key = keyId && this.keys ? keyId : undefined;
    const buckets = this.workflows ? [...new Set(workflows.map((w) => `${w.tenant}\u0000${w.id}`))] : [];
    const keyWait = key === undefined ? 0 : this.keys!.waitFor(key);
    let workflowWait = 0;
    for (const b of buckets) workflowWait = Math.max(workflowWait, this.workflows!.waitFor(b));
    const wait = Math.max(keyWait, workflowWait);
    if (wait > 0) {
      throw new FlowgateError('rate_limited', keyWait > 0 ? 'this API key is over its request rate' : 'this workflow is over its trigger rate', {
        headers: { 'Retry-After': String(wait) },
      });
    }
    if (key !== undefined) this.keys!.take(key);
    for (const b of buckets) this.workflows!.take(b);
  }
}
