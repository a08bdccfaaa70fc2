/**
 * What the orchestrator (bench/run.ts) and the load generator process (bench/load.ts) say to each
 * other: the spec goes in as the child's first argument (JSON), events come back as JSON lines on
 * the child's stdout.
 */

/** One HTTP request, repeated on every connection. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, e.g. `/v1/workflows/bench-three/runs?wait=10`. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The status every answer should have (anything else is reported as unexpected). */
  expectStatus: number;
  /** When set, every answer's body must equal this text; others count as mismatches. */
  expectBody?: string;
}

export interface LoadSpec {
  /** The servers' base URLs: the connections are spread over them in turn (several nodes of one cluster). */
  urls: string[];
  request: RequestSpec;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Per-request timeout in seconds (a timeout counts as an error). */
  timeoutSeconds: number;
}

export interface PhaseCounts {
  /** Answers by status code. */
  status: Record<string, number>;
  answers: number;
  ok2xx: number;
  non2xx: number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadOutput {
  /** Seconds between the measurement's start and end marks (answers in flight at the end drain after it). */
  measuredSeconds: number;
  /** 2xx answers completed inside the measurement window per second. */
  rps: number;
  /** Latency in ms of every answer of the measurement (including those drained after its end). */
  latency: LatencySummary;
  phases: { warmup: PhaseCounts; measure: PhaseCounts; drain: PhaseCounts };
  /** Totals over every phase: what the server answered at all during this load. */
  total: PhaseCounts & { errors: number; timeouts: number; mismatches: number; sent: number };
  /** Connections that had not drained when the generator gave up waiting (answers possibly lost). */
  undrained: number;
  firstMismatch: string | null;
  firstError: string | null;
}

export type LoadEvent =
  | { event: 'measure-start'; monoUs: number }
  | { event: 'measure-end'; monoUs: number }
  | { event: 'result'; output: LoadOutput };

/** CLOCK_MONOTONIC in microseconds: comparable across processes on one machine (and with V8 CPU profiles). */
export const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);
