/** Compiled workflow versions, cached: a run's version never changes, so a compiled version is reused forever. */
import type { CompiledWorkflow } from '../core/compiled.js';
import { compileWorkflow } from '../core/definition.js';
import type { Workflow } from '../core/types.js';
import type { Store } from '../store/types.js';

export interface LoadedWorkflow {
  compiled: CompiledWorkflow;
  /** Whether templates read `$steps` / `$secrets` (so the engine loads them only when needed). */
  usesSteps: boolean;
  usesSecrets: boolean;
}

const HEAD_TTL_MS = 1000;

export class WorkflowCache {
  private readonly versions = new Map<string, Promise<LoadedWorkflow | null>>();
  /** The versions of `versions` that have loaded, for callers that can go on without awaiting. */
  private readonly ready = new Map<string, LoadedWorkflow>();
  private readonly heads = new Map<string, { at: number; workflow: Promise<Workflow | null>; value?: Workflow | null }>();

  constructor(private readonly store: Store, private readonly maxEntries = 5000) {}

  /** The current version of a workflow (briefly cached; invalidated on save by this node). */
  current(tenant: string, id: string): Promise<Workflow | null> {
    const key = `${tenant}\u0000${id}`;
    const hit = this.heads.get(key);
    const now = Date.now();
    if (hit && now - hit.at < HEAD_TTL_MS) return hit.workflow;
    const workflow = this.store.getWorkflow(tenant, id);
    const entry: { at: number; workflow: Promise<Workflow | null>; value?: Workflow | null } = { at: now, workflow };
    this.heads.set(key, entry);
    workflow.then((v) => { entry.value = v; }, () => { if (this.heads.get(key) === entry) this.heads.delete(key); });
    return workflow;
  }

  /** What `current` would resolve to, when it is cached and loaded (no promise); else undefined. */
  currentCached(tenant: string, id: string): Workflow | null | undefined {
    const hit = this.heads.get(`${tenant}\u0000${id}`);
    return hit && Date.now() - hit.at < HEAD_TTL_MS ? hit.value : undefined;
  }

  invalidate(tenant: string, id: string): void {
    this.heads.delete(`${tenant}\u0000${id}`);
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
