// Entry of the store thread (src/store/sqlite/thread.ts). Plain JavaScript so it can load the
// TypeScript sources the same way the server does, through tsx, with no build step.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { serveStore } = await import('./thread-host.ts');
await serveStore(parentPort, workerData);
