/**
 * Workflow versions and heads. A head row says which version is current and carries the
 * identifiers of the public URLs (conv_id, hash, guid) shared by all versions; version rows are
 * written once and never changed.
 */
import type Database from 'better-sqlite3';
import { uuidv7Floor } from '../../core/ids.js';
import type { Definition, RunStatus, Workflow } from '../../core/types.js';
import { headMeets } from '../documents.js';
import type {
  HeadCondition, HeadUnmet, SaveWorkflowResult, SetIdentifiersResult, WorkflowActivity, WorkflowIdentifiers, WorkflowVersionInfo, WorkflowVersionPage,
} from '../types.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { rowToWorkflow, type WorkflowRow } from './rows.js';

const WORKFLOW_COLUMNS = `w.tenant, w.id, w.version, w.name, w.source, w.definition,
  h.conv_id, h.hash, h.guid, h.archived_at, h.created_at, h.updated_at`;

/** The current version joined with its head. */
const CURRENT = `SELECT ${WORKFLOW_COLUMNS} FROM workflow_heads h
  JOIN workflows w ON w.tenant = h.tenant AND w.id = h.id AND w.version = h.version`;

/**
 * The workflow list's view of runs: per active workflow, its newest run and a count of the recent
 * ones. Both are correlated lookups on runs_by_workflow (tenant, workflow, id): the newest run is
 * the index's last entry, the count an index-only range from the floor id of `since`.
 */
export const ACTIVITY_SQL = `SELECT h.id AS workflow, l.id AS last_id, l.status AS last_status, l.created_at AS last_created_at,
    (SELECT count(*) FROM runs c WHERE c.tenant = h.tenant AND c.workflow = h.id AND c.id >= ?) AS runs_since
  FROM workflow_heads h
  LEFT JOIN runs l ON l.id = (SELECT r.id FROM runs r WHERE r.tenant = h.tenant AND r.workflow = h.id ORDER BY r.id DESC LIMIT 1)
  WHERE h.tenant = ? AND h.archived_at IS NULL ORDER BY h.id`;

interface ActivityRow {
  workflow: string;
  last_id: string | null;
  last_status: RunStatus | null;
  last_created_at: number | null;
  runs_since: number;
}

interface HeadRow {
  version: number;
  archived_at: number | null;
  definition: string;
}

export class WorkflowQueries {
  private readonly current;
  private readonly atVersion;
  private readonly listActive;
  private readonly byConvId;
  private readonly byGuid;
  private readonly head;
  private readonly ensureTenant;
  private readonly nextConvId;
  private readonly insertHead;
  private readonly insertVersion;
  private readonly advanceHead;
  private readonly unarchive;
  private readonly archive;
  private readonly setHash;
  private readonly holderOf;
  private readonly setIds;
  private readonly saveTx;
  private readonly setIdsTx;
  private readonly versions;
  private readonly activityOf;

