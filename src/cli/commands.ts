/**
 * The client commands of the `flowgate` CLI, registered on the program that `main.ts` builds
 * (which adds `serve`). They are a thin shell over the HTTP API: none of them opens the store.
 *
 * Global options (any position on the line): --url, --token, --tenant, --json.
 */
import type { Command } from 'commander';
import { registerApply } from './commands/apply.js';
import { processDeps, type CliDeps } from './commands/context.js';
import { registerImport } from './commands/import.js';
import { registerKeys } from './commands/keys.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import { registerSecrets } from './commands/secrets.js';
import { registerWorkflows } from './commands/workflows.js';

export type { CliDeps } from './commands/context.js';

const GLOBAL_OPTIONS: [flags: string, description: string][] = [
  ['--url <url>', 'Flowgate server URL (env FLOWGATE_URL, default http://127.0.0.1:8080)'],
  ['--token <token>', 'API token (env FLOWGATE_TOKEN, else the admin token in $FLOWGATE_DATA_DIR/admin-token, default ./data)'],
  ['--tenant <tenant>', 'tenant to act on with the admin token (sent as Flowgate-Tenant)'],
  ['--json', 'print the API\'s JSON instead of tables'],
];

/**
 * Adds apply, run, runs, keys, secrets, import and workflows, plus the global options (unless the program already has
 * them). `deps` replaces the process's streams, environment and exit code, for tests.
 */
export function registerClientCommands(program: Command, deps: Partial<CliDeps> = {}): void {
  const full: CliDeps = { ...processDeps(), ...deps };
  for (const [flags, description] of GLOBAL_OPTIONS) {
    const long = flags.split(' ')[0];
    if (!program.options.some((o) => o.long === long)) program.option(flags, description);
  }
  registerApply(program, full);
  registerRun(program, full);
  registerRuns(program, full);
  registerKeys(program, full);
  registerSecrets(program, full);
  registerImport(program, full);
  registerWorkflows(program, full);
}
