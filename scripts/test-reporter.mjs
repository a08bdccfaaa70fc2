// A test reporter for people: one line per test file, each failure with its cause and the output
// the file printed, and a closing count. Set FLOWGATE_TEST_REPORTER=spec to get Node's own reporter.
import { relative } from 'node:path';

const root = process.cwd();
const files = new Map(); // file → { passed, failed, skipped, ms, failures: [], output: [] }
const entry = (file) => {
  const key = file ? relative(root, file) : '(no file)';
  let f = files.get(key);
  if (!f) files.set(key, (f = { passed: 0, failed: 0, skipped: 0, ms: 0, failures: [], output: [] }));
  return f;
};

const indent = (text, by = '      ') => String(text).split('\n').map((l) => by + l).join('\n');

function cause(error) {
  // The runner wraps a test's error; what the test threw is its cause.
  const e = error?.cause ?? error;
  if (!e) return 'failed';
  if (typeof e !== 'object') return String(e);
  const lines = [];
  if (e.code === 'ERR_ASSERTION' && 'expected' in e) {
    lines.push(e.message?.split('\n')[0] ?? 'assertion failed');
    const show = (v) => { try { return JSON.stringify(v)?.slice(0, 400); } catch { return String(v); } };
    lines.push(`expected: ${show(e.expected)}`, `actual:   ${show(e.actual)}`);
  } else {
    lines.push(e.message ?? String(e));
  }
  const frames = String(e.stack ?? '')
    .split('\n')
    .filter((l) => /^\s+at /.test(l) && !l.includes('node:') && !l.includes('node_modules'))
    .slice(0, 3)
    .map((l) => l.trim());
  return [...lines, ...frames].join('\n');
}

export default async function* reporter(source) {
  const started = Date.now();
  const line = (key) => {
    const f = files.get(key);
    const mark = f.failed ? '✖' : '✔';
    const counts = `${f.passed} passed${f.failed ? `, ${f.failed} failed` : ''}${f.skipped ? `, ${f.skipped} skipped` : ''}`;
    return `${mark} ${key} (${counts}, ${(f.ms / 1000).toFixed(1)} s)\n`;
  };
  for await (const event of source) {
    const { type, data } = event;
    if (type === 'test:stdout' || type === 'test:stderr') {
      const f = entry(data.file);
      f.output.push(data.message);
      if (f.output.length > 400) f.output.shift();
      continue;
    }
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const f = entry(data.file);
    const isSuite = data.details?.type === 'suite';
    if (data.nesting === 0) f.ms += data.details?.duration_ms ?? 0;
    if (!isSuite) {
      if (data.skip || data.todo) f.skipped++;
      else if (type === 'test:pass') f.passed++;
      else {
        f.failed++;
        f.failures.push(`    ✖ ${data.name}\n${indent(cause(data.details?.error))}`);
        yield `✖ ${relative(root, data.file ?? '')} › ${data.name}\n`;
      }
    } else if (type === 'test:fail' && data.details?.error?.failureType !== 'subtestsFailed') {
      // A suite that failed by itself (a hook, or an error outside its tests).
      f.failed++;
      f.failures.push(`    ✖ ${data.name} (suite)\n${indent(cause(data.details?.error))}`);
    }
  }
  let passed = 0, failed = 0, skipped = 0;
  for (const [key, f] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    passed += f.passed; failed += f.failed; skipped += f.skipped;
    // A helper module that only defines suites run by other files has no tests of its own to show.
    if (f.passed + f.failed + f.skipped === 0 && f.output.length === 0) continue;
    yield line(key);
    if (f.failed) {
      yield f.failures.join('\n') + '\n';
      if (f.output.length) yield `    output of ${key} (last lines):\n${indent(f.output.join('').split('\n').slice(-40).join('\n'))}\n`;
    }
  }
  const failedFiles = [...files].filter(([, f]) => f.failed).map(([k]) => k);
  if (failedFiles.length) yield `\nfailed in: ${failedFiles.join(', ')}\n`;
  yield `\n${files.size} files, ${((Date.now() - started) / 1000).toFixed(0)} s\n`;
  yield `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
}
