/**
 * `flowgate workflows list|show`: the tenant's workflows, and every identifier and URL a client needs
 * to start one (GET /v1/workflows, GET /v1/workflows/{id}: `triggers`).
 */
import type { Command } from 'commander';
import { formatTime, keyValues, table } from '../format.js';
import { action, seg, type CliContext, type CliDeps } from './context.js';

interface TriggersView {
  conv_id?: number;
  hash?: string;
  guid?: string;
  public?: boolean;
  luma_workflow_identifier?: string;
  urls?: Record<string, string>;
}

interface WorkflowView {
  id: string;
  name?: string | null;
  version?: number;
  archived?: boolean;
  triggers?: TriggersView;
  updated_at?: string;
}

/** How each URL of `triggers.urls` is labelled, in the order a reader looks for them. */
const URL_LABELS: [key: string, label: string][] = [
  ['native', 'native trigger (POST)'],
  ['batch', 'batch (POST)'],
  ['import', 'CSV import (POST)'],
  ['direct_json', 'direct URL, JSON'],
  ['direct_xml', 'direct URL, XML'],
  ['direct_nvp', 'direct URL, NVP'],
  ['corezoid_api', 'signed ops API (+ /{login}/{time}/{signature})'],
  ['corezoid_sync_api', 'Sync API (+ /{login}/{time}/{signature})'],
  ['csi_execute', 'CSI execute'],
  ['csi_executepolling', 'CSI executepolling'],
  ['luma_trigger', 'Luma trigger (POST)'],
];

export function registerWorkflows(program: Command, deps: CliDeps): void {
  const workflows = program.command('workflows').description('list workflows and show how clients start them');

  workflows
    .command('list')
    .alias('ls')
    .description('the tenant\'s workflows with their Corezoid conv_id')
    .action(action(deps, listWorkflows));

  workflows
    .command('show')
    .description('a workflow\'s identifiers and every URL that starts it')
    .argument('<id>', 'workflow id')
    .action(action(deps, (ctx, _opts, args) => showWorkflow(ctx, String(args[0]))));
}

async function listWorkflows(ctx: CliContext): Promise<number> {
  const items = await ctx.client.listAll<WorkflowView>('/v1/workflows');
  if (ctx.json) {
    ctx.printJson({ items });
    return 0;
  }
  if (items.length === 0) {
    ctx.out('no workflows yet: `flowgate apply <file|dir>` creates them');
    return 0;
  }
  ctx.out(table(
    ['id', 'name', { header: 'version', align: 'right' }, { header: 'conv_id', align: 'right' }, 'public', 'updated'],
    items.map((w) => [
      w.archived ? `${w.id} (archived)` : w.id, w.name ?? '', w.version, w.triggers?.conv_id,
      w.triggers?.public === false ? 'no' : 'yes', formatTime(w.updated_at),
    ]),
  ));
  return 0;
}

async function showWorkflow(ctx: CliContext, id: string): Promise<number> {
  const wf = await ctx.client.get<WorkflowView>(`/v1/workflows/${seg(id)}`);
  if (ctx.json) {
    ctx.printJson(wf);
    return 0;
  }
  const t = wf.triggers ?? {};
  ctx.out(keyValues([
    ['workflow', wf.id], ['name', wf.name], ['version', wf.version], ['archived', wf.archived ? 'yes' : undefined],
    ['conv_id', t.conv_id], ['direct-URL hash', t.hash], ['CSI GUID', t.guid],
    ['Luma workflowIdentifier', t.luma_workflow_identifier],
    ['public URLs', t.public === false ? 'off (trigger.public: false)' : 'on'],
  ]));
  const urls = t.urls ?? {};
  const known = new Set(URL_LABELS.map(([k]) => k));
  const rows = [
    ...URL_LABELS.filter(([k]) => urls[k]).map(([k, label]) => [label, urls[k]]),
    ...Object.keys(urls).filter((k) => !known.has(k)).map((k) => [k, urls[k]]),
  ];
  ctx.out(`\n${table(['trigger', 'url'], rows)}`);
  return 0;
}
