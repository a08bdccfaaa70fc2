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
import { SLOT_QUEUE_LEASE, SLOT_QUEUE_OWNER, type SlotAnswer } from '../types.js';
import { rowToRun, type RunRow } from './rows.js';

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

const HELD = `SELECT count(*) FROM runs WHERE tenant = ? AND workflow = ? AND status = 'running' AND lease_until >= ? AND id <> ?`;

export class SlotQueries {
  private readonly byId: Stmt<[string], RunRow>;
  private readonly held: Stmt<[string, string, number, string], number>;
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
    this.held = db.prepare<[string, string, number, string], number>(HELD).pluck();
    this.start = db.prepare("UPDATE runs SET status = 'running', lease_until = ?, rev = rev + 1, updated_at = ? WHERE id = ? RETURNING *");
    this.toQueue = db.prepare("UPDATE runs SET status = 'queued', owner = ?, lease_until = ?, rev = rev + 1, updated_at = ? WHERE id = ?");
    this.groups = db.prepare("SELECT DISTINCT tenant, workflow FROM runs WHERE owner = ? AND status = 'queued' ORDER BY tenant, workflow");
    this.waiting = db.prepare("SELECT * FROM runs WHERE tenant = ? AND workflow = ? AND owner = ? AND status = 'queued' ORDER BY id LIMIT ?");
    this.capOf = db.prepare<[string, string, number], number | null>(
      "SELECT json_extract(definition, '$.trigger.concurrency') FROM workflows WHERE tenant = ? AND id = ? AND version = ?",
    ).pluck();
    this.claimOne = db.prepare("UPDATE runs SET status = 'running', owner = ?, lease_until = ?, rev = rev + 1, updated_at = ? WHERE id = ? RETURNING *");

    this.acquireTx = db.transaction((runId: string, owner: string, cap: number, now: number, leaseUntil: number): SlotAnswer => {
      const row = this.byId.get(runId);
      if (!row || row.owner !== owner || (row.status !== 'queued' && row.status !== 'running')) return { kind: 'lost' };
      if (this.held.get(row.tenant, row.workflow, now, runId)! < cap) {
        return { kind: 'started', run: rowToRun(row.status === 'queued' ? this.start.get(leaseUntil, now, runId)! : row) };
      }
      this.toQueue.run(SLOT_QUEUE_OWNER, SLOT_QUEUE_LEASE, now, runId);
      return { kind: 'queued' };
    });

    this.claimTx = db.transaction((owner: string, now: number, leaseUntil: number, limit: number): Run[] => {
      const out: Run[] = [];
      for (const g of this.groups.all(SLOT_QUEUE_OWNER)) {
        if (out.length >= limit) break;
        let n = this.held.get(g.tenant, g.workflow, now, '')!;
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

  acquire(runId: string, owner: string, cap: number, now: number, leaseUntil: number): SlotAnswer {
    return this.acquireTx.immediate(runId, owner, Math.floor(cap), now, leaseUntil);
  }

  claim(owner: string, now: number, leaseUntil: number, limit: number): Run[] {
    if (limit <= 0) return [];
    return this.claimTx.immediate(owner, now, leaseUntil, Math.floor(limit));
  }
}
