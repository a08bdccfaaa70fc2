/**
 * The load generator: a process of its own, so the server's CPU is its own. Drives autocannon on
 * `connections` keep-alive connections: a warm-up, then the measured window, then a graceful stop
 * (no new requests; every request in flight gets its answer) so that the answers counted here can
 * be matched exactly against the runs the server created.
 *
 * Usage: node --import tsx bench/load.ts '<LoadSpec JSON>'   (bench/run.ts spawns it)
 */
import autocannon, { type Client } from 'autocannon';
import { monoUs, type LatencySummary, type LoadEvent, type LoadSpec, type PhaseCounts } from './load-protocol.js';

const DRAIN_LIMIT_MS = 15_000;

const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
const emit = (e: LoadEvent): void => void process.stdout.write(`${JSON.stringify(e)}\n`);

const counts = (): PhaseCounts => ({ status: {}, answers: 0, ok2xx: 0, non2xx: 0 });
const phases = { warmup: counts(), measure: counts(), drain: counts() };
type Phase = keyof typeof phases;
let phase: Phase = spec.warmupSeconds > 0 ? 'warmup' : 'measure';

/** Latencies (ms) of the measured answers, kept whole so percentiles are exact, not bucketed. */
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
const recordLatency = (ms: number): void => {
  if (latencyCount === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[latencyCount++] = ms;
};

const clients: Client[] = [];
let measureStart = 0;
let measureEnd = 0;
let measuredOk = 0;
let firstMismatch: string | null = null;
let firstError: string | null = null;

const instance = autocannon({
  url: spec.urls.length === 1 ? spec.urls[0] + spec.request.path : spec.urls.map((u) => u + spec.request.path),
  method: spec.request.method,
  headers: spec.request.headers,
  body: spec.request.body,
  connections: spec.connections,
  // The window is ended by the timers below; this only bounds a generator that never drains.
  duration: spec.warmupSeconds + spec.durationSeconds + DRAIN_LIMIT_MS / 1000 + 30,
  timeout: spec.timeoutSeconds,
  expectBody: spec.request.expectBody,
  setupClient: (client) => void clients.push(client),
}, (error, result) => {
  if (error) {
    console.error(error);
    process.exit(2);
  }
  clearTimeout(giveUp);
  const total = (['warmup', 'measure', 'drain'] as const).reduce((acc, p) => {
    const c = phases[p];
    for (const [code, n] of Object.entries(c.status)) acc.status[code] = (acc.status[code] ?? 0) + n;
    acc.answers += c.answers;
    acc.ok2xx += c.ok2xx;
    acc.non2xx += c.non2xx;
    return acc;
  }, counts());
  const measuredSeconds = (measureEnd - measureStart) / 1e6;
  emit({
    event: 'result',
    output: {
      measuredSeconds,
      rps: measuredSeconds > 0 ? measuredOk / measuredSeconds : 0,
      latency: summarize(latencies.subarray(0, latencyCount)),
      phases,
      total: { ...total, errors: result.errors, timeouts: result.timeouts, mismatches: result.mismatches, sent: result.requests.sent },
      undrained: clients.filter((c) => !c.destroyed).length,
      firstMismatch,
      firstError,
    },
  });
});

instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
  const c = phases[phase];
  c.status[statusCode] = (c.status[statusCode] ?? 0) + 1;
  c.answers++;
  const ok = statusCode >= 200 && statusCode < 300;
  if (ok) c.ok2xx++;
  else c.non2xx++;
  if (phase === 'measure' && ok) measuredOk++;
  if (phase !== 'warmup') recordLatency(responseTimeMs);
});
instance.on('reqMismatch', (body) => {
  firstMismatch ??= String(body).slice(0, 500);
});
instance.on('reqError', (error) => {
  firstError ??= error instanceof Error ? error.message : String(error);
});

const startMeasuring = (): void => {
  phase = 'measure';
  measureStart = monoUs();
  emit({ event: 'measure-start', monoUs: measureStart });
  setTimeout(stopMeasuring, spec.durationSeconds * 1000);
};

/** Ends the window: each connection makes no new request and closes once its last one is answered. */
const stopMeasuring = (): void => {
  measureEnd = monoUs();
  phase = 'drain';
  emit({ event: 'measure-end', monoUs: measureEnd });
  for (const client of clients) client.responseMax = Math.max(1, client.reqsMade);
};

if (phase === 'warmup') setTimeout(startMeasuring, spec.warmupSeconds * 1000);
else setImmediate(startMeasuring);

// A connection stuck without an answer must not hold the run forever: stop hard, report it undrained.
const giveUp = setTimeout(() => instance.stop(), (spec.warmupSeconds + spec.durationSeconds) * 1000 + DRAIN_LIMIT_MS);

function summarize(values: Float64Array): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const at = (q: number): number => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)];
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1] };
}
