/**
 * One HTTP exchange as the API records it (an http step's attempt, a step test, a result delivery):
 * the request (method, URL, headers, body) and the answer (status, headers, body), with the time it
 * took and the error. Values are shown as the API gives them: secrets arrive redacted.
 */
import type { ReactNode } from 'react';

export interface ExchangeRequest {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  body?: unknown;
  body_truncated?: boolean;
  [field: string]: unknown;
}

export interface ExchangeResponse {
  status?: number;
  headers?: Record<string, unknown>;
  body?: unknown;
  truncated?: boolean;
  redirects?: { status: number; location: string }[];
  [field: string]: unknown;
}

export interface ExchangeProps {
  request?: unknown;
  response?: unknown;
  durationMs?: number | null;
  error?: { class?: string; message?: string } | string | null;
  /** A heading for the exchange (e.g. "Attempt 2"). */
  title?: ReactNode;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value as readable text: strings as they are, anything else as indented JSON. */
export function showValue(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

function Headers({ headers }: { headers: Record<string, unknown> | undefined }) {
  const entries = Object.entries(headers ?? {});
  if (!entries.length) return null;
  return (
    <dl className="exchange-headers">
      {entries.map(([k, v]) => (
        <div key={k} className="exchange-header"><dt>{k}</dt><dd>{Array.isArray(v) ? v.join(', ') : String(v)}</dd></div>
      ))}
    </dl>
  );
}

function statusTone(status: number | undefined): string {
  if (status === undefined) return 'neutral';
  if (status < 300) return 'good';
  if (status < 400) return 'info';
  if (status < 500) return 'warn';
  return 'bad';
}

export function Exchange({ request, response, durationMs, error, title }: ExchangeProps) {
  const req = (isObj(request) ? request : {}) as ExchangeRequest;
  const res = (isObj(response) ? response : null) as ExchangeResponse | null;
  const err = typeof error === 'string' ? { message: error } : error;
  return (
    <section className="exchange" aria-label={typeof title === 'string' ? title : 'HTTP exchange'}>
      {title || durationMs !== undefined ? (
        <div className="exchange-head">
          {title ? <strong>{title}</strong> : null}
          {durationMs !== undefined && durationMs !== null ? <span className="muted">{durationMs} ms</span> : null}
        </div>
      ) : null}
      <div className="exchange-part">
        <h4>Request</h4>
        <p className="exchange-line mono"><strong>{req.method ?? '—'}</strong> {req.url ?? ''}</p>
        <Headers headers={isObj(req.headers) ? req.headers : undefined} />
        {req.body !== undefined ? <pre className="code-block exchange-body">{showValue(req.body)}</pre> : null}
        {req.body_truncated ? <p className="muted">The body is cut at 64 KiB.</p> : null}
      </div>
      <div className="exchange-part">
        <h4>Answer</h4>
        {res ? (
          <>
            <p className="exchange-line"><span className={`badge badge-tone-${statusTone(res.status)}`}>{res.status ?? '—'}</span></p>
            {res.redirects?.length ? <p className="muted">Redirected: {res.redirects.map((r) => `${r.status} → ${r.location}`).join(', ')}</p> : null}
            <Headers headers={isObj(res.headers) ? res.headers : undefined} />
            {res.body !== undefined && res.body !== '' ? <pre className="code-block exchange-body">{showValue(res.body)}</pre> : <p className="muted">No body.</p>}
            {res.truncated ? <p className="muted">The body is cut (only its first part is kept).</p> : null}
          </>
        ) : <p className="muted">No answer.</p>}
      </div>
      {err?.message ? (
        <div className="problem" role="note"><strong>{err.class ?? 'error'}</strong><p>{err.message}</p></div>
      ) : null}
    </section>
  );
}
