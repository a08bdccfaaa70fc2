/**
 * The Store: every persistent fact of Flowgate behind one interface of domain verbs.
 *
 * Backends (sqlite/, later postgres/) implement it with their native mechanisms; the engine and
 * the HTTP layer never see a driver, a transaction or SQL. Backend differences the engine must
 * know about are declared as capability flags, never discovered by `if (backend === …)`.
 *
 * Every read and write of tenant-owned data names the tenant; an id of another tenant behaves
 * exactly like an id that does not exist.
 */
import type {
  ApiKey, Definition, Json, JsonObject, Run, RunStatus, SecretMeta, StepRecord, Tenant, Workflow,
} from '../core/types.js';

export interface StoreCapabilities {
  /** Several processes may claim runs from this store at once (leases matter across nodes). */
  concurrentClaimers: boolean;
  /** The store can publish cross-node hints (e.g. PostgreSQL NOTIFY): see `Hint`. */
  notify: boolean;
}

/**
 * A cross-node hint (only on stores with `capabilities.notify`). A hint is never the truth: it only
 * shortens a wait. It may be late, doubled or lost (a receiver also re-reads the store periodically
 * and after `onReconnect`), and it is published only once the change it announces is committed.
 */
export type Hint =
  /** A run was created or changed (its new status; `replied` when a reply is now stored). */
  | { kind: 'run'; id: string; tenant: string; status: RunStatus; replied: boolean }
  /** Runs became claimable (queued, due, or released by a node): claimers should look now. */
  | { kind: 'work' }
  /** A cached fact changed (a new workflow version, an archive, a rotated hash, a revoked key). */
  | { kind: 'invalidate'; cache: string; key: string };

export interface HintListener {
  hint(hint: Hint): void;
  /** The hint channel was lost and is back: hints may have been missed, re-read what you wait for. */
  reconnected(): void;
}

/** How a ref that is already taken is treated when a run is created. */
export type RefPolicy =
  /** Native rule: the ref stays taken forever; the same input returns the run, another input conflicts. */
  | 'native'
  /** Corezoid rule: taken only while the run is active; a finished run's ref is free again. */
  | 'while-active';

export interface NewRun {
  run: Run;
  refPolicy: RefPolicy;
  /** Step records the run already has (steps executed before its creation); written only if it is created. */
  steps?: StepRecord[];
}

export type CreateResult =
  | { kind: 'created'; run: Run }
  /** An existing run holds the ref and (native policy) had the same input. */
  | { kind: 'existing'; run: Run }
  /** An existing run holds the ref with another input (native), or is still active (while-active). */
  | { kind: 'conflict'; run: Run };

/**
 * One atomic advance of a run: its new state and the step records it wrote.
 * Applied only if the stored run still has `expectRev` (and, when given, `owner`);
 * the stored rev becomes `run.rev`. A reply in `run.reply` is stored only if none is stored yet.
 */
export interface Transition {
  run: Run;
  expectRev: number;
  owner?: string | null;
  steps: StepRecord[];
}

export type TransitionResult = { ok: true; replied: boolean } | { ok: false };

export interface RunFilter {
  workflow?: string;
  status?: RunStatus;
  ref?: string;
  /** created_at at or after (epoch ms). */
  since?: number;
  /** created_at before (epoch ms). */
  until?: number;
  parent?: string;
  limit: number;
  /** The id of the last run of the previous page (runs are listed newest first by id). */
  cursor?: string;
}

/**
 * A Corezoid-style API login (docs/spec.md §5.1): a global numeric login and a secret for signing requests.
 * The secret must be recovered to check signatures, so it is stored sealed (SecretBox ciphertext).
 */
export interface ApiLogin {
  login: number;
  tenant: string;
  name: string | null;
  secret_ciphertext: string;
  created_at: number;
}

/** Identifiers a client already uses, brought to a workflow (docs/compatibility.md "Moving over"). */
export interface WorkflowIdentifiers {
  conv_id?: number;
  /** 40 lowercase hex. */
  hash?: string;
  guid?: string;
}

