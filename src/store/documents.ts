/**
 * Rows both backends share besides the run row (run-row.ts): workflow versions with their head,
 * API keys, and the structural comparison of stored JSON text with a value.
 */
import { canonicalJson } from '../core/canonical-json.js';
import type { ApiKey, Definition, Workflow } from '../core/types.js';
import { workflowEtag } from '../core/workflow-etag.js';
import type { HeadCondition } from './types.js';

const dec = <T>(s: string): T => JSON.parse(s) as T;

/** Structural equality of a stored JSON text and a value (fast path: identical serialization). */
export function sameJson(storedText: string, value: unknown, valueText?: string): boolean {
  if (valueText !== undefined && storedText === valueText) return true;
  return canonicalJson(JSON.parse(storedText)) === canonicalJson(value);
}

// ------------------------------------------------------------------ workflows, keys

/** Whether a workflow's current head (null: none yet) meets every condition of a conditional save. */
export function headMeets(conditions: HeadCondition[], head: Workflow | null): { met: boolean; etag: string | null } {
  const etag = head === null ? null : workflowEtag(head);
  const listed = (etags: string[]): boolean => etag !== null && etags.includes(etag);
  const holds = (c: HeadCondition): boolean => {
    switch (c.kind) {
      case 'absent': return head === null;
      case 'present': return head !== null;
      case 'one-of': return listed(c.etags);
      case 'none-of': return !listed(c.etags);
    }
  };
  return { met: conditions.every(holds), etag };
}

/** A version row joined with its head (see WORKFLOW_SELECT in workflows.ts). */
export interface WorkflowRow {
  tenant: string;
  id: string;
  version: number;
  name: string;
  source: string;
  definition: string;
  conv_id: number;
  hash: string;
  guid: string;
  archived_at: number | null;
  created_at: number;
  updated_at: number;
}

export function rowToWorkflow(r: WorkflowRow): Workflow {
  return {
    tenant: r.tenant,
    id: r.id,
    name: r.name,
    version: r.version,
    definition: dec<Definition>(r.definition),
    source: r.source,
    conv_id: r.conv_id,
    hash: r.hash,
    guid: r.guid,
    archived: r.archived_at !== null,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

export type KeyRow = ApiKey;

export const rowToKey = (r: KeyRow): ApiKey => ({
  id: r.id, tenant: r.tenant, name: r.name, role: r.role, token_hash: r.token_hash, created_at: r.created_at,
});
