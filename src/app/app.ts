/**
 * The composition root: opens the store, wires engine, triggers and HTTP, applies the examples,
 * recovers unfinished runs and starts serving. The only place that knows which store is in use.
 */
import { traceIdOf } from '../core/trace.js';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { setMaxDepth } from '../core/depth.js';
import { randomToken } from '../core/ids.js';
import { VERSION } from '../core/version.js';
import { warmUpRegexEngine } from '../core/regex.js';
import { SecretBox } from '../core/secretbox.js';
import { Caches } from '../engine/caches.js';
import { Engine } from '../engine/engine.js';
import { NodePresence } from '../engine/presence.js';
import { TenantSecrets } from '../engine/tenant-secrets.js';
import { Authenticator } from '../http/auth.js';
import { consoleSite } from '../http/console.js';
import type { RouteDeps } from '../http/deps.js';
import { Metrics } from '../http/metrics.js';
import { setMaxBodyBytes } from '../http/request.js';
import { corezoidRoutes } from '../http/compat/corezoid.js';
import { csiRoutes } from '../http/compat/csi.js';
import { launchSecret } from '../http/compat/launch.js';
import { corsPolicy } from '../http/cors.js';
import { lumaRoutes } from '../http/compat/luma.js';
import { adminRoutes } from '../http/routes/admin.js';
import { clusterRoutes } from '../http/routes/cluster.js';
import { apiLoginRoutes } from '../http/routes/api-logins.js';
import { importRoutes } from '../http/routes/imports.js';
import { runStreamRoutes } from '../http/routes/run-stream.js';
import { runRoutes } from '../http/routes/runs.js';
import { stepTestRoutes } from '../http/routes/step-test.js';
import { systemRoutes } from '../http/routes/system.js';
import { workflowRoutes } from '../http/routes/workflows.js';
import { RateLimiter } from '../http/rate-limit.js';
import { createHttpServer } from '../http/server.js';
import { SUPPORTED_STEP_TYPES } from '../steps/index.js';
import type { Store } from '../store/types.js';
import { Intake } from '../triggers/intake.js';
import type { Config } from './config.js';
import { applyExamples } from './examples.js';
import { observedHttp, OutboundHttp } from './outbound.js';
import { parseAllowList } from './ssrf.js';
import { WorkerSandbox } from './sandbox.js';
import { openConfiguredStore } from './store-backend.js';
import { WebhookSecrets } from '../engine/webhook-secrets.js';
import { webhookSecretRoutes } from '../http/routes/webhook-secret.js';

