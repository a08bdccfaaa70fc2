/**
 * Cross-origin requests (docs/operations.md `FLOWGATE_CORS_ORIGINS`): off unless origins are named.
 *
 * The API authenticates with the `Authorization` header, never with cookies, so allowing an origin
 * lets a page there call the API with a token it holds; it grants nothing by itself. An allowed
 * origin is echoed in `Access-Control-Allow-Origin` (with `Vary: Origin`) and the headers clients
 * read (Location, Retry-After, ETag, …) are exposed. A preflight (`OPTIONS` with
 * `Access-Control-Request-Method`) from an allowed origin is answered with the path's methods and
 * the request headers asked for; from any other origin it gets no CORS headers, so the browser
 * refuses the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Headers an API client reads from answers. */
const EXPOSED = [
  'Location', 'Retry-After', 'ETag', 'Preference-Applied', 'Allow', 'Flowgate-Run-Id', 'Flowgate-Run-Status', 'Content-Disposition',
].join(', ');

/** How long a browser may keep a preflight's answer (s). */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** A request header name (RFC 9110 token), for the list a preflight asks for. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface CorsPolicy {
  readonly enabled: boolean;
  /** Adds the CORS headers of an ordinary request from an allowed origin. */
  apply(req: IncomingMessage, res: ServerResponse): void;
  /** Adds the preflight headers when this is a preflight from an allowed origin; `allow` lists the path's methods. */
  preflight(req: IncomingMessage, res: ServerResponse, allow: string): void;
}

/**
 * Parses FLOWGATE_CORS_ORIGINS: a comma-separated list of origins (`https://app.example.com`,
 * `http://127.0.0.1:3000`) or `*` for any. Empty: off.
 */
export function parseCorsOrigins(raw: string | undefined): string[] {
  const items = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (item === '*') continue;
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new Error(`FLOWGATE_CORS_ORIGINS: ${JSON.stringify(item)} is not an origin (e.g. https://app.example.com)`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== item.replace(/\/$/, '')) {
      throw new Error(`FLOWGATE_CORS_ORIGINS: ${JSON.stringify(item)} is not an origin (scheme, host and port only, e.g. https://app.example.com)`);
    }
  }
  return items.map((i) => (i === '*' ? i : new URL(i).origin));
}

export function corsPolicy(origins: string[]): CorsPolicy {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  const originOf = (req: IncomingMessage): string | null => {
    const o = req.headers.origin;
    if (typeof o !== 'string' || o === '' || o === 'null') return null;
    return any || allowed.has(o) ? o : null;
  };
  return {
    enabled: origins.length > 0,
    apply(req, res) {
      if (origins.length === 0) return;
      res.appendHeader('Vary', 'Origin');
      const origin = originOf(req);
      if (origin === null) return;
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', EXPOSED);
    },
    preflight(req, res, allow) {
      if (origins.length === 0 || originOf(req) === null || typeof req.headers['access-control-request-method'] !== 'string') return;
      res.setHeader('Access-Control-Allow-Methods', allow);
      const asked = String(req.headers['access-control-request-headers'] ?? '')
        .split(',').map((h) => h.trim()).filter((h) => TOKEN.test(h));
      if (asked.length) res.setHeader('Access-Control-Allow-Headers', asked.join(', '));
      res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_SECONDS));
    },
  };
}
