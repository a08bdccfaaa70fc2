/**
 * Result delivery survives a crash between attempts: the server PROCESS is killed with SIGKILL after
 * the first attempt (answered 503) was recorded, and restarted on the same data dir. The delivery
 * must still happen, exactly once successfully, with the same webhook-id, and the attempt log must
 * show both attempts. The signature is checked with the official `standardwebhooks` package.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { callProcess, killServerProcesses, sigkill, startServerProcess, type ServerProcess } from '../helpers/process.js';
import { reply, sleep, startTarget, until } from '../helpers/server.js';

const TOKEN = 'delivery-crash-admin-token';
after(killServerProcesses);

const startProcess = (dataDir: string): Promise<ServerProcess> => startServerProcess(dataDir, {
  token: TOKEN, env: { FLOWGATE_HTTP_ALLOW: '127.0.0.1', FLOWGATE_DELIVERY_BACKOFF_MS: '3000' },
});
const call = (base: string, method: string, path: string, body?: unknown) => callProcess(TOKEN, base, method, path, body);

test('a delivery interrupted by SIGKILL between attempts still happens, once, after the restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flowgate-delivery-crash-'));
  let answered = 0;
  const target = await startTarget((_req, res) => reply(res, ++answered === 1 ? 503 : 200, { n: answered }));
  try {
    let proc = await startProcess(dataDir);
    const wf = await call(proc.url, 'PUT', '/v1/workflows/report', { steps: [{ id: 'answer', type: 'reply', data: { ok: true, amount: '{{ amount }}' } }] });
    assert.equal(wf.status, 201, JSON.stringify(wf.body));
    const secret = (await call(proc.url, 'GET', '/v1/webhook-secret')).body.secret as string;
    const trig = await call(proc.url, 'POST', `/v1/workflows/report/runs?callback_url=${encodeURIComponent(`${target.url}/result`)}`, { amount: 9 });
    assert.equal(trig.status, 202, JSON.stringify(trig.body));
    const runId = trig.body.id as string;

    // The first attempt is answered 503 and recorded; the next is due 3 s later. Kill now.
    await until(async () => {
      const d = (await call(proc.url, 'GET', `/v1/runs/${runId}/deliveries`)).body.items[0];
      return d?.attempts.length === 1 ? d : undefined;
    }, 'the first attempt to be recorded', 15_000);
    await sigkill(proc);
    assert.equal(target.requests.length, 1);

    proc = await startProcess(dataDir);
    const d = await until(async () => {
      const item = (await call(proc.url, 'GET', `/v1/runs/${runId}/deliveries`)).body.items[0];
      return item?.status === 'delivered' ? item : undefined;
    }, 'the delivery after the restart', 20_000);
    assert.deepEqual(d.attempts.map((a: any) => [a.n, a.status]), [[1, 503], [2, 200]]);
    await sleep(1500);
    assert.equal(target.requests.length, 2, 'delivered once after the restart, nothing more');
    const [first, second] = target.requests;
    assert.equal(first.headers['webhook-id'], second.headers['webhook-id']);
    assert.equal(second.headers['webhook-id'], d.id);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(second.headers)) if (typeof v === 'string') headers[k] = v;
    assert.deepEqual(new Webhook(secret).verify(second.body, headers), { run_id: runId, workflow: 'report', status: 'succeeded', result: { ok: true, amount: 9 } });
    proc.child.kill('SIGKILL');
  } finally {
    await target.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
