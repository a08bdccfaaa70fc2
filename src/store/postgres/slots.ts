/**
 * Per-workflow concurrency (`trigger.concurrency`) across the nodes of one database. A run holds a
 * slot of its workflow while it is `running` under a live lease, so the count is never kept
 * anywhere: it is read from the runs themselves, and a node killed with -9 gives its slots back
 * when its leases expire. Decisions are serialized per (tenant, workflow) by a transaction-scoped
 * advisory lock, taken before the count is read (READ COMMITTED: each statement of the function
 * sees what committed before it began, so the count includes every start decided before).
 *
 * Runs that find no free slot wait in the slot queue: still `queued`, owned by SLOT_QUEUE_OWNER
 * with a lease that never expires, so no orphan claim takes them; `flowgate_claim_slots` starts
 * them, oldest first, when a slot is free. Both verbs are one statement (one round trip), the
 * engine asks for the slots of every capped run of a turn in one call.
 *
 * Only runs of workflows that declare a cap ever pass here: the intake of every other run is the
 * group commit alone.
 */
import type { Run } from '../../core/types.js';
import { rowToRun, type RunRow } from '../run-row.js';
import { SLOT_QUEUE_LEASE, SLOT_QUEUE_OWNER, type SlotAnswer, type SlotRequest } from '../types.js';
import type { Db } from './connection.js';
import { leaseNow } from './leases.js';

/** The first key of the slot locks (`pg_advisory_xact_lock(int, int)`; the second is a hash of tenant and workflow). */
export const SLOT_LOCK_SPACE = 0x666c7331;

const OWNER = `'${SLOT_QUEUE_OWNER}'`;
const lockOf = (tenant: string, workflow: string): string => `pg_advisory_xact_lock(${SLOT_LOCK_SPACE}, hashtext(${tenant} || '/' || ${workflow}))`;
/** Runs of the workflow holding a slot at `p_lease_now`. */
const held = (tenant: string, workflow: string): string =>
  `SELECT count(*) FROM runs WHERE tenant = ${tenant} AND workflow = ${workflow} AND status = 'running' AND lease_until >= p_lease_now`;

/**
 * Replaced at every migrate() with the other functions (migrations.ts). Both functions commit
 * without waiting for the WAL flush (synchronous_commit off for their own transaction): a decision
 * lost in a crash of the database leaves the run as it was before it, and the node that acted on
 * it finds its next fenced write refused (rev), so a lost grant never becomes a second execution.
 */
