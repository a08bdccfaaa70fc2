/**
 * Background work never throws: a store failure met by any loop the engine runs on its own (timer
 * loop, lease keeper, recovery at start, a parked parent's check of its children, the result
 * delivery sweep and loop, the group committer, a waiter's first read) is logged and the loop
 * carries on: the next due run still fires, the next renewal still renews, the orphan is still
 * recovered. The store is the real SQLite one, wrapped so that one verb rejects once.
 *
 * Also here: a child that ends while its parent is still executing (a foreach starting its next
 * children) does not read the parent, so a fan-out costs no parent read per child.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { randomToken, uuidv7 } from '../core/ids.js';
import type { JsonObject, Run, Workflow } from '../core/types.js';
import type { HttpPort, HttpRequest, HttpResponse } from '../steps/types.js';
import type { Store } from '../store/types.js';
import { deployTo, engineConfig, migratedStore, NO_HTTP } from '../../test/helpers/engine.js';
import { Engine, type EngineConfig } from './engine.js';
import { newWebhookSecret } from './webhook-secrets.js';

type Entry = { level: 'info' | 'warn' | 'error'; msg: string; obj: object };

/** A logger that keeps what it was told. */
class Recorder {
  readonly entries: Entry[] = [];
  info = (obj: object, msg = ''): void => void this.entries.push({ level: 'info', msg, obj });
  warn = (obj: object, msg = ''): void => void this.entries.push({ level: 'warn', msg, obj });
  error = (obj: object, msg = ''): void => void this.entries.push({ level: 'error', msg, obj });
  /** The entries that carry the injected failure. */
  injected(): Entry[] {
    return this.entries.filter((e) => /injected/.test(String((e.obj as { err?: Error }).err?.message)));
  }
}

interface Fault {
  verb: keyof Store;
  /** Decides on the verb's arguments (before it runs) or, with `after`, on its answer. */
  when?: (args: unknown[], answer?: unknown) => boolean;
  after?: boolean;
  hit: boolean;
}

/** Wraps a store so that a chosen verb rejects once (before it runs, or after it answered). */
class FaultyStore {
  private readonly faults: Fault[] = [];
  readonly calls = new Map<string, unknown[][]>();
  readonly store: Store;

  constructor(real: Store) {
    this.store = new Proxy(real, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== 'function' || typeof prop !== 'string') return v;
        return (...args: unknown[]) => {
          let list = this.calls.get(prop);
          if (!list) this.calls.set(prop, (list = []));
          list.push(args);
          const before = this.faults.find((f) => f.verb === prop && !f.hit && !f.after && (!f.when || f.when(args)));
          if (before) {
            before.hit = true;
            return Promise.reject(new Error(`injected ${prop} failure`));
          }
          const answer = v.apply(target, args);
          if (!this.faults.some((f) => f.verb === prop && !f.hit && f.after)) return answer;
          return Promise.resolve(answer).then((a) => {
            const after = this.faults.find((f) => f.verb === prop && !f.hit && f.after && (!f.when || f.when(args, a)));
            if (!after) return a;
            after.hit = true;
            throw new Error(`injected ${prop} failure`);
          });
        };
      },
    });
  }

  failOnce(verb: keyof Store, opts: { when?: Fault['when']; after?: boolean } = {}): Fault {
    const f: Fault = { verb, hit: false, ...opts };
    this.faults.push(f);
    return f;
  }
}

interface Harness {
  faulty: FaultyStore;
  store: Store;
  log: Recorder;
  engine(opts?: Partial<EngineConfig> & { http?: HttpPort; deliveries?: boolean }): Engine;
  deploy(doc: Record<string, unknown>): Promise<Workflow>;
  until(id: string, ok: (r: Run) => boolean, what: string, ms?: number): Promise<Run>;
}

