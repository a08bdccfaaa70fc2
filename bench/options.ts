/** `npm run bench` options: flags win over environment variables, which win over the defaults. */
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { REPO_ROOT } from './servers.js';

export interface BenchOptions {
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  /** Scenario ids to run (the baseline always runs); null = all. */
  only: string[] | null;
  quick: boolean;
  /** Profile every Flowgate server (`node --cpu-prof`) and print its hottest functions. */
  cpuProf: boolean;
  /** Where the JSON results go. */
  out: string;
  /** Per-request timeout of the load generator, seconds. */
  timeoutSeconds: number;
  /** Every chosen row this many times, in turn (row 1, row 2, …, row 1, row 2, …), on a noisy machine. */
  rounds: number;
}

export const USAGE = `npm run bench [-- options]

  --duration <s>      measured seconds per scenario (BENCH_DURATION, default 10; --quick: 3)
  --warmup <s>        warm-up seconds before each measurement (BENCH_WARMUP, default 2; --quick: 1)
  --connections <n>   concurrent keep-alive connections (BENCH_CONNECTIONS, default 64)
  --only <ids>        comma-separated scenario ids, e.g. a,b (BENCH_ONLY); the baseline always runs
  --quick             3 s per scenario: a smoke check, not a measurement (BENCH_QUICK=1)
  --rounds <n>        run the chosen rows n times in turn, each compared with its own round's rows (BENCH_ROUNDS, default 1)
  --cpu-prof          profile each Flowgate server and print its top self-time functions (BENCH_CPU_PROF=1)
  --out <file>        JSON results (BENCH_OUT, default bench/results/latest.json)
  --list              list the scenarios and exit
  -h, --help          this text`;

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

const truthy = (raw: string | undefined): boolean => raw !== undefined && raw !== '' && raw !== '0' && raw !== 'false';

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions & { help: boolean; list: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      only: { type: 'string' },
      rounds: { type: 'string' },
      quick: { type: 'boolean' },
      'cpu-prof': { type: 'boolean' },
      out: { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const quick = values.quick ?? truthy(env.BENCH_QUICK);
  const onlyRaw = values.only ?? env.BENCH_ONLY;
  const only = onlyRaw ? onlyRaw.split(',').map((s) => s.trim()).filter(Boolean) : null;
  const connections = positive('--connections', values.connections ?? env.BENCH_CONNECTIONS, 64);
  if (!Number.isInteger(connections)) throw new Error('--connections must be an integer');
  const rounds = positive('--rounds', values.rounds ?? env.BENCH_ROUNDS, 1);
  if (!Number.isInteger(rounds)) throw new Error('--rounds must be an integer');
  return {
    rounds,
    durationSeconds: positive('--duration', values.duration ?? env.BENCH_DURATION, quick ? 3 : 10),
    warmupSeconds: positive('--warmup', values.warmup ?? env.BENCH_WARMUP, quick ? 1 : 2),
    connections,
    only: only && only.length ? only : null,
    quick,
    cpuProf: values['cpu-prof'] ?? truthy(env.BENCH_CPU_PROF),
    out: values.out ?? env.BENCH_OUT ?? join(REPO_ROOT, 'bench/results/latest.json'),
    timeoutSeconds: 30,
    help: values.help ?? false,
    list: values.list ?? false,
  };
}
