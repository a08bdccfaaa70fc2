/**
 * The rows of `npm run bench`. A scenario names the server it measures, prepares it (workflows,
 * keys, secrets…) and returns the one request the load generator repeats, plus the checks to run
 * on the server afterwards. To add a row (signed ops API, outgoing HTTP steps, code steps, …),
 * append a Scenario here; bench/run.ts needs no change.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countRuns, waitUntilSettled, type RunCount } from './runs.js';
import { CODE_SCENARIOS } from './scenarios-code.js';
import { COREZOID_SCENARIOS } from './scenarios-corezoid.js';
import { HTTP_SCENARIOS } from './scenarios-http.js';
import { LIMIT_SCENARIOS } from './scenarios-limits.js';
import type { RequestSpec } from './load-protocol.js';
import type { LoadRun } from './load-runner.js';
import type { Check, Prepared, Scenario } from './scenario.js';
import { REPO_ROOT, type ServerHandle } from './servers.js';

export type { Check, Prepared, Scenario, Target } from './scenario.js';

const BENCH_THREE = 'bench-three';
const BENCH_THREE_YAML = readFileSync(join(REPO_ROOT, 'bench/workflows/bench-three.yaml'), 'utf8');
/** The trigger's params: small, valid, taking the condition's `amount > 1000` branch. */
const TRIGGER_BODY = JSON.stringify({ amount: 1250 });
const SETTLE_TIMEOUT_MS = 600_000;

const jsonHeaders = (server: ServerHandle): Record<string, string> => ({
  Authorization: `Bearer ${server.token}`,
  'Content-Type': 'application/json',
});

async function putWorkflow(server: ServerHandle, id: string, yaml: string): Promise<void> {
  const answer = await server.api('PUT', `/v1/workflows/${id}`, yaml, { 'Content-Type': 'application/yaml' });
  if (answer.status !== 201 && answer.status !== 200) throw new Error(`PUT /v1/workflows/${id} answered ${answer.status}: ${answer.text.slice(0, 500)}`);
}

/** Sends the scenario's request once, before the load, and checks it answers as the load expects. */
async function smoke(server: ServerHandle, request: RequestSpec): Promise<string> {
  const answer = await server.api(request.method, request.path, request.body, request.headers);
  if (answer.status !== request.expectStatus) {
    throw new Error(`${request.method} ${request.path} answered ${answer.status} (expected ${request.expectStatus}): ${answer.text.slice(0, 500)}`);
  }
  return answer.text;
}

/**
 * After a load of triggers: the answers must match the runs one to one (none lost, none extra) and
 * every run must have succeeded. Also reports how long the backlog took to finish after the load.
 * `answered` says which answers stand for a run: only the 2xx ones when a refusal creates nothing
 * (202 mode), every answer when a run's own failure is answered too (`?wait` answers a failed run
 * with its problem document).
 */
function runsMatchAnswers(server: ServerHandle, workflow: string, before: RunCount, answered: '2xx' | 'all' = '2xx') {
  return async (load: LoadRun): Promise<{ checks: Check[]; facts: Record<string, unknown> }> => {
    const drainSeconds = await waitUntilSettled(server, workflow, SETTLE_TIMEOUT_MS);
    const after = await countRuns(server, workflow);
    const created = after.total - before.total;
    const succeeded = (after.byStatus.succeeded ?? 0) - (before.byStatus.succeeded ?? 0);
    const failure = succeeded === created ? '' : await firstFailure(server, workflow);
    const expected = answered === '2xx' ? load.total.ok2xx : load.total.answers;
    return {
      facts: { runsCreated: created, runsSucceeded: succeeded, runsByStatus: after.byStatus, settleSecondsAfterLoad: drainSeconds },
      checks: [
        {
          name: answered === '2xx' ? 'runs created = 2xx answers' : 'runs created = answers',
          ok: created === expected && load.undrained === 0,
          detail: `${created} runs created, ${expected} ${answered === '2xx' ? '2xx ' : ''}answers received${load.undrained ? `, ${load.undrained} connections did not drain` : ''}`,
        },
        {
          name: 'every run succeeded',
          ok: succeeded === created,
          detail: `${succeeded} of ${created} succeeded (${JSON.stringify(after.byStatus)})${failure}`,
        },
      ],
    };
  };
}

