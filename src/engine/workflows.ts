/** Compiled workflow versions, cached: a run's version never changes, so a compiled version is reused forever. */
import type { CompiledWorkflow } from '../core/compiled.js';
import { compileWorkflow } from '../core/definition.js';
import type { Workflow } from '../core/types.js';
import type { Store } from '../store/types.js';
import { workflowKey, type Caches, type TtlCache } from './caches.js';

export interface LoadedWorkflow {
  compiled: CompiledWorkflow;
  /** Whether templates read `$steps` / `$secrets` (so the engine loads them only when needed). */
  usesSteps: boolean;
  usesSecrets: boolean;
}

export class WorkflowCache {
  private readonly versions = new Map<string, Promise<LoadedWorkflow | null>>();
  /** The versions of `versions` that have loaded, for callers that can go on without awaiting. */
  private readonly ready = new Map<string, LoadedWorkflow>();
  /** Current versions (the `workflows` cache: briefly kept, forgotten on a change here or on another node). */
  private readonly heads: TtlCache<Workflow | null>;

  constructor(private readonly store: Store, private readonly caches: Caches, private readonly maxEntries = 5000) {
    this.heads = caches.cache('workflows');
  }

  /** The current version of a workflow (briefly cached; see src/engine/caches.ts). */
  current(tenant: string, id: string): Promise<Workflow | null> {
    return this.heads.load(workflowKey(tenant, id), () => this.store.getWorkflow(tenant, id));
  }

  /** What `current` would resolve to, when it is cached and loaded (no promise); else undefined. */
  currentCached(tenant: string, id: string): Workflow | null | undefined {
    return this.heads.get(workflowKey(tenant, id));
  }

  /** The workflow changed through this node (a new version, an archive, a new hash or identifiers): every node forgets it. */
  invalidate(tenant: string, id: string): void {
    this.caches.changed('workflows', workflowKey(tenant, id));
  }

  /** A compiled version already loaded, without a promise; undefined when `version` must load it. */
  loaded(tenant: string, id: string, version: number): LoadedWorkflow | undefined {
    return this.ready.get(`${tenant}\u0000${id}\u0000${version}`);
  }

  /** A compiled version; `known` avoids a store read when the caller already holds that version. */
  version(tenant: string, id: string, version: number, known?: Workflow): Promise<LoadedWorkflow | null> {
    const key = `${tenant}\u0000${id}\u0000${version}`;
    let hit = this.versions.get(key);
    if (!hit) {
      if (this.versions.size >= this.maxEntries) {
        const oldest = this.versions.keys().next().value as string;
        this.versions.delete(oldest);
        this.ready.delete(oldest);
      }
      hit = (async () => {
        const wf = known && known.version === version ? known : await this.store.getWorkflow(tenant, id, version);
        if (!wf) return null;
        const text = JSON.stringify(wf.definition);
        return { compiled: compileWorkflow(wf), usesSteps: text.includes('$steps'), usesSecrets: text.includes('$secrets') };
      })();
      this.versions.set(key, hit);
      const pending = hit;
      hit.then((v) => {
        if (!v) this.versions.delete(key);
        else if (this.versions.get(key) === pending) this.ready.set(key, v);
      }, () => this.versions.delete(key));
    }
    return hit;
  }
}
