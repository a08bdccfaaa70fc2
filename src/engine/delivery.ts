/**
 * Result delivery (docs/spec.md §4 `?callback_url=`, §8.13): when a run that was given a result_url ends
 * (succeeded, failed or cancelled), `{ run_id, workflow, status, result }` is POSTed there, signed
 * with the tenant's Standard Webhooks secret, and retried like an http step.
 *
 * Durable: the delivery is a row in the store (made right after the run's final commit) with its
 * due time; this loop claims due rows, makes one attempt each through the outgoing HTTP port (so
 * the SSRF guard applies), records the attempt and either finishes the row or schedules the next
 * attempt. A restart loses nothing: rows are claimed again, and a sweep at start (and every minute)
 * makes the rows a crash between a run's final commit and its delivery row left out.
 *
 * Every attempt of one delivery carries the same `webhook-id` (and `Idempotency-Key`): the
 * delivery's id. A receiver can deduplicate on it; delivery is at least once (an attempt whose
 * answer was lost to a crash is made again).
 */
import { uuidv7 } from '../core/ids.js';
import { isTerminal, type Json, type JsonObject, type Run } from '../core/types.js';
import { retryAfterMs } from '../steps/http-request.js';
import { standardWebhooksSignature } from '../steps/http-sign.js';
import type { HttpPort, HttpResponse } from '../steps/types.js';
import type { Delivery, DeliveryAttempt, DeliveryUpdate, Store } from '../store/types.js';
import { DueLoop } from './due-loop.js';
import type { EngineObserver } from './observer.js';
import { childSpan, traceHeaders, traceOfRun } from '../core/trace.js';
import type { Logger } from './executor.js';
import type { WebhookSecretsPort } from './webhook-secrets.js';

export interface DeliveryConfig {
  owner: string;
  clock: () => number;
  /** Attempts in all, the first included (default 8). */
  maxAttempts: number;
  /** Wait before the second attempt; doubles after each failure up to maxBackoffMs. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Deadline of one attempt (the whole exchange). */
  timeoutMs: number;
  /** Deliveries in flight at once (default 16). */
  concurrency?: number;
  /** Told how each recorded attempt ended (metrics). */
  observer?: EngineObserver;
}

/** Bytes of a request or response body kept in the attempt log. */
export const RECORDED_BODY_BYTES = 64 * 1024;
const SWEEP_EVERY_MS = 60_000;
/** The sweep at start looks back this far; the periodic one a few minutes (it only covers crashes). */
const STARTUP_SWEEP_MS = 7 * 24 * 60 * 60 * 1000;
const PERIODIC_SWEEP_MS = 10 * 60 * 1000;
/** A Retry-After beyond this is not waited for (the delivery is retried after this long instead). */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;
const STOP_WAIT_MS = 2_000;

/** What a run's result delivery says: its result is the reply when it replied, else its data (its error when it failed). */
export function deliveryBody(run: Run): JsonObject {
  let result: Json;
  if (run.reply) result = run.reply.data;
  else if (run.status === 'succeeded') result = run.data;
  else if (run.status === 'failed') result = (run.error ?? { code: 'failed', message: 'the run failed' }) as unknown as Json;
  else result = null;
  return { run_id: run.id, workflow: run.workflow, status: run.status, result };
}

/** When the attempt after attempt `n` may be made: exponential backoff with added jitter, never before Retry-After. */
export function nextDeliveryAt(cfg: Pick<DeliveryConfig, 'initialBackoffMs' | 'maxBackoffMs'>, n: number, now: number, retryAfterMs?: number, random = Math.random): number {
  const base = Math.min(cfg.maxBackoffMs, cfg.initialBackoffMs * 2 ** (n - 1));
  const wait = base + random() * base * 0.2;
  return Math.round(now + Math.max(wait, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS)));
}


const excerpt = (b: Buffer | string): string => {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  return buf.length > RECORDED_BODY_BYTES ? buf.subarray(0, RECORDED_BODY_BYTES).toString('utf8') : buf.toString('utf8');
};

