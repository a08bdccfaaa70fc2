/**
 * Benchmark rows of the Corezoid signed ops API (docs/spec.md §5.1): `create` requests per second with one
 * op per request and with 100 ops per request, beside the native async trigger (row `a`) in the same
 * run. The request is signed once at setup (SHA-1 over time + secret + body + secret, as the client
 * SDKs do); the server's time window is widened so the signature stays valid for the whole load.
 * Each op creates a run without a ref, so every repeat of the request creates new runs.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestSpec } from './load-protocol.js';
import type { LoadRun } from './load-runner.js';
import { countRuns, waitUntilSettled, type RunCount } from './runs.js';
import type { Check, Scenario } from './scenario.js';
import { REPO_ROOT, type ServerHandle } from './servers.js';

const WORKFLOW = 'bench-three';
const YAML = readFileSync(join(REPO_ROOT, 'bench/workflows/bench-three.yaml'), 'utf8');
const SETTLE_TIMEOUT_MS = 600_000;

async function signedCreate(server: ServerHandle, opsPerRequest: number): Promise<RequestSpec> {
  const put = await server.api('PUT', `/v1/workflows/${WORKFLOW}`, YAML, { 'Content-Type': 'application/yaml' });
  if (put.status !== 201 && put.status !== 200) throw new Error(`PUT /v1/workflows/${WORKFLOW} answered ${put.status}: ${put.text.slice(0, 300)}`);
  const conv = (put.json() as { triggers: { conv_id: number } }).triggers.conv_id;
  const login = await server.api('POST', '/v1/api-logins', { name: 'bench' });
  if (login.status !== 201) throw new Error(`POST /v1/api-logins answered ${login.status}: ${login.text.slice(0, 300)}`);
  const { login: id, secret } = login.json() as { login: number; secret: string };
  const ops = Array.from({ length: opsPerRequest }, (_, i) => ({ id: String(i), type: 'create', obj: 'task', conv_id: conv, data: { amount: 1250 } }));
  const body = JSON.stringify({ ops });
  const time = String(Math.floor(Date.now() / 1000));
  const signature = createHash('sha1').update(time + secret + body + secret).digest('hex');
  return { method: 'POST', path: `/api/1/json/${id}/${time}/${signature}`, headers: { 'Content-Type': 'application/json' }, body, expectStatus: 200 };
}

/** Every 200 must be `opsPerRequest` runs, all of them succeeded; each answer must have every op ok. */
function verifyRuns(server: ServerHandle, opsPerRequest: number, before: RunCount) {
  return async (load: LoadRun): Promise<{ checks: Check[]; facts: Record<string, unknown> }> => {
    const drainSeconds = await waitUntilSettled(server, WORKFLOW, SETTLE_TIMEOUT_MS);
    const after = await countRuns(server, WORKFLOW);
    const created = after.total - before.total;
    const succeeded = (after.byStatus.succeeded ?? 0) - (before.byStatus.succeeded ?? 0);
    const expected = load.total.ok2xx * opsPerRequest;
    return {
      facts: { opsPerRequest, runsCreated: created, runsSucceeded: succeeded, runsPerSecond: Math.round(load.rps * opsPerRequest), runsByStatus: after.byStatus, settleSecondsAfterLoad: drainSeconds },
      checks: [
        { name: 'runs created = 2xx answers × ops', ok: created === expected && load.undrained === 0, detail: `${created} runs created, ${load.total.ok2xx} answers × ${opsPerRequest} ops = ${expected}` },
        { name: 'every run succeeded', ok: succeeded === created, detail: `${succeeded} of ${created} succeeded (${JSON.stringify(after.byStatus)})` },
      ],
    };
  };
}

function scenario(id: string, opsPerRequest: number, target: Scenario['target']): Scenario {
  return {
    id,
    title: `signed ops API, create × ${opsPerRequest} per request`,
    server: 'flowgate',
    target,
    env: { FLOWGATE_COREZOID_TIME_WINDOW: '86400' },
    async setup(server) {
      const request = await signedCreate(server, opsPerRequest);
      // One request before the load: it must be processed and every op ok.
      const smoke = await server.api(request.method, request.path, request.body, request.headers);
      const parsed = smoke.status === 200 ? (smoke.json() as { request_proc?: string; ops?: { proc: string }[] }) : null;
      if (!parsed || parsed.request_proc !== 'ok' || parsed.ops?.length !== opsPerRequest || parsed.ops.some((o) => o.proc !== 'ok')) {
        throw new Error(`the signed create answered ${smoke.status}: ${smoke.text.slice(0, 500)}`);
      }
      await waitUntilSettled(server, WORKFLOW, SETTLE_TIMEOUT_MS);
      return { request, verify: verifyRuns(server, opsPerRequest, await countRuns(server, WORKFLOW)) };
    },
  };
}

/** Not judged against a target yet: the rows are there to be compared with row `a`. */
export const COREZOID_SCENARIOS: Scenario[] = [
  scenario('cz1', 1, null),
  scenario('cz100', 100, null),
];
