/**
 * `flowgate secrets set|list|delete`: the tenant's write-only secrets (PUT/GET/DELETE /v1/secrets).
 * `set` takes the value from `--value`, else from stdin: piped text (one trailing newline dropped),
 * or typed at a hidden prompt when stdin is a terminal.
 */
import type { Command } from 'commander';
import { CliError } from '../client.js';
import { formatTime, table } from '../format.js';
import { action, readStdin, seg, type CliContext, type CliDeps, type Opts } from './context.js';

interface SecretView {
  name: string;
  created_at?: string | number;
  updated_at?: string | number;
}

export function registerSecrets(program: Command, deps: CliDeps): void {
  const secrets = program.command('secrets').description('manage the tenant\'s secrets (values are never shown)');

  secrets
    .command('set')
    .description('create or replace a secret')
    .argument('<name>', 'secret name, used as {{ $secrets.<name> }}')
    .option('--value <value>', 'the value (else read from stdin; visible in shell history and process lists)')
    .action(action(deps, (ctx, opts, args) => setSecret(ctx, String(args[0]), opts)));

  secrets
    .command('list')
    .alias('ls')
    .description('list secret names')
    .action(action(deps, listSecrets));

  secrets
    .command('delete')
    .alias('rm')
    .description('delete a secret')
    .argument('<name>', 'secret name')
    .action(action(deps, async (ctx, _opts, args) => {
      const name = String(args[0]);
      await ctx.client.call('DELETE', `/v1/secrets/${seg(name)}`);
      if (ctx.json) ctx.printJson({ name, deleted: true });
      else ctx.out(`secret ${name} deleted`);
    }));
}

async function setSecret(ctx: CliContext, name: string, opts: Opts): Promise<number> {
  let value: string;
  if (typeof opts.value === 'string') value = opts.value;
  else if (ctx.deps.stdin.isTTY) value = await promptHidden(ctx, `value of ${name}: `);
  else value = (await readStdin(ctx.deps.stdin)).replace(/\r?\n$/, '');
  if (value === '') throw new CliError('the secret value is empty', { hint: 'give --value, or pipe the value on stdin' });

  const { status, body } = await ctx.client.call('PUT', `/v1/secrets/${seg(name)}`, { json: { value } });
  if (ctx.json) ctx.printJson(body ?? { name });
  else ctx.out(`secret ${name} ${status === 201 ? 'created' : 'saved'}`);
  return 0;
}

async function listSecrets(ctx: CliContext): Promise<number> {
  const items = await ctx.client.listAll<SecretView>('/v1/secrets');
  if (ctx.json) ctx.printJson({ items });
  else if (items.length === 0) ctx.out('no secrets');
  else {
    ctx.out(table(
      ['name', 'created', 'updated'],
      items.map((s) => [s.name, formatTime(s.created_at), formatTime(s.updated_at)]),
    ));
  }
  return 0;
}

/** Reads one line from a terminal without echoing it. */
function promptHidden(ctx: CliContext, prompt: string): Promise<string> {
  const stdin = ctx.deps.stdin;
  ctx.deps.stderr.write(prompt);
  stdin.setRawMode?.(true);
  stdin.resume();
  return new Promise((resolvePromise, reject) => {
    let value = '';
    const finish = (err?: Error): void => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      ctx.deps.stderr.write('\n');
      if (err) reject(err);
      else resolvePromise(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new CliError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