const traceOfRunOrNone = (run: Run | null) => (run ? traceOfRun(run) : undefined);

export class DeliveryLoop {
  private sweeper: NodeJS.Timeout | null = null;
  /** After stop(): not even making delivery rows (the store may be closing). */
  private closed = false;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly loop: DueLoop;

  constructor(
    private readonly store: Store,
    private readonly http: HttpPort,
    private readonly secrets: WebhookSecretsPort,
    private readonly log: Logger,
    private readonly cfg: DeliveryConfig,
  ) {
    this.loop = new DueLoop(() => this.pass(), { clock: cfg.clock, log, what: 'the result delivery loop' });
  }

  private get stopped(): boolean {
    return this.loop.isStopped;
  }

  /** Makes the deliveries a crash left out, then starts claiming due ones. */
  start(): void {
    void this.sweep(STARTUP_SWEEP_MS).finally(() => this.loop.start());
    this.sweeper = setInterval(() => void this.sweep(PERIODIC_SWEEP_MS), SWEEP_EVERY_MS);
    this.sweeper.unref?.();
  }

  /** Stops claiming; gives attempts in flight a moment to be recorded (an unrecorded one is made again later). */
  async stop(): Promise<void> {
    this.loop.stop();
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    if (this.inFlight.size === 0) return;
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inFlight.values()]), new Promise((r) => (wait = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(wait);
  }

  /** A run's final state was committed: make its delivery (if it asked for one) and wake the loop. */
  runEnded(run: Run): void {
    if (!run.result_url || !isTerminal(run.status) || this.closed) return;
    void this.create(run).catch((e) => this.log.error({ err: e, run_id: run.id }, 'making a result delivery failed; the sweep will retry'));
  }

  private async create(run: Run): Promise<void> {
    const now = this.cfg.clock();
    const delivery: Delivery = {
      id: uuidv7(now), tenant: run.tenant, run_id: run.id, run_attempt: run.attempt, url: run.result_url!,
      body: JSON.stringify(deliveryBody(run)), status: 'pending', attempts: 0, next_at: now,
      owner: null, lease_until: null, created_at: now, updated_at: now, finished_at: null,
    };
    if (await this.store.createDelivery(delivery)) this.nudge(now);
  }

  private async sweep(lookBackMs: number): Promise<void> {
    try {
      for (;;) {
        const runs = await this.store.runsAwaitingDelivery(this.cfg.clock() - lookBackMs, 200);
        for (const run of runs) await this.create(run);
        if (runs.length < 200 || this.stopped) break;
      }
    } catch (e) {
      this.log.error({ err: e }, 'the result delivery sweep failed; it runs again in a minute');
    }
  }

  /** A delivery is due at `at`: make sure the loop wakes by then. */
  nudge(at: number): void {
    this.loop.nudge(at);
  }

  /** Claims due deliveries while there is room, starts their attempts, says when to look again. */
  private async pass(): Promise<number | null> {
    const room = (this.cfg.concurrency ?? 16) - this.inFlight.size;
    if (room > 0) {
      const now = this.cfg.clock();
      const claimed = await this.store.claimDueDeliveries(this.cfg.owner, now, now + this.cfg.timeoutMs + 60_000, room);
      for (const d of claimed) {
        const p = this.attempt(d)
          .catch((e) => this.log.error({ err: e, delivery_id: d.id }, 'a delivery attempt failed unexpectedly; it is made again when its claim runs out'))
          .finally(() => {
            this.inFlight.delete(d.id);
            this.loop.wake();
          });
        this.inFlight.set(d.id, p);
      }
    }
    const next = await this.store.nextDeliveryAt();
    const now = this.cfg.clock();
    // Whatever is still due now is in flight (its attempt wakes the loop when it is recorded) or
    // held by another claimer's lease: look again in a second rather than spin.
    return next === null ? null : next <= now ? now + 1000 : next;
  }

  /** One attempt of a claimed delivery, recorded with its outcome. */
  private async attempt(d: Delivery): Promise<void> {
    const n = d.attempts + 1;
    const started = this.cfg.clock();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Flowgate-Delivery/1',
      'idempotency-key': d.id,
      'webhook-id': d.id,
      'webhook-timestamp': String(Math.floor(started / 1000)),
    };
    // The run's trace goes on to the receiver as a new span (one read of the run per attempt; a
    // failed read only leaves the headers out).
    const trace = traceOfRunOrNone(await this.store.loadRun(d.run_id).catch(() => null));
    if (trace) Object.assign(headers, traceHeaders(childSpan(trace)));
    let request: JsonObject = { method: 'POST', url: d.url, headers, body: excerpt(d.body) };
    let res: HttpResponse | null = null;
    let error: DeliveryAttempt['error'] = null;
    let retryable = true;
    try {
      let secrets: string[];
      try {
        secrets = await this.secrets.signingSecrets(d.tenant);
      } catch (e) {
        // Nothing is sent unsigned (e.g. the secret cannot be decrypted with this master key).
        throw Object.assign(new Error(`the tenant's webhook secret is unavailable: ${(e as Error).message}`), { code: 'secret' });
      }
      headers['webhook-signature'] = secrets.map((s) => standardWebhooksSignature(s, d.id, Number(headers['webhook-timestamp']), d.body)).join(' ');
      request = { ...request, headers: { ...headers } };
      res = await this.http.request({
        method: 'POST', url: d.url, headers, body: d.body, timeoutMs: this.cfg.timeoutMs, tlsVerify: true,
        maxResponseBytes: RECORDED_BODY_BYTES, followRedirects: false,
      });
    } catch (e) {
      const err = e as Error & { code?: unknown; retryable?: boolean };
      error = { class: typeof err.code === 'string' ? err.code : 'network', message: err.message ?? String(e) };
      retryable = err.retryable !== false;
    }
    const now = this.cfg.clock();
    let next: DeliveryUpdate;
    let response: Json | null = null;
    if (res) {
      response = { headers: res.headers, body: excerpt(res.body), ...(res.truncated ? { truncated: true } : {}) };
      if (res.status >= 200 && res.status <= 299) next = { status: 'delivered', next_at: null, now };
      else {
        error = { class: `status_${res.status}`, message: `POST ${new URL(d.url).origin} answered ${res.status}` };
        retryable = res.status === 429 || res.status >= 500;
        next = this.retryOrFail(n, retryable, now, retryAfterMs(res.headers, now));
      }
    } else next = this.retryOrFail(n, retryable, now);
    const attempt: DeliveryAttempt = { n, started_at: started, duration_ms: now - started, request, status: res?.status ?? null, response, error };
    try {
      const recorded = await this.store.recordDeliveryAttempt(d.id, this.cfg.owner, attempt, next);
      if (recorded) this.cfg.observer?.delivered?.(next.status === 'pending' ? 'retry' : next.status);
      if (!recorded) this.log.warn({ delivery_id: d.id, run_id: d.run_id }, 'a delivery attempt could not be recorded: the delivery was claimed elsewhere');
      else if (next.status === 'failed') this.log.warn({ delivery_id: d.id, run_id: d.run_id, attempts: n, error }, 'result delivery failed for good');
      else if (next.next_at !== null) this.nudge(next.next_at);
    } catch (e) {
      this.log.error({ err: e, delivery_id: d.id }, 'recording a delivery attempt failed; the attempt will be made again');
    }
  }

  private retryOrFail(n: number, retryable: boolean, now: number, retryAfter?: number): DeliveryUpdate {
    if (!retryable || n >= this.cfg.maxAttempts) return { status: 'failed', next_at: null, now };
    return { status: 'pending', next_at: nextDeliveryAt(this.cfg, n, now, retryAfter), now };
  }
}
