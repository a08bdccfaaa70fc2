/** Prometheus metrics of the HTTP layer and the engine, served at /metrics. */
import client from 'prom-client';
import type { RunBus } from '../engine/bus.js';
import { isTerminal } from '../core/types.js';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'route' | 'status'>;
  readonly duration: client.Histogram<'route'>;
  readonly runsFinished: client.Counter<'status'>;

  /** `node`: this node's id, shown as `flowgate_node_info{node="…"} 1` (which node of a cluster answered the scrape). */
  constructor(node?: { id: string; clustered: boolean }) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'flowgate_process_' });
    if (node) {
      new client.Gauge({
        name: 'flowgate_node_info', help: 'This node: its id in leases and GET /v1/cluster, and whether its store is shared by several nodes',
        labelNames: ['node', 'clustered'], registers: [this.registry],
      }).labels(node.id, String(node.clustered)).set(1);
    }
    this.requests = new client.Counter({
      name: 'flowgate_http_requests_total', help: 'HTTP requests answered, by route and status',
      labelNames: ['route', 'status'], registers: [this.registry],
    });
    this.duration = new client.Histogram({
      name: 'flowgate_http_request_duration_seconds', help: 'HTTP request duration by route',
      labelNames: ['route'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30], registers: [this.registry],
    });
    this.runsFinished = new client.Counter({
      name: 'flowgate_runs_finished_total', help: 'Runs that reached a terminal status', labelNames: ['status'], registers: [this.registry],
    });
  }

  /** prom-client children per label values: looked up once instead of hashing labels per request. */
  private readonly answered = new Map<string, { count: client.Counter.Internal; time: client.Histogram.Internal<'route'> }>();
  private readonly finished = new Map<string, client.Counter.Internal>();

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

  /** Counts runs as they finish, from the engine's committed events. */
  follow(bus: RunBus, executorLoad: () => number): void {
    bus.subscribeAll((e) => {
      if (e.type !== 'run' || !isTerminal(e.run.status)) return;
      const status = e.run.status;
      let c = this.finished.get(status);
      if (c === undefined) this.finished.set(status, (c = this.runsFinished.labels(status)));
      c.inc();
    });
    new client.Gauge({
      name: 'flowgate_executor_runs', help: 'Runs held or queued by this node\'s executor',
      registers: [this.registry], collect() { this.set(executorLoad()); },
    });
  }
}
