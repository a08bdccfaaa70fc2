/**
 * Rate limits (docs/spec.md §4, §8.14): token buckets per API key and per workflow, off unless configured.
 * The admin token is exempt, and so are child runs started by the engine (they never pass here).
 * A refused request is answered 429 with an integer Retry-After before anything is read or created.
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
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
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

  /** Throws a 429 problem when the key or the workflow is over its rate. */
  check(keyId: string | undefined, workflow: { tenant: string; id: string } | undefined): void {
    const waits = [
      keyId && this.keys ? this.keys.take(keyId) : 0,
      workflow && this.workflows ? this.workflows.take(`${workflow.tenant}\u0000${workflow.id}`) : 0,
    ];
    const wait = Math.max(...waits);
    if (wait > 0) {
      throw new FlowgateError('rate_limited', waits[0] > 0 ? 'this API key is over its request rate' : 'this workflow is over its trigger rate', {
        headers: { 'Retry-After': String(wait) },
      });
    }
  }
}
