/**
 * The part of autocannon 8's programmatic API the load generator uses (the package ships no types).
 * See node_modules/autocannon/README.md ("API").
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  /** One connection; `setupClient` hands each one out as it is created. */
  export interface Client extends EventEmitter {
    /** Requests written on this connection so far. */
    reqsMade: number;
    /** When set, the connection closes once it has made this many requests and had them answered. */
    responseMax: number | undefined;
    destroyed: boolean;
  }

  export interface Options {
    /** Several URLs: connection i goes to url[i % url.length]. */
    url: string | string[];
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    /** Seconds per request before it counts as a timeout. */
    timeout?: number;
    /** A response body differing from this counts as a mismatch. */
    expectBody?: string;
    setupClient?: (client: Client) => void;
    excludeErrorStats?: boolean;
  }

  export interface Result {
    errors: number;
    timeouts: number;
    mismatches: number;
    non2xx: number;
    resets: number;
    '2xx': number;
    statusCodeStats: Record<string, { count: number }>;
    requests: { sent: number; total: number };
    duration: number;
  }

  export interface Instance extends EventEmitter {
    stop(): void;
    on(event: 'response', listener: (client: Client, statusCode: number, bytes: number, responseTimeMs: number) => void): this;
    on(event: 'reqError', listener: (error: Error) => void): this;
    on(event: 'reqMismatch', listener: (body: string) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  function autocannon(options: Options, callback: (error: Error | null, result: Result) => void): Instance;
  export default autocannon;
}
