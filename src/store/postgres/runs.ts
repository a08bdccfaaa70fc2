/**
 * Runs and step records on PostgreSQL: the group commit (one statement, one round trip per batch:
 * functions.ts), replies and reads.
 */
import { uuidv7Floor } from '../../core/ids.js';
import type { Run, StepRecord } from '../../core/types.js';
import {
  RUN_MUTABLE_COLUMNS, encodeReply, mergeSteps, rowToRun, rowToStep, runInsertRow, runUpdateValues, stepRow,
  type RunRow, type SqlValue, type StepRow,
} from '../run-row.js';
import { sameJson } from '../documents.js';
import type { CreateResult, NewRun, RunFilter, Transition, TransitionResult } from '../types.js';
import type { Db } from './connection.js';
import { HINT_CHANNEL } from './functions.js';

/** Step records are written only with their own run. */
function checkOwnRecords(runId: string, steps: StepRecord[]): void {
  for (const step of steps) {
    if (step.run_id !== runId) throw new TypeError(`step record ${step.run_id}#${step.seq} does not belong to run ${runId}`);
  }
}

type BatchAnswer = {
  c: ({ k: 'created' } | { k: 'held' | 'conflict'; row: RunRow })[];
  t: ({ ok: true; y: boolean } | { ok: false })[];
};

/** What `flowgate_write_batch` receives for one transition. */
function transitionItem(t: Transition): Record<string, unknown> {
  checkOwnRecords(t.run.id, t.steps);
  const values = runUpdateValues(t.run);
  const r: Record<string, SqlValue> = { id: t.run.id, tenant: t.run.tenant };
  RUN_MUTABLE_COLUMNS.forEach((c, i) => { r[c] = values[i]; });
  return {
    r, e: t.expectRev, f: t.owner !== undefined, o: t.owner ?? null,
    y: t.run.reply != null ? encodeReply(t.run.reply) : null, s: t.steps.map(stepRow),
  };
}

export class RunQueries {
  constructor(private readonly db: Db) {}

  /** Creations then transitions, in order, in one statement: one round trip and one transaction. */
  async writeBatch(creates: NewRun[], transitions: Transition[]): Promise<{ creates: CreateResult[]; transitions: TransitionResult[] }> {
    if (creates.length === 0 && transitions.length === 0) return { creates: [], transitions: [] };
    const inputs: string[] = [];
    const createItems = creates.map(({ run, refPolicy, steps }) => {
      if (steps) checkOwnRecords(run.id, steps);
      const inputText = JSON.stringify(run.input);
      inputs.push(inputText);
      return { r: runInsertRow(run, inputText, steps), p: refPolicy };
    });
    const transitionItems = transitions.map(transitionItem);
    const [row] = await this.db.query<{ a: BatchAnswer }>(
      'SELECT flowgate_write_batch($1::json, $2::json) AS a',
      [JSON.stringify(createItems), JSON.stringify(transitionItems)],
    );
    const answer = row.a;
    return {
      creates: answer.c.map((c, i): CreateResult => {
        if (c.k === 'created') return { kind: 'created', run: creates[i].run };
        const holder = rowToRun(c.row);
        if (c.k === 'conflict') return { kind: 'conflict', run: holder };
        return { kind: sameJson(c.row.input, creates[i].run.input, inputs[i]) ? 'existing' : 'conflict', run: holder };
      }),
      transitions: answer.t.map((t): TransitionResult => (t.ok ? { ok: true, replied: t.y } : { ok: false })),
    };
  }

  async createRuns(batch: NewRun[]): Promise<CreateResult[]> {
    if (batch.length === 0) return [];
    return (await this.writeBatch(batch, [])).creates;
  }

  async applyTransitions(batch: Transition[]): Promise<TransitionResult[]> {
    if (batch.length === 0) return [];
    return (await this.writeBatch([], batch)).transitions;
  }

