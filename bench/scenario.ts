/** What a row of `npm run bench` is (bench/scenarios.ts lists them; the scenarios-*.ts files add theirs). */
import type { RequestSpec } from './load-protocol.js';
import type { LoadRun } from './load-runner.js';
import type { ServerHandle, ServerKind } from './servers.js';

export interface Target {
  /** req/s at least this share of the baseline's, measured in the same run. */
  minRatio?: number;
  /** 99th percentile latency strictly below this, in ms. */
  maxP99Ms?: number;
  /** req/s at least this share of another row's, measured in the same run (e.g. PostgreSQL vs SQLite). */
  vsRow?: { id: string; minRatio: number };
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Prepared {
  request: RequestSpec;
  /** Runs after the load: what the server did with it (runs created, statuses, …). */
  verify?: (load: LoadRun) => Promise<{ checks: Check[]; facts: Record<string, unknown> }>;
}

export interface Scenario {
  /** Short id used by `--only` and in the table. */
  id: string;
  title: string;
  server: ServerKind;
  /** null: not judged (the baseline). */
  target: Target | null;
  /** Extra environment for the server (e.g. FLOWGATE_* limits). */
  env?: Record<string, string>;
  /** 'postgres': the server keeps its data in a fresh PostgreSQL database (bench/postgres.ts), not SQLite. */
  database?: 'postgres';
  /**
   * Nodes of one cluster on the row's PostgreSQL database (default 1; more needs `database:
   * 'postgres'`): the load's connections are spread over them in turn, each node on its own port.
   * `setup` gets the first node; every node shares its data.
   */
  nodes?: number;
  setup(server: ServerHandle): Promise<Prepared>;
}
