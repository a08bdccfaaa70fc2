// Entry of the store thread (src/store/sqlite/thread.ts). Plain JavaScript so it loads as is in a
// worker thread: beside the compiled server (dist/, `npm run build`) it imports the compiled host;
// run from the TypeScript sources (tests, development) it loads them through tsx, as the server does.
import { existsSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const compiled = new URL('./thread-host.js', import.meta.url);
let host;
if (existsSync(compiled)) host = await import(compiled.href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  host = await import('./thread-host.ts');
}
await host.serveStore(parentPort, workerData);
