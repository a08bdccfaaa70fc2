/** A step's side panel: each time it ran, its attempts with times, input, output, error, and for http steps the exchange. */
import { useEffect, useRef } from 'react';
import type { StepRecord } from '../../api/index.js';
import { Exchange, showValue } from '../../components/Exchange.js';
import { Button, StatusBadge } from '../../components/ui/index.js';
import { childCounts, formatDuration, type NodeState } from './run-states.js';
import { when } from './RunsPage.js';

export interface StepPanelProps {
  stepId: string;
  label: string;
  type: string;
  state: NodeState;
  records: StepRecord[];
  onClose: () => void;
}

function Value({ label, value }: { label: string; value: unknown }) {
  if (value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0)) return null;
  return (
    <div className="kv">
      <h4>{label}</h4>
      <pre className="code-block">{showValue(value)}</pre>
    </div>
  );
}

export function StepPanel({ stepId, label, type, state, records, onClose }: StepPanelProps) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => { heading.current?.focus(); }, [stepId]);
  return (
    <aside className="step-panel" aria-labelledby="step-panel-title">
      <div className="step-panel-head">
        <h2 id="step-panel-title" ref={heading} tabIndex={-1}>{label}</h2>
        <Button size="sm" variant="ghost" onClick={onClose} aria-label="Close the step panel">Close</Button>
      </div>
      <p className="muted"><span className="mono">{stepId}</span> · {type} · <StatusBadge status={state} /></p>
      {records.length === 0 ? <p className="muted">The run has not reached this step.</p> : null}
      {records.map((r, i) => {
        const counts = r.type === 'foreach' ? childCounts(r.output) : null;
        return (
          <section key={r.seq} className="step-record" aria-label={`Execution ${i + 1}`}>
            {records.length > 1 ? <h3>Execution {i + 1} of {records.length}</h3> : null}
            <p className="step-times">
              <StatusBadge status={r.status} /> started {when(r.started_at)}
              {r.finished_at ? <>, finished {when(r.finished_at)} ({formatDuration(r.duration_ms)})</> : null}
            </p>
            {counts ? <p className="foreach-stats">{counts.succeeded} succeeded · {counts.failed} failed · {counts.total} children</p> : null}
            {r.error ? <div className="problem" role="note"><strong>{r.error.code ?? 'error'}</strong><p>{r.error.message}</p></div> : null}
            <Value label="Input" value={r.input} />
            <Value label="Output" value={r.output} />
            {r.attempts.length ? (
              <div className="attempts">
                <h4>Attempts</h4>
                <ol>
                  {r.attempts.map((a) => (
                    <li key={a.n} className="attempt">
                      {a.request !== undefined || a.response !== undefined ? (
                        <Exchange title={`Attempt ${a.n}`} request={a.request} response={a.response} durationMs={a.duration_ms} error={a.error} />
                      ) : (
                        <>
                          <strong>Attempt {a.n}</strong> <span className="muted">{when(a.started_at)} · {formatDuration(a.duration_ms)}</span>
                          {a.error ? <p className="field-error">{a.error.class}: {a.error.message}</p> : null}
                        </>
                      )}
                      {a.request !== undefined || a.response !== undefined ? <p className="muted">{when(a.started_at)}</p> : null}
                    </li>
                  ))}
                </ol>
              </div>
            ) : null}
          </section>
        );
      })}
    </aside>
  );
}