/** `taken`: another workflow holds that identifier (identifiers are unique across tenants). */
export type SetIdentifiersResult =
  | { kind: 'set'; workflow: Workflow }
  | { kind: 'not_found' }
  | { kind: 'taken'; field: keyof WorkflowIdentifiers; holder: { tenant: string; id: string } };

export interface SaveWorkflowResult {
  workflow: Workflow;
  /** false when the definition equals the current version (no new version made). */
  created: boolean;
}

/**
 * A condition on a workflow's head, checked in the save's own transaction (`If-Match` /
 * `If-None-Match` on PUT): `absent` (no head at all), `present` (any head), `one-of` / `none-of`
 * (the head's entity tag, core/workflow-etag.ts, is / is not one of these).
 */
export type HeadCondition =
  | { kind: 'absent' }
  | { kind: 'present' }
  | { kind: 'one-of'; etags: string[] }
  | { kind: 'none-of'; etags: string[] };

/** A conditional save whose condition did not hold: nothing was written; `etag` is the head's (null: none). */
export interface HeadUnmet {
  unmet: true;
  etag: string | null;
}

/** One stored version of a workflow, without its definition (`listWorkflowVersions`). */
export interface WorkflowVersionInfo {
  version: number;
  /** The definition's name in that version. */
  name: string;
  /** When that version was saved (epoch ms). */
  created_at: number;
}

export interface WorkflowVersionPage {
  /** Newest first. */
  versions: WorkflowVersionInfo[];
  /** Pass as `before` to read the next page; null on the last page. */
  next_cursor: number | null;
}

/** What the workflow list shows of a workflow's runs (`workflowActivity`). */
export interface WorkflowActivity {
  workflow: string;
  /** The workflow's newest run (by id, so by creation), whatever its version; null when it has none. */
  last_run: { id: string; status: RunStatus; created_at: number } | null;
  /** How many of its runs were created at or after `since` (by run id time, as `RunFilter.since`). */
  runs_since: number;
}

export interface Store {
  readonly capabilities: StoreCapabilities;

  /**
   * Cross-node hints (present when `capabilities.notify`). The store publishes `run` and `work`
   * hints itself, in the transaction that commits the change; `publishHint` sends the others.
   */
  hints?: {
    subscribe(listener: HintListener): () => void;
    publish(hint: Hint): Promise<void>;
  };

  /**
   * Rate-limit buckets shared by every node (present on PostgreSQL): what the `database` rate-limit
   * mode checks each limited request against (src/http/rate-limit.ts).
   */
  rateBuckets?: SharedBuckets;

  /** Creates or upgrades the schema; idempotent. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  // -------- settings (server-wide facts: the admin token hash, key material ids)
  getSetting(name: string): Promise<string | null>;
  putSetting(name: string, value: string): Promise<void>;

  // -------- tenants and keys
  ensureTenant(id: string): Promise<Tenant>;
  getTenant(id: string): Promise<Tenant | null>;
  createKey(key: ApiKey): Promise<void>;
  findKeyByHash(tokenHash: string): Promise<ApiKey | null>;
  listKeys(tenant: string): Promise<ApiKey[]>;
  deleteKey(tenant: string, id: string): Promise<boolean>;

  // -------- secrets (values are ciphertext; the store never sees plaintext)
  putSecret(tenant: string, name: string, ciphertext: string): Promise<'created' | 'updated'>;
  getSecretCiphertexts(tenant: string): Promise<Map<string, string>>;
  listSecrets(tenant: string): Promise<SecretMeta[]>;
  deleteSecret(tenant: string, name: string): Promise<boolean>;

  // -------- API logins (Corezoid-style signed API)
  /** Creates a login with the next global numeric id; creates the tenant too when it does not exist. */
  /**
   * A new API login: the next free number, or `input.login` when the caller brings its own (null when
   * that number is taken). Numbers handed out skip the ones brought.
   */
  createApiLogin(input: Omit<ApiLogin, 'login'> & { login?: number }): Promise<ApiLogin | null>;
  /** Any tenant's login: the signed API finds the tenant by its login. */
  findApiLogin(login: number): Promise<ApiLogin | null>;
  listApiLogins(tenant: string): Promise<ApiLogin[]>;
  deleteApiLogin(tenant: string, login: number): Promise<boolean>;

