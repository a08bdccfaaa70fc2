/**
 * The node's short-lived caches of stored facts, one mechanism on the injected clock: API keys by
 * token hash, API logins with their opened secrets, a tenant's opened secrets, the current version
 * of a workflow. A cached fact is at most `ttlMs` old; a change made through this node forgets it
 * at once here (`changed`), and on a clustered store the same change reaches every other node as an
 * `invalidate` hint (src/engine/cluster.ts lands it in `invalidate`), so the TTL is only the bound
 * when a hint is lost (docs/operations.md "Running a cluster").
 */
import type { Hint } from '../store/types.js';

/** The caches by name (the `cache` of an `invalidate` hint) and how long each keeps a fact. */
export const CACHE_TTL_MS = {
  /** API keys by token hash (a revoked key is refused by every node within this, hint or not). */
  keys: 5_000,
  /** Corezoid API logins with their opened secrets. */
  logins: 5_000,
  /** A tenant's opened secrets (`$secrets`). */
  secrets: 5_000,
  /** The current version of a workflow (new version, archive, rotated hash, moved identifiers). */
  workflows: 1_000,
} as const;

export type CacheName = keyof typeof CACHE_TTL_MS;

interface Entry<V> {
  at: number;
  value: Promise<V>;
  /** Set once `value` resolved. */
  settled?: { v: V };
}

/** One cache: string keys, values loaded once per TTL (a failed load is not kept). */
export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(private readonly ttlMs: number, private readonly clock: () => number, private readonly maxEntries = 10_000) {}

  /** The cached value when it is fresh and loaded (no promise); else undefined. */
  get(key: string): V | undefined {
    const e = this.fresh(key);
    return e?.settled?.v;
  }

  /** The cached value, or `load()`'s, kept for the TTL. */
  load(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.fresh(key);
    if (hit) return hit.value;
    const entry: Entry<V> = { at: this.clock(), value: load() };
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, entry);
    entry.value.then((v) => { entry.settled = { v }; }, () => { if (this.entries.get(key) === entry) this.entries.delete(key); });
    return entry.value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private fresh(key: string): Entry<V> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.clock() - e.at < this.ttlMs) return e;
    this.entries.delete(key);
    return undefined;
  }
}

/** Every cache of a node, by name: where a change made here or on another node is forgotten. */
export class Caches {
  private readonly byName = new Map<string, TtlCache<unknown>>();

  constructor(
    private readonly clock: () => number,
    private readonly publish: ((hint: Hint) => Promise<void>) | null,
    private readonly log: { warn(obj: object, msg?: string): void },
  ) {}

  /** The cache `name` (made on first use). */
  cache<V>(name: CacheName): TtlCache<V> {
    let c = this.byName.get(name);
    if (!c) this.byName.set(name, (c = new TtlCache<unknown>(CACHE_TTL_MS[name], this.clock)));
    return c as TtlCache<V>;
  }

  /** Forgets a fact on this node (`key` '': the whole cache); unknown cache names are ignored. */
  invalidate(name: string, key: string): void {
    const c = this.byName.get(name);
    if (!c) return;
    if (key === '') c.clear();
    else c.delete(key);
  }

  invalidateAll(): void {
    for (const c of this.byName.values()) c.clear();
  }

  /**
   * A fact changed through this node: forgotten here at once, and on the other nodes through an
   * `invalidate` hint (on a clustered store). A hint that cannot be sent is logged: the TTL bounds it.
   */
  changed(name: CacheName, key: string): void {
    this.invalidate(name, key);
    if (!this.publish) return;
    this.publish({ kind: 'invalidate', cache: name, key }).catch((e) => {
      this.log.warn({ err: e, cache: name, key }, `telling the other nodes a cached fact changed failed; they see it within ${CACHE_TTL_MS[name]} ms`);
    });
  }
}

/** The cache key of a workflow. */
export const workflowKey = (tenant: string, id: string): string => `${tenant}\u0000${id}`;
