/**
 * The PostgreSQL Store: several Flowgate nodes on one database. Every verb is one statement where it
 * can be (the group commit included: runs.ts, functions.ts), or one short transaction; claims skip
 * rows other nodes are claiming; hints travel with LISTEN/NOTIFY (hints.ts).
 *
 * Times: the verbs' `now` is the caller's clock, written as given (created_at, updated_at, wake_at,
 * lease_until). Lease expiry is judged by the database's clock as well (see `leaseClock` in
 * connection.ts and leases.ts).
 */
import type { ApiKey, Definition, Run, SecretMeta, StepRecord, Tenant, Workflow } from '../../core/types.js';
import type {
  ApiLogin, CreateResult, Delivery, NodeBeat, NodeRecord, DeliveryAttempt, DeliveryUpdate, DeliveryWithAttempts, Hint, HintListener, NewRun, RunFilter,
  HeadCondition, HeadUnmet, SaveWorkflowResult, SetIdentifiersResult, SlotAnswer, SlotRequest, Store, StoreCapabilities, Transition, TransitionResult, WebhookSecretRecord, WorkflowActivity, WorkflowIdentifiers, WorkflowVersionPage,
} from '../types.js';
import { AccountQueries } from './accounts.js';
import { Db, type PostgresOptions } from './connection.js';
import { DeliveryQueries } from './deliveries.js';
import { HintChannel } from './hints.js';
import { LeaseQueries } from './leases.js';
import { LoginQueries } from './logins.js';
import { migrate } from './migrations.js';
import { NodeQueries } from './nodes.js';
import { RateBucketQueries } from './rates.js';
import { RunQueries } from './runs.js';
import { SlotQueries } from './slots.js';
import { WorkflowQueries } from './workflows.js';

export type { PostgresOptions } from './connection.js';

/** PostgreSQL's disk_full (53100): nothing of the statement was written. */
export function isPostgresStorageFullError(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === '53100';
}

/** SQLSTATE classes and driver codes that mean the database cannot be reached right now (not a bad statement). */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300']);

/**
 * Whether an error of a verb means the database is unreachable or refusing connections (down,
 * restarting, too many connections, a connection broken in flight, the pool's connect timeout):
 * worth a retry later, unlike a failed statement. The statement may or may not have committed when
 * the connection broke in flight; every write of the store is safe to repeat (fenced or idempotent).
 */
export function isPostgresUnavailableError(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
  const message = typeof err?.message === 'string' ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message);
}