  // -------- workflows
  /**
   * Saves a definition. If it equals (structurally) the current version, nothing is written and the
   * current version is returned with created=false; otherwise version N+1 is stored. A first save
   * assigns the workflow a new global conv_id, a fresh hash and GUID (given by the caller).
   * Saving an archived workflow un-archives it. With `conditions`, the head is checked against them
   * first, under the same lock as the save: unless every one holds, nothing is written (HeadUnmet).
   */
  saveWorkflow(tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number): Promise<SaveWorkflowResult>;
  saveWorkflow(
    tenant: string, definition: Definition, source: string, ids: { hash: string; guid: string }, now: number, conditions: HeadCondition[],
  ): Promise<SaveWorkflowResult | HeadUnmet>;
  getWorkflow(tenant: string, id: string, version?: number): Promise<Workflow | null>;
  listWorkflows(tenant: string): Promise<Workflow[]>;
  /**
   * The versions of one workflow of the tenant (archived ones too), newest first: at most `limit`,
   * only those below `before` when given. Null when the tenant has no such workflow.
   */
  listWorkflowVersions(tenant: string, id: string, page: { limit: number; before?: number }): Promise<WorkflowVersionPage | null>;
  /**
   * For every workflow `listWorkflows` lists (same order): its newest run and how many runs were
   * created at or after `since`. One statement for the whole list, answered from an index of runs by
   * (tenant, workflow, id) — never a scan of the tenant's runs.
   */
  workflowActivity(tenant: string, since: number): Promise<WorkflowActivity[]>;
  archiveWorkflow(tenant: string, id: string, now: number): Promise<boolean>;
  setWorkflowHash(tenant: string, id: string, hash: string, now: number): Promise<boolean>;
  /** Sets the identifiers given (the others stay); nothing changes when one is taken. New conv_ids skip brought ones. */
  setWorkflowIdentifiers(tenant: string, id: string, ids: WorkflowIdentifiers, now: number): Promise<SetIdentifiersResult>;
  /** Public lookups (no tenant: the conv_id + hash or the GUID is the credential). */
  findWorkflowByConvId(convId: number): Promise<Workflow | null>;
  findWorkflowByGuid(guid: string): Promise<Workflow | null>;

  // -------- runs
  /** Creates runs in one durable commit, in order; a ref collision yields existing/conflict per policy. */
  createRuns(batch: NewRun[]): Promise<CreateResult[]>;
  /**
   * The group-commit verb: creations (as createRuns) then transitions (as applyTransitions), all in
   * ONE durable commit. A failure rolls back the whole batch.
   */
  writeBatch(creates: NewRun[], transitions: Transition[]): Promise<{ creates: CreateResult[]; transitions: TransitionResult[] }>;
  /** Applies transitions in one durable commit; each is fenced independently. */
  applyTransitions(batch: Transition[]): Promise<TransitionResult[]>;
  getRun(tenant: string, id: string): Promise<Run | null>;
  /** Loads a run by id without a tenant: only for the engine, which already owns the run. */
  loadRun(id: string): Promise<Run | null>;
  findRunByCallbackToken(token: string): Promise<Run | null>;
  findRunByRef(tenant: string, workflow: string, ref: string): Promise<Run | null>;
  listRuns(tenant: string, filter: RunFilter): Promise<{ runs: Run[]; next_cursor: string | null }>;
  listSteps(runId: string): Promise<StepRecord[]>;
  /** Stores a reply if the run has none yet; true if this call stored it. */
  setReply(runId: string, reply: NonNullable<Run['reply']>, now: number): Promise<boolean>;

