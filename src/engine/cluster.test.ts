/**
 * The cluster link with a fake hint source: two engines (two "nodes", distinct owners) on one SQLite
 * store whose wrapper publishes `run` hints after each commit, as a clustered store does. A waiter
 * or follower on node A hears what node B committed through a hint at once, through the periodic
 * batch re-read when the hint is lost, and after a reconnect; `invalidate` hints reach A's caches.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { isTerminal, type JsonObject, type Run } from '../core/types.js';
import type { HttpPort } from '../steps/types.js';
import { SLOT_QUEUE_OWNER, type Hint, type HintListener, type Store } from '../store/types.js';
import { deployTo, engineConfig, migratedStore, NO_HTTP } from '../../test/helpers/engine.js';
import type { RunEvent } from './bus.js';
import { Engine, type EngineConfig } from './engine.js';

const silent = { info() {}, warn() {}, error() {} };

/** A hint channel shared by the "nodes"; `drop` loses every hint (a lost NOTIFY). */
class FakeHints {
  readonly listeners = new Set<HintListener>();
  drop = false;
  sent: Hint[] = [];
  subscribe(l: HintListener): () => void {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }
  async publish(h: Hint): Promise<void> {
    this.sent.push(h);
    if (this.drop) return;
    // Delivered asynchronously, as a NOTIFY arrives on another connection.
    setImmediate(() => { for (const l of this.listeners) l.hint(h); });
  }
  reconnect(): void {
    for (const l of this.listeners) l.reconnected();
  }
}

/** The store as a clustered backend shows it: the same verbs, plus `run` hints once a change is committed. */
function hinted(store: Store, hints: FakeHints): Store {
  const runHint = (r: Run): Promise<void> => hints.publish({ kind: 'run', id: r.id, tenant: r.tenant, status: r.status, replied: r.reply !== null });
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'hints') return hints;
      if (name === 'capabilities') return { ...target.capabilities, notify: true };
      const v = Reflect.get(target, name, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const fn = v as (...a: unknown[]) => Promise<unknown>;
      if (name === 'writeBatch') {
        return async (creates: Parameters<Store['writeBatch']>[0], transitions: Parameters<Store['writeBatch']>[1]) => {
          const out = await target.writeBatch(creates, transitions);
          out.creates.forEach((c, i) => { if (c.kind === 'created') void runHint(creates[i].run); });
          out.transitions.forEach((t, i) => { if (t.ok) void runHint(transitions[i].run); });
          return out;
        };
      }
      if (name === 'setReply') {
        return async (id: string, ...rest: unknown[]) => {
          const ok = await fn.call(target, id, ...rest);
          const r = await target.loadRun(id);
          if (ok && r) void runHint(r);
          return ok;
        };
      }
      return fn.bind(target);
    },
  });
}

async function nodes(t: TestContext, cfg: Partial<EngineConfig> = {}) {
  const { store: sqlite, engines } = await migratedStore(t, 'cluster');
  const hints = new FakeHints();
  const store = hinted(sqlite, hints);
  const make = (): Engine => {
    const e = new Engine(store, { http: NO_HTTP, secrets: { values: async () => ({}) }, log: silent }, engineConfig(cfg));
    engines.push(e);
    return e;
  };
  const a = make();
  const b = make();
  await a.start();
  await b.start();
  return { store, hints, a, b };
}

const HOLD = { id: 'hold', steps: [{ id: 'hold', type: 'wait', timeout: '1h' }, { id: 'answer', type: 'reply' }] };

async function parked(e: Engine, store: Store, data: JsonObject): Promise<Run> {
  const wf = (await store.getWorkflow('default', 'hold'))!;
  const created = await e.startRun({ workflow: wf, data, input: data, ref: null, refPolicy: 'native' });
  const deadline = Date.now() + 5000;
  for (;;) {
    const r = await store.loadRun(created.run.id);
    if (r?.status === 'waiting') return r;
    if (Date.now() > deadline) assert.fail('the run did not park');
    await new Promise((res) => setTimeout(res, 5));
  }
}

