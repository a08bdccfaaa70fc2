// Limits across three real server processes on one PostgreSQL database (docs/operations.md
// "Limits across the cluster"): a workflow's `trigger.concurrency` holds cluster-wide (observed as
// requests in flight at a local target its http step calls), a slot held by a node killed with -9
// comes back when its lease expires, and the rate limits are split between the live nodes (or, with
// FLOWGATE_RATE_LIMIT_MODE=database, taken from the database by two more nodes).
// Skipped with the reason when PostgreSQL does not answer, failed under CI=true.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, skipReason, type TestDatabase } from '../helpers/postgres.js';
import { callProcess, killServerProcesses, type ServerProcess, sigkill, sleep, startServerProcess, until } from '../helpers/process.js';

const TOKEN = 'fga_limits_test_admin';
const MASTER_KEY = 'limits-test-master-key-shared-by-every-node';
const LEASE_MS = 3000;
/** FLOWGATE_RATE_LIMIT_PER_WORKFLOW of every node: the cluster-wide figure. */
const WORKFLOW_RATE = 6;
const skip = await skipReason();

let db: TestDatabase;
let sql: pg.Client;
const dirs: string[] = [];
const nodes: ServerProcess[] = [];
/** Nodes started by one test only. */
const extra: ServerProcess[] = [];
/** A trigger-role key (rate limits do not apply to the admin token). */
let token = '';
const trigger = (node: ServerProcess, workflow: string): Promise<{ status: number; body: any }> =>
  callProcess(token, node.url, 'POST', `/v1/workflows/${workflow}/runs`, {});

/**
 * The target of the workflows' http steps: counts requests in flight (the most at once, too) and
 * answers `/slow` after 250 ms and `/hold` when `release()` is called (or at once once `open`).
 */
const target = {
  server: null as http.Server | null,
  url: '',
  inFlight: 0,
  most: 0,
  seen: 0,
  open: false,
  held: [] as (() => void)[],
  reset(): void {
    this.most = this.inFlight;
    this.seen = 0;
  },
  release(): void {
    for (const r of this.held.splice(0)) r();
  },
};

function startTarget(): Promise<void> {
  const server = http.createServer((req, res) => {
    target.inFlight++;
    target.seen++;
    target.most = Math.max(target.most, target.inFlight);
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      target.inFlight--;
    };
    res.once('finish', end);
    res.once('close', end); // the caller went away (a node killed mid-request)
    const answer = (): void => {
      if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    req.resume();
    if (req.url?.startsWith('/hold') && !target.open) target.held.push(answer);
    else setTimeout(answer, 250);
  });
  target.server = server;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    resolve();
  }));
}

async function startNode(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-limits-'));
  dirs.push(dir);
  return startServerProcess(dir, {
    token: TOKEN,
    env: {
      FLOWGATE_DATABASE_URL: db.url, FLOWGATE_MASTER_KEY: MASTER_KEY, FLOWGATE_LEASE_MS: String(LEASE_MS),
      FLOWGATE_DATABASE_POOL_SIZE: '6', FLOWGATE_HTTP_ALLOW: '127.0.0.1', FLOWGATE_RATE_LIMIT_PER_WORKFLOW: String(WORKFLOW_RATE), ...env,
    },
  });
}

/** How many of `answers` were admitted (202); every other one must be the 429. */
function admittedOf(answers: { status: number; body: any }[]): number {
  for (const r of answers) assert.ok(r.status === 202 || (r.status === 429 && r.body.status === 429), JSON.stringify(r.body));
  return answers.filter((r) => r.status === 202).length;
}

const call = (node: ServerProcess, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }> =>
  callProcess(TOKEN, node.url, method, path, body, headers);



/** The runs of `workflow` by status, straight from the database. */
async function statuses(workflow: string): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM runs WHERE workflow = $1 GROUP BY status', [workflow]);
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

const allSucceeded = (workflow: string, n: number) => async (): Promise<true | undefined> => ((await statuses(workflow)).succeeded === n ? true : undefined);

