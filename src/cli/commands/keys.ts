/**
 * `flowgate keys create|list|delete`: API keys (POST/GET/DELETE /v1/keys). A key's token is shown
 * once, when it is created; the server keeps only its hash.
 */
import { Option, type Command } from 'commander';
import { isObject } from '../client.js';
import { formatTime, keyValues, table } from '../format.js';
import { action, seg, type CliContext, type CliDeps, type Opts } from './context.js';

export const ROLES = ['admin', 'trigger', 'read'] as const;

interface KeyView {
  id: string;
  name?: string;
  role?: string;
  tenant?: string;
  token?: string;
  created_at?: string | number;
}

export function registerKeys(program: Command, deps: CliDeps): void {
  const keys = program.command('keys').description('manage API keys');

  keys
    .command('create')
    .description('create an API key and print its token (shown only this once)')
    .requiredOption('--name <name>', 'what the key is for')
    .addOption(new Option('--role <role>', 'what the key may do').choices(ROLES).makeOptionMandatory())
    .option('--tenant <tenant>', 'the tenant the key belongs to (a new tenant is created); default: the acting tenant')
    .action(action(deps, createKey));

  keys
    .command('list')
    .alias('ls')
    .description('list API keys (never their tokens)')
    .action(action(deps, listKeys));

  keys
    .command('delete')
    .alias('rm')
    .description('delete an API key; requests with its token are refused at once')
    .argument('<id>', 'key id')
    .action(action(deps, async (ctx, _opts, args) => {
      const id = String(args[0]);
      await ctx.client.call('DELETE', `/v1/keys/${seg(id)}`);
      if (ctx.json) ctx.printJson({ id, deleted: true });
      else ctx.out(`key ${id} deleted`);
    }));
}

/**
 * The global `--tenant` and this command's `--tenant` are one flag (commander reads program options
 * anywhere on the line): here it names the key's tenant and goes in the body, not in the header.
 */
async function createKey(ctx: CliContext, opts: Opts): Promise<number> {
  const tenant = typeof opts.tenant === 'string' && opts.tenant ? opts.tenant : undefined;
  const { body } = await ctx.client.call<KeyView>('POST', '/v1/keys', {
    json: { name: opts.name, role: opts.role, ...(tenant ? { tenant } : {}) },
    noTenantHeader: tenant !== undefined,
  });
  if (ctx.json) ctx.printJson(body);
  else {
    const key: Partial<KeyView> = isObject(body) ? body : {};
    ctx.out(keyValues([
      ['id', key.id],
      ['name', key.name],
      ['role', key.role],
      ['tenant', key.tenant],
      ['token', key.token],
    ]));
  }
  ctx.err('warning: store this token now: it will not be shown again');
  return 0;
}

async function listKeys(ctx: CliContext): Promise<number> {
  const items = await ctx.client.listAll<KeyView>('/v1/keys');
  if (ctx.json) ctx.printJson({ items });
  else if (items.length === 0) ctx.out('no keys');
  else {
    ctx.out(table(
      ['id', 'name', 'role', 'tenant', 'created'],
      items.map((k) => [k.id, k.name, k.role, k.tenant, formatTime(k.created_at)]),
    ));
  }
  return 0;
}
