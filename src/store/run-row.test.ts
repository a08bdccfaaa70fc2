import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Run } from '../core/types.js';
import { RUN_COLUMNS, RUN_MUTABLE_COLUMNS, STEP_COLUMNS, rowToRun, runInsertRow, runInsertValues, runUpdateValues, type RunRow } from './run-row.js';
import { migrate } from './sqlite/migrations.js';

const run = (over: Partial<Run> = {}): Run => ({
  id: '01a20e48-f6ff-7000-b3e5-a677964150e0', tenant: 'acme', workflow: 'orders', version: 3, ref: 'r-1',
  status: 'waiting', input: { amount: 1250 }, data: { amount: 1250, fee: 12.5 }, progress: 50, step: 'pay',
  step_seq: 2, reply: { status: 'ok', data: { fee: 12.5 }, at: 5 }, error: null,
  parking: { kind: 'retry', step: 'pay', seq: 2, attempt: 1 }, wake_at: 7, callback_token: 'tok', result_url: null,
  parent: { run_id: 'p', step: 'call', seq: 4 }, attempt: 2, owner: 'node-1', lease_until: 9, rev: 4,
  created_at: 1, started_at: 2, finished_at: null, updated_at: 4, ...over,
});

describe('the run row', () => {
  it('a run survives encoding to its row and decoding back, with and without meta', () => {
    for (const r of [run(), run({ meta: { initiator: 'luma' }, parent: null, reply: null })]) {
      const row = runInsertRow(r, JSON.stringify(r.input)) as unknown as RunRow;
      assert.deepEqual(rowToRun(row), r);
      assert.equal('meta' in rowToRun(row), r.meta !== undefined);
      assert.equal(row.ref_key, r.ref, 'a new run holds its ref');
    }
  });

  it('a transition writes the data even when it is the input object itself', () => {
    const r = run();
    r.data = r.input;
    const values = runUpdateValues(r);
    assert.equal(values[RUN_MUTABLE_COLUMNS.indexOf('data')], JSON.stringify(r.input));
  });

  it('values follow RUN_COLUMNS; a transition writes no identity column and not the reply', () => {
    const r = run();
    assert.equal(runInsertValues(r, '{}').length, RUN_COLUMNS.length);
    for (const c of ['id', 'tenant', 'workflow', 'version', 'ref', 'ref_key', 'input', 'callback_token', 'created_at', 'meta', 'reply', 'first_steps']) {
      assert.ok(!RUN_MUTABLE_COLUMNS.includes(c as never), c);
    }
  });

  it('the SQLite tables have exactly these columns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowgate-runrow-'));
    const db = new Database(join(dir, 'x.db'));
    try {
      migrate(db);
      const columns = (table: string): string[] => (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[]);
      assert.deepEqual(columns('runs').sort(), [...RUN_COLUMNS].sort());
      assert.deepEqual(columns('step_records').sort(), [...STEP_COLUMNS].sort());
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
