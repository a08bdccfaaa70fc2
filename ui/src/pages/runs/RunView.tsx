/**
 * What a run page shows, from data handed in: the run's status, progress and times; its workflow's
 * steps coloured by state with the path taken; the selected step's panel; the run's data, reply and
 * `foreach` statistics. Used by the run page (signed in, with actions and links) and by the
 * launch-in-context view (read-only, no links out).
 */
import { useMemo, useState, type ReactNode } from 'react';
import { isTerminalStatus, type Run, type StepRecord } from '../../api/index.js';
import { showValue } from '../../components/Exchange.js';
import { StatusBadge } from '../../components/ui/index.js';
import { WorkflowGraph, type StepState } from '../../graph/WorkflowGraph.js';
import { childCounts, definitionStepIds, formatDuration, runDuration, runStates, type NodeState } from './run-states.js';
import { StepPanel } from './StepPanel.js';
import { useNow, when } from './RunsPage.js';

interface StepDef {
  id: string;
  type: string;
  name?: string;
}

export interface RunViewProps {
  run: Run;
  steps: StepRecord[];
  definition: Record<string, unknown> | null;
  workflowName?: string | null;
  /** The run's actions (by role); absent in the read-only view. */
  actions?: ReactNode;
  /** Links to the workflow, the parent, … (absent in the read-only view). */
  links?: ReactNode;
  /** Sections after the run's own data (children, deliveries). */
  children?: ReactNode;
}

const STATE_WORD: Record<NodeState, string> = {
  not_reached: 'not reached', running: 'running', parked: 'parked', succeeded: 'succeeded', failed: 'failed', skipped: 'skipped', cancelled: 'cancelled',
};

function defSteps(definition: Record<string, unknown> | null): StepDef[] {
  const ids = definitionStepIds(definition);
  const raw = (definition?.steps ?? []) as Record<string, unknown>[];
  return ids.map((id) => {
    const s = raw.find((x) => x && x.id === id) ?? {};
    return { id, type: typeof s.type === 'string' ? s.type : 'step', name: typeof s.name === 'string' ? s.name : undefined };
  });
}

