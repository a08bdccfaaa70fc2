/**
 * Benchmark row of the sandboxed `code` step: runs per second of a workflow whose one computing step
 * is user JavaScript (QuickJS in the server's worker pool, a fresh runtime per execution), answered
 * with `?wait=10` so each request is one complete run, beside the baseline in the same run.
 * Compare with row `b` (the same shape with set/condition steps) to see what the sandbox costs.
 */
import type { RequestSpec } from './load-protocol.js';
import type { LoadRun } from './load-runner.js';
import { countRuns, waitUntilSettled } from './runs.js';
import type { Check, Scenario } from './scenario.js';

const WORKFLOW = 'bench-code';
const SETTLE_TIMEOUT_MS = 600_000;
const YAML = `id: ${WORKFLOW}
name: Bench code step
params:
  amount: { type: number, required: true, minimum: 0 }
steps:
  - id: score
    type: code
    code: |
      const fee = Math.round(data.amount * 0.01 * 100) / 100;
      const bands = [100, 1000, 10000].filter((b) => data.amount > b).length;
      return { fee, large: data.amount > 1000, band: bands };
  - id: answer
    type: reply
    data: { fee: "{{ fee }}", large: "{{ large }}", band: "{{ band }}" }
`;
const BODY = JSON.stringify({ amount: 1250 });
const EXPECTED = { fee: 12.5, large: true, band: 2 };

export const CODE_SCENARIOS: Scenario[] = [
  {
    id: 'code',
    title: '?wait=10, one sandboxed code step → reply',
    server: 'flowgate',
    // Not judged yet: a fresh QuickJS runtime per execution costs far more than a set step.
    target: null,
    async setup(server) {
      const put = await server.api('PUT', `/v1/workflows/${WORKFLOW}`, YAML, { 'Content-Type': 'application/yaml' });
      if (put.status !== 201 && put.status !== 200) throw new Error(`PUT /v1/workflows/${WORKFLOW} answered ${put.status}: ${put.text.slice(0, 500)}`);
      const request: RequestSpec = {
        method: 'POST', path: `/v1/workflows/${WORKFLOW}/runs?wait=10`,
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' }, body: BODY, expectStatus: 200,
      };
      const smoke = await server.api(request.method, request.path, request.body, request.headers);
      if (smoke.status !== 200 || JSON.stringify(smoke.json()) !== JSON.stringify(EXPECTED)) {
        throw new Error(`the code workflow answered ${smoke.status}: ${smoke.text.slice(0, 500)}`);
      }
      request.expectBody = smoke.text;
      await waitUntilSettled(server, WORKFLOW, SETTLE_TIMEOUT_MS);
      const before = await countRuns(server, WORKFLOW);
      return {
        request,
        async verify(load: LoadRun): Promise<{ checks: Check[]; facts: Record<string, unknown> }> {
          const drainSeconds = await waitUntilSettled(server, WORKFLOW, SETTLE_TIMEOUT_MS);
          const after = await countRuns(server, WORKFLOW);
          const created = after.total - before.total;
          const succeeded = (after.byStatus.succeeded ?? 0) - (before.byStatus.succeeded ?? 0);
          return {
            facts: { codeStepsPerSecond: Math.round(load.rps), runsCreated: created, runsByStatus: after.byStatus, settleSecondsAfterLoad: drainSeconds },
            checks: [
              { name: 'runs created = 2xx answers', ok: created === load.total.ok2xx && load.undrained === 0, detail: `${created} runs created, ${load.total.ok2xx} 2xx answers` },
              { name: 'every run succeeded', ok: succeeded === created, detail: `${succeeded} of ${created} succeeded (${JSON.stringify(after.byStatus)})` },
            ],
          };
        },
      };
    },
  },
];
