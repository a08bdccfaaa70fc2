/**
 * Retries survive a crash (docs/spec.md §3, §6): the real server PROCESS is killed with SIGKILL while an
 * http step waits between attempts, and while an attempt is in flight; after a restart on the same
 * data dir the attempt count goes on where it stopped, and every attempt (before and after the
 * crash) carries the same Idempotency-Key, X-Http-Task-Guid and webhook-id. The server's output
 * (logs at debug level) never shows the secret the step uses.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { callProcess, killServerProcesses, sigkill, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { json, startLocalTarget, type Got, type LocalTarget } from './targets.js';

const TOKEN = 'http-crash-admin-token';
const SECRET = `whsec_${Buffer.from('crash-test-signing-key-0123456789').toString('base64')}`;
const API_KEY = 'api-key-never-in-logs-4711';

let allOutput = '';

const startProcess = (dataDir: string): Promise<ServerProcess> => startServerProcess(dataDir, {
  token: TOKEN, env: { FLOWGATE_HTTP_ALLOW: '127.0.0.1' }, logLevel: 'debug', onOutput: (chunk) => void (allOutput += chunk),
});
const call = (base: string, method: string, path: string, body?: unknown) => callProcess(TOKEN, base, method, path, body);

async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined | null | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let target: LocalTarget;
let dataDir: string;
let durableCalls = 0;
let inflightCalls = 0;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'flowgate-http-crash-'));
  target = await startLocalTarget((r, res) => {
    if (r.url === '/durable') {
      durableCalls++;
      // Attempts 1 and 2 are refused with a Retry-After; the third succeeds.
      return durableCalls < 3 ? json(res, 503, { busy: durableCalls }, { 'retry-after': '2' }) : json(res, 200, { done: durableCalls });
    }
    if (r.url === '/inflight') {
      inflightCalls++;
      if (inflightCalls === 1) return; // never answered: the server is killed during this attempt
      return json(res, 200, { done: inflightCalls });
    }
    json(res, 404, {});
  });
});
after(async () => {
  killServerProcesses();
  await target.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const keysOf = (g: Got): string => [g.headers['idempotency-key'], g.headers['x-http-task-guid'], g.headers['webhook-id']].join(' | ');

test('a SIGKILL between retry attempts and during an attempt loses neither the count nor the key', async () => {
  let p = await startProcess(dataDir);
  for (const [name, value] of [['hooks', SECRET], ['api_key', API_KEY]]) {
    assert.equal((await call(p.url, 'PUT', `/v1/secrets/${name}`, { value })).status, 201);
  }
  const step = (path: string, retry: string) => `  - id: call
    type: http
    method: POST
    url: ${target.url}${path}
    headers: { X-Api-Key: "{{ $secrets.api_key }}" }
    body: { order: "{{ order }}" }
    secret: "{{ $secrets.hooks }}"
    retry: ${retry}
`;
  assert.equal((await call(p.url, 'PUT', '/v1/workflows/durable', `id: durable\nsteps:\n${step('/durable', '{ max_attempts: 3, initial: 2s, backoff: fixed }')}`)).status, 201);
  assert.equal((await call(p.url, 'PUT', '/v1/workflows/inflight', `id: inflight\nsteps:\n${step('/inflight', '{ max_attempts: 2, initial: 100ms }')}`)).status, 201);

  const durable = (await call(p.url, 'POST', '/v1/workflows/durable/runs', { order: 'd-1' })).body.id as string;
  const inflight = (await call(p.url, 'POST', '/v1/workflows/inflight/runs', { order: 'i-1' })).body.id as string;

  // The durable run is parked after its first (refused) attempt; the inflight run's attempt hangs.
  await eventually('the first attempt of the durable run to be recorded', 10_000, async () => {
    const steps = (await call(p.url, 'GET', `/v1/runs/${durable}/steps`)).body.items;
    return steps[0]?.status === 'waiting' && steps[0].attempts.length === 1;
  });
  await eventually('the inflight attempt to reach the target', 10_000, async () => inflightCalls === 1);
  assert.equal(durableCalls, 1);
  await sigkill(p);

  p = await startProcess(dataDir);
  const finished = async (id: string) => {
    const run = (await call(p.url, 'GET', `/v1/runs/${id}`)).body;
    return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
  };
  const d = await eventually('the durable run to finish after the restart', 20_000, () => finished(durable));
  const i = await eventually('the inflight run to finish after the restart', 20_000, () => finished(inflight));
  assert.equal(d.status, 'succeeded', JSON.stringify(d.error));
  assert.equal(i.status, 'succeeded', JSON.stringify(i.error));

  // The count went on: 1 attempt before the crash, 2 after, 3 in all (max_attempts), never restarted from 1.
  assert.equal(durableCalls, 3);
  const [dRec] = (await call(p.url, 'GET', `/v1/runs/${durable}/steps`)).body.items;
  assert.deepEqual(dRec.attempts.map((a: any) => [a.n, a.response?.status ?? null]), [[1, 503], [2, 503], [3, 200]]);
  const dReqs = target.requests.filter((g) => g.url === '/durable');
  assert.equal(new Set(dReqs.map(keysOf)).size, 1, `one key on every attempt: ${dReqs.map(keysOf).join('\n')}`);
  for (const g of dReqs) new Webhook(SECRET).verify(g.body, Object.fromEntries(Object.entries(g.headers).map(([k, v]) => [k, String(v)])));
  const gap = Date.parse(dRec.attempts[1].started_at) - Date.parse(dRec.attempts[0].finished_at);
  assert.ok(gap >= 1990, `Retry-After held across the restart (gap ${gap} ms)`);

  // The attempt lost in the crash is recorded as interrupted; the re-execution has the same key.
  const [iRec] = (await call(p.url, 'GET', `/v1/runs/${inflight}/steps`)).body.items;
  assert.deepEqual(iRec.attempts.map((a: any) => a.error?.class ?? 'ok'), ['interrupted', 'ok']);
  const iReqs = target.requests.filter((g) => g.url === '/inflight');
  assert.equal(iReqs.length, 2);
  assert.equal(new Set(iReqs.map(keysOf)).size, 1);
  assert.notEqual(keysOf(iReqs[0]), keysOf(dReqs[0]), 'each step execution has its own key');

  // The secrets reached the target but never the server's output (debug logs) nor the records.
  assert.equal(dReqs[0].headers['x-api-key'], API_KEY);
  assert.ok(allOutput.length > 0);
  for (const s of [API_KEY, SECRET, SECRET.slice(6)]) {
    assert.ok(!allOutput.includes(s), 'a secret appeared in the server output');
    assert.ok(!JSON.stringify([dRec, iRec]).includes(s), 'a secret appeared in a step record');
  }
  await sigkill(p);
});
