/**
 * Runs and step records: intake (createRuns), fenced advances (applyTransitions), replies and
 * reads. Every verb is one synchronous SQLite transaction, so one batch costs one fsync.
 */
import type Database from 'better-sqlite3';
import { uuidv7Floor } from '../../core/ids.js';
import { isTerminal, type Run, type StepRecord } from '../../core/types.js';
import type { CreateResult, NewRun, RunFilter, Transition, TransitionResult } from '../types.js';
import {
  RUN_COLUMNS, RUN_MUTABLE_COLUMNS, STEP_COLUMNS, encodeReply, mergeSteps, rowToRun, rowToStep, runInsertValues,
  runUpdateValues, sameJson, stepValues, type RunRow, type SqlValue, type StepRow,
} from './rows.js';

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

const INSERT_RUN = `INSERT INTO runs (${RUN_COLUMNS.join(', ')}) VALUES (${placeholders(RUN_COLUMNS.length)})`;

/** The fenced advance; `reply` is set-once, so it is only written over NULL. */
const UPDATE_RUN = `UPDATE runs SET ${RUN_MUTABLE_COLUMNS.map((c) => `${c} = ?`).join(', ')},
  reply = COALESCE(reply, ?) WHERE id = ? AND tenant = ? AND rev = ?`;

const UPSERT_STEP = `INSERT INTO step_records (${STEP_COLUMNS.join(', ')}) VALUES (${placeholders(STEP_COLUMNS.length)})
  ON CONFLICT (run_id, seq) DO UPDATE SET ${STEP_COLUMNS.filter((c) => c !== 'run_id' && c !== 'seq')
    .map((c) => `${c} = excluded.${c}`)
    .join(', ')}`;

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** Step records are written only with their own run. */
function checkOwnRecords(runId: string, steps: StepRecord[]): void {
  for (const step of steps) {
    if (step.run_id !== runId) throw new TypeError(`step record ${step.run_id}#${step.seq} does not belong to run ${runId}`);
  }
}

