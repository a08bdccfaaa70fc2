#!/usr/bin/env node
// Runs every *.test.ts under src/, test/ and ui/src/ with Node's test runner (TypeScript through tsx),
// after building the web console when its sources changed (the browser tests under test/ui/ use it).
// Usage: npm test [-- <file or substring filter> ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts')) files.push(relative(root, path));
  }
};
for (const dir of ['src', 'test', 'ui/src']) walk(join(root, dir));
const filters = process.argv.slice(2);
const chosen = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
chosen.sort();
if (chosen.length === 0) {
  console.error('no test files match', filters.join(' '));
  process.exit(1);
}
if (filters.length === 0) {
  // The whole suite starts with the type check (the server's and the console's own tsconfig): a type
  // error fails `npm test` like a failing test.
  for (const project of [root, join(root, 'ui')]) {
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', project], { stdio: 'inherit', cwd: root });
    if (tsc.status !== 0) {
      console.error('type check failed');
      process.exit(tsc.status ?? 1);
    }
  }
}
const build = spawnSync(process.execPath, [join(root, 'scripts/build-ui.mjs'), '--if-stale'], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  console.error('console build failed');
  process.exit(build.status ?? 1);
}
const result = spawnSync(
  process.execPath,
  [
    '--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000',
    // A summary a person can read (scripts/test-reporter.mjs); FLOWGATE_TEST_REPORTER=spec or tap for Node's own.
    `--test-reporter=${process.env.FLOWGATE_TEST_REPORTER || join(root, 'scripts/test-reporter.mjs')}`,
    ...chosen,
  ],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
