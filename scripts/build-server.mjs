#!/usr/bin/env node
// Compiles the server (src/, without its tests) to JavaScript in dist/ with tsc (tsconfig.build.json),
// and copies the plain-JavaScript worker entries beside the compiled files.
// Usage: node scripts/build-server.mjs [--if-stale] [--optional]
//   --if-stale  build only when dist/ is missing or older than a source file, tsconfig or package.json
//   --optional  when the compiler is not installed (a production install), say so and exit 0
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { newestMtime } from './newest.mjs';

const root = new URL('..', import.meta.url).pathname;
const src = join(root, 'src');
const dist = join(root, 'dist');
const stamp = join(dist, '.built');
const args = new Set(process.argv.slice(2));

export function serverIsStale() {
  if (!existsSync(stamp)) return true;
  const inputs = Math.max(
    newestMtime(src, { skipFile: (n) => n.endsWith('.test.ts') }),
    ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((f) => statSync(join(root, f)).mtimeMs),
  );
  return statSync(stamp).mtimeMs < inputs;
}

if (args.has('--if-stale') && !serverIsStale()) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error(existsSync(stamp)
    ? 'note: dist/ may be older than src/, and the compiler (typescript) is not installed to rebuild it; running dist/ as it is'
    : 'the server is not built (dist/ is missing) and the compiler (typescript) is not installed: run `npm install` with dev dependencies, then `npm run build`');
  process.exit(existsSync(stamp) || args.has('--optional') ? 0 : 1);
}

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('server build failed (tsc)');
  process.exit(1);
}
// Worker entries are plain JavaScript loaded by URL (new URL('./x.mjs', import.meta.url)): tsc does not copy them.
const copyWorkers = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) copyWorkers(path);
    else if (name.endsWith('.mjs')) {
      const to = join(dist, relative(src, path));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(path, to);
    }
  }
};
copyWorkers(src);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
console.error(`server built in ${((Date.now() - started) / 1000).toFixed(1)} s (dist/)`);