async function harness(t: TestContext): Promise<Harness> {
  const { store: real, engines } = await migratedStore(t, 'background');
  const faulty = new FaultyStore(real);
  const log = new Recorder();
  return {
    faulty, store: faulty.store, log,
    engine(opts = {}) {
      const { http, deliveries, ...cfg } = opts;
      const secret = newWebhookSecret();
      const delivery = deliveries
        ? { secrets: { signingSecrets: async () => [secret] }, config: { maxAttempts: 3, initialBackoffMs: 200, maxBackoffMs: 1000, timeoutMs: 2000 } }
        : undefined;
      const e = new Engine(faulty.store, { http: http ?? NO_HTTP, secrets: { values: async () => ({}) }, log, delivery }, engineConfig(cfg));
      engines.push(e);
      return e;
    },
    deploy: (doc) => deployTo(real, doc),
    async until(id, ok, what, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const r = await real.loadRun(id);
        if (r && ok(r)) return r;
        if (Date.now() > deadline) assert.fail(`run ${id} did not become ${what} within ${ms} ms; it is ${r?.status} at ${r?.step}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    },
  };
}

/** Waits until a POST carrying the run's result reached the receiver. */
async function delivered(posts: HttpRequest[], runId: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!posts.some((p) => p.body && JSON.parse(String(p.body)).run_id === runId)) {
    assert.ok(Date.now() < deadline, 'the run\'s result was delivered');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const start = async (e: Engine, wf: Workflow, data: JsonObject = {}, extra: { resultUrl?: string } = {}): Promise<Run> => {
  const res = await e.startRun({ workflow: wf, data, input: data, ref: null, refPolicy: 'native', ...extra });
  assert.equal(res.kind, 'created');
  return res.run;
};
const ended = (r: Run): boolean => r.status === 'succeeded' || r.status === 'failed' || r.status === 'cancelled';

const DELAY = { id: 'nap', steps: [{ id: 'nap', type: 'delay', for: '100ms' }, { id: 'after', type: 'set', set: { woke: true } }] };

/** Waits until the recorder holds an entry about the injected failure matching `msg`. */
async function logged(log: Recorder, msg: RegExp, level: Entry['level'] = 'error'): Promise<Entry> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const hit = log.injected().find((e) => msg.test(e.msg) && e.level === level);
    if (hit) return hit;
    if (Date.now() > deadline) assert.fail(`no ${level} log matching ${msg}; logged: ${JSON.stringify(log.entries.map((e) => [e.level, e.msg]))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a store failure in a background loop is logged and the loop carries on', () => {
  test('timer loop: a failed claim is retried and the due run still fires', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    const wf = await h.deploy(DELAY);
    h.faulty.failOnce('claimDueRuns');
    const run = await start(e, wf);
    await logged(h.log, /timer loop failed/);
    const done = await h.until(run.id, ended, 'ended', 5000);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.data.woke, true);
    // And the loop keeps serving later timers.
    const next = await start(e, wf);
    assert.equal((await h.until(next.id, ended, 'ended', 5000)).status, 'succeeded');
  });

  test('timer loop: a failed look at the next wake-up is retried and the due run still fires', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    h.faulty.failOnce('nextWakeAt');
    await e.start();
    await logged(h.log, /timer loop failed/);
    const wf = await h.deploy(DELAY);
    const run = await start(e, wf);
    assert.equal((await h.until(run.id, ended, 'ended', 5000)).status, 'succeeded');
  });

  test('lease keeper: a failed renewal is logged and the next one renews', async (t) => {
    const h = await harness(t);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const http: HttpPort = {
      async request(_req: HttpRequest): Promise<HttpResponse> {
        await released;
        return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}'), truncated: false };
      },
    };
    const e = h.engine({ http, leaseMs: 3000 });
    await e.start();
    const wf = await h.deploy({ id: 'slow', steps: [{ id: 'post', type: 'http', method: 'POST', url: 'https://api.example.com/x' }] });
    const run = await start(e, wf);
    h.faulty.failOnce('renewLeases');
    await logged(h.log, /lease renewal failed/);
    const before = (await h.until(run.id, (r) => r.status === 'running', 'running')).lease_until!;
    const renewed = await h.until(run.id, (r) => r.lease_until! > before, 'renewed', 4000);
    assert.equal(renewed.status, 'running');
    release();
    assert.equal((await h.until(run.id, ended, 'ended')).status, 'succeeded');
  });

  test('recovery at start: a failed claim is logged, the engine starts, and the orphan is recovered by a retry', async (t) => {
    const h = await harness(t);
    const wf = await h.deploy({ id: 'fast', steps: [{ id: 'calc', type: 'set', set: { done: true } }] });
    const now = Date.now();
    const orphan: Run = {
      id: uuidv7(now), tenant: 'default', workflow: wf.id, version: wf.version, ref: null, status: 'queued', input: {}, data: {},
      progress: 0, step: 'calc', step_seq: 0, reply: null, error: null, parking: null, wake_at: null, callback_token: randomToken(24),
      result_url: null, parent: null, attempt: 1, owner: 'dead-node', lease_until: now - 1000, rev: 1,
      created_at: now, started_at: null, finished_at: null, updated_at: now,
    };
    const [created] = await h.store.createRuns([{ run: orphan, refPolicy: 'native' }]);
    assert.equal(created.kind, 'created');
    h.faulty.failOnce('claimOrphanedRuns');
    const e = h.engine();
    const { recovered } = await e.start();
    assert.equal(recovered, null, 'the start says the recovery is still to come');
    await logged(h.log, /recovering the runs of a previous process failed/);
    const done = await h.until(orphan.id, ended, 'ended', 5000);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.data.done, true);
    assert.ok(h.log.entries.some((x) => /recovered the runs of a previous process/.test(x.msg)));
  });

  test('children check: a failed read of a parked parent\'s child is logged; the parent still resumes when the child ends', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    await h.deploy({ id: 'held', steps: [{ id: 'hold', type: 'wait', timeout: '1h' }] });
    const parentWf = await h.deploy({ id: 'parent', steps: [{ id: 'kid', type: 'call', workflow: 'held', save_as: 'kid' }] });
    // The first read of a waiting child run: the parent's check of its children after it parks.
    h.faulty.failOnce('loadRun', { after: true, when: (_args, r) => (r as Run | null)?.parent != null && (r as Run).status === 'waiting' });
    const parent = await start(e, parentWf);
    await h.until(parent.id, (r) => r.status === 'waiting' && r.parking?.kind === 'child', 'parked');
    await logged(h.log, /checking the children of a parked run failed/);
    const [child] = (await h.store.listRuns('default', { parent: parent.id, limit: 10 })).runs;
    assert.ok(child, 'the child exists');
    const cb = await e.callback(child.callback_token, { ok: 1 });
    assert.equal(cb.kind, 'resumed');
    const done = await h.until(parent.id, ended, 'ended');
    assert.equal(done.status, 'succeeded');
  });

  test('delivery sweep: a failed sweep at start is logged; the loop starts and delivers', async (t) => {
    const h = await harness(t);
    const posts: HttpRequest[] = [];
    const http: HttpPort = {
      async request(req): Promise<HttpResponse> {
        posts.push(req);
        return { status: 204, headers: {}, body: Buffer.alloc(0), truncated: false };
      },
    };
    h.faulty.failOnce('runsAwaitingDelivery');
    const e = h.engine({ http, deliveries: true });
    await e.start();
    await logged(h.log, /result delivery sweep failed/);
    const wf = await h.deploy({ id: 'fast', steps: [{ id: 'calc', type: 'set', set: { done: true } }] });
    const run = await start(e, wf, {}, { resultUrl: 'https://receiver.example.com/hook' });
    await h.until(run.id, ended, 'ended');
    await delivered(posts, run.id);
  });

  test('delivery loop: a failed claim is retried and the delivery is still made', async (t) => {
    const h = await harness(t);
    const posts: HttpRequest[] = [];
    const http: HttpPort = {
      async request(req): Promise<HttpResponse> {
        posts.push(req);
        return { status: 204, headers: {}, body: Buffer.alloc(0), truncated: false };
      },
    };
    const e = h.engine({ http, deliveries: true });
    await e.start();
    h.faulty.failOnce('claimDueDeliveries');
    const wf = await h.deploy({ id: 'fast', steps: [{ id: 'calc', type: 'set', set: { done: true } }] });
    const run = await start(e, wf, {}, { resultUrl: 'https://receiver.example.com/hook' });
    await logged(h.log, /result delivery loop failed/);
    await delivered(posts, run.id);
  });

  test('committer: a failed commit is logged and told to its caller; the next commits go through', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    const wf = await h.deploy({ id: 'fast', steps: [{ id: 'calc', type: 'set', set: { done: true } }] });
    h.faulty.failOnce('writeBatch');
    await assert.rejects(e.startRun({ workflow: wf, data: {}, input: {}, ref: null, refPolicy: 'native' }), /injected writeBatch failure/);
    await logged(h.log, /commit failed/);
    const run = await start(e, wf);
    assert.equal((await h.until(run.id, ended, 'ended')).status, 'succeeded');
    // A timer-driven run after it: the loops behind the committer carry on too.
    const napper = await start(e, await h.deploy(DELAY));
    assert.equal((await h.until(napper.id, ended, 'ended', 5000)).status, 'succeeded');
  });

  test('a waiter whose first read fails is still answered when the run settles', async (t) => {
    const h = await harness(t);
    const e = h.engine();
    await e.start();
    const wf = await h.deploy({ id: 'hold', steps: [{ id: 'hold', type: 'wait', timeout: '1h' }, { id: 'answer', type: 'reply' }] });
    const run = await start(e, wf, { n: 1 });
    await h.until(run.id, (r) => r.status === 'waiting', 'waiting');
    h.faulty.failOnce('loadRun', { when: (args) => args[0] === run.id });
    const waiting = e.awaitSettled(run, 5000);
    await logged(h.log, /reading a run for its waiter failed/, 'warn');
    await e.callback(run.callback_token, { ok: true });
    const settled = await waiting;
    assert.deepEqual(settled.reply?.data, { n: 1, ok: true });
  });
});

describe('fan-out cost', () => {
  test('children that end while their parent is still executing do not read the parent', async (t) => {
    const h = await harness(t);
    const e = h.engine({ maxActive: 2000 });
    await e.start();
    await h.deploy({ id: 'trivial', steps: [{ id: 'done', type: 'end', status: 'succeeded' }] });
    const wf = await h.deploy({
      id: 'fan', params: { items: { type: 'array', required: true } },
      steps: [{ id: 'each', type: 'foreach', items: 'items', workflow: 'trivial', concurrency: 100 }],
    });
    const items = Array.from({ length: 400 }, (_, i) => i);
    const parent = await start(e, wf, { items });
    const done = await h.until(parent.id, ended, 'ended', 30_000);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.data.stats, { total: 400, succeeded: 400, failed: 0 });
    const parentReads = (h.faulty.calls.get('loadRun') ?? []).filter((args) => args[0] === parent.id).length;
    assert.ok(parentReads < 40, `the parent was read ${parentReads} times for 400 children`);
  });
});
