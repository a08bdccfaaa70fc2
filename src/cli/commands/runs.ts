/**
 * `flowgate runs list|show|watch|cancel|retry`: reading and steering runs through /v1/runs.
 */
import { Option, type Command } from 'commander';
import { isObject, readPage } from '../client.js';
import {
  durationBetween, formatDuration, formatProgress, formatTime, indent, keyValues, prettyJson, table,
} from '../format.js';
import { action, intOption, seg, type CliContext, type CliDeps, type Opts } from './context.js';
import { errorText, isActive, workflowLabel, type RunView, type StepView } from './run-view.js';
import { watchRun } from './watch.js';

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;

export function registerRuns(program: Command, deps: CliDeps): void {
  const runs = program.command('runs').description('list, inspect, follow, cancel and retry runs');

  runs
    .command('list')
    .alias('ls')
    .description('list runs, newest first')
    .option('--workflow <id>', 'only runs of this workflow')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .option('--ref <ref>', 'only the run with this ref')
    .option('--limit <n>', 'runs per page (1..1000, server default 50)')
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow next_cursor through every page')
    .action(action(deps, listRuns));

  runs
    .command('show')
    .description('a run and its step records')
    .argument('<id>', 'run id')
    .action(action(deps, (ctx, _opts, args) => showRun(ctx, String(args[0]))));

  runs
    .command('watch')
    .description('follow a run live until it succeeds, fails or is cancelled')
    .argument('<id>', 'run id')
    .action(action(deps, (ctx, _opts, args) => watchRun(ctx, String(args[0]))));

  runs
    .command('cancel')
    .description('cancel a run')
    .argument('<id>', 'run id')
    .action(action(deps, (ctx, _opts, args) => steer(ctx, String(args[0]), 'cancel', false)));

  runs
    .command('retry')
    .description('retry a failed run from its failed step')
    .argument('<id>', 'run id')
    .option('--from-start', 'start again from the first step')
    .action(action(deps, (ctx, opts, args) => steer(ctx, String(args[0]), 'retry', Boolean(opts.fromStart))));
}

export async function listRuns(ctx: CliContext, opts: Opts): Promise<number> {
  const query = {
    workflow: opts.workflow as string | undefined,
    status: opts.status as string | undefined,
    ref: opts.ref as string | undefined,
    limit: intOption('--limit', opts.limit, { min: 1 }),
  };
  const items: RunView[] = [];
  let cursor = opts.cursor as string | undefined;
  let next: string | null;
  do {
    const page = readPage<RunView>(await ctx.client.get('/v1/runs', { ...query, cursor }));
    items.push(...page.items);
    next = page.next;
    cursor = next ?? undefined;
  } while (opts.all && next);

  if (ctx.json) {
    ctx.printJson({ items, next_cursor: next });
    return 0;
  }
  if (items.length === 0) ctx.out('no runs');
  else {
    ctx.out(table(
      ['id', 'workflow', 'status', { header: 'progress', align: 'right' }, 'created'],
      items.map((r) => [r.id, workflowLabel(r), r.status, formatProgress(r.progress), formatTime(r.created_at)]),
    ));
  }
  if (next) ctx.err(`more runs: --cursor ${next} (or --all)`);
  return 0;
}

export async function showRun(ctx: CliContext, id: string): Promise<number> {
  const [run, steps] = await Promise.all([
    ctx.client.get<RunView>(`/v1/runs/${seg(id)}`),
    ctx.client.listAll<StepView>(`/v1/runs/${seg(id)}/steps`),
  ]);
  if (ctx.json) {
    ctx.printJson({ run, steps });
    return 0;
  }
  ctx.out(runSummary(run));
  if (run.input !== undefined) ctx.out(`input:\n${indent(prettyJson(run.input, 30))}`);
  if (run.reply) ctx.out(`reply${run.reply.status ? ` (${run.reply.status}${run.reply.http_status ? `, HTTP ${run.reply.http_status}` : ''})` : ''}:\n${indent(prettyJson(run.reply.data, 30))}`);
  if (run.data !== undefined) ctx.out(`data:\n${indent(prettyJson(run.data, 30))}`);
  ctx.out('');
  ctx.out(steps.length ? stepTable(steps, isActive(run.status)) : 'no steps yet');
  const failures = attemptFailures(steps);
  if (failures.length) ctx.out(`\nfailed attempts:\n${failures.map((l) => `  ${l}`).join('\n')}`);
  return 0;
}