  // -------- leases, timers, recovery
  /**
   * Claims up to `limit` parked runs whose wake_at <= now: they become `running`, owned by `owner`
   * until `leaseUntil`, rev bumped. Returned as stored after the claim.
   */
  claimDueRuns(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]>;
  /**
   * Claims runs that are queued or running but not held by a live lease (lease_until < now, or any
   * owner other than `owner` when the store has a single claimer). Used at start and periodically.
   */
  claimOrphanedRuns(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]>;
  /** Extends the lease of runs still owned by `owner`; returns the ids whose lease was extended. */
  renewLeases(owner: string, ids: string[], leaseUntil: number): Promise<string[]>;
  /**
   * Makes every run parked on child runs due now (wake_at = now when later). Called at start: a
   * child that ended while its parent was between park and commit, just before a crash, sent its
   * wake-up to nobody; the parent's step then looks at its children at once instead of at its next
   * periodic check. Returns how many runs it touched.
   */
  hurryChildWaits(now: number): Promise<number>;
  /** The earliest wake_at among parked runs, or null. */
  nextWakeAt(): Promise<number | null>;
  /**
   * The stored state of many runs in one read (ids not found are left out; order not kept): what a
   * node's waiters and run followers re-read periodically, so a lost hint costs a delay, not an answer.
   */
  loadRuns(ids: string[]): Promise<Run[]>;

  // -------- per-workflow concurrency (`trigger.concurrency`) decided in the store (docs/operations.md "Running a cluster")
  /**
   * Decides, for each request in order, whether its run (held by `owner`, queued or running) may
   * execute now under its workflow's cap: it may when fewer than `cap` OTHER runs of the same tenant
   * and workflow hold a slot, i.e. are `running` under a live lease (lease_until >= now). Decisions
   * are serialized per workflow with every other acquireSlots and claimSlots (on any handle), so
   * however claimers interleave, no more than `cap` runs hold slots because of them. Within one
   * call, runs that are running already (holding their slot) are decided before queued ones.
   * One answer per request, in order:
   * - `started`: a queued run becomes running under `owner` until `leaseUntil` (rev bumped); a
   *   running one is answered as stored, unchanged. The run holds its slot until it leaves
   *   `running` or its lease expires (a dead node's slots come back with its leases).
   * - `queued`: no slot is free. The run is handed to the slot queue: status `queued`, owner
   *   SLOT_QUEUE_OWNER with a lease that never expires (no orphan claim takes it), rev bumped;
   *   claimSlots starts it once a slot is free.
   * - `lost`: the run does not exist, is not `owner`'s, or is neither queued nor running: nothing changed.
   */
  acquireSlots(owner: string, now: number, leaseUntil: number, requests: SlotRequest[]): Promise<SlotAnswer[]>;
  /**
   * Starts up to `limit` runs of the slot queue whose workflow has a free slot: oldest first per
   * workflow, each judged by the `trigger.concurrency` of its own stored workflow version (as
   * acquireSlots). They become `running` under `owner` until `leaseUntil` (rev bumped) and are
   * returned as stored. Serialized per workflow with acquireSlots.
   */
  claimSlots(owner: string, now: number, leaseUntil: number, limit: number): Promise<Run[]>;

  // -------- nodes (the processes serving from this store; docs/operations.md "Running a cluster")
  /** Records that node `node.id` is alive at `now` (creates its row on the first beat). */
  heartbeatNode(node: NodeBeat, now: number): Promise<void>;
  /** The nodes whose last heartbeat is at or after `aliveSince`, with the runs each holds under a live lease at `now`. */
  listNodes(aliveSince: number, now: number): Promise<NodeRecord[]>;
  /** Forgets a node (its clean stop). */
  removeNode(id: string): Promise<void>;

  // -------- result deliveries (docs/spec.md §4 `callback_url`, §8.13) and the tenants' webhook secrets
  /** Stores a new pending delivery; false (nothing written) when the run's ending already has one. */
  createDelivery(delivery: Delivery): Promise<boolean>;
  /**
   * Claims up to `limit` pending deliveries due at `now` that no live lease holds (on a single-claimer
   * store: any other owner is a dead process); they are owned by `owner` until `leaseUntil`.
   */
  claimDueDeliveries(owner: string, now: number, leaseUntil: number, limit: number): Promise<Delivery[]>;
  /**
   * Records attempt `attempt.n` of a delivery `owner` holds and moves it on (`pending` with the next
   * due time, `delivered` or `failed`), releasing the claim. False when `owner` no longer holds it.
   */
  recordDeliveryAttempt(id: string, owner: string, attempt: DeliveryAttempt, next: DeliveryUpdate): Promise<boolean>;
  /** A run's deliveries (oldest first) with their attempts; [] for another tenant's run. */
  listDeliveries(tenant: string, runId: string): Promise<DeliveryWithAttempts[]>;
  /** The earliest next_at among pending deliveries, or null. */
  nextDeliveryAt(): Promise<number | null>;
  /** Finished runs with a result_url, finished at or after `since`, whose ending has no delivery yet. */
  runsAwaitingDelivery(since: number, limit: number): Promise<Run[]>;
  getWebhookSecret(tenant: string): Promise<WebhookSecretRecord | null>;
  /** Stores `secret` as the tenant's webhook secret unless it has one; returns the stored one either way. */
  ensureWebhookSecret(tenant: string, secret: string, now: number): Promise<WebhookSecretRecord>;
  /** Makes `secret` current and keeps the one it replaces as `previous` (rotated_at = now). */
  rotateWebhookSecret(tenant: string, secret: string, now: number): Promise<WebhookSecretRecord>;
}

