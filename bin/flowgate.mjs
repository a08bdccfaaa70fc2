#!/usr/bin/env node
// The npm bin: runs the compiled server and CLI (dist/). In a checkout where dist/ is missing or
// older than the sources it is built first (scripts/build-server.mjs), so `npx flowgate` always
// runs what the sources say.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const build = new URL('../scripts/build-server.mjs', import.meta.url);
// An installed package has dist/ and no sources: nothing to build.
if (existsSync(build) && existsSync(new URL('../src/', import.meta.url))) {
  const r = spawnSync(process.execPath, [build.pathname, '--if-stale'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
await import(new URL('../dist/cli/main.js', import.meta.url).href);