  constructor(private readonly db: Database.Database) {
    this.current = db.prepare<[string, string], WorkflowRow>(`${CURRENT} WHERE h.tenant = ? AND h.id = ?`);
    this.atVersion = db.prepare<[string, string, number], WorkflowRow>(
      `SELECT ${WORKFLOW_COLUMNS} FROM workflow_heads h
        JOIN workflows w ON w.tenant = h.tenant AND w.id = h.id
        WHERE h.tenant = ? AND h.id = ? AND w.version = ?`,
    );
    this.listActive = db.prepare<[string], WorkflowRow>(
      `${CURRENT} WHERE h.tenant = ? AND h.archived_at IS NULL ORDER BY h.id`,
    );
    this.byConvId = db.prepare<[number], WorkflowRow>(`${CURRENT} WHERE h.conv_id = ?`);
    this.byGuid = db.prepare<[string], WorkflowRow>(`${CURRENT} WHERE h.guid = ?`);
    this.head = db.prepare<[string, string], HeadRow>(
      `SELECT h.version, h.archived_at, w.definition FROM workflow_heads h
        JOIN workflows w ON w.tenant = h.tenant AND w.id = h.id AND w.version = h.version
        WHERE h.tenant = ? AND h.id = ?`,
    );
    this.ensureTenant = db.prepare<[string, number]>(
      'INSERT INTO tenants (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.nextConvId = db
      .prepare<[], number>("UPDATE sequences SET next = next + 1 WHERE name = 'conv_id' RETURNING next - 1")
      .pluck();
    this.insertHead = db.prepare<[string, string, number, string, string, number, number]>(
      `INSERT INTO workflow_heads (tenant, id, version, conv_id, hash, guid, archived_at, created_at, updated_at)
        VALUES (?, ?, 1, ?, ?, ?, NULL, ?, ?)`,
    );
    this.insertVersion = db.prepare<[string, string, number, string, string, string, number]>(
      `INSERT INTO workflows (tenant, id, version, name, source, definition, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.advanceHead = db.prepare<[number, number, string, string]>(
      'UPDATE workflow_heads SET version = ?, archived_at = NULL, updated_at = ? WHERE tenant = ? AND id = ?',
    );
    this.unarchive = db.prepare<[number, string, string]>(
      'UPDATE workflow_heads SET archived_at = NULL, updated_at = ? WHERE tenant = ? AND id = ? AND archived_at IS NOT NULL',
    );
    this.archive = db.prepare<[number, number, string, string]>(
      'UPDATE workflow_heads SET archived_at = ?, updated_at = ? WHERE tenant = ? AND id = ? AND archived_at IS NULL',
    );
    this.setHash = db.prepare<[string, number, string, string]>(
      'UPDATE workflow_heads SET hash = ?, updated_at = ? WHERE tenant = ? AND id = ?',
    );
    this.holderOf = {
      conv_id: db.prepare<[unknown], { tenant: string; id: string }>('SELECT tenant, id FROM workflow_heads WHERE conv_id = ?'),
      hash: db.prepare<[unknown], { tenant: string; id: string }>('SELECT tenant, id FROM workflow_heads WHERE hash = ?'),
      guid: db.prepare<[unknown], { tenant: string; id: string }>('SELECT tenant, id FROM workflow_heads WHERE guid = ?'),
    };
    this.setIds = db.prepare<[number | null, string | null, string | null, number, string, string]>(
      `UPDATE workflow_heads SET conv_id = COALESCE(?, conv_id), hash = COALESCE(?, hash), guid = COALESCE(?, guid), updated_at = ?
        WHERE tenant = ? AND id = ?`,
    );
    this.versions = db.prepare<[string, string, number, number], WorkflowVersionInfo>(
      `SELECT version, name, created_at FROM workflows WHERE tenant = ? AND id = ? AND version < ? ORDER BY version DESC LIMIT ?`,
    );
    this.activityOf = db.prepare<[string, string], ActivityRow>(ACTIVITY_SQL);
    this.saveTx = db.transaction(this.saveInTx.bind(this));
    this.setIdsTx = db.transaction(this.setIdentifiersInTx.bind(this));
  }

  /** The next conv_id of the sequence that no workflow holds (a brought conv_id may be ahead of it). */
  private freeConvId(): number {
    for (;;) {
      const convId = this.nextConvId.get();
      if (convId === undefined) throw new Error("the 'conv_id' sequence is missing: run migrate()");
      if (this.holderOf.conv_id.get(convId) === undefined) return convId;
    }
  }

  setIdentifiers(tenant: string, id: string, ids: WorkflowIdentifiers, now: number): SetIdentifiersResult {
    return this.setIdsTx.immediate(tenant, id, ids, now);
  }

  private setIdentifiersInTx(tenant: string, id: string, ids: WorkflowIdentifiers, now: number): SetIdentifiersResult {
    if (this.head.get(tenant, id) === undefined) return { kind: 'not_found' };
    for (const field of ['conv_id', 'hash', 'guid'] as const) {
      const value = ids[field];
      if (value === undefined) continue;
      const holder = this.holderOf[field].get(value);
      if (holder && !(holder.tenant === tenant && holder.id === id)) return { kind: 'taken', field, holder };
    }
    this.setIds.run(ids.conv_id ?? null, ids.hash ?? null, ids.guid ?? null, now, tenant, id);
    const row = this.current.get(tenant, id)!;
    return { kind: 'set', workflow: rowToWorkflow(row) };
  }

  save(
    tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[],
  ): SaveWorkflowResult | HeadUnmet {
    return this.saveTx.immediate(tenant, definition, source, ids, now, conditions);
  }

  private saveInTx(
    tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[],
  ): SaveWorkflowResult | HeadUnmet {
    const id = definition.id;
    const text = JSON.stringify(definition);
    const head = this.head.get(tenant, id);
    if (conditions.length > 0) {
      const current = head === undefined ? undefined : this.current.get(tenant, id);
      const check = headMeets(conditions, current === undefined ? null : rowToWorkflow(current));
      if (!check.met) return { unmet: true, etag: check.etag };
    }
    let created: boolean;
    if (head === undefined) {
      this.ensureTenant.run(tenant, now);
      const convId = this.freeConvId();
      this.insertHead.run(tenant, id, convId, ids.hash, ids.guid, now, now);
      this.insertVersion.run(tenant, id, 1, definition.name, source, text, now);
      created = true;
    } else if (canonicalJson(JSON.parse(head.definition)) === canonicalJson(definition)) {
      if (head.archived_at !== null) this.unarchive.run(now, tenant, id);
      created = false;
    } else {
      const version = head.version + 1;
      this.insertVersion.run(tenant, id, version, definition.name, source, text, now);
      this.advanceHead.run(version, now, tenant, id);
      created = true;
    }
    const row = this.current.get(tenant, id);
    if (row === undefined) throw new Error(`workflow ${tenant}/${id} vanished while being saved`);
    return { workflow: rowToWorkflow(row), created };
  }

  get(tenant: string, id: string, version?: number): Workflow | null {
    const row = version === undefined ? this.current.get(tenant, id) : this.atVersion.get(tenant, id, version);
    return row === undefined ? null : rowToWorkflow(row);
  }

  list(tenant: string): Workflow[] {
    return this.listActive.all(tenant).map(rowToWorkflow);
  }

  listVersions(tenant: string, id: string, page: { limit: number; before?: number }): WorkflowVersionPage | null {
    const { limit, before } = page;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`listWorkflowVersions: limit must be a positive integer, got ${limit}`);
    if (this.head.get(tenant, id) === undefined) return null;
    const rows = this.versions.all(tenant, id, before ?? Number.MAX_SAFE_INTEGER, limit + 1);
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { versions: rows.map((r) => ({ version: r.version, name: r.name, created_at: r.created_at })), next_cursor: more ? rows[rows.length - 1].version : null };
  }

  activity(tenant: string, since: number): WorkflowActivity[] {
    return this.activityOf.all(uuidv7Floor(since), tenant).map((r) => ({
      workflow: r.workflow,
      last_run: r.last_id === null ? null : { id: r.last_id, status: r.last_status!, created_at: r.last_created_at! },
      runs_since: r.runs_since,
    }));
  }

  /** true when the workflow existed and was active (it is archived now). */
  archiveWorkflow(tenant: string, id: string, now: number): boolean {
    return this.archive.run(now, now, tenant, id).changes === 1;
  }

  setWorkflowHash(tenant: string, id: string, hash: string, now: number): boolean {
    return this.setHash.run(hash, now, tenant, id).changes === 1;
  }

  findByConvId(convId: number): Workflow | null {
    if (!Number.isSafeInteger(convId)) return null;
    const row = this.byConvId.get(convId);
    return row === undefined ? null : rowToWorkflow(row);
  }

  findByGuid(guid: string): Workflow | null {
    const row = this.byGuid.get(guid);
    return row === undefined ? null : rowToWorkflow(row);
  }
}
