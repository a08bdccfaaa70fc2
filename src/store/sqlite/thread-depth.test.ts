/**
 * The store thread never loses an answer: a call whose arguments cannot be cloned fails at once,
 * an answer that cannot be sent or read fails its own call, and a run stored with values nested
 * too deep to travel is failed by itself and left out of claims instead of wedging its reader.
 * The bad states are built directly (rows written by a store in this thread, a refusing port, a
 * host that answers with a value this thread cannot read).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { randomToken, uuidv7 } from '../../core/ids.js';
import type { Definition, JsonObject, Run, StepRecord } from '../../core/types.js';
import type { Store } from '../types.js';
import { openSqliteStore } from './store.js';
import { serveStore, type HostAnswer, type HostCall } from './thread-host.js';
import { openThreadedSqliteStore, StoreCallError } from './thread.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const T0 = 1_700_000_000_000;

const deep = (n: number): JsonObject => {
  let v: JsonObject = { leaf: true };
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};

/** Rejects when `p` takes longer than `ms`: a hang fails the test instead of stalling it. */
function within<T>(p: Promise<T>, ms = 5_000, what = 'the store call'): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

const definition: Definition = {
  id: 'wf', name: 'wf', params: {}, undeclared: 'keep', trigger: { public: false },
  steps: [{ id: 'first', type: 'set', set: { x: 1 } }],
};

function run(over: Partial<Run>): Run {
  return {
    id: uuidv7(T0), tenant: 'default', workflow: 'wf', version: 1, ref: null, status: 'waiting', input: {}, data: {},
    progress: 0, step: 'first', step_seq: 0, reply: null, error: null, parking: null, wake_at: null,
    callback_token: randomToken(), result_url: null, parent: null, attempt: 1, owner: null, lease_until: null, rev: 1,
    created_at: T0, started_at: T0, finished_at: null, updated_at: T0, ...over,
  };
}

function tempPath(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-depth-'));
  return { dir, path: join(dir, 'flowgate.db') };
}

