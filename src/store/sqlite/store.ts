/**
 * The SQLite Store: one process owns one database file (locking_mode=EXCLUSIVE), every verb is
 * one synchronous transaction through better-sqlite3, commits are durable (WAL, synchronous=FULL).
 * Tests of several writers open one file from several stores (`shared`: normal locking, writers
 * take turns, claims respect other owners' live leases).
 *
 * Statements are prepared once, on first use after the schema exists.
 */
import type Database from 'better-sqlite3';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ApiKey, Definition, Run, SecretMeta, StepRecord, Tenant, Workflow } from '../../core/types.js';
import type {
  ApiLogin, CreateResult, NewRun, RunFilter, HeadCondition, HeadUnmet, SaveWorkflowResult, SetIdentifiersResult, Store, StoreCapabilities, Transition, TransitionResult,
  WorkflowActivity, WorkflowVersionPage,
} from '../types.js';
import type { NodeBeat, NodeRecord, SlotAnswer, SlotRequest } from '../types.js';
import type { Delivery, DeliveryAttempt, DeliveryUpdate, DeliveryWithAttempts, WebhookSecretRecord, WorkflowIdentifiers } from '../types.js';
import { AccountQueries } from './accounts.js';
import { openDatabase, type SqliteOptions } from './connection.js';
import { DeliveryQueries } from './deliveries.js';
import { LeaseQueries } from './leases.js';
import { LoginQueries } from './logins.js';
import { migrate } from './migrations.js';
import { NodeQueries } from './nodes.js';
import { RunQueries } from './runs.js';
import { SlotQueries } from './slots.js';
import { WorkflowQueries } from './workflows.js';

export { DatabaseLockedError, type SqliteOptions } from './connection.js';

/** Below this many free bytes on the database's file system, an I/O error while writing is taken for a full disk. */
const LOW_SPACE_BYTES = 1024 * 1024;

/**
 * Whether an error of a verb on the database at `path` means its file system has no space left:
 * SQLite's SQLITE_FULL, or an I/O error (SQLITE_IOERR_*, as a WAL write or fsync may report it)
 * while that file system has (almost) no space free. The code survives the store thread.
 */
export function isStorageFullError(e: unknown, path: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL') return true;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_IOERR')) return false;
  try {
    const fs = statfsSync(dirname(path));
    return fs.bavail * fs.bsize < LOW_SPACE_BYTES;
  } catch {
    return false;
  }
}

interface Queries {
  accounts: AccountQueries;
  workflows: WorkflowQueries;
  runs: RunQueries;
  leases: LeaseQueries;
  logins: LoginQueries;
  deliveries: DeliveryQueries;
  nodes: NodeQueries;
  slots: SlotQueries;
}

