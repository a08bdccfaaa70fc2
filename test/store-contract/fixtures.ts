/**
 * Builders for the store contract suite: plain domain objects, no backend knowledge.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { randomToken, uuidv7 } from '../../src/core/ids.js';
import type { ApiKey, Definition, Run, StepRecord } from '../../src/core/types.js';
import type { Store } from '../../src/store/types.js';

/** A fixed clock origin: tests build times from it instead of reading the clock. */
export const T0 = 1_700_000_000_000;

export interface StoreHarness {
  store: Store;
  cleanup: () => Promise<void>;
  /**
   * Opens the same data again after `store.close()` (a process restart). Backends that cannot
   * (none so far) leave it out and the durability case is skipped with that reason.
   */
  reopen?: () => Promise<Store>;
}

export type MakeStore = () => Promise<StoreHarness>;

export const workflowIds = (): { hash: string; guid: string } => ({
  hash: randomBytes(20).toString('hex'),
  guid: randomUUID(),
});

export function definition(id: string, extra: Partial<Definition> = {}): Definition {
  return {
    id,
    name: `Workflow ${id}`,
    params: {
      amount: { type: 'number', required: true, minimum: 0 },
      currency: { type: 'string', default: 'EUR', pattern: '^[A-Z]{3}$' },
    },
    undeclared: 'keep',
    trigger: { public: true },
    steps: [
      { id: 'first', type: 'set', set: { decision: 'approved', fee: '{{ amount * 0.01 }}' }, next: 'answer' },
      { id: 'answer', type: 'reply', data: { decision: '{{ decision }}' } },
    ],
    ...extra,
  };
}

/** Saves a workflow (version 1) so runs can reference it. */
export async function seedWorkflow(store: Store, tenant: string, id: string): Promise<void> {
  await store.saveWorkflow(tenant, definition(id), `id: ${id}\n`, workflowIds(), T0);
}

export function makeRun(over: Partial<Run> = {}): Run {
  const createdAt = over.created_at ?? T0;
  const input = over.input ?? { amount: 10 };
  return {
    id: uuidv7(createdAt),
    tenant: 'default',
    workflow: 'wf',
    version: 1,
    ref: null,
    status: 'queued',
    input,
    data: { ...input },
    progress: 0,
    step: 'first',
    step_seq: 0,
    reply: null,
    error: null,
    parking: null,
    wake_at: null,
    callback_token: randomToken(),
    result_url: null,
    parent: null,
    attempt: 1,
    owner: null,
    lease_until: null,
    rev: 1,
    created_at: createdAt,
    started_at: null,
    finished_at: null,
    updated_at: createdAt,
    ...over,
  };
}

export function makeStep(runId: string, seq: number, over: Partial<StepRecord> = {}): StepRecord {
  return {
    run_id: runId,
    seq,
    step_id: `step${seq}`,
    type: 'set',
    name: null,
    status: 'succeeded',
    attempts: [{ n: 1, started_at: T0 + seq, finished_at: T0 + seq + 1, duration_ms: 1, error: null }],
    input: { amount: 10 },
    output: { fee: 0.1 },
    error: null,
    started_at: T0 + seq,
    finished_at: T0 + seq + 1,
    ...over,
  };
}

export function makeKey(tenant: string, over: Partial<ApiKey> = {}): ApiKey {
  return {
    id: randomUUID(),
    tenant,
    name: 'ci',
    role: 'trigger',
    token_hash: randomBytes(32).toString('hex'),
    created_at: T0,
    ...over,
  };
}

/** The run after one advance: the next state with rev bumped. */
export const advanced = (run: Run, over: Partial<Run> = {}): Run => ({
  ...run,
  rev: run.rev + 1,
  updated_at: run.updated_at + 1,
  ...over,
});