describe('store thread: deep values and lost answers', () => {
  it('a run stored too deep to travel is failed by itself, left out of claims, and answered without its values', { timeout: 60_000 }, async () => {
    const { dir, path } = tempPath();
    // The bad state, written by a store in this thread (as rows stored before the nesting limit existed).
    const direct = await openSqliteStore({ path });
    await direct.migrate();
    await direct.ensureTenant('default');
    await direct.saveWorkflow('default', definition, 'id: wf\n', { hash: 'a'.repeat(40), guid: '00000000-0000-4000-8000-000000000001' }, T0);
    const poisonedTimer = run({ data: deep(3_300), wake_at: T0, parking: { kind: 'delay', step: 'first', seq: 1 } as Run['parking'] });
    const fine = run({ data: { ok: true }, wake_at: T0 + 1 });
    const poisonedOrphan = run({ status: 'running', data: {}, owner: 'dead-node', lease_until: T0 });
    const record: StepRecord = {
      run_id: fine.id, seq: 1, step_id: 'first', type: 'set', name: null, status: 'succeeded', attempts: [],
      input: null, output: deep(3_000) as StepRecord['output'], error: null, started_at: T0, finished_at: T0,
    };
    await direct.createRuns([poisonedTimer, fine, poisonedOrphan].map((r) => ({ run: r, refPolicy: 'native' as const })));
    await direct.applyTransitions([{ run: { ...fine, rev: 2 }, expectRev: 1, steps: [record] }]);
    await direct.close();
    // 10,000 levels, as JSON text (JSON.stringify would run out of stack here).
    const db = new Database(path);
    db.prepare('UPDATE runs SET data = ? WHERE id = ?').run('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000), poisonedOrphan.id);
    db.close();

    const store = await openThreadedSqliteStore({ path });
    try {
      await store.migrate();
      // The claim answers the readable run; the other is failed in the store, not sent.
      const claimed = await within(store.claimDueRuns('me', T0 + 10, T0 + 30_000, 10));
      assert.deepEqual(claimed.map((r) => r.id), [fine.id]);
      const failed = await within(store.loadRun(poisonedTimer.id));
      assert.ok(failed);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error?.code, 'too_deep');
      assert.match(failed.error?.message ?? '', /nests deeper than \d+ levels/);
      assert.deepEqual(failed.data, {});
      assert.equal(failed.wake_at, null);
      assert.equal(failed.owner, null);
      assert.deepEqual(await within(store.claimDueRuns('me', T0 + 10, T0 + 30_000, 10)), [], 'never claimed again');

      // Recovery: the orphan is failed and left out (the readable run is this owner's, leased).
      assert.deepEqual(await within(store.claimOrphanedRuns('me', T0 + 10, T0 + 30_000, 10)), []);
      const orphan = await within(store.getRun('default', poisonedOrphan.id));
      assert.equal(orphan?.status, 'failed');
      assert.equal(orphan?.error?.code, 'too_deep');

      // Lists and records answer too.
      const page = await within(store.listRuns('default', { limit: 10 }));
      assert.equal(page.runs.length, 3);
      assert.ok(page.runs.filter((r) => r.id !== fine.id).every((r) => r.status === 'failed' && r.error?.code === 'too_deep'));
      const [rec] = await within(store.listSteps(fine.id));
      assert.equal(rec.seq, 1);
      assert.equal(rec.output, null);
      assert.equal(rec.error?.code, 'too_deep');
      // The thread goes on answering.
      await store.putSetting('k', 'v');
      assert.equal(await within(store.getSetting('k')), 'v');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a claimed row that cannot be decoded is failed by itself; the claim answers the others', { timeout: 30_000 }, async () => {
    const { dir, path } = tempPath();
    const direct = await openSqliteStore({ path });
    await direct.migrate();
    await direct.ensureTenant('default');
    await direct.saveWorkflow('default', definition, 'id: wf\n', { hash: 'b'.repeat(40), guid: '00000000-0000-4000-8000-000000000002' }, T0);
    const corrupt = run({ wake_at: T0 });
    const fine = run({ wake_at: T0 + 1 });
    await direct.createRuns([corrupt, fine].map((r) => ({ run: r, refPolicy: 'native' as const })));
    await direct.close();
    const db = new Database(path);
    db.prepare('UPDATE runs SET data = ? WHERE id = ?').run('{"not json', corrupt.id);
    db.close();
    const store = await openThreadedSqliteStore({ path });
    try {
      await store.migrate();
      const claimed = await within(store.claimDueRuns('me', T0 + 10, T0 + 30_000, 10));
      assert.deepEqual(claimed.map((r) => r.id), [fine.id]);
      await store.close();
      const check = new Database(path);
      const row = check.prepare('SELECT status, error, wake_at, owner FROM runs WHERE id = ?').get(corrupt.id) as { status: string; error: string; wake_at: number | null; owner: string | null };
      assert.equal(row.status, 'failed');
      assert.equal(JSON.parse(row.error).code, 'undecodable');
      assert.equal(row.wake_at, null);
      assert.equal(row.owner, null);
      check.close();
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the thread host answers an error when an answer cannot be cloned, and goes on', { timeout: 30_000 }, async () => {
    const { dir, path } = tempPath();
    const { port1, port2 } = new MessageChannel();
    // A port that refuses to clone the answer to call 2, as postMessage does for a value it cannot clone.
    const refusing = {
      on: port1.on.bind(port1),
      postMessage(msg: HostAnswer): void {
        if (msg.id === 2 && msg.ok) structuredClone({ value: msg.value, f: () => 0 }); // throws DataCloneError
        port1.postMessage(msg);
      },
    } as unknown as MessagePort;
    const answers: HostAnswer[] = [];
    const next = (): Promise<HostAnswer> => new Promise((resolve) => port2.once('message', resolve));
    const served = serveStore(refusing, { path });
    answers.push(await within(next()));
    await served;
    const call = (id: number, verb: string, args: unknown[]): Promise<HostAnswer> => {
      const answered = next();
      port2.postMessage({ id, verb, args } satisfies HostCall);
      return within(answered);
    };
    try {
      assert.equal(answers[0].ok, true, 'opened');
      assert.equal((await call(1, 'migrate', [])).ok, true);
      const refused = await call(2, 'getSetting', ['k']);
      assert.equal(refused.id, 2);
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.error.name, 'DataCloneError');
      const after = await call(3, 'putSetting', ['k', 'v']);
      assert.deepEqual(after, { id: 3, ok: true, value: undefined });
    } finally {
      const closed = next();
      port2.postMessage({ id: 4, verb: 'close', args: [] } satisfies HostCall);
      await within(closed);
      port1.close();
      port2.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an answer this thread cannot read fails its own call; a call that cannot be sent fails at once; neither stays pending', { timeout: 30_000 }, async () => {
    // A host that answers "deep" with a value this thread's structured clone cannot read (it runs
    // out of stack here while the host's larger stack sends it), and anything else with its verb.
    const source = `
      const { parentPort } = require('node:worker_threads');
      parentPort.postMessage({ id: 0, ok: true, value: null });
      parentPort.on('message', (msg) => {
        if (msg === null) process.exit(0);
        let value = msg.verb;
        if (msg.verb === 'getSetting' && msg.args[0] === 'deep') { value = 1; for (let i = 0; i < 6000; i++) value = { a: value }; }
        parentPort.postMessage({ id: msg.id, ok: true, value });
      });`;
    const { dir, path } = tempPath();
    let store: Store | undefined;
    try {
      store = await openThreadedSqliteStore({ path }, () => new Worker(source, { eval: true }));
      const s = store;
      const first = s.getSetting('a');
      const lost = s.getSetting('deep');
      const third = s.getSetting('b');
      assert.equal(await within(first), 'getSetting');
      await assert.rejects(within(lost), /answer could not be read/);
      assert.equal(await within(third), 'getSetting', 'the later call gets its own answer');

      // Arguments that cannot be cloned: the call fails at once, and the next one is answered.
      await assert.rejects(within(s.putSetting('k', (() => 'v') as unknown as string)), (e: unknown) => e instanceof StoreCallError && /could not be sent/.test((e as Error).message));
      await assert.rejects(within(s.createRuns([{ run: run({ data: deep(20_000) }), refPolicy: 'native' }])), StoreCallError);
      assert.equal(await within(s.putSetting('k', 'v') as Promise<unknown>), 'putSetting');
    } finally {
      await store?.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
