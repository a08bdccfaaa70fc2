/**
 * `npm run fuzz -- [--seed N] [--seconds S] [--runs N] [--category C,…] [--hang-ms MS] [--stall-ms MS] [--json FILE] [--verbose]`:
 * the bounded fuzzer against a fresh local server. Prints the summary table; exits 1 when it found anything.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fuzz } from './fuzz.js';
import { summary } from './report.js';
import { CATEGORIES, type Category } from './requests.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    seconds: { type: 'string', default: '60' },
    runs: { type: 'string', default: '1000000' },
    category: { type: 'string' },
    'hang-ms': { type: 'string', default: '5000' },
    'stall-ms': { type: 'string', default: '2000' },
    'stuck-ms': { type: 'string', default: '15000' },
    json: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});

const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const categories = values.category ? (values.category.split(',') as Category[]) : undefined;
for (const c of categories ?? []) if (!CATEGORIES.includes(c)) throw new Error(`unknown category ${c}; one of ${CATEGORIES.join(', ')}`);
const num = (s: string, name: string): number => {
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
  return n;
};

console.log(`fuzzing with seed ${seed} for at most ${values.seconds} s / ${values.runs} requests`);
const report = await fuzz({
  seed, seconds: num(values.seconds!, 'seconds'), runs: num(values.runs!, 'runs'), categories,
  hangMs: num(values['hang-ms']!, 'hang-ms'), stallMs: num(values['stall-ms']!, 'stall-ms'), stuckMs: num(values['stuck-ms']!, 'stuck-ms'),
  log: values.quiet ? undefined : (line) => console.log(line),
  verbose: values.verbose,
});
console.log('');
console.log(summary(report, `npm run fuzz -- --seed ${seed}`));
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
process.exit(report.first.length ? 1 : 0);
