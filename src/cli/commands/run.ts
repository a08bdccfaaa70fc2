/**
 * `flowgate run <workflow>`: POST /v1/workflows/{id}/runs with the params as JSON.
 * `--ref` is sent as Idempotency-Key, `--wait N` as `?wait=N` (the answer is then the run's result,
 * or the 202 answer when N seconds pass first).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, isObject, problemText, type ApiAnswer } from '../client.js';
import { keyValues, prettyJson } from '../format.js';
import { action, intOption, readStdin, seg, type CliContext, type CliDeps, type Opts } from './context.js';
import { REF_MAX } from '../../core/ref.js';

export function registerRun(program: Command, deps: CliDeps): void {
  program
    .command('run')
    .description('start a run of a workflow')
    .argument('<workflow>', 'workflow id')
    .option('-d, --data <json>', 'params as a JSON object, or @file.json, or @- for stdin', '{}')
    .option('--ref <ref>', 'caller-chosen unique key of the run (sent as Idempotency-Key)')
    .option('-w, --wait <seconds>', 'block up to this many seconds for the run to reply or end')
    .action(action(deps, (ctx, opts, args) => startRun(ctx, String(args[0]), opts)));
}

export async function startRun(ctx: CliContext, workflow: string, opts: Opts): Promise<number> {
  const data = await readData(ctx, String(opts.data ?? '{}'));
  const wait = intOption('--wait', opts.wait, { min: 0 });
  const ref = typeof opts.ref === 'string' ? opts.ref : undefined;
  if (ref !== undefined && (ref.length < 1 || ref.length > REF_MAX)) throw new CliError(`--ref must be 1 to ${REF_MAX} characters`);

  const answer = await ctx.client.exchange('POST', `/v1/workflows/${seg(workflow)}/runs`, {
    json: data,
    query: { wait },
    headers: ref !== undefined ? { 'idempotency-key': ref } : {},
  });
  const runId = answer.headers.get('flowgate-run-id');
  if (answer.status >= 400 && !runId) throw ctx.client.problemError(answer);

  if (answer.status === 202) return printAccepted(ctx, answer, wait);
  return printResult(ctx, answer, runId);
}

/** `--data`: inline JSON, `@file`, or `@-` (stdin); it must be a JSON object. */
async function readData(ctx: CliContext, spec: string): Promise<Record<string, unknown>> {
  let text = spec;
  let source = '--data';
  if (spec.startsWith('@')) {
    const file = spec.slice(1);
    source = file === '-' ? 'stdin' : file;
    try {
      text = file === '-' ? await readStdin(ctx.deps.stdin) : await readFile(resolve(ctx.deps.cwd, file), 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${source}: ${(err as Error).message}`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${source} is not valid JSON: ${(err as Error).message}`, {
      hint: `quote it for the shell, e.g. --data '{"amount": 10}'`,
    });
  }
  if (!isObject(value)) throw new CliError(`${source} must be a JSON object (the run's params)`);
  return value;
}

function printAccepted(ctx: CliContext, answer: ApiAnswer, wait: number | undefined): number {
  const body = isObject(answer.body) ? answer.body : {};
  if (ctx.json) {
    ctx.printJson(answer.body);
    return 0;
  }
  ctx.out(keyValues([
    ['run', body.id],
    ['status', body.status],
    ['ref', body.ref ?? undefined],
  ]));
  if (wait !== undefined && wait > 0) ctx.err(`the run did not finish within ${wait}s; it goes on`);
  if (typeof body.id === 'string') ctx.err(`follow it: flowgate runs watch ${body.id}`);
  return 0;
}

/** A waited answer: the run's result with its Flowgate-Run-Id and Flowgate-Run-Status headers. */
function printResult(ctx: CliContext, answer: ApiAnswer, runId: string | null): number {
  const status = answer.headers.get('flowgate-run-status') ?? (isObject(answer.body) ? answer.body.status : undefined);
  const runFailed = status === 'failed' || status === 'cancelled';
  const failed = answer.status >= 400 || runFailed;
  if (ctx.json) {
    if (typeof answer.body === 'string') ctx.out(answer.body);
    else ctx.printJson(answer.body);
    return failed ? 1 : 0;
  }
  const isProblem = (answer.headers.get('content-type') ?? '').includes('problem+json');
  ctx.out(keyValues([
    ['run', runId ?? (isObject(answer.body) ? answer.body.id : undefined)],
    ['status', status],
    ['http', answer.status === 200 ? undefined : answer.status],
  ]));
  if (isProblem) {
    const problem = ctx.client.problemError(answer);
    ctx.out(`error: ${problem.message}`);
    for (const e of problem.errors) ctx.out(`  ${problemText(e)}`);
  } else {
    ctx.out('result:');
    ctx.out(answer.body === null ? '(empty)' : typeof answer.body === 'string' ? answer.body : prettyJson(answer.body));
  }
  return failed ? 1 : 0;
}