  /**
   * Stores a reply if none is stored, deciding under the row lock the UPDATE takes (a second writer
   * waits, then finds the reply set). Does not bump rev. Hints `run … replied` in the same statement.
   */
  async setReply(runId: string, reply: NonNullable<Run['reply']>, now: number): Promise<boolean> {
    const rows = await this.db.query(
      `WITH u AS (UPDATE runs SET reply = $1, updated_at = $2 WHERE id = $3 AND reply IS NULL RETURNING id, tenant, status)
       SELECT pg_notify('${HINT_CHANNEL}', json_build_object('r', json_build_array(json_build_array(u.id, u.tenant, u.status, true)))::text) FROM u`,
      [encodeReply(reply), now, runId],
    );
    return rows.length === 1;
  }

  // ---------------------------------------------------------------- reads

  async getRun(tenant: string, id: string): Promise<Run | null> {
    const [row] = await this.db.query<RunRow & Record<string, unknown>>('SELECT * FROM runs WHERE id = $1 AND tenant = $2', [id, tenant]);
    return row === undefined ? null : rowToRun(row);
  }

  async loadRun(id: string): Promise<Run | null> {
    const [row] = await this.db.query<RunRow & Record<string, unknown>>('SELECT * FROM runs WHERE id = $1', [id]);
    return row === undefined ? null : rowToRun(row);
  }

  async findByCallbackToken(token: string): Promise<Run | null> {
    const [row] = await this.db.query<RunRow & Record<string, unknown>>('SELECT * FROM runs WHERE callback_token = $1', [token]);
    return row === undefined ? null : rowToRun(row);
  }

  async findByRef(tenant: string, workflow: string, ref: string): Promise<Run | null> {
    const [row] = await this.db.query<RunRow & Record<string, unknown>>(
      'SELECT * FROM runs WHERE tenant = $1 AND workflow = $2 AND ref_key = $3', [tenant, workflow, ref],
    );
    return row === undefined ? null : rowToRun(row);
  }

  /** The run's first records overlaid by step_records (one statement). */
  async listSteps(runId: string): Promise<StepRecord[]> {
    const [row] = await this.db.query<{ first: string | null; written: (StepRow)[] | null }>(
      `SELECT (SELECT first_steps FROM runs WHERE id = $1) AS first,
              (SELECT json_agg(s ORDER BY s.seq) FROM step_records s WHERE s.run_id = $1) AS written`,
      [runId],
    );
    return mergeSteps(runId, row.first, (row.written ?? []).map(rowToStep));
  }

  /** Newest first by id; `since` inclusive, `until` exclusive; limit+1 rows tell whether another page exists. */
  async listRuns(tenant: string, filter: RunFilter): Promise<{ runs: Run[]; next_cursor: string | null }> {
    const limit = filter.limit;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`listRuns: limit must be a positive integer, got ${limit}`);
    const params: unknown[] = [tenant];
    const conds = ['tenant = $1'];
    const add = (cond: string, value: unknown): void => {
      params.push(value);
      conds.push(cond.replace('?', `$${params.length}`));
    };
    if (filter.workflow !== undefined) add('workflow = ?', filter.workflow);
    if (filter.status !== undefined) add('status = ?', filter.status);
    if (filter.ref !== undefined) add('ref = ?', filter.ref);
    if (filter.since !== undefined) {
      add('created_at >= ?', filter.since);
      // A run's id time is never before its created_at: `since` bounds the id range too.
      add('id >= ?', uuidv7Floor(filter.since));
    }
    if (filter.until !== undefined) add('created_at < ?', filter.until);
    if (filter.parent !== undefined) add('parent_run_id = ?', filter.parent);
    if (filter.cursor !== undefined) add('id < ?', filter.cursor);
    params.push(limit + 1);
    const rows = await this.db.query<RunRow & Record<string, unknown>>(
      `SELECT * FROM runs WHERE ${conds.join(' AND ')} ORDER BY id DESC LIMIT $${params.length}`, params,
    );
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { runs: rows.map(rowToRun), next_cursor: more ? rows[rows.length - 1].id : null };
  }
}
