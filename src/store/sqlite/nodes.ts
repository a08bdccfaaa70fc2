/**
 * The nodes serving from this database (one on SQLite: the file is owned by one process, but the
 * verbs are the same as on a clustered store) and the batch re-read of many runs.
 */
import type Database from 'better-sqlite3';
import type { JsonObject, Run } from '../../core/types.js';
import type { NodeBeat, NodeRecord } from '../types.js';
import { rowToRun, type RunRow } from './rows.js';

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

interface NodeRow {
  id: string;
  started_at: number;
  heartbeat_at: number;
  info: string;
  runs_held: number;
}

const UPSERT = `INSERT INTO nodes (id, started_at, heartbeat_at, info) VALUES (?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, info = excluded.info`;

const LIST = `SELECT n.id, n.started_at, n.heartbeat_at, n.info,
    (SELECT count(*) FROM runs r WHERE r.owner = n.id AND r.status IN ('queued', 'running') AND r.lease_until >= ?) AS runs_held
  FROM nodes n WHERE n.heartbeat_at >= ? ORDER BY n.started_at, n.id`;

export class NodeQueries {
  private readonly upsert: Stmt<[string, number, number, string]>;
  private readonly list: Stmt<[number, number], NodeRow>;
  private readonly remove: Stmt<[string]>;
  private readonly runsById: Stmt<[string], RunRow>;

  constructor(db: Database.Database) {
    this.upsert = db.prepare(UPSERT);
    this.list = db.prepare(LIST);
    this.remove = db.prepare('DELETE FROM nodes WHERE id = ?');
    this.runsById = db.prepare('SELECT * FROM runs WHERE id IN (SELECT value FROM json_each(?))');
  }

  heartbeat(node: NodeBeat, now: number): void {
    this.upsert.run(node.id, node.started_at, now, JSON.stringify(node.info));
  }

  listNodes(aliveSince: number, now: number): NodeRecord[] {
    return this.list.all(now, aliveSince).map((r) => ({
      id: r.id, started_at: r.started_at, heartbeat_at: r.heartbeat_at, info: JSON.parse(r.info) as JsonObject, runs_held: r.runs_held,
    }));
  }

  removeNode(id: string): void {
    this.remove.run(id);
  }

  loadRuns(ids: string[]): Run[] {
    if (ids.length === 0) return [];
    return this.runsById.all(JSON.stringify(ids)).map(rowToRun);
  }
}
