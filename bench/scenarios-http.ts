/**
 * Benchmark row of the outgoing `http` step (docs/spec.md §6): runs per second of a workflow whose one step
 * POSTs to a local target (allow-listed with FLOWGATE_HTTP_ALLOW=127.0.0.1), measured end to end
 * with `?wait=10` (every 200 is a run that made its request and replied), beside the baseline in
 * the same run. The target is a plain node:http process of its own that answers a small JSON.
 */
import type { RequestSpec } from './load-protocol.js';
import type { LoadRun } from './load-runner.js';
import { spawnTracked } from './processes.js';
import { countRuns, waitUntilSettled } from './runs.js';
import type { Check, Scenario } from './scenario.js';
import type { ServerHandle } from './servers.js';

const WORKFLOW = 'bench-http';
const SETTLE_TIMEOUT_MS = 600_000;

/** The target: counts requests, answers {"ok":true,"n":<count>} (n is left out of what the run keeps). */
const TARGET_SCRIPT = `
const http = require('node:http');
let n = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    n++;
    if (req.url === '/count') { res.writeHead(200, { 'content-type': 'application/json' }); return res.end(JSON.stringify({ n })); }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 11 });
    res.end('{"ok":true}');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

let target: Promise<string> | null = null;

/** Starts the target process once per bench run; resolves with its base URL. */
function startTarget(): Promise<string> {
  target ??= new Promise((resolve, reject) => {
    const child = spawnTracked(process.execPath, ['-e', TARGET_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /port (\d+)/.exec(out);
      if (m) resolve(`http://127.0.0.1:${m[1]}`);
    });
    child.once('exit', (code) => reject(new Error(`the http target exited (${code}) before listening`)));
  });
  return target;
}

const yaml = (base: string): string => `id: ${WORKFLOW}
name: Benchmark - one outgoing POST, then reply
params:
  amount: { type: number, required: true }
steps:
  - id: notify
    type: http
    method: POST
    url: ${base}/hook
    body: { amount: "{{ amount }}", run: "{{ $run.id }}" }
    save_as: notified
  - id: answer
    type: reply
    data: { status: "{{ notified.status }}", ok: "{{ notified.body.ok }}" }
`;

export const HTTP_SCENARIOS: Scenario[] = [
  {
    id: 'h',
    title: '?wait=10, one http step POSTs to a local target → reply',
    server: 'flowgate',
    // Each run makes three commits (create, the http step's running record, the end) and one
    // outgoing request; measured at 0.02 of the baseline on the shared 2-core machine (load 10+).
    target: { minRatio: 0.01 },
    env: { FLOWGATE_HTTP_ALLOW: '127.0.0.1' },
    async setup(server: ServerHandle) {
      const base = await startTarget();
      const put = await server.api('PUT', `/v1/workflows/${WORKFLOW}`, yaml(base), { 'Content-Type': 'application/yaml' });
      if (put.status !== 201 && put.status !== 200) throw new Error(`PUT /v1/workflows/${WORKFLOW} answered ${put.status}: ${put.text.slice(0, 300)}`);
      const request: RequestSpec = {
        method: 'POST', path: `/v1/workflows/${WORKFLOW}/runs?wait=10`,
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ amount: 5 }), expectStatus: 200,
      };
      const smoke = await server.api(request.method, request.path, request.body, request.headers);
      if (smoke.status !== 200 || smoke.text !== '{"status":200,"ok":true}') throw new Error(`unexpected answer of ${WORKFLOW}: ${smoke.status} ${smoke.text.slice(0, 300)}`);
      request.expectBody = smoke.text;
      await waitUntilSettled(server, WORKFLOW, SETTLE_TIMEOUT_MS);
      const before = await countRuns(server, WORKFLOW);
      const sentBefore = await targetCount(base);
      return {
        request,
        verify: async (load: LoadRun): Promise<{ checks: Check[]; facts: Record<string, unknown> }> => {
          await waitUntilSettled(server, WORKFLOW, SETTLE_TIMEOUT_MS);
          const after = await countRuns(server, WORKFLOW);
          const created = after.total - before.total;
          const succeeded = (after.byStatus.succeeded ?? 0) - (before.byStatus.succeeded ?? 0);
          const sent = (await targetCount(base)) - sentBefore - 1; // the count request itself
          return {
            facts: { runsCreated: created, runsSucceeded: succeeded, requestsAtTarget: sent },
            checks: [
              { name: 'runs created = 200 answers', ok: created === load.total.ok2xx && load.undrained === 0, detail: `${created} runs, ${load.total.ok2xx} answers` },
              { name: 'every run succeeded', ok: succeeded === created, detail: `${succeeded} of ${created} (${JSON.stringify(after.byStatus)})` },
              { name: 'one request at the target per run', ok: sent === created, detail: `${sent} requests for ${created} runs` },
            ],
          };
        },
      };
    },
  },
];

async function targetCount(base: string): Promise<number> {
  const res = await fetch(`${base}/count`);
  return ((await res.json()) as { n: number }).n;
}