export function runSummary(run: RunView): string {
  const active = isActive(run.status);
  return keyValues([
    ['run', run.id],
    ['workflow', workflowLabel(run)],
    ['status', run.status],
    ['progress', formatProgress(run.progress)],
    ['ref', run.ref ?? '-'],
    ['attempt', run.attempt !== undefined && run.attempt > 1 ? run.attempt : undefined],
    ['created', formatTime(run.created_at)],
    ['started', formatTime(run.started_at)],
    ['finished', formatTime(run.finished_at)],
    ['duration', formatDuration(durationBetween(run.started_at ?? run.created_at, run.finished_at, active ? Date.now() : undefined))],
    ['error', run.error ? errorText(run.error, true) : undefined],
  ]);
}

export function stepTable(steps: StepView[], runActive: boolean): string {
  return table(
    [
      { header: '#', align: 'right' }, 'step', 'type', 'status', { header: 'attempts', align: 'right' },
      'started', { header: 'duration', align: 'right' }, { header: 'error', max: 70 },
    ],
    steps.map((s, i) => [
      s.seq ?? i + 1,
      s.name && s.name !== s.step_id ? `${s.step_id} (${s.name})` : s.step_id,
      s.type,
      s.status,
      // Counted as the Luma history API counts them: a step that ran has had at least one attempt.
      Math.max(1, s.attempts?.length ?? 0),
      formatTime(s.started_at),
      formatDuration(stepDuration(s, runActive)),
      s.error ? errorText(s.error, false) : lastAttemptError(s),
    ]),
  );
}

function stepDuration(s: StepView, runActive: boolean): number | undefined {
  const going = runActive && (s.status === 'running' || s.status === 'waiting');
  return durationBetween(s.started_at, s.finished_at, going ? Date.now() : undefined);
}

/** One line per attempt that failed, with its error class, response status and duration. */
function attemptFailures(steps: StepView[]): string[] {
  const lines: string[] = [];
  for (const s of steps) {
    for (const [i, a] of (s.attempts ?? []).entries()) {
      if (!a.error) continue;
      const status = isObject(a.response) && typeof a.response.status === 'number' ? ` HTTP ${a.response.status}` : '';
      const ms = a.duration_ms ?? durationBetween(a.started_at, a.finished_at);
      const cls = a.error.class ? `[${a.error.class}] ` : '';
      const when = [ms !== undefined ? formatDuration(ms) : '', a.started_at ? formatTime(a.started_at) : ''].filter(Boolean);
      lines.push(`${s.step_id} #${a.n ?? i + 1}${status}: ${cls}${a.error.message ?? 'failed'}${when.length ? ` (${when.join(', ')})` : ''}`);
    }
  }
  return lines;
}

function lastAttemptError(s: StepView): string | undefined {
  const last = s.attempts?.[s.attempts.length - 1];
  return last?.error?.message;
}

async function steer(ctx: CliContext, id: string, verb: 'cancel' | 'retry', fromStart: boolean): Promise<number> {
  const { body } = await ctx.client.call('POST', `/v1/runs/${seg(id)}/${verb}`, {
    query: { from: fromStart ? 'start' : undefined },
  });
  if (ctx.json) {
    ctx.printJson(body);
    return 0;
  }
  const run = isObject(body) ? body : {};
  const status = typeof run.status === 'string' ? run.status : undefined;
  const what = verb === 'cancel' ? 'cancel requested' : `retry started${fromStart ? ' from the first step' : ''}`;
  ctx.out(`run ${typeof run.id === 'string' ? run.id : id}: ${what}${status ? ` (status ${status})` : ''}`);
  if (verb === 'retry') ctx.err(`follow it: flowgate runs watch ${typeof run.id === 'string' ? run.id : id}`);
  return 0;
}
