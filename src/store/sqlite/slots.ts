/**
 * Per-workflow concurrency slots (the Store's acquireSlot and claimSlots; see
 * src/store/postgres/slots.ts for the model): a run holds a slot while it is `running` under a
 * live lease, runs without one wait in the slot queue (queued, owned by SLOT_QUEUE_OWNER). Each
 * verb is one IMMEDIATE transaction, so stores sharing the file (`shared`) decide one at a time.
 *
 * The server on its own SQLite file (one node) keeps its gate in memory (src/engine/concurrency.ts)
 * and never calls these; stores shared by several engines do.
 */
import type Database from 'better-sqlite3';
import type { Run } from '../../core/types.js';
import { SLOT_QUEUE_LEASE, SLOT_QUEUE_OWNER, type SlotAnswer, type SlotRequest } from '../types.js';
import { rowToRun, type RunRow } from './rows.js';

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** Runs of a workflow holding a slot, but those of the ids in the JSON array given (`json_each`). */
const HELD = `SELECT count(*) FROM runs WHERE tenant = ? AND workflow = ? AND status = 'running' AND lease_until >= ?
  AND id NOT IN (SELECT value FROM json_each(?))`;

export class SlotQueries {
  private readonly byId: Stmt<[string], RunRow>;
  private readonly held: Stmt<[string, string, number, string], number>;
  private readonly byIds: Stmt<[string], RunRow>;
  private readonly start: Stmt<[number, number, string], RunRow>;
  private readonly toQueue: Stmt<[string, number, number, string]>;
  private readonly groups: Stmt<[string], { tenant: string; workflow: string }>;
  private readonly waiting: Stmt<[string, string, string, number], RunRow>;
  private readonly capOf: Stmt<[string, string, number], number | null>;
  private readonly claimOne: Stmt<[string, number, number, string], RunRow>;
  private readonly acquireTx;
  private readonly claimTx;

  constructor(db: Database.Database) {
    this.byId = db.prepare('SELECT * FROM runs WHERE id = ?');
    this.byIds = db.prepare('SELECT * FROM runs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY tenant, workflow');
    this.held = db.prepare<[string, string, number, string], number>(HELD).pluck();
    this.start = db.prepare("UPDATE runs SET status = 'running', lease_until = ?, rev = rev + 1, updated_at = ? WHERE id = ? RETURNING *");
    this.toQueue = db.prepare("UPDATE runs SET status = 'queued', owner = ?, lease_until = ?, rev = rev + 1, updated_at = ? WHERE id = ?");
    this.groups = db.prepare("SELECT DISTINCT tenant, workflow FROM runs WHERE owner = ? AND status = 'queued' ORDER BY tenant, workflow");
    this.waiting = db.prepare("SELECT * FROM runs WHERE tenant = ? AND workflow = ? AND owner = ? AND status = 'queued' ORDER BY id LIMIT ?");
    this.capOf = db.prepare<[string, string, number], number | null>(
      "SELECT json_extract(definition, '$.trigger.concurrency') FROM workflows WHERE tenant = ? AND id = ? AND version = ?",
    ).pluck();
    this.claimOne = db.prepare("UPDATE runs SET status = 'running', owner = ?, lease_until = ?, rev = rev + 1, updated_at = ? WHERE id = ? RETURNING *");

    this.acquireTx = db.transaction((owner: string, now: number, leaseUntil: number, requests: SlotRequest[]): SlotAnswer[] => {
      const answers: SlotAnswer[] = requests.map(() => ({ kind: 'lost' }));
      const ids = JSON.stringify(requests.map((q) => q.runId));
      const groups = new Map<string, { tenant: string; workflow: string; status: Map<string, string> }>();
      for (const row of this.byIds.all(ids)) {
        const key = `${row.tenant}\u0000${row.workflow}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { tenant: row.tenant, workflow: row.workflow, status: new Map() }));
        g.status.set(row.id, row.status);
      }
      for (const g of groups.values()) {
        let n = this.held.get(g.tenant, g.workflow, now, ids)!;
        // Runs holding their slot already first, then the others in the order asked.
        const order = requests.map((q, i) => ({ q, i })).filter(({ q }) => g.status.has(q.runId))
          .sort((x, y) => Number(g.status.get(y.q.runId) === 'running') - Number(g.status.get(x.q.runId) === 'running') || x.i - y.i);
        for (const { q, i } of order) {
          const row = this.byId.get(q.runId)!;
          if (row.owner !== owner || (row.status !== 'queued' && row.status !== 'running')) {
            if (row.status === 'running' && row.lease_until !== null && row.lease_until >= now) n++; // another node's holder
            continue;
          }
          if (n < Math.floor(q.cap)) {
            answers[i] = { kind: 'started', run: rowToRun(row.status === 'queued' ? this.start.get(leaseUntil, now, q.runId)! : row) };
            n++;
          } else {
            this.toQueue.run(SLOT_QUEUE_OWNER, SLOT_QUEUE_LEASE, now, q.runId);
            answers[i] = { kind: 'queued' };
          }
        }
      }
      return answers;
    });

    this.claimTx = db.transaction((owner: string, now: number, leaseUntil: number, limit: number): Run[] => {
      const out: Run[] = [];
      for (const g of this.groups.all(SLOT_QUEUE_OWNER)) {
        if (out.length >= limit) break;
        let n = this.held.get(g.tenant, g.workflow, now, '[]')!;
        const caps = new Map<number, number | null>();
        for (const row of this.waiting.all(g.tenant, g.workflow, SLOT_QUEUE_OWNER, limit - out.length)) {
          if (!caps.has(row.version)) caps.set(row.version, this.capOf.get(row.tenant, row.workflow, row.version) ?? null);
          const cap = caps.get(row.version)!;
          if (cap !== null && n >= cap) break;
          out.push(rowToRun(this.claimOne.get(owner, leaseUntil, now, row.id)!));
          n++;
        }
      }
      return out;
    });
  }

  acquire(owner: string, now: number, leaseUntil: number, requests: SlotRequest[]): SlotAnswer[] {
    if (requests.length === 0) return [];
    return this.acquireTx.immediate(owner, now, leaseUntil, requests);
  }

  claim(owner: string, now: number, leaseUntil: number, limit: number): Run[] {
    if (limit <= 0) return [];
    return this.claimTx.immediate(owner, now, leaseUntil, Math.floor(limit));
  }
}