describe('limits on a cluster of three nodes on one PostgreSQL database', { skip, concurrency: false }, () => {
  before(async () => {
    db = await createTestDatabase();
    sql = new pg.Client({ connectionString: db.url });
    await startTarget();
    nodes.push(...(await Promise.all([startNode(), startNode(), startNode()])));
    await sql.connect();
    const put = async (id: string, yaml: string): Promise<void> => {
      const r = await call(nodes[0], 'PUT', `/v1/workflows/${id}`, yaml);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    };
    await put('pair', `id: pair\ntrigger:\n  concurrency: 2\nsteps:\n  - id: call\n    type: http\n    url: ${target.url}/slow\n  - id: done\n    type: set\n    set: { done: true }\n`);
    await put('solo', `id: solo\ntrigger:\n  concurrency: 1\nsteps:\n  - id: call\n    type: http\n    url: ${target.url}/hold\n  - id: done\n    type: set\n    set: { done: true }\n`);
    await put('ping', 'id: ping\nsteps:\n  - id: done\n    type: set\n    set: { done: true }\n');
    await put('pong', 'id: pong\nsteps:\n  - id: done\n    type: set\n    set: { done: true }\n');
  });

  after(async () => {
    killServerProcesses();
    await sql?.end().catch(() => {});
    target.release();
    target.server?.closeAllConnections();
    target.server?.close();
    await db?.drop().catch(() => {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('concurrency 2, 30 triggers spread over three nodes: never more than 2 executing at once cluster-wide, all 30 finish', async () => {
    target.reset();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => call(nodes[i % 3], 'POST', '/v1/workflows/pair/runs', { i })));
    for (const a of answers) assert.equal(a.status, 202, JSON.stringify(a.body));
    await until('the 30 runs succeed', 30_000, allSucceeded('pair', 30));
    assert.equal(target.most, 2, `at most 2 requests in flight at the target, and 2 reached (most: ${target.most})`);
    assert.equal(target.seen, 30, 'each run made its request once');
  });

  test('the rate limits are shared: each of the three live nodes admits a third of the cluster-wide rate', async () => {
    // Each node divides by the live nodes it last counted (every heartbeat): wait until all count three.
    await until('every node counts three live nodes', 10_000, async () => {
      const r = await call(nodes[0], 'GET', '/v1/cluster');
      return r.body.items.length === 3 && r.body.items.every((n: any) => n.info.rate_limit_nodes === 3) ? true : undefined;
    });
    const key = await call(nodes[0], 'POST', '/v1/keys', { name: 'rate', role: 'trigger' });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    token = key.body.token;
    // A burst at every node at once: the cluster admits the workflow's rate (its second's worth), not three times it.
    const admitted = admittedOf(await Promise.all(nodes.flatMap((n) => Array.from({ length: 8 }, () => trigger(n, 'ping')))));
    // Each node's bucket holds its share (2); a node whose part of the burst took over half a second refills one more.
    assert.ok(admitted >= WORKFLOW_RATE && admitted <= WORKFLOW_RATE + 3, `${admitted} of 24 admitted across the cluster (rate ${WORKFLOW_RATE}/s)`);
    // All of it at one node: that node admits its share only (unbalanced load gets less, never more).
    await sleep(1100);
    const admittedByOne = admittedOf(await Promise.all(Array.from({ length: 12 }, () => trigger(nodes[1], 'ping'))));
    assert.ok(admittedByOne >= WORKFLOW_RATE / 3 && admittedByOne <= WORKFLOW_RATE / 3 + 1, `${admittedByOne} of 12 admitted by one node (its share: ${WORKFLOW_RATE / 3}/s)`);
  });

  test('FLOWGATE_RATE_LIMIT_MODE=database: nodes take the tokens from the database, so the rate holds however the requests are spread', async () => {
    const both = await Promise.all([startNode({ FLOWGATE_RATE_LIMIT_MODE: 'database' }), startNode({ FLOWGATE_RATE_LIMIT_MODE: 'database' })]);
    extra.push(...both);
    const spread = admittedOf(await Promise.all(both.flatMap((n) => Array.from({ length: 10 }, () => trigger(n, 'pong')))));
    assert.ok(spread >= WORKFLOW_RATE && spread <= WORKFLOW_RATE + 1, `${spread} of 20 admitted by two nodes (rate ${WORKFLOW_RATE}/s)`);
    await sleep(1100);
    const one = admittedOf(await Promise.all(Array.from({ length: 12 }, () => trigger(both[0], 'pong'))));
    assert.ok(one >= WORKFLOW_RATE && one <= WORKFLOW_RATE + 1, `${one} of 12 admitted by one node: the whole rate, not a share`);
  });

  test('kill -9 of a node holding a slot: the slot comes back when its lease expires, and the queue goes on', async () => {
    for (const n of extra.splice(0)) await sigkill(n);
    target.reset();
    target.open = false;
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => call(nodes[i % 3], 'POST', '/v1/workflows/solo/runs', { i })));
    for (const a of answers) assert.equal(a.status, 202, JSON.stringify(a.body));
    await until('one run reaches the target', 10_000, async () => (target.inFlight === 1 ? true : undefined));
    await sleep(300);
    assert.equal(target.inFlight, 1, 'cap 1: one run executes, three wait');
    // The node executing it: the owner of the running run, found by its pid in the node list.
    const { rows } = await sql.query<{ owner: string; lease_until: string }>("SELECT owner, lease_until FROM runs WHERE workflow = 'solo' AND status = 'running'");
    assert.equal(rows.length, 1, JSON.stringify(rows));
    const list = await call(nodes[0], 'GET', '/v1/cluster');
    const pid = list.body.items.find((n: any) => n.id === rows[0].owner)?.info.pid;
    const victim = nodes.find((n) => n.child.pid === pid);
    assert.ok(victim, `the node ${rows[0].owner} is one of ours`);
    await sigkill(victim!);
    const killedAt = Date.now();
    await until('the dead node\'s request is gone', 5000, async () => (target.inFlight === 0 ? true : undefined));
    // Until its lease expires, the dead node's run holds the slot: nothing else starts.
    const started = await until('the next run reaches the target', LEASE_MS + 8000, async () => (target.inFlight === 1 ? Date.now() : undefined));
    const leaseEnd = Number(rows[0].lease_until); // read before the kill: a renewal since only moved it later
    assert.ok(started >= leaseEnd, `the slot came back ${started - leaseEnd} ms after the dead node's lease ended (${started - killedAt} ms after the kill)`);
    assert.ok(started - leaseEnd < 3000, `the slot came back ${started - leaseEnd} ms after the lease ended (every node looks every second)`);
    target.open = true;
    target.release();
    await until('the four runs succeed on the two live nodes', 20_000, allSucceeded('solo', 4));
    assert.equal(target.most, 1, `never two at once (most: ${target.most})`);
    // The killed run executed its interrupted http step again on another node (at least once): 4 runs, 5 requests.
    assert.equal(target.seen, 5, `${target.seen} requests`);
  });
});