/** One token bucket kept in the store: its name, refill rate (tokens per second) and burst. */
export interface SharedBucket {
  key: string;
  perSecond: number;
  burst: number;
}

/** Token buckets in the store, judged by the store's clock (`Store.rateBuckets`). */
export interface SharedBuckets {
  /**
   * For each request in order, takes one token from each of its buckets, all or none (a bucket seen
   * first starts full): `wait` 0 when taken, else the seconds until every bucket of the request has
   * one, and `refused` the first that had none. One answer per request, in order.
   */
  take(requests: SharedBucket[][]): Promise<{ wait: number; refused: string | null }[]>;
}

/** The owner of runs waiting in the slot queue (acquireSlots): no node, and never expired. */
export const SLOT_QUEUE_OWNER = '(slot queue)';
/** The lease of a run in the slot queue: later than any clock. */
export const SLOT_QUEUE_LEASE = Number.MAX_SAFE_INTEGER;

/** A run that asks for a slot of its workflow's `trigger.concurrency` cap (`acquireSlots`). */
export interface SlotRequest {
  runId: string;
  cap: number;
}

export type SlotAnswer = { kind: 'started'; run: Run } | { kind: 'queued' } | { kind: 'lost' };

/** What a node reports of itself with each heartbeat. */
export interface NodeBeat {
  /** The node's owner id in leases. */
  id: string;
  started_at: number;
  /** Free-form facts about the node (host, pid, URL, version, runs in memory). */
  info: JsonObject;
}

export interface NodeRecord extends NodeBeat {
  heartbeat_at: number;
  /** Runs queued or running whose live lease (lease_until >= now) this node holds. */
  runs_held: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One POST of a run's result to its result_url (its `webhook-id` is `id`, the same on every attempt). */
export interface Delivery {
  id: string;
  tenant: string;
  run_id: string;
  /** The run's `attempt` when it ended (a retried run that ends again is delivered again). */
  run_attempt: number;
  url: string;
  /** The exact bytes POSTed on every attempt (JSON text). */
  body: string;
  status: DeliveryStatus;
  /** Attempts made so far. */
  attempts: number;
  /** When the next attempt is due (pending only). */
  next_at: number | null;
  owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface DeliveryAttempt {
  n: number;
  started_at: number;
  duration_ms: number;
  /** Method, URL, headers and a body excerpt; never a secret. */
  request: Json;
  /** The response status, or null when none came (network failure, timeout, refusal). */
  status: number | null;
  /** `{ headers, body (first 64 KiB), truncated? }`, or null. */
  response: Json | null;
  error: { class: string; message: string } | null;
}

export interface DeliveryUpdate {
  status: DeliveryStatus;
  next_at: number | null;
  now: number;
}

export type DeliveryWithAttempts = Delivery & { attempt_log: DeliveryAttempt[] };

/** A tenant's Standard Webhooks secret, sealed (SecretBox ciphertexts). */
export interface WebhookSecretRecord {
  tenant: string;
  secret_ciphertext: string;
  /** The secret replaced by the last rotation, still signed with for a grace period. */
  previous_ciphertext: string | null;
  rotated_at: number | null;
  created_at: number;
}

export type { Json, JsonObject };
