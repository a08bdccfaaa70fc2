/**
 * The tenant-wide feed of committed run changes (`GET /v1/runs/stream`): the one place a follower of
 * "every run of this tenant" subscribes. It hears the tenant's changes on this node's bus (bus.ts):
 * what this node committed, and what other nodes committed as the cluster link (cluster.ts) read it
 * back from the store after a hint. The same change may so arrive twice (this node's commit and its
 * own hint): followers keep the newest `rev` of each run they showed and skip anything not newer
 * (`RunRevisions`). When the cluster link reports a gap (the hint channel was lost and is back),
 * every follower is asked to resync.
 */
import { isTerminal, type Run } from '../core/types.js';
import type { RunBus } from './bus.js';

export interface RunFollower {
  /** A run of the followed tenant as committed (the newest state known when it is called). */
  run(run: Run): void;
  /** Changes may have been missed (the hint channel was lost and is back): re-read what is shown. */
  resync(): void;
}

export class RunFeed {
  private readonly byTenant = new Map<string, { followers: Set<RunFollower>; off: () => void }>();
  private offGap: (() => void) | null = null;

  constructor(private readonly bus: RunBus) {}

  /** Follows every committed change of the tenant's runs; returns the unsubscribe function. */
  follow(tenant: string, follower: RunFollower): () => void {
    let entry = this.byTenant.get(tenant);
    if (!entry) {
      const followers = new Set<RunFollower>();
      const off = this.bus.subscribeTenant(tenant, (e) => {
        if (e.type === 'run') for (const f of [...followers]) f.run(e.run);
      });
      this.byTenant.set(tenant, (entry = { followers, off }));
    }
    entry.followers.add(follower);
    this.offGap ??= this.bus.onGap(() => {
      for (const { followers } of this.byTenant.values()) for (const f of [...followers]) f.resync();
    });
    return () => {
      const e = this.byTenant.get(tenant);
      if (!e?.followers.delete(follower) || e.followers.size > 0) return;
      e.off();
      this.byTenant.delete(tenant);
      if (this.byTenant.size === 0) {
        this.offGap?.();
        this.offGap = null;
      }
    };
  }

  /** How many followers the tenant has (the stream cap counts them). */
  followers(tenant: string): number {
    return this.byTenant.get(tenant)?.followers.size ?? 0;
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
