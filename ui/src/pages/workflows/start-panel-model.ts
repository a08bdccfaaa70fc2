/**
 * What the Start panel lists for a workflow: every URL and identifier a client needs, grouped by
 * the way in, each with a ready command where one helps. Pure (unit-tested); the panel renders it.
 */
import type { Workflow } from '../../api/types.js';

export interface StartItem {
  /** What it is ("Native trigger URL"); also names the copy button. */
  label: string;
  value: string;
  /** A ready command (curl) using the value. */
  command?: string;
  note?: string;
}

export interface StartGroup {
  title: string;
  description: string;
  items: StartItem[];
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** An example body from the declared params: defaults, else a placeholder of the right type. */
export function exampleParams(definition: unknown): Record<string, unknown> {
  const params = (definition as { params?: Record<string, { type?: string; default?: unknown; enum?: unknown[] }> } | null)?.params ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(params)) {
    if (spec?.default !== undefined) out[name] = spec.default;
    else if (Array.isArray(spec?.enum) && spec.enum.length) out[name] = spec.enum[0];
    else out[name] = spec?.type === 'number' || spec?.type === 'integer' ? 0 : spec?.type === 'boolean' ? false : spec?.type === 'object' ? {} : spec?.type === 'array' ? [] : '';
  }
  return out;
}

function nvp(params: Record<string, unknown>): string {
  return Object.entries(params).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'object' ? JSON.stringify(v) : String(v))}`).join('&');
}

function xml(params: Record<string, unknown>): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<task>${Object.entries(params).map(([k, v]) => `<${k}>${esc(typeof v === 'object' ? JSON.stringify(v) : String(v))}</${k}>`).join('')}</task>`;
}

export function startGroups(wf: Workflow): StartGroup[] {
  const t = wf.triggers ?? {};
  const urls = t.urls ?? {};
  const params = exampleParams(wf.definition);
  const body = JSON.stringify(params);
  const groups: StartGroup[] = [];

  const native: StartItem[] = [];
  if (urls.native) {
    native.push({
      label: 'Native trigger URL', value: urls.native,
      command: `curl -X POST ${q(urls.native)} \\\n  -H "Authorization: Bearer $FLOWGATE_TOKEN" \\\n  -H 'Content-Type: application/json' \\\n  -d ${q(body)}`,
      note: 'Answers 202 with the run; add ?wait=5 to wait up to 5 s for the reply. Needs a trigger key.',
    });
  }
  if (urls.batch) native.push({ label: 'Batch URL', value: urls.batch, note: '{ "items": [{ "ref", "data" }] }, up to 1000 runs' });
  if (urls.import) native.push({ label: 'CSV import URL', value: urls.import, note: 'one run per CSV row' });
  if (native.length) groups.push({ title: 'Native API', description: 'Flowgate\'s own API with a bearer key.', items: native });

  const direct: StartItem[] = [];
  if (urls.direct_json) direct.push({ label: 'Direct URL (JSON)', value: urls.direct_json, command: `curl -X POST ${q(urls.direct_json)} \\\n  -H 'Content-Type: application/json' \\\n  -d ${q(body)}` });
  if (urls.direct_xml) direct.push({ label: 'Direct URL (XML)', value: urls.direct_xml, command: `curl -X POST ${q(urls.direct_xml)} \\\n  -H 'Content-Type: application/xml' \\\n  -d ${q(xml(params))}` });
  if (urls.direct_nvp) direct.push({ label: 'Direct URL (NVP)', value: urls.direct_nvp, command: `curl -X POST ${q(urls.direct_nvp)} \\\n  -H 'Content-Type: application/x-www-form-urlencoded' \\\n  -d ${q(nvp(params))}` });
  if (direct.length) {
    groups.push({ title: 'Corezoid direct URLs', description: 'The hash in the URL is the credential: anyone with the URL can start runs. Rotate it if it leaks.', items: direct });
  }

  const signed: StartItem[] = [];
  if (t.conv_id !== undefined) signed.push({ label: 'conv_id', value: String(t.conv_id), note: 'names this workflow in Corezoid ops' });
  if (urls.corezoid_api) signed.push({ label: 'Signed ops API base', value: urls.corezoid_api, note: 'append /{login}/{gmt_unixtime}/{signature}; ops name the workflow by conv_id' });
  if (urls.corezoid_sync_api) signed.push({ label: 'Sync API base', value: urls.corezoid_sync_api, note: 'append /{login}/{gmt_unixtime}/{signature}; waits for the reply' });
  if (signed.length) groups.push({ title: 'Corezoid signed API', description: 'Signed with an API login (Settings → API logins).', items: signed });

  const csi: StartItem[] = [];
  if (urls.csi_execute) csi.push({ label: 'CSI execute URL', value: urls.csi_execute, note: 'waits for the result' });
  if (urls.csi_executepolling) csi.push({ label: 'CSI executepolling URL', value: urls.csi_executepolling, note: '202 and a status URL to poll' });
  if (t.guid) csi.push({ label: 'CSI GUID', value: String(t.guid) });
  if (csi.length) groups.push({ title: 'CSI (iUpdate / iDMS)', description: 'The GUID in the URL is the credential.', items: csi });

  const luma: StartItem[] = [];
  if (t.luma_workflow_identifier) luma.push({ label: 'Luma workflowIdentifier', value: String(t.luma_workflow_identifier) });
  if (urls.luma_trigger) luma.push({ label: 'Luma trigger URL', value: urls.luma_trigger, note: 'with the tenant access token' });
  if (luma.length) groups.push({ title: 'Luma', description: 'Luma\'s gateway API.', items: luma });

  const ids: StartItem[] = [];
  if (t.hash) ids.push({ label: 'Direct-URL hash', value: String(t.hash) });
  if (ids.length) groups.push({ title: 'Identifiers', description: t.public === false ? 'The workflow is not public (trigger.public: false): the direct and CSI URLs are off.' : 'What the URLs above are made of.', items: ids });
  return groups;
}