export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = { concurrentClaimers: true, notify: true };
  readonly db: Db;
  readonly hints: { subscribe(listener: HintListener): () => void; publish(hint: Hint): Promise<void> };
  /** The hint channel itself (tests wait for it to listen, or break its connection). */
  readonly hintChannel: HintChannel;
  readonly rateBuckets: RateBucketQueries;
  private readonly accounts: AccountQueries;
  private readonly workflows: WorkflowQueries;
  private readonly runs: RunQueries;
  private readonly leases: LeaseQueries;
  private readonly logins: LoginQueries;
  private readonly deliveries: DeliveryQueries;
  private readonly nodes: NodeQueries;
  private readonly slots: SlotQueries;
  private closed = false;

  constructor(opts: PostgresOptions) {
    this.db = new Db(opts);
    const background = opts.onBackgroundError ?? (() => {});
    this.hintChannel = new HintChannel(this.db, background);
    this.hints = {
      subscribe: (listener) => this.hintChannel.subscribe(listener),
      publish: (hint) => this.hintChannel.publish(hint),
    };
    this.accounts = new AccountQueries(this.db);
    this.workflows = new WorkflowQueries(this.db);
    this.runs = new RunQueries(this.db);
    this.leases = new LeaseQueries(this.db);
    this.logins = new LoginQueries(this.db);
    this.deliveries = new DeliveryQueries(this.db);
    this.nodes = new NodeQueries(this.db);
    this.slots = new SlotQueries(this.db);
    this.rateBuckets = new RateBucketQueries(this.db);
  }

  /** Round trips to the database since the store was opened (the hint connection not counted). */
  get roundTrips(): number {
    return this.db.roundTrips;
  }

  async migrate(): Promise<void> {
    if (this.closed) throw new Error('the PostgreSQL store is closed');
    const client = await this.db.pool.connect();
    let broken = false;
    try {
      await migrate({ query: async (text, values) => { this.db.roundTrips++; return (await client.query(text, values)).rows; } });
    } catch (e) {
      broken = true;
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.hintChannel.close();
    await this.db.end();
  }

  // ---------------------------------------------------------------- settings, tenants, keys, secrets

  getSetting(name: string): Promise<string | null> { return this.accounts.getSetting(name); }
  putSetting(name: string, value: string): Promise<void> { return this.accounts.putSetting(name, value); }
  ensureTenant(id: string): Promise<Tenant> { return this.accounts.ensureTenant(id, Date.now()); }
  getTenant(id: string): Promise<Tenant | null> { return this.accounts.getTenant(id); }
  createKey(key: ApiKey): Promise<void> { return this.accounts.createKey(key); }
  findKeyByHash(tokenHash: string): Promise<ApiKey | null> { return this.accounts.findKeyByHash(tokenHash); }
  listKeys(tenant: string): Promise<ApiKey[]> { return this.accounts.listKeys(tenant); }
  deleteKey(tenant: string, id: string): Promise<boolean> { return this.accounts.deleteKey(tenant, id); }
  putSecret(tenant: string, name: string, ciphertext: string): Promise<'created' | 'updated'> {
    return this.accounts.putSecret(tenant, name, ciphertext, Date.now());
  }
  getSecretCiphertexts(tenant: string): Promise<Map<string, string>> { return this.accounts.getSecretCiphertexts(tenant); }
  listSecrets(tenant: string): Promise<SecretMeta[]> { return this.accounts.listSecrets(tenant); }
  deleteSecret(tenant: string, name: string): Promise<boolean> { return this.accounts.deleteSecret(tenant, name); }

  // ---------------------------------------------------------------- API logins

  createApiLogin(input: Omit<ApiLogin, 'login'> & { login?: number }): Promise<ApiLogin | null> { return this.logins.create(input); }
  findApiLogin(login: number): Promise<ApiLogin | null> { return this.logins.find(login); }
  listApiLogins(tenant: string): Promise<ApiLogin[]> { return this.logins.list(tenant); }
  deleteApiLogin(tenant: string, login: number): Promise<boolean> { return this.logins.delete(tenant, login); }

  // ---------------------------------------------------------------- workflows

  saveWorkflow(tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number): Promise<SaveWorkflowResult>;
  saveWorkflow(
    tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[],
  ): Promise<SaveWorkflowResult | HeadUnmet>;
  saveWorkflow(
    tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[] = [],
  ): Promise<SaveWorkflowResult | HeadUnmet> {
    return this.workflows.save(tenant, definition, source, ids, now, conditions);
  }
  getWorkflow(tenant: string, id: string, version?: number): Promise<Workflow | null> { return this.workflows.get(tenant, id, version); }
  listWorkflows(tenant: string): Promise<Workflow[]> { return this.workflows.list(tenant); }
  listWorkflowVersions(tenant: string, id: string, page: { limit: number; before?: number }): Promise<WorkflowVersionPage | null> {
    return this.workflows.listVersions(tenant, id, page);
  }
  workflowActivity(tenant: string, since: number): Promise<WorkflowActivity[]> { return this.workflows.activity(tenant, since); }
  archiveWorkflow(tenant: string, id: string, now: number): Promise<boolean> { return this.workflows.archiveWorkflow(tenant, id, now); }
  setWorkflowHash(tenant: string, id: string, hash: string, now: number): Promise<boolean> { return this.workflows.setWorkflowHash(tenant, id, hash, now); }
  setWorkflowIdentifiers(tenant: string, id: string, ids: WorkflowIdentifiers, now: number): Promise<SetIdentifiersResult> {
    return this.workflows.setIdentifiers(tenant, id, ids, now);
  }
  findWorkflowByConvId(convId: number): Promise<Workflow | null> { return this.workflows.findByConvId(convId); }
  findWorkflowByGuid(guid: string): Promise<Workflow | null> { return this.workflows.findByGuid(guid); }

  // ---------------------------------------------------------------- runs

  createRuns(batch: NewRun[]): Promise<CreateResult[]> { return this.runs.createRuns(batch); }
  writeBatch(creates: NewRun[], transitions: Transition[]): Promise<{ creates: CreateResult[]; transitions: TransitionResult[] }> {
    return this.runs.writeBatch(creates, transitions);
  }
  applyTransitions(batch: Transition[]): Promise<TransitionResult[]> { return this.runs.applyTransitions(batch); }
  getRun(tenant: string, id: string): Promise<Run | null> { return this.runs.getRun(tenant, id); }
  loadRun(id: string): Promise<Run | null> { return this.runs.loadRun(id); }
  findRunByCallbackToken(token: string): Promise<Run | null> { return this.runs.findByCallbackToken(token); }
  findRunByRef(tenant: string, workflow: string, ref: string): Promise<Run | null> { return this.runs.findByRef(tenant, workflow, ref); }
  listRuns(tenant: string, filter: RunFilter): Promise<{ runs: Run[]; next_cursor: string | null }> { return this.runs.listRuns(tenant, filter); }
  listSteps(runId: string): Promise<StepRecord[]> { return this.runs.listSteps(runId); }
  setReply(runId: string, reply: NonNullable<Run['reply']>, now: number): Promise<boolean> { return this.runs.setReply(runId, reply, now); }

  // ---------------------------------------------------------------- leases, timers, recovery

  claimDueRuns(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> {
    return this.leases.claimDueRuns(owner, now, leaseUntil, limit);
  }
  claimOrphanedRuns(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> {
    return this.leases.claimOrphanedRuns(owner, now, leaseUntil, limit);
  }
  renewLeases(owner: string, ids: string[], leaseUntil: number): Promise<string[]> { return this.leases.renewLeases(owner, ids, leaseUntil); }
  hurryChildWaits(now: number): Promise<number> { return this.leases.hurryChildWaits(now); }
  nextWakeAt(): Promise<number | null> { return this.leases.nextWakeAt(); }
  loadRuns(ids: string[]): Promise<Run[]> { return this.nodes.loadRuns(ids); }

  // ---------------------------------------------------------------- per-workflow concurrency (slots.ts)

  acquireSlots(owner: string, now: number, leaseUntil: number, requests: SlotRequest[]): Promise<SlotAnswer[]> {
    return this.slots.acquire(owner, now, leaseUntil, requests);
  }
  claimSlots(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> { return this.slots.claim(owner, now, leaseUntil, limit); }

  // ---------------------------------------------------------------- nodes

  heartbeatNode(node: NodeBeat, now: number): Promise<void> { return this.nodes.heartbeat(node, now); }
  listNodes(aliveSince: number, now: number): Promise<NodeRecord[]> { return this.nodes.list(aliveSince, now); }
  removeNode(id: string): Promise<void> { return this.nodes.remove(id); }

  // ---------------------------------------------------------------- result deliveries, webhook secrets

  createDelivery(delivery: Delivery): Promise<boolean> { return this.deliveries.create(delivery); }
  claimDueDeliveries(owner: string, now: number, leaseUntil: number, limit: number): Promise<Delivery[]> {
    return this.deliveries.claim(owner, now, leaseUntil, limit);
  }
  recordDeliveryAttempt(id: string, owner: string, attempt: DeliveryAttempt, next: DeliveryUpdate): Promise<boolean> {
    return this.deliveries.record(id, owner, attempt, next);
  }
  listDeliveries(tenant: string, runId: string): Promise<DeliveryWithAttempts[]> { return this.deliveries.list(tenant, runId); }
  nextDeliveryAt(): Promise<number | null> { return this.deliveries.nextAt(); }
  runsAwaitingDelivery(since: number, limit: number): Promise<Run[]> { return this.deliveries.awaitingDelivery(since, limit); }
  getWebhookSecret(tenant: string): Promise<WebhookSecretRecord | null> { return this.deliveries.getSecret(tenant); }
  ensureWebhookSecret(tenant: string, secret: string, now: number): Promise<WebhookSecretRecord> { return this.deliveries.ensureSecret(tenant, secret, now); }
  rotateWebhookSecret(tenant: string, secret: string, now: number): Promise<WebhookSecretRecord> { return this.deliveries.rotateSecret(tenant, secret, now); }
}

/** Makes the pool (no connection is opened until the first verb). Call `migrate()` before use. */
export async function openPostgresStore(opts: PostgresOptions): Promise<PostgresStore> {
  return new PostgresStore(opts);
}
