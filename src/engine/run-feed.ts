/**
 * The tenant-wide feed of committed run changes (`GET /v1/runs/stream`): the one place a follower of
 * "every run of this tenant" subscribes. It hears this node's bus (bus.ts: each creation and each
 * committed advance) and, on a store with cross-node hints (`Store.hints`), the run hints of the
 * other nodes, for which it re-reads the run from the store (a hint names a run; the store is the
 * truth). The same change may so arrive twice (the bus and this node's own hint): followers keep the
 * newest `rev` of each run they showed and skip anything not newer (`RunRevisions`).
 */
import { isTerminal, type Run } from '../core/types.js';
import type { Hint, Store } from '../store/types.js';
import type { RunBus } from './bus.js';

export interface RunFollower {
  /** A run of the followed tenant as committed (the newest state known when it is called). */
  run(run: Run): void;
  /** Changes may have been missed (the hint channel was lost and is back): re-read what is shown. */
  resync(): void;
}

export class RunFeed {
  private readonly byTenant = new Map<string, Set<RunFollower>>();
  private offBus: (() => void) | null = null;
  private offHints: (() => void) | null = null;

  constructor(private readonly bus: RunBus, private readonly store: Pick<Store, 'hints' | 'getRun'>) {}

  /** Follows every committed change of the tenant's runs; returns the unsubscribe function. */
  follow(tenant: string, follower: RunFollower): () => void {
    let set = this.byTenant.get(tenant);
    if (!set) this.byTenant.set(tenant, (set = new Set()));
    set.add(follower);
    this.listen();
    return () => {
      const s = this.byTenant.get(tenant);
      if (s?.delete(follower) && s.size === 0) this.byTenant.delete(tenant);
      if (this.byTenant.size === 0) this.quiet();
    };
  }

  /** How many followers the tenant has (the stream cap counts them). */
  followers(tenant: string): number {
    return this.byTenant.get(tenant)?.size ?? 0;
  }

  private deliver(run: Run): void {
    const set = this.byTenant.get(run.tenant);
    if (set) for (const f of [...set]) f.run(run);
  }

  private onHint(hint: Hint): void {
    if (hint.kind !== 'run' || !this.byTenant.has(hint.tenant)) return;
    this.store.getRun(hint.tenant, hint.id).then((run) => {
      if (run) this.deliver(run);
    }, () => undefined); // a hint is only a hint: a failed re-read is caught up by the next change or a resync
  }

  /** Listens while anyone follows (the bus costs nothing to the engine when nobody does). */
  private listen(): void {
    if (this.offBus) return;
    this.offBus = this.bus.subscribeAll((e) => {
      if (e.type === 'run' && this.byTenant.has(e.run.tenant)) this.deliver(e.run);
    });
    this.offHints = this.store.hints?.subscribe({
      hint: (h) => this.onHint(h),
      reconnected: () => {
        for (const set of this.byTenant.values()) for (const f of [...set]) f.resync();
      },
    }) ?? null;
  }

  private quiet(): void {
    this.offBus?.();
    this.offHints?.();
    this.offBus = null;
    this.offHints = null;
  }
}

/**
 * The newest `rev` a follower showed of each run, to skip a change it already showed (the bus and a
 * hint re-read announcing the same commit). Bounded: a finished run is forgotten once shown (a
 * retry makes it newer again anyway), and past `max` runs the oldest entries go (at worst a change
 * is shown twice).
 */
export class RunRevisions {
  private readonly revs = new Map<string, { rev: number; status: Run['status'] }>();

  constructor(private readonly max = 10_000) {}

  /** The status last shown of a run, or undefined; records `run` as shown when it is newer. */
  showNewer(run: Run): { newer: boolean; previous: Run['status'] | undefined } {
    const known = this.revs.get(run.id);
    if (known && known.rev >= run.rev) return { newer: false, previous: known.status };
    this.revs.delete(run.id);
    if (!isTerminal(run.status)) {
      this.revs.set(run.id, { rev: run.rev, status: run.status });
      if (this.revs.size > this.max) this.revs.delete(this.revs.keys().next().value as string);
    }
    return { newer: true, previous: known?.status };
  }
}
