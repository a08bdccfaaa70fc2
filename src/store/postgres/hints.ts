/**
 * The hint channel of the PostgreSQL store (Store.hints): LISTEN on a connection of its own, and
 * NOTIFY from the transactions that commit changes (functions.ts) or from `publish`.
 *
 * Payload (JSON, under 8000 bytes): `{"r":[[id, tenant, status, replied], …], "w":1, "i":[[cache, key], …]}`,
 * each part optional. A hint is never the truth: it may be late, doubled or lost. When the listening
 * connection breaks, it is opened again with a growing pause (100 ms doubling to 5 s), and once it
 * listens again every subscriber hears `reconnected()` (hints of the gap are lost: re-read).
 */
import type { RunStatus } from '../../core/types.js';
import type { Hint, HintListener } from '../types.js';
import { pg, type Db } from './connection.js';
import { HINT_CHANNEL, HINT_PAYLOAD_LIMIT } from './functions.js';

const STATUSES = new Set<RunStatus>(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled']);

/** The hints in one payload; parts that cannot be read are left out (a hint is only a hint). */
export function decodeHints(payload: string): Hint[] {
  let doc: { r?: unknown; w?: unknown; i?: unknown };
  try {
    doc = JSON.parse(payload) as typeof doc;
  } catch {
    return [];
  }
  const hints: Hint[] = [];
  if (Array.isArray(doc.r)) {
    for (const r of doc.r) {
      if (!Array.isArray(r) || typeof r[0] !== 'string' || typeof r[1] !== 'string' || !STATUSES.has(r[2] as RunStatus)) continue;
      hints.push({ kind: 'run', id: r[0], tenant: r[1], status: r[2] as RunStatus, replied: r[3] === true });
    }
  }
  if (doc.w) hints.push({ kind: 'work' });
  if (Array.isArray(doc.i)) {
    for (const i of doc.i) {
      if (Array.isArray(i) && typeof i[0] === 'string' && typeof i[1] === 'string') hints.push({ kind: 'invalidate', cache: i[0], key: i[1] });
    }
  }
  return hints;
}

/** The payload of one hint sent by `publish`. */
export function encodeHint(hint: Hint): string {
  switch (hint.kind) {
    case 'run': return JSON.stringify({ r: [[hint.id, hint.tenant, hint.status, hint.replied]] });
    case 'work': return '{"w":1}';
    case 'invalidate': return JSON.stringify({ i: [[hint.cache, hint.key]] });
  }
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

export class HintChannel {
  private readonly listeners = new Set<HintListener>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private retry: NodeJS.Timeout | null = null;
  private backoffMs = MIN_BACKOFF_MS;
  private closed = false;
  /** True once a LISTEN succeeded: the next successful one after a loss is a reconnection. */
  private listenedBefore = false;

  constructor(private readonly db: Db, private readonly onError: (e: Error) => void) {}

  subscribe(listener: HintListener): () => void {
    this.listeners.add(listener);
    if (!this.client && !this.connecting && !this.retry) this.connect();
    return () => { this.listeners.delete(listener); };
  }

  /** Resolves once the channel listens (for tests and for a start that wants its first hints). */
  async ready(): Promise<void> {
    if (!this.client && !this.connecting && !this.retry) this.connect();
    while (!this.closed && !this.client) await (this.connecting ?? new Promise((r) => setTimeout(r, 20)));
  }

  async publish(hint: Hint): Promise<void> {
    const payload = encodeHint(hint);
    if (Buffer.byteLength(payload) > HINT_PAYLOAD_LIMIT) throw new RangeError('a hint payload must stay under 7000 bytes');
    await this.db.query('SELECT pg_notify($1, $2)', [HINT_CHANNEL, payload]);
  }

  private connect(): void {
    if (this.closed) return;
    this.connecting = (async () => {
      const client = new pg.Client({ connectionString: this.db.opts.url, connectionTimeoutMillis: this.db.opts.connectTimeoutMs ?? 5000, application_name: 'flowgate-hints' });
      client.on('error', (e) => this.lost(client, e));
      client.on('end', () => this.lost(client, new Error('the hint connection ended')));
      client.on('notification', (msg) => {
        if (msg.channel !== HINT_CHANNEL || msg.payload === undefined) return;
        for (const hint of decodeHints(msg.payload)) for (const l of this.listeners) l.hint(hint);
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${HINT_CHANNEL}`);
      } catch (e) {
        client.removeAllListeners('end');
        await client.end().catch(() => {});
        this.schedule(e as Error);
        return;
      }
      if (this.closed) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
      this.backoffMs = MIN_BACKOFF_MS;
      const again = this.listenedBefore;
      this.listenedBefore = true;
      if (again) for (const l of this.listeners) l.reconnected();
    })().finally(() => { this.connecting = null; });
  }

  private lost(client: pg.Client, e: Error): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    if (!this.closed) this.schedule(e);
  }

  private schedule(e: Error): void {
    if (this.closed) return;
    this.onError(Object.assign(new Error(`the hint connection failed (${e.message}); trying again in ${this.backoffMs} ms`), { cause: e }));
    this.retry = setTimeout(() => {
      this.retry = null;
      this.connect();
    }, this.backoffMs);
    this.retry.unref();
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  /** Drops the listening connection as a network failure would (tests of the reconnection). */
  breakConnection(): void {
    const client = this.client;
    if (client) (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    await this.connecting?.catch(() => {});
    const client = this.client;
    this.client = null;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
    }
    this.listeners.clear();
  }
}
