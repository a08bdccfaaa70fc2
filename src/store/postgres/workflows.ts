/**
 * Workflow versions and heads on PostgreSQL. Saving locks the workflow's head row (`FOR UPDATE`)
 * before it reads the current version, so two saves from two nodes make versions 1 and 2, never
 * two 2s; a first save that races another first save loses on the head's primary key and is tried
 * again, then seeing the other's version 1. conv_ids come from a SEQUENCE, skipping brought ones.
 */
import { uuidv7Floor } from '../../core/ids.js';
import type { Definition, RunStatus, Workflow } from '../../core/types.js';
import { canonicalJson } from '../../core/canonical-json.js';
import { headMeets, rowToWorkflow, type WorkflowRow } from '../documents.js';
import type {
  HeadCondition, HeadUnmet, SaveWorkflowResult, SetIdentifiersResult, WorkflowActivity, WorkflowIdentifiers, WorkflowVersionInfo, WorkflowVersionPage,
} from '../types.js';
import type { Db, Queryable } from './connection.js';

const COLUMNS = `w.tenant, w.id, w.version, w.name, w.source, w.definition,
  h.conv_id, h.hash, h.guid, h.archived_at, h.created_at, h.updated_at`;

const CURRENT = `SELECT ${COLUMNS} FROM workflow_heads h
  JOIN workflows w ON w.tenant = h.tenant AND w.id = h.id AND w.version = h.version`;

type Row = WorkflowRow & Record<string, unknown>;

/** Each active workflow's newest run and its runs since a uuidv7 floor, from the runs_by_workflow index. */
const ACTIVITY = `SELECT h.id AS workflow, l.id AS last_id, l.status AS last_status, l.created_at AS last_created_at,
    (SELECT count(*) FROM runs c WHERE c.tenant = h.tenant AND c.workflow = h.id AND c.id >= $1) AS runs_since
  FROM workflow_heads h
  LEFT JOIN runs l ON l.id = (SELECT r.id FROM runs r WHERE r.tenant = h.tenant AND r.workflow = h.id ORDER BY r.id DESC LIMIT 1)
  WHERE h.tenant = $2 AND h.archived_at IS NULL ORDER BY h.id`;

interface ActivityRow {
  workflow: string;
  last_id: string | null;
  last_status: RunStatus | null;
  last_created_at: number | null;
  runs_since: number;
}

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** The unique indexes of the identifiers a client brings (migrations.ts): conv_id, hash, GUID. */
const IDENTIFIER_CONSTRAINTS = new Set(['workflow_heads_conv_id_key', 'workflow_heads_hash_key', 'workflow_heads_guid']);

export class WorkflowQueries {
  constructor(private readonly db: Db) {}

  private async current(q: Queryable, tenant: string, id: string): Promise<Workflow | null> {
    const [row] = await q.query<Row>(`${CURRENT} WHERE h.tenant = $1 AND h.id = $2`, [tenant, id]);
    return row === undefined ? null : rowToWorkflow(row);
  }

  /** The next conv_id of the sequence that no workflow holds (a brought conv_id may be ahead of it). */
  private async freeConvId(q: Queryable): Promise<number> {
    for (;;) {
      const [row] = await q.query<{ id: number; held: boolean }>(
        "SELECT s.id, EXISTS (SELECT 1 FROM workflow_heads WHERE conv_id = s.id) AS held FROM (SELECT nextval('conv_id_seq') AS id) s",
      );
      if (!row.held) return row.id;
    }
  }

