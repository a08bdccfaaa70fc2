/**
 * What the limits cost on the trigger path of one node on PostgreSQL (docs/operations.md "Limits
 * across the cluster"), beside row pg-a (the same 202 trigger of bench-three, unlimited) in the
 * same run: run them with `npm run bench -- --only pg-a,pg-rl,pg-rl-db,pg-cap`.
 *
 * - pg-rl: the rate limits on, split mode (the default: counted in the node's memory), sent with a
 *   trigger key (the admin token is exempt). Rates far above the load: nothing is refused, every
 *   request is checked.
 * - pg-rl-db: the same with FLOWGATE_RATE_LIMIT_MODE=database: every request takes its tokens
 *   from the database (one statement), the cost this mode adds to split.
 * - pg-cap: bench-three with `trigger.concurrency` far above the load: every run is created queued
 *   and asks the database for a slot before it executes (what a capped workflow pays; an uncapped
 *   one pays none of it).
 *
 * Each checks afterwards that runs created = 2xx answers and that every run succeeded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestSpec } from './load-protocol.js';
import type { LoadRun } from './load-runner.js';
import { countRuns, waitUntilSettled, type RunCount } from './runs.js';
import type { Check, Prepared, Scenario } from './scenario.js';
import { REPO_ROOT, type ServerHandle } from './servers.js';

const BENCH_THREE_YAML = readFileSync(join(REPO_ROOT, 'bench/workflows/bench-three.yaml'), 'utf8');
const BODY = JSON.stringify({ amount: 1250 });
const SETTLE_TIMEOUT_MS = 600_000;
/** Rates no load here reaches: every request is checked, none refused. */
const UNREACHED_RATE = String(10_000_000);
const RATES = { FLOWGATE_RATE_LIMIT_PER_KEY: UNREACHED_RATE, FLOWGATE_RATE_LIMIT_PER_WORKFLOW: UNREACHED_RATE };

/** Puts `yaml` as workflow `id`, makes the bearer (a trigger key, or the admin token), smokes the request. */
async function prepare(server: ServerHandle, id: string, yaml: string, withKey: boolean): Promise<Prepared> {
  const put = await server.api('PUT', `/v1/workflows/${id}`, yaml, { 'Content-Type': 'application/yaml' });
  if (put.status !== 201 && put.status !== 200) throw new Error(`PUT /v1/workflows/${id} answered ${put.status}: ${put.text.slice(0, 300)}`);
  let bearer = server.token;
  if (withKey) {
    const key = await server.api('POST', '/v1/keys', { name: 'bench', role: 'trigger' });
    if (key.status !== 201) throw new Error(`POST /v1/keys answered ${key.status}: ${key.text.slice(0, 300)}`);
    bearer = (key.json() as { token: string }).token;
  }
  const request: RequestSpec = {
    method: 'POST', path: `/v1/workflows/${id}/runs`, headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' }, body: BODY, expectStatus: 202,
  };
  const smoke = await server.api(request.method, request.path, request.body, request.headers);
  if (smoke.status !== 202) throw new Error(`${request.path} answered ${smoke.status}: ${smoke.text.slice(0, 300)}`);
  await waitUntilSettled(server, id, SETTLE_TIMEOUT_MS);
  const before = await countRuns(server, id);
  return { request, verify: (load) => verify(server, id, before, load) };
}

async function verify(server: ServerHandle, id: string, before: RunCount, load: LoadRun): Promise<{ checks: Check[]; facts: Record<string, unknown> }> {
  const settle = await waitUntilSettled(server, id, SETTLE_TIMEOUT_MS);
  const after = await countRuns(server, id);
  const created = after.total - before.total;
  const succeeded = (after.byStatus.succeeded ?? 0) - (before.byStatus.succeeded ?? 0);
  return {
    facts: { runsCreated: created, runsSucceeded: succeeded, runsByStatus: after.byStatus, settleSecondsAfterLoad: settle },
    checks: [
      { name: 'runs created = 2xx answers', ok: created === load.total.ok2xx && load.undrained === 0, detail: `${created} runs created, ${load.total.ok2xx} 2xx answers` },
      { name: 'every run succeeded', ok: succeeded === created, detail: `${succeeded} of ${created} succeeded (${JSON.stringify(after.byStatus)})` },
    ],
  };
}

const capped = BENCH_THREE_YAML.replace('id: bench-three', 'id: bench-capped').replace('\nsteps:', `\ntrigger:\n  concurrency: ${UNREACHED_RATE}\nsteps:`);

export const LIMIT_SCENARIOS: Scenario[] = [
  {
    id: 'pg-rl',
    title: 'pg-a with a trigger key and rate limits on (split: in memory)',
    server: 'flowgate',
    database: 'postgres',
    env: RATES,
    target: { vsRow: { id: 'pg-a', minRatio: 0.8 } },
    setup: (server) => prepare(server, 'bench-three', BENCH_THREE_YAML, true),
  },
  {
    id: 'pg-rl-db',
    title: 'pg-rl with FLOWGATE_RATE_LIMIT_MODE=database (a database check per request)',
    server: 'flowgate',
    database: 'postgres',
    env: { ...RATES, FLOWGATE_RATE_LIMIT_MODE: 'database' },
    // What the mode costs is measured, not aimed at: docs/performance.md has the figures.
    target: { vsRow: { id: 'pg-a', minRatio: 0.1 } },
    setup: (server) => prepare(server, 'bench-three', BENCH_THREE_YAML, true),
  },
  {
    id: 'pg-cap',
    title: 'pg-a of a workflow with trigger.concurrency (a slot asked of the database per run)',
    server: 'flowgate',
    database: 'postgres',
    target: { vsRow: { id: 'pg-a', minRatio: 0.1 } },
    setup: (server) => prepare(server, 'bench-capped', capped, false),
  },
];
