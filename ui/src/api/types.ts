/** The shapes of the API answers the console reads (docs/api.md, /v1/openapi.json). */
export type Role = 'admin' | 'trigger' | 'read';
export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';

export interface Whoami {
  kind: 'admin' | 'key';
  role: Role;
  tenant: string;
  key_id?: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface TriggerUrls {
  native?: string;
  batch?: string;
  import?: string;
  corezoid_api?: string;
  corezoid_sync_api?: string;
  luma_trigger?: string;
  direct_json?: string;
  direct_xml?: string;
  direct_nvp?: string;
  csi_execute?: string;
  csi_executepolling?: string;
  [name: string]: string | undefined;
}

export interface Triggers {
  conv_id?: number;
  hash?: string;
  guid?: string;
  luma_workflow_identifier?: string;
  public?: boolean;
  urls?: TriggerUrls;
  [name: string]: unknown;
}

export interface RunSummary {
  id: string;
  workflow: string;
  version?: number;
  status: RunStatus;
  ref?: string | null;
  created_at?: string;
  finished_at?: string | null;
  [field: string]: unknown;
}

export interface WorkflowSummary {
  id: string;
  name?: string;
  version: number;
  triggers?: Triggers;
  /** Added by the workflow list's activity fields: the newest run, absent when unknown. */
  last_run?: { id: string; status: RunStatus; created_at?: string } | null;
  runs_24h?: number;
  archived?: boolean;
  updated_at?: string;
  [field: string]: unknown;
}

export interface Workflow extends WorkflowSummary {
  definition: Record<string, unknown>;
  source?: string;
  source_type?: string;
}

export interface WorkflowVersion {
  version: number;
  name?: string;
  created_at?: string;
  current?: boolean;
}

/** A PUT's answer: the workflow, whether a new version was made, and the definition's warnings. */
export interface SavedWorkflow extends Workflow {
  created: boolean;
  warnings?: { path: string; message: string }[];
}
