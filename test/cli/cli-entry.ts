// The client commands on a bare program, for tests that spawn the CLI as a process
// (src/cli/main.ts, which adds `serve`, is written separately).
import { Command } from 'commander';
import { registerClientCommands } from '../../src/cli/commands.js';

const program = new Command('flowgate');
registerClientCommands(program);
await program.parseAsync(process.argv);
