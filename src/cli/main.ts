/** The `flowgate` command: `serve` runs the server; the other commands speak to one over HTTP. */
import { Command, Option } from 'commander';
import type { ServeFlags } from '../app/config.js';
import { VERSION } from '../core/version.js';
import { registerClientCommands } from './commands.js';

// A reader that stops early (`flowgate runs list | head`) closes the pipe: end quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw e;
  });
}

const program = new Command('flowgate')
  .description('Flowgate: start workflows by webhook, signed API, sync call, 202-and-poll or CSV; run them durably.')
  .version(VERSION, '-V, --version', 'print the version of Flowgate')
  .showHelpAfterError();

program
  .command('serve')
  .description('run the Flowgate server')
  .option('--host <host>', 'address to listen on (FLOWGATE_HOST, default 127.0.0.1)')
  .option('--port <port>', 'port to listen on (FLOWGATE_PORT, default 8080; 0 picks a free port)')
  .option('--data-dir <dir>', 'where the embedded store and generated keys live (FLOWGATE_DATA_DIR, default ./data)')
  .option('--database-url <url>', 'postgres://… : keep everything in PostgreSQL, where several nodes may share it (FLOWGATE_DATABASE_URL; default: the embedded SQLite store)')
  .option('--public-url <url>', 'base of every URL the server hands out (FLOWGATE_PUBLIC_URL)')
  .option('--examples <dir>', 'workflow files applied to the default tenant on start (default: ./examples)')
  .option('--no-examples', 'apply no example workflows')
  .addOption(new Option('--log-level <level>', 'log level (FLOWGATE_LOG_LEVEL)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .action(async (flags: ServeFlags) => {
    // Loaded here so that client commands start without the server stack.
    const [{ loadConfig }, { startServer }] = await Promise.all([import('../app/config.js'), import('../app/app.js')]);
    const config = loadConfig(flags);
    const server = await startServer(config);
    // stdout is the JSON log; what a person starting the server reads goes to stderr (the token only
    // here, once, never into the log).
    if (config.adminTokenGenerated) {
      process.stderr.write(`\nAdmin token (shown once; kept in ${config.dataDir}/admin-token):\n  ${config.adminToken}\n\n`);
    }
    process.stderr.write(`Flowgate is serving on ${server.url}\n`);
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`${signal}: stopping intake, finishing work in flight\n`);
      server.close().then(() => process.exit(0), (e) => {
        console.error(e);
        process.exit(1);
      });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

registerClientCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
