/** Prometheus metrics of the HTTP layer and the engine, served at /metrics. */
import client from 'prom-client';
import type { RunBus } from '../engine/bus.js';
import { isTerminal } from '../core/types.js';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'route' | 'status'>;
  readonly duration: client.Histogram<'route'>;
  readonly runsFinished: client.Counter<'status'>;

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'flowgate_process_' });
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

  /** Counts runs as they finish, from the engine's committed events. */
  follow(bus: RunBus, executorLoad: () => number): void {
    bus.subscribeAll((e) => {
      if (e.type === 'run' && isTerminal(e.run.status)) this.runsFinished.inc({ status: e.run.status });
    });
    new client.Gauge({
      name: 'flowgate_executor_runs', help: 'Runs held or queued by this node\'s executor',
      registers: [this.registry], collect() { this.set(executorLoad()); },
    });
  }
}