describe('cluster link', () => {
  test('a waiter on node A hears, through a run hint, the reply node B committed: at once, not at its timeout', async (t) => {
    const { store, a, b } = await nodes(t, { recheckMs: 60_000 });
    await deployTo(store, HOLD);
    const run = await parked(a, store, { n: 1 });
    const t0 = performance.now();
    const waiting = a.awaitSettled(run, 10_000, false);
    await b.callback(run.callback_token, { ok: true }); // node B claims the run and executes the rest
    const settled = await waiting;
    const ms = performance.now() - t0;
    assert.deepEqual(settled.reply?.data, { n: 1, ok: true });
    assert.ok(ms < 1000, `answered after ${ms.toFixed(0)} ms (the periodic re-read is a minute away here)`);
  });

  test('a lost hint costs at most the periodic batch re-read, never the answer', async (t) => {
    const { store, hints, a, b } = await nodes(t, { recheckMs: 150 });
    await deployTo(store, HOLD);
    const runs = [await parked(a, store, { n: 1 }), await parked(a, store, { n: 2 })];
    hints.drop = true;
    const t0 = performance.now();
    const waiting = runs.map((r) => a.awaitSettled(r, 10_000, false));
    for (const r of runs) await b.callback(r.callback_token, { ok: true });
    const settled = await Promise.all(waiting);
    const ms = performance.now() - t0;
    assert.deepEqual(settled.map((r) => r.reply?.data), [{ n: 1, ok: true }, { n: 2, ok: true }]);
    assert.ok(ms < 2000, `answered after ${ms.toFixed(0)} ms with every hint lost (re-read every 150 ms)`);
  });

  test('after the hint channel reconnects, what was waited for is re-read at once', async (t) => {
    const { store, hints, a, b } = await nodes(t, { recheckMs: 60_000 });
    await deployTo(store, HOLD);
    const run = await parked(a, store, { n: 3 });
    hints.drop = true;
    const waiting = a.awaitSettled(run, 10_000, false);
    await b.callback(run.callback_token, { ok: true });
    let early: Run | null = null;
    void waiting.then((r) => { early = r; });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(early, null, 'nothing heard: the hint was lost and the next re-read is a minute away');
    hints.drop = false;
    hints.reconnect();
    const settled = await waiting;
    assert.deepEqual(settled.reply?.data, { n: 3, ok: true });
  });

  test('a follower on node A (an SSE stream) gets the step records and run states node B committed, each once', async (t) => {
    const { store, a, b } = await nodes(t, { recheckMs: 100 });
    await deployTo(store, HOLD);
    const run = await parked(a, store, { n: 4 });
    const events: RunEvent[] = [];
    const ended = new Promise<void>((resolve) => {
      a.bus.subscribe(run.id, (e) => {
        events.push(e);
        if (e.type === 'run' && isTerminal(e.run.status)) resolve();
      });
    });
    await b.callback(run.callback_token, { ok: true });
    await ended;
    await new Promise((r) => setTimeout(r, 300)); // a few periodic re-reads more: nothing is repeated
    const steps = events.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? `${e.record.step_id}:${e.record.status}` : ''));
    assert.ok(steps.includes('hold:succeeded') && steps.includes('answer:succeeded'), `steps heard: ${steps.join(', ')}`);
    assert.equal(new Set(steps).size, steps.length, `no step record repeated: ${steps.join(', ')}`);
    const revs = events.filter((e) => e.type === 'run').map((e) => (e.type === 'run' ? e.run.rev : 0));
    assert.equal(new Set(revs).size, revs.length, `no run state repeated: ${revs.join(', ')}`);
    assert.equal(events.filter((e) => e.type === 'run' && isTerminal(e.run.status)).length, 1);
  });

  test('the tenant feed on node A (the run-changes stream) hears what node B committed, and resyncs after a reconnect', async (t) => {
    const { store, hints, a, b } = await nodes(t, { recheckMs: 60_000 });
    await deployTo(store, HOLD);
    const run = await parked(b, store, { n: 5 });
    const seen: string[] = [];
    let resyncs = 0;
    const finished = new Promise<void>((resolve) => {
      a.feed.follow('default', {
        run: (r) => {
          if (r.id !== run.id) return;
          seen.push(r.status);
          if (isTerminal(r.status)) resolve();
        },
        resync: () => resyncs++,
      });
    });
    const t0 = performance.now();
    await b.callback(run.callback_token, { ok: true });
    await finished;
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `heard after ${ms.toFixed(0)} ms (the periodic re-read is a minute away here)`);
    assert.equal(seen.at(-1), 'succeeded');
    hints.reconnect();
    assert.equal(resyncs, 1, 'a reconnect tells the feed that changes may have been missed');
  });

  test('a workflow changed through node B is forgotten by node A\'s cache through an invalidate hint', async (t) => {
    const { store, hints, a, b } = await nodes(t);
    const v1 = await deployTo(store, { id: 'w', steps: [{ id: 'done', type: 'end', status: 'succeeded' }] });
    assert.equal((await a.workflows.current('default', 'w'))?.version, v1.version);
    await deployTo(store, { id: 'w', steps: [{ id: 'done', type: 'end', status: 'failed' }] });
    assert.equal((await a.workflows.current('default', 'w'))?.version, 1, 'cached on A (within its TTL)');
    b.workflows.invalidate('default', 'w'); // what B's PUT /v1/workflows/w does after saving
    assert.deepEqual(hints.sent.filter((h) => h.kind === 'invalidate'), [{ kind: 'invalidate', cache: 'workflows', key: 'default\u0000w' }]);
    await new Promise((r) => setImmediate(r));
    assert.equal((await a.workflows.current('default', 'w'))?.version, 2, 'A reads the new version');
  });

  test('runs a stopping node held but never started are released: another node claims them at once', async (t) => {
    const { store: sqlite, engines } = await migratedStore(t, 'release');
    const wf = await deployTo(sqlite, { id: 'capped', trigger: { concurrency: 1 }, steps: [{ id: 'call', type: 'http', url: 'https://a.example/' }] });
    const slow: HttpPort = {
      async request() {
        await new Promise((r) => setTimeout(r, 200));
        return { status: 200, headers: {}, body: Buffer.from('ok'), truncated: false };
      },
    };
    const a = new Engine(sqlite, { http: slow, secrets: { values: async () => ({}) }, log: silent }, engineConfig({ leaseMs: 60_000 }));
    engines.push(a);
    await a.start();
    const created = await Promise.all([1, 2, 3].map((n) => a.startRun({ workflow: wf, data: { n }, input: { n }, ref: null, refPolicy: 'native' })));
    await new Promise((r) => setTimeout(r, 50));
    await a.stop();
    const now = Date.now();
    const held = (await sqlite.loadRuns(created.map((c) => c.run.id))).filter((r) => r.status === 'queued');
    assert.ok(held.length >= 1, 'runs waited for the concurrency slot when the node stopped');
    if (sqlite.capabilities.concurrentClaimers) {
      // A shared store decides the cap: runs without a slot wait in its slot queue, held by no node.
      for (const r of held) assert.equal(r.owner, SLOT_QUEUE_OWNER, `run ${r.id} waits in the slot queue, not under the stopped node's lease`);
      const taken = await sqlite.claimSlots('node-b', now, now + 30_000, 10);
      assert.equal(taken.length, 1, 'another node starts the next one at once (cap 1)');
    } else {
      for (const r of held) assert.ok(r.lease_until !== null && r.lease_until < now, `run ${r.id} released (lease ${r.lease_until} < ${now}), not held for 60 s`);
    }
  });
});
