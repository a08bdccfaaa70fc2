import type { ReactNode } from 'react';
import { describeError } from '../../api/problem.js';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function Empty({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <h2>{title}</h2>
      {children}
      {action ? <div className="state-action">{action}</div> : null}
    </div>
  );
}

/** An API problem as its title and detail, with each field problem listed. */
export function ErrorState({ error, action }: { error: unknown; action?: ReactNode }) {
  const p = describeError(error);
  return (
    <div className="state state-error problem" role="alert">
      <h2>{p.title}</h2>
      {p.detail ? <p>{p.detail}</p> : null}
      {p.errors.length ? (
        <ul>
          {p.errors.map((e, i) => <li key={i}><code>{e.path || '(definition)'}</code> {e.message}</li>)}
        </ul>
      ) : null}
      {action ? <div className="state-action">{action}</div> : null}
    </div>
  );
}
