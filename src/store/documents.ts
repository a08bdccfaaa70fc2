/**
 * Rows both backends share besides the run row (run-row.ts): workflow versions with their head,
 * API keys, and the structural comparison of stored JSON text with a value.
 */
import type { ApiKey, Definition, Workflow } from '../core/types.js';

const dec = <T>(s: string): T => JSON.parse(s) as T;

/** JSON with object keys sorted at every depth: equal text <=> structurally equal values. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Structural equality of a stored JSON text and a value (fast path: identical serialization). */
export function sameJson(storedText: string, value: unknown, valueText?: string): boolean {
  if (valueText !== undefined && storedText === valueText) return true;
  return canonicalJson(JSON.parse(storedText)) === canonicalJson(value);
}

// ------------------------------------------------------------------ workflows, keys

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