/** The error of the newest failed run, to say why runs failed. */
async function firstFailure(server: ServerHandle, workflow: string): Promise<string> {
  const answer = await server.api('GET', `/v1/runs?${new URLSearchParams({ workflow, status: 'failed', limit: '1' })}`);
  const run = (answer.json() as { items?: { id: string; error: unknown }[] }).items?.[0];
  return run ? `; e.g. run ${run.id}: ${JSON.stringify(run.error)}` : '';
}

/** Row (a) and its PostgreSQL twin: a durable 202 trigger of bench-three, every run checked afterwards. */
async function asyncTrigger(server: ServerHandle): Promise<Prepared> {
  await putWorkflow(server, BENCH_THREE, BENCH_THREE_YAML);
  const request: RequestSpec = { method: 'POST', path: `/v1/workflows/${BENCH_THREE}/runs`, headers: jsonHeaders(server), body: TRIGGER_BODY, expectStatus: 202 };
  const body = JSON.parse(await smoke(server, request)) as { id?: unknown };
  if (typeof body.id !== 'string') throw new Error(`the 202 body has no run id: ${JSON.stringify(body)}`);
  await waitUntilSettled(server, BENCH_THREE, SETTLE_TIMEOUT_MS);
  return { request, verify: runsMatchAnswers(server, BENCH_THREE, await countRuns(server, BENCH_THREE)) };
}

export const SCENARIOS: Scenario[] = [
  {
    id: 'baseline',
    title: 'plain node:http, same 202 JSON',
    server: 'baseline',
    target: null,
    async setup(server) {
      return { request: { method: 'POST', path: `/v1/workflows/${BENCH_THREE}/runs`, headers: jsonHeaders(server), body: TRIGGER_BODY, expectStatus: 202 } };
    },
  },
  {
    id: 'a',
    title: 'async durable trigger → 202',
    server: 'flowgate',
    target: { minRatio: 0.5 },
    setup: asyncTrigger,
  },
  {
    id: 'pg-a',
    title: 'async durable trigger → 202, one node on PostgreSQL',
    server: 'flowgate',
    database: 'postgres',
    target: { vsRow: { id: 'a', minRatio: 0.5 } },
    setup: asyncTrigger,
  },
  {
    id: 'pg-2',
    title: 'async durable trigger → 202, two nodes on one PostgreSQL',
    server: 'flowgate',
    database: 'postgres',
    nodes: 2,
    target: { vsRow: { id: 'pg-a', minRatio: 1 } },
    setup: asyncTrigger,
  },
  {
    id: 'pg-3',
    title: 'async durable trigger → 202, three nodes on one PostgreSQL',
    server: 'flowgate',
    database: 'postgres',
    nodes: 3,
    target: { vsRow: { id: 'pg-a', minRatio: 1 } },
    setup: asyncTrigger,
  },
  {
    id: 'b',
    title: '?wait=10, set → condition → reply',
    server: 'flowgate',
    target: { minRatio: 0.3, maxP99Ms: 25 },
    async setup(server) {
      await putWorkflow(server, BENCH_THREE, BENCH_THREE_YAML);
      const request: RequestSpec = { method: 'POST', path: `/v1/workflows/${BENCH_THREE}/runs?wait=10`, headers: jsonHeaders(server), body: TRIGGER_BODY, expectStatus: 200 };
      const reply = await smoke(server, request);
      const parsed = JSON.parse(reply) as Record<string, unknown>;
      if (parsed.fee !== 12.5 || parsed.large !== true) throw new Error(`unexpected reply from ${BENCH_THREE}: ${reply}`);
      // Every answer under load must be this very reply (a 200 that is not the reply is a mismatch).
      request.expectBody = reply;
      await waitUntilSettled(server, BENCH_THREE, SETTLE_TIMEOUT_MS);
      return { request, verify: runsMatchAnswers(server, BENCH_THREE, await countRuns(server, BENCH_THREE), 'all') };
    },
  },
  ...COREZOID_SCENARIOS,
  ...HTTP_SCENARIOS,
  ...CODE_SCENARIOS,
  ...LIMIT_SCENARIOS,
];