export interface RunningServer {
  url: string;
  port: number;
  store: Store;
  engine: Engine;
  /** Stops intake, lets runs in flight commit, closes the store. */
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  // One stream of JSON lines on stdout: ISO times, level names (docs/operations.md "Logs").
  const log = pino({
    level: config.logLevel, base: { service: 'flowgate' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
  // A promise rejected with no handler is a bug, never a reason to stop serving every other run:
  // it is logged and the server carries on (docs/operations.md). Removed again by close().
  const onUnhandledRejection = (reason: unknown): void => {
    log.error({ err: reason }, 'a promise was rejected with no handler; the server keeps serving');
  };
  process.on('unhandledRejection', onUnhandledRejection);
  // The nesting limit holds for everything read from here on: examples, bodies, step answers.
  setMaxDepth(config.maxDepth);
  // The regex engine compiles its WebAssembly once, before the first request needs it.
  warmUpRegexEngine();
  const { store, storage } = await openConfiguredStore(config, log);
  await store.ensureTenant('default');

  const box = new SecretBox(config.masterKey);
  const caches = new Caches(Date.now, store.hints ? (h) => store.hints!.publish(h) : null, log);
  const secrets = new TenantSecrets(store, box, caches, log);

  let publicBase = config.publicUrl ?? '';
  // The SSRF guard lets URLs under this server's own base through to its own socket (docs/spec.md §6).
  let localBase = '';
  const outbound = new OutboundHttp({
    allow: parseAllowList(config.httpAllow),
    self: () => (localBase ? { bases: [publicBase, localBase], local: localBase } : null),
  });
  const owner = `${hostname()}:${process.pid}:${randomToken(6)}`;
  const sandbox = new WorkerSandbox({ workers: config.code.workers, memoryBytes: config.code.memoryMb * 1024 * 1024, log });
  const webhookSecrets = new WebhookSecrets(store, box, Date.now);
  const delivery = { secrets: webhookSecrets, config: config.delivery };
  const metrics = new Metrics({ id: owner, clustered: store.capabilities.concurrentClaimers });
  const engine = new Engine(store, { http: observedHttp(outbound, (outcome, seconds) => metrics.observeHttpAttempt(outcome, seconds)), secrets, log, sandbox, delivery, caches, observer: metrics.observer }, {
    owner, leaseMs: config.leaseMs, maxDataBytes: config.maxDataBytes, stepsPerSlice: 200,
    maxStepsPerRun: config.maxStepsPerRun, maxForeachItems: config.maxForeachItems, maxActive: 2000, clock: Date.now,
    callbackUrl: (token) => `${publicBase}/v1/callbacks/${token}`,
  });
  const intake = new Intake(engine, { maxDataBytes: config.maxDataBytes, maxWaitSeconds: config.maxWaitSeconds, maxBatchItems: config.maxBatchItems });
  metrics.gauges(() => engine.executor.load);
  engine.bus.subscribeAll((e) => {
    if (e.type !== 'run') return;
    const r = e.run;
    if (r.status === 'failed') log.warn({ run_id: r.id, tenant: r.tenant, workflow: r.workflow, trace_id: traceIdOf(r), error: r.error }, 'run failed');
    else if (r.status === 'succeeded' || r.status === 'cancelled') log.debug({ run_id: r.id, tenant: r.tenant, workflow: r.workflow, trace_id: traceIdOf(r), status: r.status }, 'run finished');
  });
  const auth = new Authenticator(store, config.adminToken, caches, config.metricsToken);
  setMaxBodyBytes(config.maxBodyBytes);

  let ready = false;
  let accepting = true;
  // Aborted first thing on close: every event stream ends, so closing waits for no stream.
  const shutdown = new AbortController();
  const rateLimiter = new RateLimiter(config.rateLimit, Date.now, config.rateLimit.mode === 'database' ? store.rateBuckets ?? null : null);
  const deps: RouteDeps = {
    store, engine, intake, auth, secretBox: box, secrets, metrics, log, supportedStepTypes: SUPPORTED_STEP_TYPES,
    isReady: () => ready && accepting, storageFull: () => storage.full, storeAway: () => storage.away, retryAfterSeconds: config.retryAfterSeconds,
    onSecretsChanged: (tenant) => secrets.changed(tenant), clock: Date.now, node: { id: owner },
    webhookSecrets, rateLimiter,
    sse: { heartbeatMs: config.sse.heartbeatMs, maxBufferBytes: config.sse.maxBufferBytes, shutdown: shutdown.signal },
    runStreamsPerTenant: config.sse.runStreamsPerTenant,
  };
  // The web console, built by scripts/build-ui.mjs (npm install, npm start and npm test run it).
  const site = consoleSite(fileURLToPath(new URL('../../ui/dist', import.meta.url)));
  const server = createHttpServer({
    routes: [
      ...systemRoutes(deps), ...clusterRoutes(deps), ...workflowRoutes(deps), ...runStreamRoutes(deps), ...runRoutes(deps), ...stepTestRoutes(deps), ...adminRoutes(deps),
      ...apiLoginRoutes(deps),
      ...webhookSecretRoutes(deps),
      ...corezoidRoutes(deps, config.corezoid),
      ...csiRoutes(deps),
      ...lumaRoutes(deps, {
        launchSecret: launchSecret(config.masterKey), launchTtlSeconds: config.launchTtlSeconds,
        launchFrameAncestors: config.launchFrameAncestors, console: site,
      }),
      ...importRoutes(deps, config.csv),
    ],
    auth, metrics, log, publicUrl: config.publicUrl, isAccepting: () => accepting,
    rateLimiter, connections: config.connections, cors: corsPolicy(config.corsOrigins),
    accessLog: config.accessLog === 'off' ? undefined : ((level) => (line) => log[level](line, 'request'))(config.accessLog),
    console: site,
  });

  if (config.examplesDir) await applyExamples(store, config.examplesDir, 'default', SUPPORTED_STEP_TYPES, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (!config.publicUrl) publicBase = url;
  localBase = config.host === '0.0.0.0' || config.host === '::' ? `http://127.0.0.1:${port}` : url;
  const { recovered } = await engine.start();
  const presence = new NodePresence(store, {
    id: owner, clock: Date.now, log,
    info: () => ({
      host: hostname(), pid: process.pid, url: publicBase, version: VERSION, executing: engine.executor.load,
      ...(rateLimiter.enabled && config.rateLimit.mode === 'split' ? { rate_limit_nodes: rateLimiter.nodes } : {}),
    }),
    // The `split` rate limits: each node admits its share of each rate, by the live nodes it counts.
    onLiveNodes: rateLimiter.enabled && config.rateLimit.mode === 'split' && store.capabilities.concurrentClaimers ? (n) => rateLimiter.setNodes(n) : undefined,
  });
  await presence.start();
  ready = true;
  log.info({ url, data_dir: config.dataDir, recovered }, 'flowgate is serving');

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      accepting = false;
      ready = false;
      shutdown.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 5_000);
      force.unref();
      await engine.stop();
      await presence.stop();
      await closed;
      clearTimeout(force);
      await outbound.close();
      await sandbox.close();
      await store.close();
      process.off('unhandledRejection', onUnhandledRejection);
      log.info({}, 'flowgate stopped');
    })();
    return closing;
  };
  return { url, port, store, engine, close };
}