export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities;
  private prepared: Queries | null = null;
  private closed = false;

  /** `shared`: other stores write the same file (SqliteOptions.shared), so leases matter between them. */
  constructor(private readonly db: Database.Database, readonly path: string, shared = false) {
    this.capabilities = { concurrentClaimers: shared, notify: false };
  }

  private get q(): Queries {
    if (this.closed) throw new Error(`the SQLite store ${this.path} is closed`);
    if (this.prepared === null) {
      try {
        this.prepared = {
          accounts: new AccountQueries(this.db),
          workflows: new WorkflowQueries(this.db),
          runs: new RunQueries(this.db),
          leases: new LeaseQueries(this.db, !this.capabilities.concurrentClaimers),
          deliveries: new DeliveryQueries(this.db, !this.capabilities.concurrentClaimers),
          logins: new LoginQueries(this.db),
          nodes: new NodeQueries(this.db),
          slots: new SlotQueries(this.db),
        };
      } catch (e) {
        throw new Error(`the SQLite store ${this.path} has no usable schema (was migrate() run?): ${(e as Error).message}`, { cause: e });
      }
    }
    return this.prepared;
  }

  async migrate(): Promise<void> {
    if (this.closed) throw new Error(`the SQLite store ${this.path} is closed`);
    const applied = migrate(this.db);
    if (applied.length > 0) this.prepared = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.prepared = null;
    try {
      this.db.pragma('optimize');
    } finally {
      this.db.close();
    }
  }

  // ---------------------------------------------------------------- settings, tenants, keys, secrets

  async getSetting(name: string): Promise<string | null> {
    return this.q.accounts.getSetting(name);
  }

  async putSetting(name: string, value: string): Promise<void> {
    this.q.accounts.putSetting(name, value);
  }

  async ensureTenant(id: string): Promise<Tenant> {
    return this.q.accounts.ensureTenant(id, Date.now());
  }

  async getTenant(id: string): Promise<Tenant | null> {
    return this.q.accounts.getTenant(id);
  }

  /** Creates the key's tenant too when it does not exist yet. */
  async createKey(key: ApiKey): Promise<void> {
    this.q.accounts.createKey(key);
  }

  async findKeyByHash(tokenHash: string): Promise<ApiKey | null> {
    return this.q.accounts.findKeyByHash(tokenHash);
  }

  async listKeys(tenant: string): Promise<ApiKey[]> {
    return this.q.accounts.listKeys(tenant);
  }

  async deleteKey(tenant: string, id: string): Promise<boolean> {
    return this.q.accounts.deleteKey(tenant, id);
  }

  /** Creates the tenant too when it does not exist yet. */
  async putSecret(tenant: string, name: string, ciphertext: string): Promise<'created' | 'updated'> {
    return this.q.accounts.putSecret(tenant, name, ciphertext, Date.now());
  }

  async getSecretCiphertexts(tenant: string): Promise<Map<string, string>> {
    return this.q.accounts.getSecretCiphertexts(tenant);
  }

  async listSecrets(tenant: string): Promise<SecretMeta[]> {
    return this.q.accounts.listSecrets(tenant);
  }

  async deleteSecret(tenant: string, name: string): Promise<boolean> {
    return this.q.accounts.deleteSecret(tenant, name);
  }

  // ---------------------------------------------------------------- API logins

  /** Creates the tenant too when it does not exist yet. */
  async createApiLogin(input: Omit<ApiLogin, 'login'> & { login?: number }): Promise<ApiLogin | null> {
    return this.q.logins.create(input);
  }

  async findApiLogin(login: number): Promise<ApiLogin | null> {
    return this.q.logins.find(login);
  }

  async listApiLogins(tenant: string): Promise<ApiLogin[]> {
    return this.q.logins.list(tenant);
  }

  async deleteApiLogin(tenant: string, login: number): Promise<boolean> {
    return this.q.logins.delete(tenant, login);
  }

  // ---------------------------------------------------------------- workflows

  /** Creates the tenant too when it does not exist yet. */
  saveWorkflow(tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number): Promise<SaveWorkflowResult>;
  saveWorkflow(
    tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[],
  ): Promise<SaveWorkflowResult | HeadUnmet>;
  async saveWorkflow(
    tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[] = [],
  ): Promise<SaveWorkflowResult | HeadUnmet> {
    return this.q.workflows.save(tenant, definition, source, ids, now, conditions);
  }

  async getWorkflow(tenant: string, id: string, version?: number): Promise<Workflow | null> {
    return this.q.workflows.get(tenant, id, version);
  }

  async listWorkflows(tenant: string): Promise<Workflow[]> {
    return this.q.workflows.list(tenant);
  }

  async listWorkflowVersions(tenant: string, id: string, page: { limit: number; before?: number }): Promise<WorkflowVersionPage | null> {
    return this.q.workflows.listVersions(tenant, id, page);
  }

  async workflowActivity(tenant: string, since: number): Promise<WorkflowActivity[]> {
    return this.q.workflows.activity(tenant, since);
  }

  /** true when the workflow existed and was not archived yet. */
  async archiveWorkflow(tenant: string, id: string, now: number): Promise<boolean> {
    return this.q.workflows.archiveWorkflow(tenant, id, now);
  }

  async setWorkflowHash(tenant: string, id: string, hash: string, now: number): Promise<boolean> {
    return this.q.workflows.setWorkflowHash(tenant, id, hash, now);
  }

  async setWorkflowIdentifiers(tenant: string, id: string, ids: WorkflowIdentifiers, now: number): Promise<SetIdentifiersResult> {
    return this.q.workflows.setIdentifiers(tenant, id, ids, now);
  }

  async findWorkflowByConvId(convId: number): Promise<Workflow | null> {
    return this.q.workflows.findByConvId(convId);
  }

  async findWorkflowByGuid(guid: string): Promise<Workflow | null> {
    return this.q.workflows.findByGuid(guid);
  }

  // ---------------------------------------------------------------- runs

  /** A run must name a stored workflow version (foreign key); a failed item fails the batch. */
  async createRuns(batch: NewRun[]): Promise<CreateResult[]> {
    return this.q.runs.createRuns(batch);
  }

  async writeBatch(creates: NewRun[], transitions: Transition[]): Promise<{ creates: CreateResult[]; transitions: TransitionResult[] }> {
    return this.q.runs.writeBatch(creates, transitions);
  }

  async applyTransitions(batch: Transition[]): Promise<TransitionResult[]> {
    return this.q.runs.applyTransitions(batch);
  }

  async getRun(tenant: string, id: string): Promise<Run | null> {
    return this.q.runs.getRun(tenant, id);
  }

  async loadRun(id: string): Promise<Run | null> {
    return this.q.runs.loadRun(id);
  }

  async findRunByCallbackToken(token: string): Promise<Run | null> {
    return this.q.runs.findByCallbackToken(token);
  }

  async findRunByRef(tenant: string, workflow: string, ref: string): Promise<Run | null> {
    return this.q.runs.findByRef(tenant, workflow, ref);
  }

  /** created_at filters: since inclusive, until exclusive. */
  async listRuns(tenant: string, filter: RunFilter): Promise<{ runs: Run[]; next_cursor: string | null }> {
    return this.q.runs.listRuns(tenant, filter);
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    return this.q.runs.listSteps(runId);
  }

  async setReply(runId: string, reply: NonNullable<Run['reply']>, now: number): Promise<boolean> {
    return this.q.runs.setReply(runId, reply, now);
  }

  // ---------------------------------------------------------------- leases, timers, recovery

  async claimDueRuns(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> {
    return this.q.leases.claimDueRuns(owner, now, leaseUntil, limit);
  }

  async claimOrphanedRuns(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> {
    return this.q.leases.claimOrphanedRuns(owner, now, leaseUntil, limit);
  }

  async loadRuns(ids: string[]): Promise<Run[]> {
    return this.q.nodes.loadRuns(ids);
  }

  async acquireSlots(owner: string, now: number, leaseUntil: number, requests: SlotRequest[]): Promise<SlotAnswer[]> {
    return this.q.slots.acquire(owner, now, leaseUntil, requests);
  }

  async claimSlots(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]> {
    return this.q.slots.claim(owner, now, leaseUntil, limit);
  }

  async heartbeatNode(node: NodeBeat, now: number): Promise<void> {
    this.q.nodes.heartbeat(node, now);
  }

  async listNodes(aliveSince: number, now: number): Promise<NodeRecord[]> {
    return this.q.nodes.listNodes(aliveSince, now);
  }

  async removeNode(id: string): Promise<void> {
    this.q.nodes.removeNode(id);
  }

  async renewLeases(owner: string, ids: string[], leaseUntil: number): Promise<string[]> {
    return this.q.leases.renewLeases(owner, ids, leaseUntil);
  }

  async hurryChildWaits(now: number): Promise<number> {
    return this.q.leases.hurryChildWaits(now);
  }

  async nextWakeAt(): Promise<number | null> {
    return this.q.leases.nextWakeAt();
  }

  // ---------------------------------------------------------------- result deliveries, webhook secrets

  async createDelivery(delivery: Delivery): Promise<boolean> {
    return this.q.deliveries.create(delivery);
  }

  async claimDueDeliveries(owner: string, now: number, leaseUntil: number, limit: number): Promise<Delivery[]> {
    return this.q.deliveries.claim(owner, now, leaseUntil, limit);
  }

  async recordDeliveryAttempt(id: string, owner: string, attempt: DeliveryAttempt, next: DeliveryUpdate): Promise<boolean> {
    return this.q.deliveries.record(id, owner, attempt, next);
  }

  async listDeliveries(tenant: string, runId: string): Promise<DeliveryWithAttempts[]> {
    return this.q.deliveries.list(tenant, runId);
  }

  async nextDeliveryAt(): Promise<number | null> {
    return this.q.deliveries.nextAt();
  }

  async runsAwaitingDelivery(since: number, limit: number): Promise<Run[]> {
    return this.q.deliveries.awaitingDelivery(since, limit);
  }

  async getWebhookSecret(tenant: string): Promise<WebhookSecretRecord | null> {
    return this.q.deliveries.getSecret(tenant);
  }

  /** Creates the tenant too when it does not exist yet. */
  async ensureWebhookSecret(tenant: string, secret: string, now: number): Promise<WebhookSecretRecord> {
    return this.q.deliveries.ensureSecret(tenant, secret, now);
  }

  async rotateWebhookSecret(tenant: string, secret: string, now: number): Promise<WebhookSecretRecord> {
    return this.q.deliveries.rotateSecret(tenant, secret, now);
  }
}

/**
 * Opens (creating if missing) the database file and takes sole ownership of it (unless
 * `opts.shared`); fails with a DatabaseLockedError when another process holds it. Call `migrate()`
 * before use.
 */
export async function openSqliteStore(opts: SqliteOptions): Promise<SqliteStore> {
  return new SqliteStore(openDatabase(opts), opts.path, opts.shared === true);
}
