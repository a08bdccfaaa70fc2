/**
 * The nodes serving from this database (heartbeats, GET /v1/cluster) and the batch re-read of many
 * runs (one statement for every run a node's waiters and followers watch).
 */
import type { JsonObject, Run } from '../../core/types.js';
import { rowToRun, type RunRow } from '../run-row.js';
import type { NodeBeat, NodeRecord } from '../types.js';
import type { Db } from './connection.js';

interface NodeRow extends Record<string, unknown> {
  id: string;
  started_at: number;
  heartbeat_at: number;
  info: string;
  runs_held: number;
}

export class NodeQueries {
  constructor(private readonly db: Db) {}

  async heartbeat(node: NodeBeat, now: number): Promise<void> {
    await this.db.query(
      `INSERT INTO nodes (id, started_at, heartbeat_at, info) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at, info = EXCLUDED.info`,
      [node.id, node.started_at, now, JSON.stringify(node.info)],
    );
  }

  async list(aliveSince: number, now: number): Promise<NodeRecord[]> {
    const rows = await this.db.query<NodeRow>(
      `SELECT n.id, n.started_at, n.heartbeat_at, n.info,
         (SELECT count(*) FROM runs r WHERE r.owner = n.id AND r.status IN ('queued', 'running') AND r.lease_until >= $1)::bigint AS runs_held
       FROM nodes n WHERE n.heartbeat_at >= $2 ORDER BY n.started_at, n.id`,
      [now, aliveSince],
    );
    return rows.map((r) => ({
      id: r.id, started_at: r.started_at, heartbeat_at: r.heartbeat_at, info: JSON.parse(r.info) as JsonObject, runs_held: r.runs_held,
    }));
  }

  async remove(id: string): Promise<void> {
    await this.db.query('DELETE FROM nodes WHERE id = $1', [id]);
  }

  async loadRuns(ids: string[]): Promise<Run[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<RunRow & Record<string, unknown>>('SELECT * FROM runs WHERE id = ANY($1::text[])', [ids]);
    return rows.map(rowToRun);
  }
}
