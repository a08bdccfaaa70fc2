/** Contract cases: run intake and refs, fenced transitions, replies, step records, listing. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Reply, Run } from '../../src/core/types.js';
import type { Store } from '../../src/store/types.js';
import type { ContractContext } from './contract.js';
import { T0, advanced, makeRun, makeStep, seedWorkflow } from './fixtures.js';

const reply = (data: string, at = T0): Reply => ({ status: 'ok', http_status: 200, headers: { 'x-a': 'b' }, data: { data }, at });

async function createOne(store: Store, run: Run): Promise<Run> {
  const [r] = await store.createRuns([{ run, refPolicy: 'native' }]);
  assert.equal(r.kind, 'created');
  return r.run;
}

export function runsContract({ use }: ContractContext): void {
  it('writeBatch creates and advances in one call, creations first', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const existing = await createOne(store, makeRun());
    const fresh = makeRun({ ref: 'batch-1' });
    const again = makeRun({ ref: 'batch-1' });
    const out = await store.writeBatch(
      [{ run: fresh, refPolicy: 'native' }, { run: again, refPolicy: 'native' }],
      [{ run: advanced(existing, { status: 'succeeded', finished_at: T0 + 3 }), expectRev: existing.rev, steps: [makeStep(existing.id, 1)] },
        { run: advanced(existing), expectRev: existing.rev, steps: [] }],
    );
    assert.deepEqual(out.creates.map((c) => c.kind), ['created', 'existing']);
    assert.equal(out.creates[1].run.id, fresh.id);
    assert.deepEqual(out.transitions.map((t) => t.ok), [true, false], 'the second transition is fenced out by the first');
    assert.equal((await store.getRun('default', existing.id))?.status, 'succeeded');
    assert.equal((await store.listSteps(existing.id)).length, 1);
    assert.deepEqual(await store.writeBatch([], []), { creates: [], transitions: [] });
  }));

  it('a created run gets the step records it came with; a run refused by its ref writes none', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const first = makeRun({ ref: 'with-steps' });
    const second = makeRun({ ref: 'with-steps', input: { other: true } });
    const [a, b] = await store.createRuns([
      { run: first, refPolicy: 'native', steps: [makeStep(first.id, 1), makeStep(first.id, 2)] },
      { run: second, refPolicy: 'native', steps: [makeStep(second.id, 1)] },
    ]);
    assert.equal(a.kind, 'created');
    assert.equal(b.kind, 'conflict');
    assert.deepEqual((await store.listSteps(first.id)).map((r) => r.seq), [1, 2]);
    assert.deepEqual(await store.listSteps(second.id), []);
  }));

  it('records written after creation update the ones the run came with, by seq', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const run = makeRun();
    const parked = { ...makeStep(run.id, 2), status: 'waiting' as const, finished_at: null, output: null };
    const created = [makeStep(run.id, 1), parked];
    await store.createRuns([{ run, refPolicy: 'native', steps: created }]);
    assert.deepEqual(await store.listSteps(run.id), created, 'read back exactly as given');
    const resumed = { ...parked, status: 'succeeded' as const, output: { body: { ok: true } }, finished_at: T0 + 5 };
    const next = makeStep(run.id, 3);
    const [t] = await store.applyTransitions([{ run: { ...run, rev: 2 }, expectRev: 1, steps: [resumed, next] }]);
    assert.equal(t.ok, true);
    assert.deepEqual(await store.listSteps(run.id), [created[0], resumed, next]);
    await assert.rejects(store.createRuns([{ run: makeRun(), refPolicy: 'native', steps: [makeStep(run.id, 1)] }]), /does not belong/);
  }));

  it('created runs read back exactly, by id, callback token and ref; other tenants see nothing', use(async (store) => {
    await seedWorkflow(store, 'acme', 'wf');
    await seedWorkflow(store, 'default', 'parent-wf');
    const parent = await createOne(store, makeRun({ workflow: 'parent-wf' }));
    const run = makeRun({
      tenant: 'acme', ref: 'order-1', input: { amount: 5, nested: { a: [1, 'x', null, true] } },
      data: { amount: 5, currency: 'EUR' }, progress: 12.5, result_url: 'http://127.0.0.1:9/cb',
      parent: { run_id: parent.id, step: 'call', seq: 3 }, attempt: 2, owner: 'node-a', lease_until: T0 + 1000,
      rev: 7, started_at: T0 + 1, error: { step: 'x', code: 'boom', message: 'failed before' },
    });
    const [res] = await store.createRuns([{ run, refPolicy: 'native' }]);
    assert.deepEqual(res, { kind: 'created', run });

    assert.deepEqual(await store.getRun('acme', run.id), run);
    assert.deepEqual(await store.loadRun(run.id), run);
    assert.deepEqual(await store.findRunByCallbackToken(run.callback_token), run);
    assert.deepEqual(await store.findRunByRef('acme', 'wf', 'order-1'), run);

    assert.equal(await store.getRun('default', run.id), null, "another tenant's run is not found");
    assert.equal(await store.findRunByRef('default', 'wf', 'order-1'), null);
    assert.equal(await store.findRunByRef('acme', 'other-wf', 'order-1'), null);
    assert.equal(await store.getRun('acme', '01890000-0000-7000-8000-000000000000'), null);
    assert.equal(await store.loadRun('01890000-0000-7000-8000-000000000000'), null);
    assert.equal(await store.findRunByCallbackToken('no-such-token'), null);
    assert.deepEqual(await store.createRuns([]), []);
  }));

  it('native refs: same input returns the run, another input conflicts, scope is tenant+workflow', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    await seedWorkflow(store, 'default', 'wf2');
    await seedWorkflow(store, 'acme', 'wf');
    const first = await createOne(store, makeRun({ ref: 'r1', input: { a: 1, b: { c: 2, d: 3 } } }));

    const sameInput = makeRun({ ref: 'r1', input: { b: { d: 3, c: 2 }, a: 1 } });
    const otherInput = makeRun({ ref: 'r1', input: { a: 2 } });
    const otherWorkflow = makeRun({ ref: 'r1', workflow: 'wf2' });
    const otherTenant = makeRun({ ref: 'r1', tenant: 'acme' });
    const noRef1 = makeRun();
    const noRef2 = makeRun();
    const results = await store.createRuns([sameInput, otherInput, otherWorkflow, otherTenant, noRef1, noRef2]
      .map((run) => ({ run, refPolicy: 'native' as const })));
    assert.deepEqual(results.map((r) => r.kind), ['existing', 'conflict', 'created', 'created', 'created', 'created']);
    assert.deepEqual(results[0].run, first);
    assert.deepEqual(results[1].run, first);
    assert.equal(await store.getRun('default', sameInput.id), null, 'nothing was created for a duplicate');
    assert.equal(await store.getRun('default', otherInput.id), null);

    // Native refs stay taken after the run finished.
    await store.applyTransitions([{ run: advanced(first, { status: 'succeeded', finished_at: T0 + 9 }), expectRev: first.rev, steps: [] }]);
    const [after] = await store.createRuns([{ run: makeRun({ ref: 'r1', input: { a: 9 } }), refPolicy: 'native' }]);
    assert.equal(after.kind, 'conflict');
    assert.equal(after.run.id, first.id);
  }));

  it('while-active refs: an active holder conflicts, a finished one hands the ref on', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const first = await createOne(store, makeRun({ ref: 'r', input: { a: 1 } }));
    const [dup] = await store.createRuns([{ run: makeRun({ ref: 'r', input: { a: 1 } }), refPolicy: 'while-active' }]);
    assert.equal(dup.kind, 'conflict', 'even the same input conflicts while the holder is active');
    assert.equal(dup.run.id, first.id);

    await store.applyTransitions([{ run: advanced(first, { status: 'failed', finished_at: T0 + 5 }), expectRev: 1, steps: [] }]);
    const next = makeRun({ ref: 'r', input: { a: 2 } });
    const [res] = await store.createRuns([{ run: next, refPolicy: 'while-active' }]);
    assert.deepEqual(res, { kind: 'created', run: next });
    assert.equal((await store.findRunByRef('default', 'wf', 'r'))?.id, next.id);
    assert.equal((await store.getRun('default', first.id))?.ref, 'r', 'the old run still shows its ref');

    // The new holder answers native duplicates too.
    const [nat] = await store.createRuns([{ run: makeRun({ ref: 'r', input: { a: 2 } }), refPolicy: 'native' }]);
    assert.equal(nat.kind, 'existing');
    assert.equal(nat.run.id, next.id);
  }));

  it('two items with one ref in a batch behave as if sequential', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const a = makeRun({ ref: 'n', input: { x: 1 } });
    const native = await store.createRuns([
      { run: a, refPolicy: 'native' },
      { run: makeRun({ ref: 'n', input: { x: 1 } }), refPolicy: 'native' },
      { run: makeRun({ ref: 'n', input: { x: 2 } }), refPolicy: 'native' },
    ]);
    assert.deepEqual(native.map((r) => r.kind), ['created', 'existing', 'conflict']);
    assert.equal(native[1].run.id, a.id);
    assert.equal(native[2].run.id, a.id);

    const done = makeRun({ ref: 'w', status: 'succeeded', finished_at: T0 });
    const b = makeRun({ ref: 'w' });
    const c = makeRun({ ref: 'w' });
    const wa = await store.createRuns([
      { run: done, refPolicy: 'while-active' },
      { run: b, refPolicy: 'while-active' },
      { run: c, refPolicy: 'while-active' },
    ]);
    assert.deepEqual(wa.map((r) => r.kind), ['created', 'created', 'conflict']);
    assert.equal(wa[2].run.id, b.id);
    assert.equal((await store.findRunByRef('default', 'wf', 'w'))?.id, b.id);
  }));

  it('a batch is one transaction: a failing item leaves nothing of the batch', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const ok = makeRun({ ref: 'kept-out' });
    const clash = makeRun();
    await createOne(store, clash);
    await assert.rejects(store.createRuns([
      { run: ok, refPolicy: 'native' },
      { run: { ...makeRun(), id: clash.id }, refPolicy: 'native' },
    ]));
    assert.equal(await store.loadRun(ok.id), null);
    assert.equal(await store.findRunByRef('default', 'wf', 'kept-out'), null);
    const [again] = await store.createRuns([{ run: ok, refPolicy: 'native' }]);
    assert.equal(again.kind, 'created', 'the ref was not taken by the failed batch');
  }));

  it('transitions are fenced by rev; a stale one writes neither the run nor its steps', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const run = await createOne(store, makeRun());
    const next = advanced(run, { status: 'running', step: 'answer', step_seq: 1, data: { amount: 10, fee: 0.1 }, started_at: T0 + 1 });
    const stale = advanced(run, { status: 'failed', step_seq: 1 });
    const results = await store.applyTransitions([
      { run: next, expectRev: 1, steps: [makeStep(run.id, 1)] },
      { run: stale, expectRev: 1, steps: [makeStep(run.id, 1, { status: 'failed' }), makeStep(run.id, 2)] },
    ]);
    assert.deepEqual(results, [{ ok: true, replied: false }, { ok: false }]);
    assert.deepEqual(await store.getRun('default', run.id), next);
    assert.deepEqual(await store.listSteps(run.id), [makeStep(run.id, 1)]);

    // Items of one batch apply in order: rev 2 -> 3 -> 4.
    const third = advanced(next);
    const fourth = advanced(third, { status: 'succeeded', finished_at: T0 + 9 });
    assert.deepEqual(
      await store.applyTransitions([{ run: third, expectRev: 2, steps: [] }, { run: fourth, expectRev: 3, steps: [] }]),
      [{ ok: true, replied: false }, { ok: true, replied: false }],
    );
    assert.equal((await store.loadRun(run.id))?.rev, 4);
    const ghost = makeRun();
    assert.deepEqual(await store.applyTransitions([{ run: advanced(ghost), expectRev: 1, steps: [] }]), [{ ok: false }]);
    assert.deepEqual(await store.applyTransitions([]), []);
  }));

  it('transitions are fenced by owner when one is given', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const run = await createOne(store, makeRun({ status: 'running', owner: 'node-a', lease_until: T0 + 100 }));
    const byB = advanced(run, { owner: 'node-b' });
    assert.deepEqual(await store.applyTransitions([{ run: byB, expectRev: 1, owner: 'node-b', steps: [makeStep(run.id, 1)] }]), [{ ok: false }]);
    assert.deepEqual(await store.listSteps(run.id), []);
    const byA = advanced(run, { step_seq: 1 });
    assert.deepEqual(await store.applyTransitions([{ run: byA, expectRev: 1, owner: 'node-a', steps: [makeStep(run.id, 1)] }]), [{ ok: true, replied: false }]);
    assert.deepEqual(await store.getRun('default', run.id), byA);
  }));

  it('a reply is stored once, whether by transition or by setReply', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const r1 = await createOne(store, makeRun());
    const withReply = advanced(r1, { reply: reply('first') });
    assert.deepEqual(await store.applyTransitions([{ run: withReply, expectRev: 1, steps: [] }]), [{ ok: true, replied: true }]);
    const again = advanced(withReply, { reply: reply('second') });
    assert.deepEqual(await store.applyTransitions([{ run: again, expectRev: 2, steps: [] }]), [{ ok: true, replied: false }]);
    const stored1 = await store.getRun('default', r1.id);
    assert.deepEqual(stored1?.reply, reply('first'));
    assert.equal(stored1?.rev, 3, 'the rest of the transition applied');
    const cleared = advanced(again, { reply: null });
    await store.applyTransitions([{ run: cleared, expectRev: 3, steps: [] }]);
    assert.deepEqual((await store.loadRun(r1.id))?.reply, reply('first'), 'a transition never clears a reply');
    assert.equal(await store.setReply(r1.id, reply('late'), T0 + 50), false);

    const r2 = await createOne(store, makeRun());
    assert.equal(await store.setReply(r2.id, reply('callback'), T0 + 10), true);
    assert.equal(await store.setReply(r2.id, reply('callback 2'), T0 + 11), false);
    const stored2 = await store.loadRun(r2.id);
    assert.deepEqual(stored2?.reply, reply('callback'));
    assert.equal(stored2?.rev, 1, 'setReply does not bump rev');
    assert.deepEqual(
      await store.applyTransitions([{ run: advanced(r2, { reply: reply('step') }), expectRev: 1, steps: [] }]),
      [{ ok: true, replied: false }],
    );
    assert.deepEqual((await store.loadRun(r2.id))?.reply, reply('callback'));

    const r3 = await createOne(store, makeRun());
    const staleReply = advanced(r3, { reply: reply('stale') });
    assert.deepEqual(await store.applyTransitions([{ run: staleReply, expectRev: 5, steps: [] }]), [{ ok: false }]);
    assert.equal((await store.loadRun(r3.id))?.reply, null, 'a fenced-out transition stores no reply');
    assert.equal(await store.setReply('01890000-0000-7000-8000-000000000000', reply('x'), T0), false);
  }));

  it('step records are upserted by (run, seq) and listed in order', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const run = await createOne(store, makeRun());
    const running = makeStep(run.id, 1, { type: 'http', status: 'running', finished_at: null, output: null,
      attempts: [{ n: 1, started_at: T0, finished_at: null, duration_ms: null, request: { method: 'POST' } }] });
    const s1 = advanced(run, { step_seq: 1 });
    await store.applyTransitions([{ run: s1, expectRev: 1, steps: [running] }]);
    assert.deepEqual(await store.listSteps(run.id), [running]);

    const finished = makeStep(run.id, 1, { type: 'http', name: 'Call review', output: { ok: true },
      attempts: [
        { n: 1, started_at: T0, finished_at: T0 + 5, duration_ms: 5, error: { class: 'timeout', message: 't' } },
        { n: 2, started_at: T0 + 9, finished_at: T0 + 12, duration_ms: 3, response: { status: 200 } },
      ] });
    const failed = makeStep(run.id, 2, { status: 'failed', output: null, error: { step: 'step2', code: 'x', message: 'y' } });
    const s2 = advanced(s1, { step_seq: 2 });
    await store.applyTransitions([{ run: s2, expectRev: 2, steps: [failed, finished] }]);
    assert.deepEqual(await store.listSteps(run.id), [finished, failed]);
    assert.deepEqual(await store.listSteps('01890000-0000-7000-8000-000000000000'), []);
  }));

  it('listRuns: newest first, cursor pages, filters, tenant-scoped', use(async (store) => {
    await seedWorkflow(store, 'default', 'a');
    await seedWorkflow(store, 'default', 'b');
    await seedWorkflow(store, 'acme', 'a');
    const parent = makeRun({ workflow: 'a', created_at: T0 });
    const runs: Run[] = [parent];
    for (let i = 1; i <= 9; i++) {
      runs.push(makeRun({
        workflow: i % 3 === 0 ? 'b' : 'a',
        status: i % 2 === 0 ? 'succeeded' : 'queued',
        ref: i === 4 ? 'ref-4' : null,
        parent: i >= 7 ? { run_id: parent.id, step: 'fan', seq: 1 } : null,
        created_at: T0 + i * 1000,
      }));
    }
    await store.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    await store.createRuns([{ run: makeRun({ tenant: 'acme', workflow: 'a', created_at: T0 + 500 }), refPolicy: 'native' }]);
    const newestFirst = [...runs].reverse();

    const seen: Run[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listRuns('default', { limit: 3, cursor });
      seen.push(...page.runs);
      cursor = page.next_cursor ?? undefined;
      if (cursor) assert.equal(cursor, page.runs[page.runs.length - 1].id);
      pages++;
      assert.ok(pages <= 5, 'paging terminates');
    } while (cursor);
    assert.deepEqual(seen, newestFirst);
    assert.equal(pages, 4, '10 runs in pages of 3');

    const exact = await store.listRuns('default', { limit: 10 });
    assert.equal(exact.runs.length, 10);
    assert.equal(exact.next_cursor, null, 'no next page when exactly limit rows remain');

    const ids = async (f: Parameters<Store['listRuns']>[1]): Promise<string[]> =>
      (await store.listRuns('default', f)).runs.map((r) => r.id);
    const expect = (pred: (r: Run) => boolean): string[] => newestFirst.filter(pred).map((r) => r.id);
    assert.deepEqual(await ids({ limit: 50, workflow: 'b' }), expect((r) => r.workflow === 'b'));
    assert.deepEqual(await ids({ limit: 50, status: 'succeeded' }), expect((r) => r.status === 'succeeded'));
    assert.deepEqual(await ids({ limit: 50, workflow: 'a', status: 'queued' }), expect((r) => r.workflow === 'a' && r.status === 'queued'));
    assert.deepEqual(await ids({ limit: 50, ref: 'ref-4' }), expect((r) => r.ref === 'ref-4'));
    assert.deepEqual(await ids({ limit: 50, parent: parent.id }), expect((r) => r.parent?.run_id === parent.id));
    assert.deepEqual(
      await ids({ limit: 50, since: T0 + 3000, until: T0 + 6000 }),
      expect((r) => r.created_at >= T0 + 3000 && r.created_at < T0 + 6000),
      'since is inclusive, until exclusive',
    );
    const filteredPage = await store.listRuns('default', { limit: 2, workflow: 'a' });
    assert.equal(filteredPage.runs.length, 2);
    assert.deepEqual(
      await ids({ limit: 50, workflow: 'a', cursor: filteredPage.next_cursor ?? undefined }),
      expect((r) => r.workflow === 'a').slice(2),
    );
    assert.deepEqual(await ids({ limit: 50, workflow: 'missing' }), []);

    const acme = await store.listRuns('acme', { limit: 50 });
    assert.equal(acme.runs.length, 1);
    assert.equal(acme.runs[0].tenant, 'acme');
    assert.deepEqual(await store.listRuns('nobody', { limit: 5 }), { runs: [], next_cursor: null });
  }));

  it('meta is kept with the run as given and survives transitions; a run without meta has none', use(async (store) => {
    await seedWorkflow(store, 'default', 'wf');
    const meta = { initiatorContactId: 1, initiatorApplicationId: -2, initiationInfo: { lumaChannelAccountId: 'e54b', ticketIdentifier: '100-1' } };
    const run = await createOne(store, makeRun({ meta }));
    const plain = await createOne(store, makeRun());
    assert.deepEqual((await store.getRun('default', run.id))?.meta, meta);
    assert.equal('meta' in (await store.getRun('default', plain.id))!, false);
    await store.applyTransitions([{ run: advanced(run, { status: 'succeeded', data: { x: 1 }, finished_at: T0 + 3 }), expectRev: run.rev, steps: [] }]);
    const after = await store.loadRun(run.id);
    assert.equal(after?.status, 'succeeded');
    assert.deepEqual(after?.meta, meta, 'a transition does not touch meta');
    const listed = await store.listRuns('default', { limit: 10 });
    assert.deepEqual(listed.runs.find((r) => r.id === run.id)?.meta, meta);
  }));
}
