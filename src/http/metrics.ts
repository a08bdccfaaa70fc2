/**
 * Prometheus metrics of the HTTP layer and the engine, served at /metrics (docs/operations.md
 * "Observing"). Label values are bounded: routes, statuses, step types and result classes are closed
 * sets; workflows are labelled by tenant and id up to MAX_WORKFLOW_SERIES pairs per process, the
 * rest as `_other`. Run ids never become labels. The process metrics keep prom-client's usual names
 * (`process_*`, `nodejs_*`), so stock Node.js dashboards work, but for three gauges whose `_total`
 * names `promtool check metrics` rejects.
 */
import client from 'prom-client';
import { isTerminal, type Run, type StepRecord } from '../core/types.js';
import type { CommitReport, DeliveryOutcome, EngineObserver } from '../engine/observer.js';

/** Distinct (tenant, workflow) label pairs one process reports before folding the rest into `_other`. */
export const MAX_WORKFLOW_SERIES = 500;
const OTHER = '_other';
const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const RUN_SECONDS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400];
const BATCH_SIZES = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

/** The class of an outgoing HTTP attempt's result: `2xx` … `5xx`, or the failure's code (`timeout`, `network`, `blocked`, …). */
export function resultClass(outcome: { status: number } | { code: string }): string {
  if ('status' in outcome) return outcome.status >= 100 && outcome.status <= 599 ? `${Math.floor(outcome.status / 100)}xx` : 'other';
  return /^[a-z_]{1,32}$/.test(outcome.code) ? outcome.code : 'error';
}

/** One workflow's series, their label children looked up once. */
interface WorkflowSeries {
  tenant: string;
  workflow: string;
  started: client.Counter.Internal;
  ended: Map<string, { count: client.Counter.Internal; time: client.Histogram.Internal<'tenant' | 'workflow' | 'status'> }>;
}

export class Metrics {
  readonly registry = new client.Registry();
  private readonly requests: client.Counter<'route' | 'status'>;
  private readonly duration: client.Histogram<'route'>;
  private readonly runsStarted: client.Counter<'tenant' | 'workflow'>;
  private readonly runsFinished: client.Counter<'tenant' | 'workflow' | 'status'>;
  private readonly runDuration: client.Histogram<'tenant' | 'workflow' | 'status'>;
  private readonly stepDuration: client.Histogram<'type' | 'status'>;
  private readonly httpAttempts: client.Histogram<'result'>;
  private readonly deliveries: client.Counter<'result'>;
  private readonly commitSize: client.Histogram;
  private readonly commitTime: client.Histogram;

