/** Contract cases: workflow versions, public identifiers, archive, tenant isolation. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { uuidv7Floor } from '../../src/core/ids.js';
import type { Definition, Run } from '../../src/core/types.js';
import { workflowEtag } from '../../src/core/workflow-etag.js';
import type { HeadCondition } from '../../src/store/types.js';
import type { ContractContext } from './contract.js';
import { T0, definition, makeRun, workflowIds } from './fixtures.js';

/** The same definition with every object's keys in reverse order. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reordered(v)]));
}

export function workflowsContract({ use }: ContractContext): void {
  it('identifiers brought to a workflow: set, found by them, unique across tenants (taken names its holder), and skipped by new conv_ids', use(async (store) => {
    const w = (await store.saveWorkflow('default', definition('moved'), 's', workflowIds(), T0)).workflow;
    const other = (await store.saveWorkflow('acme', definition('theirs'), 's', workflowIds(), T0)).workflow;
    const brought = { conv_id: w.conv_id + 5, hash: 'c'.repeat(40), guid: '555e1a89-5d7d-4daf-ae0e-7b9b2b7933dd' };
    const set = await store.setWorkflowIdentifiers('default', 'moved', brought, T0 + 1);
    assert.equal(set.kind, 'set');
    assert.deepEqual(set.kind === 'set' && [set.workflow.conv_id, set.workflow.hash, set.workflow.guid, set.workflow.updated_at], [brought.conv_id, brought.hash, brought.guid, T0 + 1]);
    assert.equal((await store.findWorkflowByConvId(brought.conv_id))?.id, 'moved');
    assert.equal(await store.findWorkflowByConvId(w.conv_id), null, 'the old conv_id no longer names it');
    assert.equal((await store.findWorkflowByGuid(brought.guid.toUpperCase()))?.id, 'moved');
    assert.equal((await store.getWorkflow('default', 'moved', 1))?.hash, brought.hash, 'every version shares the identifiers');
    // Setting the same values again is fine; another workflow's are taken, and nothing changes.
    assert.equal((await store.setWorkflowIdentifiers('default', 'moved', brought, T0 + 2)).kind, 'set');
    const clash = await store.setWorkflowIdentifiers('acme', 'theirs', { hash: 'd'.repeat(40), conv_id: brought.conv_id }, T0 + 3);
    assert.deepEqual(clash, { kind: 'taken', field: 'conv_id', holder: { tenant: 'default', id: 'moved' } });
    assert.equal((await store.getWorkflow('acme', 'theirs'))?.hash, other.hash, 'a refused change changes nothing');
    assert.deepEqual(await store.setWorkflowIdentifiers('default', 'missing', { hash: 'e'.repeat(40) }, T0), { kind: 'not_found' });
    assert.deepEqual(await store.setWorkflowIdentifiers('acme', 'moved', { hash: 'e'.repeat(40) }, T0), { kind: 'not_found' }, 'another tenant\'s workflow is not found');
    // New workflows never get a brought conv_id.
    const seen = new Set([w.conv_id, other.conv_id, brought.conv_id]);
    for (let i = 0; i < 8; i++) {
      const n = (await store.saveWorkflow('default', definition(`n${i}`), 's', workflowIds(), T0)).workflow.conv_id;
      assert.ok(!seen.has(n), `conv_id ${n} is new`);
      seen.add(n);
    }
  }));

  it('first save creates version 1 with a conv_id, hash and guid', use(async (store) => {
    const ids = workflowIds();
    const def = definition('loan-check');
    const { workflow, created } = await store.saveWorkflow('default', def, 'id: loan-check\n', ids, T0);
    assert.equal(created, true);
    assert.equal(workflow.tenant, 'default');
    assert.equal(workflow.id, 'loan-check');
    assert.equal(workflow.name, def.name);
    assert.equal(workflow.version, 1);
    assert.deepEqual(workflow.definition, def);
    assert.equal(workflow.source, 'id: loan-check\n');
    assert.ok(Number.isSafeInteger(workflow.conv_id) && workflow.conv_id >= 1000);
    assert.equal(workflow.hash, ids.hash);
    assert.equal(workflow.guid, ids.guid);
    assert.equal(workflow.archived, false);
    assert.equal(workflow.created_at, T0);
    assert.equal(workflow.updated_at, T0);
    assert.deepEqual(await store.getWorkflow('default', 'loan-check'), workflow);
  }));

  it('an identical save (keys in any order) makes no version; a changed one makes version 2', use(async (store) => {
    const def = definition('wf');
    const first = (await store.saveWorkflow('default', def, 'v1 text', workflowIds(), T0)).workflow;
    const same = await store.saveWorkflow('default', reordered(def) as Definition, 'other text', workflowIds(), T0 + 1);
    assert.equal(same.created, false);
    assert.deepEqual(same.workflow, first, 'nothing written: source, ids and times unchanged');

    const changedDef = definition('wf', { name: 'Renamed' });
    const second = await store.saveWorkflow('default', changedDef, 'v2 text', workflowIds(), T0 + 2);
    assert.equal(second.created, true);
    assert.equal(second.workflow.version, 2);
    assert.equal(second.workflow.name, 'Renamed');
    assert.equal(second.workflow.source, 'v2 text');
    assert.equal(second.workflow.conv_id, first.conv_id, 'versions share the public identifiers');
    assert.equal(second.workflow.hash, first.hash);
    assert.equal(second.workflow.guid, first.guid);
    assert.equal(second.workflow.created_at, T0);
    assert.equal(second.workflow.updated_at, T0 + 2);

    const third = await store.saveWorkflow('default', changedDef, 'v2 again', workflowIds(), T0 + 3);
    assert.equal(third.created, false);
    assert.equal(third.workflow.version, 2);
  }));

  it('a conditional save checks the head first and writes nothing when the condition fails', use(async (store) => {
    const def = definition('cond');
    const absentOnly: HeadCondition[] = [{ kind: 'absent' }];
    const first = await store.saveWorkflow('default', def, 'v1', workflowIds(), T0, absentOnly);
    assert.ok(!('unmet' in first));
    const tag1 = workflowEtag(first.workflow);
    const again = await store.saveWorkflow('default', definition('cond', { name: 'other' }), 'v1b', workflowIds(), T0 + 1, absentOnly);
    assert.deepEqual(again, { unmet: true, etag: tag1 }, 'create-only on an existing workflow');
    const v2 = await store.saveWorkflow('default', definition('cond', { name: 'v2' }), 'v2', workflowIds(), T0 + 2, [{ kind: 'one-of', etags: ['"x"', tag1] }]);
    assert.ok(!('unmet' in v2) && v2.workflow.version === 2);
    const stale = await store.saveWorkflow('default', definition('cond', { name: 'v3' }), 'v3', workflowIds(), T0 + 3, [{ kind: 'one-of', etags: [tag1] }]);
    assert.deepEqual(stale, { unmet: true, etag: workflowEtag(v2.workflow) });
    assert.equal((await store.getWorkflow('default', 'cond'))?.version, 2, 'nothing written');
    assert.deepEqual(await store.saveWorkflow('default', definition('none'), 'x', workflowIds(), T0, [{ kind: 'present' }]), { unmet: true, etag: null });
    assert.equal(await store.getWorkflow('default', 'none'), null);
    const notThat = await store.saveWorkflow('default', definition('cond', { name: 'v3' }), 'v3', workflowIds(), T0 + 4, [{ kind: 'none-of', etags: [tag1] }]);
    assert.ok(!('unmet' in notThat) && notThat.workflow.version === 3);
    assert.ok(await store.archiveWorkflow('default', 'cond', T0 + 5));
    const archived = await store.saveWorkflow('default', definition('cond', { name: 'v4' }), 'v4', workflowIds(), T0 + 6, [{ kind: 'one-of', etags: [workflowEtag(notThat.workflow)] }]);
    assert.ok('unmet' in archived, 'an archive changes the head: the tag read before it is stale');
  }));

  it('a run keeps its version: every stored version stays readable', use(async (store) => {
    await store.saveWorkflow('default', definition('wf'), 'v1', workflowIds(), T0);
    const v2def = definition('wf', { steps: [{ id: 'only', type: 'end', status: 'succeeded' }] });
    const v2 = (await store.saveWorkflow('default', v2def, 'v2', workflowIds(), T0 + 1)).workflow;

    const v1 = await store.getWorkflow('default', 'wf', 1);
    assert.ok(v1);
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.definition, definition('wf'));
    assert.equal(v1.source, 'v1');
    assert.equal(v1.conv_id, v2.conv_id);
    assert.equal(v1.hash, v2.hash);
    assert.equal(v1.guid, v2.guid);
    assert.deepEqual(await store.getWorkflow('default', 'wf', 2), v2);
    assert.deepEqual(await store.getWorkflow('default', 'wf'), v2);
    assert.equal(await store.getWorkflow('default', 'wf', 3), null);
    assert.equal(await store.getWorkflow('default', 'wf', 0), null);
  }));

  it('conv_ids are unique across tenants; tenants do not see each other', use(async (store) => {
    const a = (await store.saveWorkflow('default', definition('wf'), 's', workflowIds(), T0)).workflow;
    const b = (await store.saveWorkflow('acme', definition('wf'), 's', workflowIds(), T0)).workflow;
    const c = (await store.saveWorkflow('acme', definition('other'), 's', workflowIds(), T0)).workflow;
    assert.equal(new Set([a.conv_id, b.conv_id, c.conv_id]).size, 3);
    assert.equal(b.version, 1, 'the same id in another tenant is another workflow');

    assert.equal(await store.getWorkflow('nobody', 'wf'), null);
    assert.equal((await store.getWorkflow('acme', 'wf'))?.conv_id, b.conv_id);
    assert.deepEqual((await store.listWorkflows('acme')).map((w) => w.id), ['other', 'wf']);
    assert.deepEqual((await store.listWorkflows('default')).map((w) => w.id), ['wf']);
    assert.deepEqual(await store.listWorkflows('nobody'), []);
    assert.equal(await store.archiveWorkflow('nobody', 'wf', T0), false);
    assert.equal(await store.setWorkflowHash('nobody', 'wf', 'f'.repeat(40), T0), false);
    assert.equal((await store.getWorkflow('default', 'wf'))?.archived, false);
  }));

  it('listWorkflows returns current versions', use(async (store) => {
    await store.saveWorkflow('default', definition('wf'), 's', workflowIds(), T0);
    await store.saveWorkflow('default', definition('wf', { name: 'v2' }), 's2', workflowIds(), T0 + 1);
    const list = await store.listWorkflows('default');
    assert.equal(list.length, 1);
    assert.equal(list[0].version, 2);
    assert.equal(list[0].name, 'v2');
  }));

  it('hash rotation: the new hash replaces the old one at once', use(async (store) => {
    const w = (await store.saveWorkflow('default', definition('wf'), 's', workflowIds(), T0)).workflow;
    const hash = 'a'.repeat(40);
    assert.equal(await store.setWorkflowHash('default', 'wf', hash, T0 + 5), true);
    const byConv = await store.findWorkflowByConvId(w.conv_id);
    assert.equal(byConv?.hash, hash);
    assert.equal(byConv?.updated_at, T0 + 5);
    assert.equal((await store.getWorkflow('default', 'wf', 1))?.hash, hash);
    assert.equal(await store.setWorkflowHash('default', 'missing', hash, T0), false);
  }));

  it('archive: hidden from lists, still readable as archived, un-archived by a save', use(async (store) => {
    const w = (await store.saveWorkflow('default', definition('wf'), 's', workflowIds(), T0)).workflow;
    await store.saveWorkflow('default', definition('kept'), 's', workflowIds(), T0);
    assert.equal(await store.archiveWorkflow('default', 'wf', T0 + 1), true);
    assert.equal(await store.archiveWorkflow('default', 'wf', T0 + 2), false, 'already archived');
    assert.equal(await store.archiveWorkflow('default', 'missing', T0 + 2), false);

    assert.deepEqual((await store.listWorkflows('default')).map((x) => x.id), ['kept']);
    const archived = await store.getWorkflow('default', 'wf');
    assert.equal(archived?.archived, true);
    assert.equal(archived?.updated_at, T0 + 1);
    assert.equal((await store.getWorkflow('default', 'wf', 1))?.archived, true);
    assert.equal((await store.findWorkflowByConvId(w.conv_id))?.archived, true);

    const again = await store.saveWorkflow('default', definition('wf'), 's', workflowIds(), T0 + 3);
    assert.equal(again.created, false);
    assert.equal(again.workflow.archived, false);
    assert.equal(again.workflow.conv_id, w.conv_id);
    assert.deepEqual((await store.listWorkflows('default')).map((x) => x.id), ['kept', 'wf']);

    await store.archiveWorkflow('default', 'wf', T0 + 4);
    const changed = await store.saveWorkflow('default', definition('wf', { name: 'v2' }), 's', workflowIds(), T0 + 5);
    assert.equal(changed.created, true);
    assert.equal(changed.workflow.archived, false);
  }));

  it('public lookups by conv_id and guid return the current version', use(async (store) => {
    const ids = workflowIds();
    const w = (await store.saveWorkflow('acme', definition('wf'), 's', ids, T0)).workflow;
    await store.saveWorkflow('acme', definition('wf', { name: 'v2' }), 's', workflowIds(), T0 + 1);
    const byConv = await store.findWorkflowByConvId(w.conv_id);
    assert.equal(byConv?.tenant, 'acme');
    assert.equal(byConv?.version, 2);
    assert.equal(byConv?.hash, ids.hash, 'a new version keeps the hash of the first save');
    const byGuid = await store.findWorkflowByGuid(ids.guid);
    assert.deepEqual(byGuid, byConv);
    assert.equal(await store.findWorkflowByConvId(w.conv_id + 1000), null);
    assert.equal(await store.findWorkflowByGuid('00000000-0000-4000-8000-000000000000'), null);
  }));

  it('versions are listed newest first in pages, per tenant; an unknown workflow is null', use(async (store) => {
    for (let v = 1; v <= 5; v++) await store.saveWorkflow('default', definition('wf', { name: `name ${v}` }), 's', workflowIds(), T0 + v);
    await store.saveWorkflow('acme', definition('wf', { name: 'theirs' }), 's', workflowIds(), T0);
    const first = await store.listWorkflowVersions('default', 'wf', { limit: 2 });
    assert.deepEqual(first, {
      versions: [{ version: 5, name: 'name 5', created_at: T0 + 5 }, { version: 4, name: 'name 4', created_at: T0 + 4 }],
      next_cursor: 4,
    });
    const second = await store.listWorkflowVersions('default', 'wf', { limit: 2, before: 4 });
    assert.deepEqual(second?.versions.map((v) => v.version), [3, 2]);
    const last = await store.listWorkflowVersions('default', 'wf', { limit: 2, before: 2 });
    assert.deepEqual(last, { versions: [{ version: 1, name: 'name 1', created_at: T0 + 1 }], next_cursor: null });
    const all = await store.listWorkflowVersions('default', 'wf', { limit: 10 });
    assert.deepEqual(all?.versions.map((v) => v.version), [5, 4, 3, 2, 1]);
    assert.equal(all?.next_cursor, null);
    assert.deepEqual((await store.listWorkflowVersions('acme', 'wf', { limit: 10 }))?.versions.map((v) => v.name), ['theirs']);
    assert.equal(await store.listWorkflowVersions('default', 'missing', { limit: 10 }), null);
    assert.equal(await store.listWorkflowVersions('other', 'wf', { limit: 10 }), null, 'another tenant\'s workflow is not found');
    await store.archiveWorkflow('default', 'wf', T0 + 9);
    assert.equal((await store.listWorkflowVersions('default', 'wf', { limit: 10 }))?.versions.length, 5, 'an archived workflow keeps its versions');
  }));

  it('activity: each listed workflow\'s newest run and its runs since a time, per tenant', use(async (store) => {
    for (const id of ['busy', 'idle', 'gone']) await store.saveWorkflow('default', definition(id), 's', workflowIds(), T0);
    await store.saveWorkflow('acme', definition('busy'), 's', workflowIds(), T0);
    const hour = 3_600_000;
    // Ids made from each run's own time: uuidv7() never goes back in time within a process, and
    // earlier cases may have made ids at later times.
    let n = 0;
    const at = (over: Partial<Run> & { created_at: number }) =>
      makeRun({ ...over, id: uuidv7Floor(over.created_at).slice(0, -4) + String(++n).padStart(4, '0') });
    const runs = [
      at({ workflow: 'busy', created_at: T0 - 30 * hour, status: 'succeeded' }),
      at({ workflow: 'busy', created_at: T0 - 2 * hour, status: 'failed' }),
      at({ workflow: 'busy', created_at: T0 - hour, status: 'waiting' }),
      at({ workflow: 'gone', created_at: T0 - hour }),
      at({ tenant: 'acme', workflow: 'busy', created_at: T0, status: 'running' }),
      at({ tenant: 'acme', workflow: 'busy', created_at: T0 + 1, status: 'running' }),
    ];
    await store.createRuns(runs.map((run) => ({ run, refPolicy: 'native' as const })));
    await store.archiveWorkflow('default', 'gone', T0);
    const activity = await store.workflowActivity('default', T0 - 24 * hour);
    assert.deepEqual(activity, [
      { workflow: 'busy', last_run: { id: runs[2].id, status: 'waiting', created_at: T0 - hour }, runs_since: 2 },
      { workflow: 'idle', last_run: null, runs_since: 0 },
    ], 'archived workflows are left out, as listWorkflows leaves them');
    assert.deepEqual((await store.workflowActivity('default', T0 - 48 * hour)).map((a) => a.runs_since), [3, 0]);
    assert.deepEqual(await store.workflowActivity('acme', T0 - 24 * hour), [
      { workflow: 'busy', last_run: { id: runs[5].id, status: 'running', created_at: T0 + 1 }, runs_since: 2 },
    ]);
    assert.deepEqual(await store.workflowActivity('nobody', T0), []);
  }));
}