  async save(
    tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[],
  ): Promise<SaveWorkflowResult | HeadUnmet> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction((tx) => this.saveInTx(tx, tenant, definition, source, ids, now, conditions));
      } catch (e) {
        // Two first saves of one workflow: the loser tries again and finds the winner's head. A conv_id
        // brought by another node at the same moment as this one was handed out: take the next.
        const constraint = (e as { constraint?: string }).constraint;
        const retried = constraint === 'workflow_heads_pkey' || constraint === 'workflow_heads_conv_id_key';
        if ((e as { code?: string }).code !== UNIQUE_VIOLATION || !retried || attempt >= 3) throw e;
      }
    }
  }

  private async saveInTx(
    tx: Queryable, tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[],
  ): Promise<SaveWorkflowResult | HeadUnmet> {
    const id = definition.id;
    const text = JSON.stringify(definition);
    const [head] = await tx.query<{ version: number; archived_at: number | null; definition: string }>(
      `SELECT h.version, h.archived_at, w.definition FROM workflow_heads h
        JOIN workflows w ON w.tenant = h.tenant AND w.id = h.id AND w.version = h.version
        WHERE h.tenant = $1 AND h.id = $2 FOR UPDATE OF h`,
      [tenant, id],
    );
    // Checked under the head's row lock: two editors sending the same If-Match cannot both save.
    // (Two first saves racing past an absent head: the loser's retry below finds the winner's.)
    if (conditions.length > 0) {
      const check = headMeets(conditions, head === undefined ? null : await this.current(tx, tenant, id));
      if (!check.met) return { unmet: true, etag: check.etag };
    }
    let created: boolean;
    if (head === undefined) {
      await tx.query('INSERT INTO tenants (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [tenant, now]);
      const convId = await this.freeConvId(tx);
      await tx.query(
        `INSERT INTO workflow_heads (tenant, id, version, conv_id, hash, guid, archived_at, created_at, updated_at)
         VALUES ($1, $2, 1, $3, $4, $5, NULL, $6, $6)`,
        [tenant, id, convId, ids.hash, ids.guid, now],
      );
      await tx.query(
        'INSERT INTO workflows (tenant, id, version, name, source, definition, created_at) VALUES ($1, $2, 1, $3, $4, $5, $6)',
        [tenant, id, definition.name, source, text, now],
      );
      created = true;
    } else if (canonicalJson(JSON.parse(head.definition)) === canonicalJson(definition)) {
      if (head.archived_at !== null) {
        await tx.query('UPDATE workflow_heads SET archived_at = NULL, updated_at = $1 WHERE tenant = $2 AND id = $3', [now, tenant, id]);
      }
      created = false;
    } else {
      const version = head.version + 1;
      await tx.query(
        'INSERT INTO workflows (tenant, id, version, name, source, definition, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [tenant, id, version, definition.name, source, text, now],
      );
      await tx.query('UPDATE workflow_heads SET version = $1, archived_at = NULL, updated_at = $2 WHERE tenant = $3 AND id = $4', [version, now, tenant, id]);
      created = true;
    }
    const workflow = await this.current(tx, tenant, id);
    if (workflow === null) throw new Error(`workflow ${tenant}/${id} vanished while being saved`);
    return { workflow, created };
  }

  /**
   * Two nodes giving one identifier to two workflows at once both find it free; the second UPDATE
   * then waits on the first's index entry and fails on the unique index once the first commits. That
   * one is tried again (nothing of it was written) and now finds the holder: `taken`, as if the two
   * had come one after the other.
   */
  async setIdentifiers(tenant: string, id: string, ids: WorkflowIdentifiers, now: number): Promise<SetIdentifiersResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.setIdentifiersOnce(tenant, id, ids, now);
      } catch (e) {
        const constraint = (e as { constraint?: string }).constraint ?? '';
        if ((e as { code?: string }).code !== UNIQUE_VIOLATION || !IDENTIFIER_CONSTRAINTS.has(constraint) || attempt >= 3) throw e;
      }
    }
  }

  private setIdentifiersOnce(tenant: string, id: string, ids: WorkflowIdentifiers, now: number): Promise<SetIdentifiersResult> {
    return this.db.transaction(async (tx) => {
      const [head] = await tx.query('SELECT 1 FROM workflow_heads WHERE tenant = $1 AND id = $2 FOR UPDATE', [tenant, id]);
      if (head === undefined) return { kind: 'not_found' };
      const lookups = {
        conv_id: 'SELECT tenant, id FROM workflow_heads WHERE conv_id = $1',
        hash: 'SELECT tenant, id FROM workflow_heads WHERE hash = $1',
        guid: 'SELECT tenant, id FROM workflow_heads WHERE lower(guid) = lower($1)',
      } as const;
      for (const field of ['conv_id', 'hash', 'guid'] as const) {
        const value = ids[field];
        if (value === undefined) continue;
        const [holder] = await tx.query<{ tenant: string; id: string }>(lookups[field], [value]);
        if (holder && !(holder.tenant === tenant && holder.id === id)) return { kind: 'taken', field, holder: { tenant: holder.tenant, id: holder.id } };
      }
      await tx.query(
        `UPDATE workflow_heads SET conv_id = COALESCE($1, conv_id), hash = COALESCE($2, hash), guid = COALESCE($3, guid), updated_at = $4
         WHERE tenant = $5 AND id = $6`,
        [ids.conv_id ?? null, ids.hash ?? null, ids.guid ?? null, now, tenant, id],
      );
      return { kind: 'set', workflow: (await this.current(tx, tenant, id))! };
    });
  }

  async get(tenant: string, id: string, version?: number): Promise<Workflow | null> {
    if (version === undefined) return this.current(this.db, tenant, id);
    if (!Number.isSafeInteger(version)) return null;
    const [row] = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM workflow_heads h JOIN workflows w ON w.tenant = h.tenant AND w.id = h.id
        WHERE h.tenant = $1 AND h.id = $2 AND w.version = $3`,
      [tenant, id, version],
    );
    return row === undefined ? null : rowToWorkflow(row);
  }

  async listVersions(tenant: string, id: string, { limit, before }: { limit: number; before?: number }): Promise<WorkflowVersionPage | null> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`listWorkflowVersions: limit must be a positive integer, got ${limit}`);
    const [head] = await this.db.query('SELECT 1 FROM workflow_heads WHERE tenant = $1 AND id = $2', [tenant, id]);
    if (head === undefined) return null;
    const rows = await this.db.query<WorkflowVersionInfo & Record<string, unknown>>(
      'SELECT version, name, created_at FROM workflows WHERE tenant = $1 AND id = $2 AND version < $3 ORDER BY version DESC LIMIT $4',
      [tenant, id, before ?? Number.MAX_SAFE_INTEGER, limit + 1],
    );
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { versions: rows.map((r) => ({ version: r.version, name: r.name, created_at: r.created_at })), next_cursor: more ? rows[rows.length - 1].version : null };
  }

  async activity(tenant: string, since: number): Promise<WorkflowActivity[]> {
    const rows = await this.db.query<ActivityRow & Record<string, unknown>>(ACTIVITY, [uuidv7Floor(since), tenant]);
    return rows.map((r) => ({
      workflow: r.workflow,
      last_run: r.last_id === null ? null : { id: r.last_id, status: r.last_status!, created_at: r.last_created_at! },
      runs_since: r.runs_since,
    }));
  }

  async list(tenant: string): Promise<Workflow[]> {
    return (await this.db.query<Row>(`${CURRENT} WHERE h.tenant = $1 AND h.archived_at IS NULL ORDER BY h.id`, [tenant])).map(rowToWorkflow);
  }

  async archiveWorkflow(tenant: string, id: string, now: number): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE workflow_heads SET archived_at = $1, updated_at = $1 WHERE tenant = $2 AND id = $3 AND archived_at IS NULL RETURNING id', [now, tenant, id],
    );
    return rows.length === 1;
  }

  async setWorkflowHash(tenant: string, id: string, hash: string, now: number): Promise<boolean> {
    const rows = await this.db.query('UPDATE workflow_heads SET hash = $1, updated_at = $2 WHERE tenant = $3 AND id = $4 RETURNING id', [hash, now, tenant, id]);
    return rows.length === 1;
  }

  async findByConvId(convId: number): Promise<Workflow | null> {
    if (!Number.isSafeInteger(convId)) return null;
    const [row] = await this.db.query<Row>(`${CURRENT} WHERE h.conv_id = $1`, [convId]);
    return row === undefined ? null : rowToWorkflow(row);
  }

  async findByGuid(guid: string): Promise<Workflow | null> {
    const [row] = await this.db.query<Row>(`${CURRENT} WHERE lower(h.guid) = lower($1)`, [guid]);
    return row === undefined ? null : rowToWorkflow(row);
  }
}
