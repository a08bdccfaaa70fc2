#!/usr/bin/env node
// Builds the web console (ui/) into ui/dist with Vite.
// Usage: node scripts/build-ui.mjs [--if-stale] [--optional] [--quiet]
//   --if-stale  build only when ui/dist is missing or older than a source file of the console
//   --optional  when the build tools are not installed (a production install), say so and exit 0
//   --quiet     no table of the built files' sizes
// After a build it prints each file's size, raw and gzipped, and what the first screen loads.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { consoleSizes, formatSizes } from './console-size.mjs';

const root = new URL('..', import.meta.url).pathname;
const ui = join(root, 'ui');
const built = join(ui, 'dist', 'index.html');
const args = new Set(process.argv.slice(2));

/** The newest modification time among the console's sources (ui/ without dist) and the lockfile. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (name === 'dist' || name === 'node_modules' || name.startsWith('.')) continue;
      const path = join(dir, name);
      const st = statSync(path);
      if (st.isDirectory()) walk(path);
      else if (!name.endsWith('.test.ts')) newest = Math.max(newest, st.mtimeMs);
    }
  };
  walk(ui);
  const lock = join(root, 'package-lock.json');
  if (existsSync(lock)) newest = Math.max(newest, statSync(lock).mtimeMs);
  return newest;
}

export function consoleIsStale() {
  return !existsSync(built) || statSync(built).mtimeMs < newestSource();
}

if (args.has('--if-stale') && !consoleIsStale()) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch {
  const msg = 'the console is not built: its build tools (vite) are not installed; run `npm install` with dev dependencies, then `node scripts/build-ui.mjs`';
  if (args.has('--optional')) {
    console.error(`note: ${msg}`);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}
const started = Date.now();
try {
  await vite.build({ configFile: join(ui, 'vite.config.ts'), logLevel: 'warn' });
} catch (e) {
  console.error('console build failed:', e?.message ?? e);
  process.exit(1);
}
// Each text asset also gzipped beside it (name.gz): the server sends that to clients that accept
// gzip, so the first screen crosses the network at its gzipped size without compressing per request.
const assetsDir = join(ui, 'dist', 'assets');
for (const name of readdirSync(assetsDir)) {
  if (!/\.(js|css|svg|json|txt|map)$/.test(name)) continue;
  writeFileSync(join(assetsDir, `${name}.gz`), gzipSync(readFileSync(join(assetsDir, name)), { level: 9 }));
}
console.error(`console built in ${((Date.now() - started) / 1000).toFixed(1)} s (ui/dist)`);
if (!args.has('--quiet')) console.error(formatSizes(consoleSizes(join(ui, 'dist'))));