export const SLOTS_SQL = `
CREATE OR REPLACE FUNCTION flowgate_acquire_slots(p_ids text[], p_caps bigint[], p_owner text, p_now bigint, p_lease_now bigint, p_lease_until bigint)
RETURNS json LANGUAGE plpgsql AS $fn$
DECLARE
  answers json[] := array_fill(NULL::json, ARRAY[coalesce(array_length(p_ids, 1), 0)]);
  g record;
  item record;
  r runs;
  n bigint;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  -- Workflows in one order (as claims take them): two calls never wait for each other's locks in a cycle.
  FOR g IN SELECT DISTINCT tenant, workflow FROM runs WHERE id = ANY(p_ids) ORDER BY tenant, workflow LOOP
    PERFORM ${lockOf('g.tenant', 'g.workflow')};
    ${held('g.tenant', 'g.workflow')} AND id <> ALL(p_ids) INTO n;
    -- Runs holding their slot already first, then the others in the order asked.
    FOR item IN SELECT x.id, x.cap, x.ord FROM unnest(p_ids, p_caps) WITH ORDINALITY AS x(id, cap, ord)
                JOIN runs q ON q.id = x.id WHERE q.tenant = g.tenant AND q.workflow = g.workflow
                ORDER BY (q.status = 'running') DESC, x.ord LOOP
      SELECT * INTO r FROM runs WHERE id = item.id FOR UPDATE;
      IF r.owner IS DISTINCT FROM p_owner OR r.status NOT IN ('queued', 'running') THEN
        -- Lost, but perhaps holding a slot under another node (it is left out of the count above).
        IF r.status = 'running' AND r.lease_until >= p_lease_now THEN
          n := n + 1;
        END IF;
        CONTINUE;
      END IF;
      IF n < item.cap THEN
        IF r.status = 'queued' THEN
          UPDATE runs SET status = 'running', lease_until = p_lease_until, rev = rev + 1, updated_at = p_now WHERE id = item.id RETURNING * INTO r;
        END IF;
        answers[item.ord] := json_build_object('k', 'started', 'row', row_to_json(r));
        n := n + 1;
      ELSE
        UPDATE runs SET status = 'queued', owner = ${OWNER}, lease_until = ${SLOT_QUEUE_LEASE}, rev = rev + 1, updated_at = p_now WHERE id = item.id;
        answers[item.ord] := '{"k":"queued"}'::json;
      END IF;
    END LOOP;
  END LOOP;
  RETURN array_to_json(answers);
END
$fn$;

CREATE OR REPLACE FUNCTION flowgate_claim_slots(p_owner text, p_now bigint, p_lease_now bigint, p_lease_until bigint, p_limit int)
RETURNS SETOF runs LANGUAGE plpgsql AS $fn$
DECLARE
  g record;
  r runs;
  n bigint;
  cap bigint;
  cap_of bigint;
  taken int := 0;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  FOR g IN SELECT DISTINCT tenant, workflow FROM runs WHERE owner = ${OWNER} AND status = 'queued' ORDER BY tenant, workflow LOOP
    EXIT WHEN taken >= p_limit;
    PERFORM ${lockOf('g.tenant', 'g.workflow')};
    ${held('g.tenant', 'g.workflow')} INTO n;
    cap_of := NULL;
    FOR r IN SELECT * FROM runs WHERE tenant = g.tenant AND workflow = g.workflow AND owner = ${OWNER} AND status = 'queued'
             ORDER BY id FOR UPDATE SKIP LOCKED LOOP
      EXIT WHEN taken >= p_limit;
      IF cap_of IS DISTINCT FROM r.version THEN
        SELECT (w.definition::json -> 'trigger' ->> 'concurrency')::bigint INTO cap
          FROM workflows w WHERE w.tenant = r.tenant AND w.id = r.workflow AND w.version = r.version;
        cap_of := r.version;
      END IF;
      EXIT WHEN cap IS NOT NULL AND n >= cap;
      UPDATE runs SET status = 'running', owner = p_owner, lease_until = p_lease_until, rev = rev + 1, updated_at = p_now
        WHERE id = r.id RETURNING * INTO r;
      n := n + 1;
      taken := taken + 1;
      RETURN NEXT r;
    END LOOP;
  END LOOP;
END
$fn$;
`;

type Row = RunRow & Record<string, unknown>;
const byId = (a: Run, b: Run): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class SlotQueries {
  constructor(private readonly db: Db) {}

  async acquire(owner: string, now: number, leaseUntil: number, requests: SlotRequest[]): Promise<SlotAnswer[]> {
    if (requests.length === 0) return [];
    const [row] = await this.db.query<{ a: ({ k: 'started'; row: RunRow } | { k: 'queued' } | null)[] }>(
      `SELECT flowgate_acquire_slots($1::text[], $2::bigint[], $3, $4, ${leaseNow(this.db, '$4')}, $5) AS a`,
      [requests.map((q) => q.runId), requests.map((q) => Math.floor(q.cap)), owner, now, leaseUntil],
    );
    return row.a.map((a): SlotAnswer => (a === null ? { kind: 'lost' } : a.k === 'started' ? { kind: 'started', run: rowToRun(a.row) } : { kind: 'queued' }));
  }

  async claim(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> {
    if (limit <= 0) return [];
    const rows = await this.db.query<Row>(
      `SELECT * FROM flowgate_claim_slots($1, $2, ${leaseNow(this.db, '$2')}, $3, $4)`,
      [owner, now, leaseUntil, Math.floor(limit)],
    );
    return rows.map(rowToRun).sort(byId);
  }
}
