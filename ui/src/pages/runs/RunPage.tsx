/**
 * A run's page (/runs/:id): the run view, live through GET /v1/runs/{id}/events, with the actions
 * the caller's role allows (cancel, retry from the failed step or the start, resume a waiting run
 * with a JSON body), the parent and children links and the result deliveries.
 */
import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'wouter';
import {
  cancelRun, describeError, getRun, getWorkflowVersion, isTerminalStatus, listRuns, resumeRun, retryRun, runDeliveries, runSteps,
  type Run, type StepRecord,
} from '../../api/index.js';
import { Exchange } from '../../components/Exchange.js';
import { Button, Confirm, Dialog, Empty, ErrorState, Loading, StatusBadge } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { upsertStep, useRunEvents } from './live.js';
import { RunView } from './RunView.js';
import { shortId, when } from './RunsPage.js';

function ResumeDialog({ open, run, onClose, onDone }: { open: boolean; run: Run; onClose: () => void; onDone: () => void }) {
  const [text, setText] = useState('{\n  \n}');
  const [problem, setProblem] = useState<{ title: string; detail: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const send = async () => {
    setProblem(null);
    let body: unknown;
    try {
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch (e) {
      setProblem({ title: 'The body is not JSON', detail: e instanceof Error ? e.message : String(e) });
      return;
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      setProblem({ title: 'The body must be a JSON object', detail: 'Its fields are merged into the run\'s data.' });
      return;
    }
    setBusy(true);
    try {
      await resumeRun(run.callback_url!, body);
      onDone();
      onClose();
    } catch (e) {
      setProblem(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} title="Resume the waiting run" onClose={onClose} actions={<><Button onClick={onClose}>Cancel</Button><Button variant="primary" busy={busy} onClick={send}>Resume</Button></>}>
      <p className="muted">The body is sent to the run's callback URL, as a client would (POST /v1/callbacks/&#123;token&#125;).</p>
      <div className="field">
        <label htmlFor="resume-body">JSON body</label>
        <textarea id="resume-body" className="input code-input" rows={8} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
      </div>
      {problem ? <div className="problem" role="alert"><strong>{problem.title}</strong>{problem.detail ? <p>{problem.detail}</p> : null}</div> : null}
    </Dialog>
  );
}

function Actions({ run, refresh }: { run: Run; refresh: () => void }) {
  const { can } = useRole();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [resume, setResume] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (!can('trigger')) return null;
  const retry = async (fromStart: boolean) => {
    setError(null);
    try {
      await retryRun(run.id, fromStart);
      refresh();
    } catch (e) {
      setError(e);
    }
  };
  const done = isTerminalStatus(run.status);
  return (
    <>
      {run.status === 'waiting' && run.callback_url ? <Button variant="primary" onClick={() => setResume(true)}>Resume…</Button> : null}
      {run.status === 'failed' ? <Button variant="primary" onClick={() => retry(false)}>Retry from the failed step</Button> : null}
      {run.status === 'failed' ? <Button onClick={() => retry(true)}>Retry from the start</Button> : null}
      {!done ? <Button variant="danger" onClick={() => setConfirmCancel(true)}>Cancel run</Button> : null}
      {error ? <div className="action-error"><ErrorState error={error} /></div> : null}
      <Confirm
        open={confirmCancel}
        title="Cancel this run?"
        message={<p>The run stops where it is and ends as cancelled. This cannot be undone (a cancelled run is not retried).</p>}
        confirmLabel="Cancel the run"
        danger
        onConfirm={async () => { await cancelRun(run.id); refresh(); }}
        onClose={() => setConfirmCancel(false)}
      />
      <ResumeDialog open={resume} run={run} onClose={() => setResume(false)} onDone={refresh} />
    </>
  );
}

export function RunPage({ params }: { params: { id: string } }) {
  const id = params.id;
  const qc = useQueryClient();
  const run = useQuery({ queryKey: ['run', id], queryFn: ({ signal }) => getRun(id, signal) });
  const steps = useQuery({ queryKey: ['run-steps', id], queryFn: ({ signal }) => runSteps(id, signal) });
  const wf = useQuery({
    queryKey: ['workflow-version', run.data?.workflow, run.data?.version],
    queryFn: ({ signal }) => getWorkflowVersion(run.data!.workflow, run.data!.version, signal),
    enabled: !!run.data, staleTime: Infinity,
  });
  const done = run.data ? isTerminalStatus(run.data.status) : false;
  const children = useQuery({ queryKey: ['run-children', id, run.data?.status], queryFn: ({ signal }) => listRuns({ parent: id, limit: 100 }, signal), enabled: !!run.data });
  const deliveries = useQuery({ queryKey: ['run-deliveries', id, run.data?.status], queryFn: ({ signal }) => runDeliveries(id, signal), enabled: !!run.data?.result_url });
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['run', id] });
    void qc.invalidateQueries({ queryKey: ['run-steps', id] });
  };
  useRunEvents(run.data ? id : null, done, {
    onRun: (r) => {
      qc.setQueryData<Run>(['run', id], (old) => ({ ...old, ...r }));
      // The stream closes when the run ends, maybe before its last step records came: read them once more.
      if (isTerminalStatus(r.status)) void qc.invalidateQueries({ queryKey: ['run-steps', id] });
    },
    onStep: (s) => qc.setQueryData<StepRecord[]>(['run-steps', id], (old) => upsertStep(old, s)),
    onRefresh: refresh,
  });

  if (run.isPending) return <section className="page"><Loading label="Loading the run…" /></section>;
  if (run.isError) return <section className="page"><ErrorState error={run.error} action={<Link href="/runs">All runs</Link>} /></section>;
  const r = run.data;
  const links = (
    <>
      <Link href={`/workflows/${encodeURIComponent(r.workflow)}`}>Workflow {r.workflow}</Link>
      <Link href={`/runs?workflow=${encodeURIComponent(r.workflow)}`}>Its runs</Link>
      {r.parent_run_id ? <Link href={`/runs/${r.parent_run_id}`}>Parent run {shortId(r.parent_run_id)}</Link> : null}
    </>
  );
  return (
    <section className="page">
      <nav className="crumbs" aria-label="Breadcrumb"><Link href="/runs">Runs</Link> / <span className="mono">{shortId(r.id)}</span></nav>
      {steps.isError ? <ErrorState error={steps.error} /> : null}
      {wf.isError ? <p className="muted">The workflow's definition could not be read ({describeError(wf.error).title}); the steps that ran are listed.</p> : null}
      <RunView run={r} steps={steps.data ?? []} definition={wf.data?.definition ?? null} workflowName={wf.data?.name} actions={<Actions run={r} refresh={refresh} />} links={links}>
        {children.data && children.data.items.length ? (
          <section aria-labelledby="children-title">
            <h2 id="children-title">Child runs</h2>
            <ul className="child-runs">
              {children.data.items.map((c) => (
                <li key={c.id}><Link href={`/runs/${c.id}`} className="mono">{shortId(c.id)}</Link> <span className="mono">{c.workflow}</span> <StatusBadge status={c.status} /></li>
              ))}
            </ul>
            {children.data.next_cursor ? <p><Link href={`/runs?parent=${r.id}`}>All child runs</Link></p> : null}
          </section>
        ) : null}
        {r.result_url ? (
          <section aria-labelledby="deliveries-title">
            <h2 id="deliveries-title">Result deliveries</h2>
            <p className="muted">To <span className="mono">{r.result_url}</span></p>
            {deliveries.isError ? <ErrorState error={deliveries.error} /> : null}
            {deliveries.data && deliveries.data.length === 0 ? <Empty title="Nothing delivered yet"><p>The result is sent when the run ends.</p></Empty> : null}
            {deliveries.data?.map((d) => (
              <div key={d.id} className="delivery">
                <p><StatusBadge status={d.status === 'delivered' ? 'succeeded' : d.status === 'failed' ? 'failed' : 'waiting'} /> {d.status} · {d.attempts.length} attempt{d.attempts.length === 1 ? '' : 's'}{d.next_attempt_at ? ` · next ${when(d.next_attempt_at)}` : ''}</p>
                {d.attempts.map((a) => (
                  <Exchange key={a.n} title={`Attempt ${a.n}`} request={a.request} response={a.status || a.response ? { status: a.status ?? undefined, ...(a.response && typeof a.response === 'object' ? a.response : {}) } : undefined} durationMs={a.duration_ms} error={a.error ?? null} />
                ))}
              </div>
            ))}
          </section>
        ) : null}
      </RunView>
    </section>
  );
}