  /** `node`: this node's id, shown as `flowgate_node_info{node="…"} 1` (which node of a cluster answered the scrape). */
  constructor(node?: { id: string; clustered: boolean }) {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters, which `promtool check metrics` rejects; their per-type breakdowns
    // (`nodejs_active_handles{type}` …) stay, and sum to the same figures.
    for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
    if (node) {
      new client.Gauge({
        name: 'flowgate_node_info', help: 'This node: its id in leases and GET /v1/cluster, and whether its store is shared by several nodes',
        labelNames: ['node', 'clustered'], registers,
      }).labels(node.id, String(node.clustered)).set(1);
    }
    this.requests = new client.Counter({ name: 'flowgate_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['route', 'status'], registers });
    this.duration = new client.Histogram({ name: 'flowgate_http_request_duration_seconds', help: 'HTTP request duration by route', labelNames: ['route'], buckets: SECONDS, registers });
    this.runsStarted = new client.Counter({ name: 'flowgate_runs_started_total', help: 'Runs created (committed) by this node, by workflow', labelNames: ['tenant', 'workflow'], registers });
    this.runsFinished = new client.Counter({ name: 'flowgate_runs_finished_total', help: 'Runs this node brought to a terminal status, by workflow and status', labelNames: ['tenant', 'workflow', 'status'], registers });
    this.runDuration = new client.Histogram({
      name: 'flowgate_run_duration_seconds', help: 'From a run\'s creation to its end, by workflow and final status', labelNames: ['tenant', 'workflow', 'status'], buckets: RUN_SECONDS, registers,
    });
    this.stepDuration = new client.Histogram({
      name: 'flowgate_step_duration_seconds', help: 'From a step\'s start to its end (retries and parking included), by step type and status', labelNames: ['type', 'status'], buckets: RUN_SECONDS, registers,
    });
    this.httpAttempts = new client.Histogram({
      name: 'flowgate_http_client_request_duration_seconds', help: 'Outgoing HTTP attempts (http steps, step tests, result deliveries) by result class, with their latency',
      labelNames: ['result'], buckets: SECONDS, registers,
    });
    this.deliveries = new client.Counter({ name: 'flowgate_deliveries_total', help: 'Result delivery attempts by how they ended: delivered, retry (tried again later), failed (for good)', labelNames: ['result'], registers });
    this.commitSize = new client.Histogram({ name: 'flowgate_commit_batch_size', help: 'Run creations and transitions written by one group commit', buckets: BATCH_SIZES, registers });
    this.commitTime = new client.Histogram({ name: 'flowgate_commit_duration_seconds', help: 'Duration of one group commit (one transaction and its fsync)', buckets: SECONDS, registers });
  }

  /** prom-client children per label values: looked up once instead of hashing labels per request. */
  private readonly answered = new Map<string, { count: client.Counter.Internal; time: client.Histogram.Internal<'route'> }>();

  /** Counts one answered request and its duration. */
  observeRequest(route: string, status: number, seconds: number): void {
    const key = `${route} ${status}`;
    let m = this.answered.get(key);
    if (m === undefined) {
      m = { count: this.requests.labels(route, String(status)), time: this.duration.labels(route) };
      this.answered.set(key, m);
    }
    m.count.inc();
    m.time.observe(seconds);
  }

  /** Per (tenant, workflow): its label children, looked up once (folded into `_other` past MAX_WORKFLOW_SERIES pairs). */
  private readonly byWorkflow = new Map<string, WorkflowSeries>();

  private seriesOf(run: Run): WorkflowSeries {
    const key = `${run.tenant}\u0000${run.workflow}`;
    let series = this.byWorkflow.get(key);
    if (series === undefined) {
      if (this.byWorkflow.size >= MAX_WORKFLOW_SERIES) return this.seriesFor(OTHER, OTHER);
      series = this.seriesFor(run.tenant, run.workflow);
      this.byWorkflow.set(key, series);
    }
    return series;
  }

  private other: WorkflowSeries | undefined;
  private seriesFor(tenant: string, workflow: string): WorkflowSeries {
    if (tenant === OTHER && this.other) return this.other;
    const series: WorkflowSeries = { started: this.runsStarted.labels(tenant, workflow), tenant, workflow, ended: new Map() };
    if (tenant === OTHER) this.other = series;
    return series;
  }

  private finished(run: Run): void {
    const series = this.seriesOf(run);
    let ended = series.ended.get(run.status);
    if (ended === undefined) {
      ended = { count: this.runsFinished.labels(series.tenant, series.workflow, run.status), time: this.runDuration.labels(series.tenant, series.workflow, run.status) };
      series.ended.set(run.status, ended);
    }
    ended.count.inc();
    if (run.finished_at !== null) ended.time.observe(Math.max(0, run.finished_at - run.created_at) / 1000);
  }

  private readonly stepSeries = new Map<string, client.Histogram.Internal<'type' | 'status'>>();

  private stepsWritten(records: readonly StepRecord[] | undefined): void {
    if (!records) return;
    for (const r of records) {
      if (r.finished_at === null) continue;
      const key = `${r.type} ${r.status}`;
      let child = this.stepSeries.get(key);
      if (child === undefined) this.stepSeries.set(key, (child = this.stepDuration.labels(r.type, r.status)));
      child.observe(Math.max(0, r.finished_at - r.started_at) / 1000);
    }
  }

  /** What the engine commits and delivers, as metrics. */
  readonly observer: EngineObserver = {
    committed: (c: CommitReport): void => {
      this.commitSize.observe(c.creates.length + c.transitions.length);
      this.commitTime.observe(c.seconds);
      c.created.forEach((result, i) => {
        if (result.kind !== 'created') return;
        this.seriesOf(result.run).started.inc();
        this.stepsWritten(c.creates[i].steps);
        if (isTerminal(result.run.status)) this.finished(result.run);
      });
      c.applied.forEach((result, i) => {
        if (!result.ok) return;
        const t = c.transitions[i];
        this.stepsWritten(t.steps);
        if (isTerminal(t.run.status)) this.finished(t.run);
      });
    },
    delivered: (outcome: DeliveryOutcome): void => {
      this.deliveries.labels(outcome).inc();
    },
  };

  /** Counts one outgoing HTTP attempt by its result class, with its latency (app/outbound.ts `observedHttp`). */
  observeHttpAttempt(outcome: { status: number } | { code: string }, seconds: number): void {
    this.httpAttempts.labels(resultClass(outcome)).observe(seconds);
  }

  /** Gauges read at each scrape: the runs this node's executor holds. */
  gauges(executorLoad: () => number): void {
    new client.Gauge({
      name: 'flowgate_executor_runs', help: 'Runs held or queued by this node\'s executor',
      registers: [this.registry], collect() { this.set(executorLoad()); },
    });
  }
}