export class RunQueries {
  private readonly insert: Stmt<SqlValue[]>;
  private readonly holderOfRef: Stmt<[string, string, string], RunRow>;
  private readonly releaseRef: Stmt<[string]>;
  private readonly update: Stmt<SqlValue[]>;
  private readonly updateOwned: Stmt<SqlValue[]>;
  private readonly replyIsEmpty: Stmt<[string], number>;
  private readonly upsertStep: Stmt<SqlValue[]>;
  private readonly byTenantAndId: Stmt<[string, string], RunRow>;
  private readonly byId: Stmt<[string], RunRow>;
  private readonly byCallbackToken: Stmt<[string], RunRow>;
  private readonly stepsOfRun: Stmt<[string], StepRow>;
  private readonly firstStepsOf: Stmt<[string], string | null>;
  private readonly storeReply: Stmt<[string, number, string]>;
  /** listRuns statements by the set of filters used (at most 2^7 shapes). */
  private readonly listStatements = new Map<string, Stmt<SqlValue[], RunRow>>();
  private readonly createTx;
  private readonly transitionTx;
  private readonly batchTx;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare<SqlValue[]>(INSERT_RUN);
    this.holderOfRef = db.prepare('SELECT * FROM runs WHERE tenant = ? AND workflow = ? AND ref_key = ?');
    this.releaseRef = db.prepare('UPDATE runs SET ref_key = NULL WHERE id = ?');
    this.update = db.prepare<SqlValue[]>(UPDATE_RUN);
    this.updateOwned = db.prepare<SqlValue[]>(`${UPDATE_RUN} AND owner IS ?`);
    this.replyIsEmpty = db.prepare<[string], number>('SELECT reply IS NULL FROM runs WHERE id = ?').pluck();
    this.upsertStep = db.prepare<SqlValue[]>(UPSERT_STEP);
    this.byTenantAndId = db.prepare('SELECT * FROM runs WHERE id = ? AND tenant = ?');
    this.byId = db.prepare('SELECT * FROM runs WHERE id = ?');
    this.byCallbackToken = db.prepare('SELECT * FROM runs WHERE callback_token = ?');
    this.stepsOfRun = db.prepare('SELECT * FROM step_records WHERE run_id = ? ORDER BY seq');
    this.firstStepsOf = db.prepare<[string], string | null>('SELECT first_steps FROM runs WHERE id = ?').pluck();
    this.storeReply = db.prepare('UPDATE runs SET reply = ?, updated_at = ? WHERE id = ? AND reply IS NULL');
    this.createTx = db.transaction(this.createInTx.bind(this));
    this.transitionTx = db.transaction(this.transitionInTx.bind(this));
    this.batchTx = db.transaction((creates: NewRun[], transitions: Transition[]) => ({
      creates: creates.length ? this.createInTx(creates) : [],
      transitions: transitions.length ? this.transitionInTx(transitions) : [],
    }));
  }

  // ---------------------------------------------------------------- intake

  createRuns(batch: NewRun[]): CreateResult[] {
    if (batch.length === 0) return [];
    return this.createTx.immediate(batch);
  }

  /** Items are handled in order, so two items with one ref behave as two sequential requests. */
  private createInTx(batch: NewRun[]): CreateResult[] {
    const results: CreateResult[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const { run, refPolicy } = batch[i];
      const inputText = JSON.stringify(run.input);
      if (run.ref !== null) {
        const holder = this.holderOfRef.get(run.tenant, run.workflow, run.ref);
        if (holder !== undefined) {
          if (refPolicy === 'native') {
            const kind = sameJson(holder.input, run.input, inputText) ? 'existing' : 'conflict';
            results[i] = { kind, run: rowToRun(holder) };
            continue;
          }
          if (!isTerminal(holder.status)) {
            results[i] = { kind: 'conflict', run: rowToRun(holder) };
            continue;
          }
          // while-active and finished: the old run keeps `ref` for display and hands the key on.
          this.releaseRef.run(holder.id);
        }
      }
      const steps = batch[i].steps;
      if (steps) checkOwnRecords(run.id, steps);
      // The run's first records go in its own row (runs.first_steps): one row per new run.
      this.insert.run(...runInsertValues(run, inputText, steps));
      results[i] = { kind: 'created', run };
    }
    return results;
  }

  /** Creations then transitions in one transaction: one fsync for a whole group commit. */
  writeBatch(creates: NewRun[], transitions: Transition[]): { creates: CreateResult[]; transitions: TransitionResult[] } {
    if (creates.length === 0 && transitions.length === 0) return { creates: [], transitions: [] };
    return this.batchTx.immediate(creates, transitions);
  }

  // ---------------------------------------------------------------- advances

  /**
   * Each item is fenced on (id, tenant, rev = expectRev) and, when `owner` is given, on the stored
   * owner (`null` means "must be unowned"). A fenced-out item writes nothing, not even its steps.
   */
  applyTransitions(batch: Transition[]): TransitionResult[] {
    if (batch.length === 0) return [];
    return this.transitionTx.immediate(batch);
  }

  private transitionInTx(batch: Transition[]): TransitionResult[] {
    const results: TransitionResult[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const t = batch[i];
      const run = t.run;
      // Reading first is exact here: this process is the only writer and the transaction is open.
      const offersReply = run.reply != null && this.replyIsEmpty.get(run.id) === 1;
      const params = runUpdateValues(run);
      params.push(offersReply ? encodeReply(run.reply!) : null, run.id, run.tenant, t.expectRev);
      const changed = t.owner === undefined
        ? this.update.run(...params).changes
        : this.updateOwned.run(...params, t.owner).changes;
      if (changed !== 1) {
        results[i] = { ok: false };
        continue;
      }
      checkOwnRecords(run.id, t.steps);
      for (const step of t.steps) this.upsertStep.run(...stepValues(step));
      results[i] = { ok: true, replied: offersReply };
    }
    return results;
  }

  /** Stores a reply if none is stored; does not bump rev (the reply is independent of the advance). */
  setReply(runId: string, reply: NonNullable<Run['reply']>, now: number): boolean {
    return this.storeReply.run(encodeReply(reply), now, runId).changes === 1;
  }

  // ---------------------------------------------------------------- reads

  getRun(tenant: string, id: string): Run | null {
    const row = this.byTenantAndId.get(id, tenant);
    return row === undefined ? null : rowToRun(row);
  }

  loadRun(id: string): Run | null {
    const row = this.byId.get(id);
    return row === undefined ? null : rowToRun(row);
  }

  findByCallbackToken(token: string): Run | null {
    const row = this.byCallbackToken.get(token);
    return row === undefined ? null : rowToRun(row);
  }

  findByRef(tenant: string, workflow: string, ref: string): Run | null {
    const row = this.holderOfRef.get(tenant, workflow, ref);
    return row === undefined ? null : rowToRun(row);
  }

  /** The run's first records (runs.first_steps) overlaid by step_records, which win for the same seq. */
  listSteps(runId: string): StepRecord[] {
    return mergeSteps(runId, this.firstStepsOf.get(runId), this.stepsOfRun.all(runId).map(rowToStep));
  }

  /**
   * Newest first by id. `since` is inclusive and `until` exclusive (created_at in [since, until)).
   * Fetches limit+1 rows to know whether another page exists.
   */
  listRuns(tenant: string, filter: RunFilter): { runs: Run[]; next_cursor: string | null } {
    const limit = filter.limit;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`listRuns: limit must be a positive integer, got ${limit}`);
    const conds = ['tenant = ?'];
    const params: SqlValue[] = [tenant];
    let shape = '';
    const add = (present: boolean, cond: string, value: SqlValue | undefined): void => {
      shape += present ? '1' : '0';
      if (!present) return;
      conds.push(cond);
      params.push(value as SqlValue);
    };
    add(filter.workflow !== undefined, 'workflow = ?', filter.workflow);
    add(filter.status !== undefined, 'status = ?', filter.status);
    add(filter.ref !== undefined, 'ref = ?', filter.ref);
    add(filter.since !== undefined, 'created_at >= ?', filter.since);
    // A run's id time is never before its created_at (core/types.ts), so `since` also bounds the
    // id: the index range stops there instead of reading every older run to find none.
    add(filter.since !== undefined, 'id >= ?', filter.since === undefined ? undefined : uuidv7Floor(filter.since));
    add(filter.until !== undefined, 'created_at < ?', filter.until);
    add(filter.parent !== undefined, 'parent_run_id = ?', filter.parent);
    add(filter.cursor !== undefined, 'id < ?', filter.cursor);
    let stmt = this.listStatements.get(shape);
    if (stmt === undefined) {
      stmt = this.db.prepare<SqlValue[], RunRow>(`SELECT * FROM runs WHERE ${conds.join(' AND ')} ORDER BY id DESC LIMIT ?`);
      this.listStatements.set(shape, stmt);
    }
    params.push(limit + 1);
    const rows = stmt.all(...params);
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { runs: rows.map(rowToRun), next_cursor: more ? rows[rows.length - 1].id : null };
  }
}
