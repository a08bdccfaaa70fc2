/**
 * Group commit on a store without space: the engine's own writes (transitions fenced by this node,
 * child creations) are kept and written once space returns; the writes of callers fail at once with
 * storage_full; after close() kept writes get one more try and then fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowgateError } from '../core/errors.js';
import { randomToken, uuidv7 } from '../core/ids.js';
import type { Run } from '../core/types.js';
import type { CreateResult, NewRun, Store, Transition, TransitionResult } from '../store/types.js';
import { Committer } from './committer.js';

const T0 = 1_700_000_000_000;

function makeRun(over: Partial<Run> = {}): Run {
  return {
    id: uuidv7(T0), tenant: 'default', workflow: 'wf', version: 1, ref: null, status: 'running', input: {}, data: {},
    progress: 0, step: 'a', step_seq: 1, reply: null, error: null, parking: null, wake_at: null, callback_token: randomToken(),
    result_url: null, parent: null, attempt: 1, owner: 'node-1', lease_until: T0 + 30_000, rev: 1, created_at: T0, started_at: T0,
    finished_at: null, updated_at: T0, ...over,
  };
}

/** Refuses every write while `full`, like a store on a full disk; records what it wrote. */
class FullStore {
  full = true;
  attempts = 0;
  readonly written: string[] = [];
  async writeBatch(creates: NewRun[], transitions: Transition[]): Promise<{ creates: CreateResult[]; transitions: TransitionResult[] }> {
    this.attempts++;
    await new Promise((r) => setTimeout(r, 1));
    if (this.full) throw new FlowgateError('storage_full', 'no space left');
    for (const c of creates) this.written.push(`create ${c.run.id}`);
    for (const t of transitions) this.written.push(`transition ${t.run.id}`);
    return { creates: creates.map((c) => ({ kind: 'created', run: c.run })), transitions: transitions.map(() => ({ ok: true, replied: false })) };
  }
}

const settle = <T>(p: Promise<T>): { state: () => 'pending' | 'resolved' | 'rejected'; error: () => unknown } => {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let error: unknown;
  p.then(() => { state = 'resolved'; }, (e) => { state = 'rejected'; error = e; });
  return { state: () => state, error: () => error };
};

test('a full store fails callers at once and keeps the engine\'s own writes until space returns', async () => {
  const store = new FullStore();
  const c = new Committer(store as unknown as Store);
  const own = makeRun();
  const child = makeRun({ status: 'queued', step_seq: 0, parent: { run_id: own.id, step: 'fan', seq: 1 } });
  const trigger = makeRun({ status: 'queued', step_seq: 0 });
  const cancel = makeRun({ status: 'cancelled' });

  const ownWrite = settle(c.transition({ run: { ...own, rev: 2 }, expectRev: 1, owner: 'node-1', steps: [] }));
  const childWrite = settle(c.create({ run: child, refPolicy: 'native' }));
  const callerCreate = c.create({ run: trigger, refPolicy: 'native' });
  const callerTransition = c.transition({ run: { ...cancel, rev: 2 }, expectRev: 1, steps: [] });

  await assert.rejects(callerCreate, (e: unknown) => e instanceof FlowgateError && e.code === 'storage_full');
  await assert.rejects(callerTransition, (e: unknown) => e instanceof FlowgateError && e.code === 'storage_full');
  await new Promise((r) => setTimeout(r, 800)); // several tries, all refused
  assert.ok(store.attempts >= 3, `tried again (${store.attempts} attempts)`);
  assert.equal(ownWrite.state(), 'pending');
  assert.equal(childWrite.state(), 'pending');

  store.full = false;
  await c.drain();
  assert.equal(ownWrite.state(), 'resolved');
  assert.equal(childWrite.state(), 'resolved');
  assert.deepEqual(store.written.sort(), [`create ${child.id}`, `transition ${own.id}`].sort());
});

test('after close() a write kept for lack of space gets one more try, then fails', async () => {
  const store = new FullStore();
  const c = new Committer(store as unknown as Store);
  const run = makeRun();
  const kept = settle(c.transition({ run: { ...run, rev: 2 }, expectRev: 1, owner: 'node-1', steps: [] }));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(kept.state(), 'pending');
  const before = store.attempts;
  c.close();
  await c.drain();
  assert.equal(kept.state(), 'rejected');
  assert.equal((kept.error() as FlowgateError).code, 'storage_full');
  assert.equal(store.attempts, before + 1);
});
