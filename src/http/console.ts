/**
 * Serving the web console (ui/, built into ui/dist by Vite): hashed files under /assets/ cached for
 * a year, index.html never cached, and index.html for every other GET that is not an API or
 * compatibility path (the console's own routes, e.g. /workflows/orders). Every answer carries a
 * strict Content-Security-Policy: no inline script, no inline style elements, nothing from elsewhere.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { FlowgateError } from '../core/errors.js';

export interface CspOptions {
  /** Who may frame the page: a CSP source list, or null for anyone (the directive left out). Default 'none'. */
  frameAncestors?: string | null;
  /** CSP hash sources of inline style elements the page carries ('sha256-…'). */
  styleHashes?: string[];
  /** Where forms may go. Default 'self'. */
  formAction?: string;
}

/** The console's Content-Security-Policy; the launch-in-context page varies framing, inline style and forms. */
export function consoleCsp(opts: CspOptions = {}): string {
  const frameAncestors = opts.frameAncestors === undefined ? "'none'" : opts.frameAncestors;
  return [
    "default-src 'self'", "script-src 'self'", ["style-src 'self'", ...(opts.styleHashes ?? [])].join(' '), "img-src 'self' data:", "connect-src 'self'",
    "font-src 'self'", "object-src 'none'", ...(frameAncestors === null ? [] : [`frame-ancestors ${frameAncestors}`]), "base-uri 'none'",
    `form-action ${opts.formAction ?? "'self'"}`,
  ].join('; ');
}

export const CONSOLE_CSP = consoleCsp();

/** Paths that belong to the API and the compatibility surfaces: never answered with the console. */
const NOT_CONSOLE = /^\/(v1|healthz|readyz|metrics|api|sync|task|gateway|launch)(\/|$)/;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Flowgate</title></head>
<body><h1>The Flowgate console is not built</h1>
<p>The API works (see <a href="/v1/openapi.json">/v1/openapi.json</a>). To build the console, run
<code>node scripts/build-ui.mjs</code> in the Flowgate directory (it needs the dev dependencies:
<code>npm install</code>), or start the server with <code>npm start</code>, which builds it when needed.</p></body></html>`;

export interface ConsoleSite {
  /** Answers the request when it is the console's; false leaves it to the API's 404/405. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean;
  /** Whether a GET of the path is the console's (a page or an asset path). */
  serves(path: string): boolean;
  /** The built index.html (its hashed script and style tags), or null when the console is not built. */
  index(): Buffer | null;
}

/** Whether the request's Accept-Encoding takes gzip (and does not refuse it with q=0). */
function acceptsGzip(req: IncomingMessage): boolean {
  const header = req.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
}

/** The console served from `dir` (ui/dist); `dir` may not exist yet: a page then says how to build it. */
export function consoleSite(dir: string): ConsoleSite {
  const root = resolve(dir);
  const assets = join(root, 'assets');
  let index: { mtimeMs: number; body: Buffer } | null = null;
  const readIndex = (): Buffer | null => {
    const file = join(root, 'index.html');
    if (!existsSync(file)) return null;
    const st = statSync(file);
    if (!index || index.mtimeMs !== st.mtimeMs) index = { mtimeMs: st.mtimeMs, body: readFileSync(file) };
    return index.body;
  };

  const sendIndex = (req: IncomingMessage, res: ServerResponse): void => {
    const body = readIndex();
    securityHeaders(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    // Not built: a page saying so, with 503 (the server works, this part of it is not available).
    const page = body ?? Buffer.from(NOT_BUILT_PAGE);
    res.statusCode = body ? 200 : 503;
    res.setHeader('Content-Length', page.length);
    res.end(req.method === 'HEAD' ? undefined : page);
  };

  const sendAsset = (req: IncomingMessage, res: ServerResponse, rel: string): void => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      throw new FlowgateError('bad_request', 'the path is not valid percent-encoding');
    }
    const file = resolve(assets, decoded);
    // Nothing outside ui/dist/assets, whatever the path says (../, encoded slashes, NUL bytes).
    if (decoded.includes('\0') || !file.startsWith(assets + sep)) throw new FlowgateError('not_found', 'no such console file');
    let st;
    try {
      st = statSync(file);
    } catch {
      throw new FlowgateError('not_found', 'no such console file');
    }
    if (!st.isFile() || file.endsWith('.gz')) throw new FlowgateError('not_found', 'no such console file');
    securityHeaders(res);
    res.statusCode = 200;
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    // The build keeps a gzipped copy of each text asset beside it: sent to clients that accept gzip.
    let body = file;
    let size = st.size;
    const gz = `${file}.gz`;
    if (acceptsGzip(req) && existsSync(gz)) {
      body = gz;
      size = statSync(gz).size;
      res.setHeader('Content-Encoding', 'gzip');
    }
    res.setHeader('Vary', 'Accept-Encoding');
    res.setHeader('Content-Length', size);
    // File names carry a hash of their content: a new build makes new names.
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(body).on('error', () => res.destroy()).pipe(res);
  };

  const serves = (path: string): boolean => {
    if (NOT_CONSOLE.test(path)) return false;
    if (path.startsWith('/assets/')) return true;
    // A path with a file extension that is not an asset is a missing file, not a console route.
    const last = path.slice(path.lastIndexOf('/') + 1);
    return !(last.includes('.') && last !== '.' && last !== '..');
  };

  return {
    serves,
    index: readIndex,
    serve(req, res, path) {
      if ((req.method !== 'GET' && req.method !== 'HEAD') || !serves(path)) return false;
      if (path.startsWith('/assets/')) sendAsset(req, res, path.slice('/assets/'.length));
      else sendIndex(req, res);
      return true;
    },
  };
}
