/**
 * The architecture is checked, not just described: every import between src/ folders must follow
 * the layer arrows of docs/architecture.md, and no module may import itself through a cycle.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(new URL('../../src', import.meta.url).pathname);

/** Layer of a file: its first folder, with src/store/types.ts and each store backend apart. */
function layerOf(file: string): string {
  const rel = relative(SRC, file);
  if (rel === join('store', 'types.ts')) return 'store/types';
  // The rows both backends share (the run row, workflow and key rows) are a layer of their own.
  if (rel === join('store', 'run-row.ts') || rel === join('store', 'documents.ts')) return 'store/rows';
  const parts = rel.split('/');
  if (parts[0] === 'store') return `store/${parts[1]}`;
  if (parts[0] === 'http' && parts[1] === 'compat') return 'http';
  return parts[0];
}

const ALLOWED: Record<string, string[]> = {
  core: [],
  steps: ['core'],
  'store/types': ['core'],
  'store/rows': ['core', 'store/types'],
  'store/sqlite': ['core', 'store/types', 'store/rows'],
  'store/postgres': ['core', 'store/types', 'store/rows'],
  engine: ['core', 'steps', 'store/types'],
  triggers: ['core', 'engine', 'store/types'],
  http: ['core', 'triggers', 'engine', 'store/types'],
  app: ['*'],
  cli: ['app', 'core'],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('imports follow the layer arrows', () => {
  const violations: string[] = [];
  for (const [file, deps] of graph) {
    const from = layerOf(file);
    const allowed = ALLOWED[from];
    assert.ok(allowed, `unknown layer ${from} (${relative(SRC, file)}): add it to docs/architecture.md and this test`);
    for (const dep of deps) {
      const to = layerOf(dep);
      if (to === from || allowed.includes('*') || allowed.includes(to)) continue;
      violations.push(`${relative(SRC, file)} -> ${relative(SRC, dep)} (${from} may not import ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('every relative import names an existing file', () => {
  const missing: string[] = [];
  for (const [file, deps] of graph) for (const dep of deps) if (!graph.has(dep)) missing.push(`${relative(SRC, file)} -> ${relative(SRC, dep)}`);
  assert.deepEqual(missing, []);
});

test('there are no import cycles', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]): void => {
    const s = state.get(f);
    if (s === 'done') return;
    if (s === 'visiting') {
      cycles.push([...path.slice(path.indexOf(f)), f].map((x) => relative(SRC, x)).join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    for (const dep of graph.get(f) ?? []) if (graph.has(dep)) visit(dep, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  assert.deepEqual(cycles, []);
});

test('source files stay small enough to read', () => {
  const big = files.filter((f) => readFileSync(f, 'utf8').split('\n').length > 650).map((f) => relative(SRC, f));
  assert.deepEqual(big, []);
});
