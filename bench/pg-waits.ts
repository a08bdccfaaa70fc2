/**
 * What the database's backends are doing, sampled: every SAMPLE_MS the bench reads
 * `pg_stat_activity` for the row's database (on a connection of its own, not through the counting
 * proxy) and counts each backend under its state: `active` (on a CPU, or runnable and waiting for
 * one: PostgreSQL cannot tell the two apart), `active Lock:object` (waiting for the lock a NOTIFY
 * takes at commit, which makes the notifying commits of a database take turns), `active
 * IO:WALSync` (flushing the WAL), …, and `idle` (waiting for its client, the node). Divided by
 * the number of samples, a count is the mean number of backends in that state.
 */
import pg from 'pg';

const SAMPLE_MS = 20;

export class WaitSampler {
  private readonly client: pg.Client;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private readonly counts = new Map<string, number>();
  private samples = 0;

  constructor(url: string, private readonly database: string) {
    this.client = new pg.Client({ connectionString: url, application_name: 'flowgate-bench-sampler' });
    this.client.on('error', () => {}); // the database is dropped under it at the end
  }

  async start(): Promise<void> {
    await this.client.connect();
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
  }

  /** Counts so far: `samples`, then one entry per state seen. */
  read(): Record<string, number> {
    return { samples: this.samples, ...Object.fromEntries(this.counts) };
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.client.query<{ state: string | null; wait: string | null }>(
        `SELECT state, wait_event_type || ':' || wait_event AS wait FROM pg_stat_activity
          WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        [this.database],
      );
      this.samples++;
      for (const { state, wait } of rows) {
        const key = state === 'active' ? (wait ? `active ${wait}` : 'active') : (state ?? 'unknown');
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      }
    } catch {
      // a sample lost: the others count
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.client.end().catch(() => {});
  }
}