export function RunView({ run, steps, definition, workflowName, actions, links, children }: RunViewProps) {
  const [selected, setSelected] = useState<string | null>(null);
  const defs = useMemo(() => defSteps(definition), [definition]);
  const reading = useMemo(() => runStates(defs.map((d) => d.id), steps, run.status), [defs, steps, run.status]);
  // Records of steps the definition does not name (a version without them) are still listed.
  const all: StepDef[] = useMemo(() => [
    ...defs,
    ...Object.keys(reading.states).filter((id) => !defs.some((d) => d.id === id)).map((id) => ({ id, type: reading.records[id]?.[0]?.type ?? 'step' })),
  ], [defs, reading]);
  const active = !isTerminalStatus(run.status);
  const now = useNow(active);
  const stats = childCounts(run.data?.stats);
  const order = new Map<string, number[]>();
  reading.path.forEach((id, i) => order.set(id, [...(order.get(id) ?? []), i + 1]));
  const sel = selected ? all.find((s) => s.id === selected) : undefined;
  // The graph knows the six states of a step; a step a cancel stopped is drawn as not carried on.
  const graphStates = useMemo(() => Object.fromEntries(Object.entries(reading.states)
    .map(([id, st]) => [id, (st === 'cancelled' ? 'skipped' : st) as StepState])), [reading.states]);

  return (
    <div className="run-view">
      <header className="run-head">
        <div>
          <h1>{workflowName || run.workflow} <span className="muted run-id mono" title={run.id}>run {run.id}</span></h1>
          <p className="run-meta">
            <span id="run-status"><StatusBadge status={run.status} /></span>
            <span>workflow <span className="mono">{run.workflow}</span> v{run.version}</span>
            {run.ref ? <span>ref <span className="mono">{run.ref}</span></span> : null}
            <span>started {when(run.started_at ?? run.created_at)}</span>
            {run.finished_at ? <span>finished {when(run.finished_at)}</span> : null}
            <span>{formatDuration(runDuration(run, now))}</span>
          </p>
          {links ? <p className="run-links">{links}</p> : null}
        </div>
        {actions ? <div className="run-actions">{actions}</div> : null}
      </header>
      {active && run.progress > 0 ? (
        <p className="run-progress"><progress max={100} value={run.progress} aria-label="Progress" /> {Math.floor(run.progress)}%</p>
      ) : null}
      {stats ? <p className="foreach-stats">Children: {stats.succeeded} succeeded · {stats.failed} failed · {stats.total} in all</p> : null}
      {run.status === 'failed' && run.error ? (
        <div className="problem" role="note"><strong>The run failed{run.error.step ? ` at ${run.error.step}` : ''}</strong><p>{run.error.message}</p></div>
      ) : null}
      {run.status === 'waiting' && run.wake_at ? <p className="muted">Parked until {when(run.wake_at)}.</p> : null}

      {definition ? (
        <section className="run-graph" aria-label="Run graph">
          <WorkflowGraph definition={definition} states={graphStates} path={reading.path} selected={selected} onSelect={(id) => setSelected(selected === id ? null : id)} label="Run graph" className="run-graph-canvas" />
        </section>
      ) : null}
      <div className={`run-body${sel ? ' with-panel' : ''}`}>
        <section className="run-steps" aria-labelledby="steps-title">
          <h2 id="steps-title">Steps</h2>
          {all.length === 0 ? <p className="muted">The workflow's definition is not available, and no step has run yet.</p> : null}
          <ol className="step-flow">
            {all.map((s, i) => {
              const state = reading.states[s.id] ?? 'not_reached';
              const next = all[i + 1];
              const onPath = next ? reading.taken.has(`${s.id}→${next.id}`) : false;
              const seen = order.get(s.id);
              return (
                <li key={s.id} className={`step-node state-${state}${onPath ? ' path-next' : ''}${seen ? ' on-path' : ''}`} data-step={s.id} data-state={state}>
                  <button type="button" className={`step-card${selected === s.id ? ' step-selected' : ''}`} onClick={() => setSelected(selected === s.id ? null : s.id)} aria-pressed={selected === s.id}>
                    <span className="step-name">{s.name ?? s.id}</span>
                    <span className="step-sub"><span className="mono">{s.type}</span>{s.name ? <> · <span className="mono">{s.id}</span></> : null}</span>
                    <span className="step-state"><StatusBadge status={state} />{(reading.times[s.id] ?? 0) > 1 ? <span className="muted"> ×{reading.times[s.id]}</span> : null}</span>
                    {seen ? <span className="step-order" aria-label={`position ${seen.join(', ')} in the run`}>{seen.join(', ')}</span> : null}
                  </button>
                </li>
              );
            })}
          </ol>
          {reading.path.length ? (
            <p className="run-path"><span className="muted">Path taken:</span> {reading.path.join(' → ')}</p>
          ) : null}
          <p className="legend muted" aria-hidden="true">
            {(['not_reached', 'running', 'parked', 'succeeded', 'failed', 'skipped'] as NodeState[]).map((st) => <span key={st} className={`legend-item state-${st}`}>{STATE_WORD[st]}</span>)}
          </p>
        </section>
        {sel ? (
          <StepPanel stepId={sel.id} label={sel.name ?? sel.id} type={sel.type} state={reading.states[sel.id] ?? 'not_reached'} records={reading.records[sel.id] ?? []} onClose={() => setSelected(null)} />
        ) : null}
      </div>

      <section className="run-data" aria-labelledby="data-title">
        <h2 id="data-title">Data</h2>
        <div className="data-grid">
          <div className="kv"><h4>Input</h4><pre className="code-block">{showValue(run.input ?? {})}</pre></div>
          <div className="kv"><h4>Data</h4><pre className="code-block">{showValue(run.data ?? {})}</pre></div>
          <div className="kv">
            <h4>Reply</h4>
            {run.reply ? <pre className="code-block">{showValue(run.reply)}</pre> : <p className="muted">No reply yet.</p>}
          </div>
        </div>
      </section>
      {children}
    </div>
  );
}
