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
 *
 * With several nodes (docs/operations.md "Limits across the cluster") the configured rates are
 * cluster-wide figures, enforced in one of two ways:
 * - `split` (the default): each node admits its share, rate ÷ the live nodes it last counted
 *   (`setNodes`, from the node list at every heartbeat). The cluster never admits more than the
 *   rate (plus each node's burst of at least one); a key whose requests all reach one node gets
 *   that node's share only. No database round trip.
 * - `database`: every limited request takes its tokens from bucket rows in the store
 *   (`Store.rateBuckets`, PostgreSQL), judged by the database's clock: the rate holds exactly
 *   however the requests are spread. The checks of one turn of the event loop go in one call (one
 *   round trip, one in flight), so a request waits for that call before it is handled.
 */
import { FlowgateError } from '../core/errors.js';
import type { SharedBucket, SharedBuckets } from '../store/types.js';

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  /** `perSecond` tokens refill each second, up to `burst`. */
  constructor(private perSecond: number, private burst: number, private readonly clock: () => number = Date.now) {}

  /** Changes the rate from now on; tokens already in a bucket stay, up to the new burst. */
  setRate(perSecond: number, burst: number): void {
    for (const key of this.buckets.keys()) this.waitFor(key); // refilled at the old rate until now
    this.perSecond = perSecond;
    this.burst = burst;
    for (const b of this.buckets.values()) b.tokens = Math.min(b.tokens, burst);
  }

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

/** A bucket's burst: one second's worth of its rate, and at least one request. */
const burstOf = (perSecond: number): number => Math.max(1, perSecond);

export class RateLimiter {
  private readonly keys: TokenBuckets | null;
  private readonly workflows: TokenBuckets | null;
  private nodeCount = 1;

  /** With `shared`, every limited request is checked against the store's buckets (`database`); else in memory (`split`). */
  constructor(private readonly config: RateLimitConfig, clock: () => number = Date.now, private readonly shared: SharedBuckets | null = null) {
    this.keys = config.perKey > 0 ? new TokenBuckets(config.perKey, burstOf(config.perKey), clock) : null;
    this.workflows = config.perWorkflow > 0 ? new TokenBuckets(config.perWorkflow, burstOf(config.perWorkflow), clock) : null;
  }

  get enabled(): boolean {
    return this.keys !== null || this.workflows !== null;
  }

  /** How many live nodes this node shares the rates with (`split`): it admits 1 / nodes of each. */
  get nodes(): number {
    return this.nodeCount;
  }

  /** The live nodes, this one included, as last counted (`split`): each node's share follows. */
  setNodes(n: number): void {
    const nodes = Math.max(1, Math.floor(n));
    if (nodes === this.nodeCount) return;
    this.nodeCount = nodes;
    if (this.keys) this.keys.setRate(this.config.perKey / nodes, burstOf(this.config.perKey / nodes));
    if (this.workflows) this.workflows.setRate(this.config.perWorkflow / nodes, burstOf(this.config.perWorkflow / nodes));
  }

  /**
   * Admits a request or throws the 429 problem: `check` in memory, or the store's buckets in
   * `database` mode. Every surface calls this (the native API's server, the compatibility handlers).
   */
  async admit(keyId: string | undefined, workflows: readonly WorkflowKey[] = []): Promise<void> {
    if (!this.shared) return this.check(keyId, workflows);
    const buckets: SharedBucket[] = [];
    if (keyId && this.keys) buckets.push({ key: `k:${keyId}`, perSecond: this.config.perKey, burst: burstOf(this.config.perKey) });
    if (this.workflows) {
      for (const b of new Set(workflows.map((w) => `w:${w.tenant}/${w.id}`))) {
        buckets.push({ key: b, perSecond: this.config.perWorkflow, burst: burstOf(this.config.perWorkflow) });
      }
    }
    if (buckets.length === 0) return;
    const { wait, refused } = await this.ask(buckets);
    if (wait > 0) throw refusal(refused?.startsWith('k:') === true, wait);
  }

  /** Requests waiting for the next call to the shared buckets, and whether one is in flight. */
  private asks: { buckets: SharedBucket[]; answer: (a: { wait: number; refused: string | null }) => void; fail: (e: unknown) => void }[] = [];
  private asking = false;

  /** The checks of one turn (and those made while a call is in flight) go to the store in one call. */
  private ask(buckets: SharedBucket[]): Promise<{ wait: number; refused: string | null }> {
    return new Promise((answer, fail) => {
      this.asks.push({ buckets, answer, fail });
      if (!this.asking) {
        this.asking = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.asks.length > 0) {
      const batch = this.asks.splice(0);
      try {
        const answers = await this.shared!.take(batch.map((a) => a.buckets));
        batch.forEach((a, i) => a.answer(answers[i]));
      } catch (e) {
        for (const a of batch) a.fail(e);
      }
    }
    this.asking = false;
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
    if (wait > 0) throw refusal(keyWait > 0, wait);
    if (key !== undefined) this.keys!.take(key);
    for (const b of buckets) this.workflows!.take(b);
  }
}

function refusal(byKey: boolean, waitSeconds: number): FlowgateError {
  return new FlowgateError('rate_limited', byKey ? 'this API key is over its request rate' : 'this workflow is over its trigger rate', {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(waitSeconds))) },
  });
}
