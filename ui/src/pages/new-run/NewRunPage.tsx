/**
 * New run (MPO's "+ New Task"): the declared params as key-value rows, or the input as JSON; start
 * it plain (202 and a link to the run) or waiting for its reply; a 422's problems on their fields.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { Link } from 'wouter';
import { ApiError, startRun, type StartAnswer } from '../../api/index.js';
import { JsonEditor } from '../../components/editors.js';
import { Button, Empty, ErrorState, Input, Loading, Select, StatusBadge, Tabs } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { runPath, workflowPath } from '../workflow-actions.js';
import { useWorkflow } from '../useWorkflow.js';
import { dataFromRows, newUid, placeProblems, rowsFromData, rowsFromParams, type ParamRow } from './params.js';
import '../actions.css';

type Mode = 'fields' | 'json';

export function NewRunPage({ params }: { params: { id: string } }) {
  const id = decodeURIComponent(params.id);
  const wf = useWorkflow(id);
  const { can, role } = useRole();
  return (
    <section className="page">
      <Link href={workflowPath(id)} className="back-link">← {id}</Link>
      <h1>New run</h1>
      {wf.isPending ? <Loading label="Loading the workflow…" /> : null}
      {wf.isError ? <ErrorState error={wf.error} /> : null}
      {wf.data && role && !can('trigger') ? (
        <Empty title="Your key cannot start runs">
          <p>A <code>{role}</code> key reads only. Sign in with a trigger or admin key to start a run.</p>
        </Empty>
      ) : null}
      {wf.data && can('trigger') ? <NewRunForm workflow={id} params={wf.data.definition?.params} /> : null}
    </section>
  );
}

function NewRunForm({ workflow, params }: { workflow: string; params: unknown }) {
  const [mode, setMode] = useState<Mode>('fields');
  const [rows, setRows] = useState<ParamRow[]>(() => rowsFromParams(params));
  const [jsonText, setJsonText] = useState('{}');
  const [jsonProblem, setJsonProblem] = useState<string | null>(null);
  const [ref, setRef] = useState('');
  const [wait, setWait] = useState(false);
  const [waitSeconds, setWaitSeconds] = useState('30');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<StartAnswer | null>(null);
  const [rowProblems, setRowProblems] = useState<Map<string, string[]>>(new Map());

  useEffect(() => { setRows(rowsFromParams(params)); }, [params]);
  const declared = rows.filter((r) => r.declared);

  const switchTo = (next: string) => {
    if (next === mode) return;
    if (next === 'json') {
      setJsonText(JSON.stringify(dataFromRows(rows).data, null, 2));
      setJsonProblem(null);
      setMode('json');
      return;
    }
    try {
      const v: unknown = JSON.parse(jsonText);
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('The input must be a JSON object to show as fields.');
      setRows(rowsFromData(v as Record<string, unknown>, declared));
      setJsonProblem(null);
      setMode('fields');
    } catch (e) {
      setJsonProblem(e instanceof SyntaxError ? `The JSON does not parse (${e.message}): fix it to go back to the fields.` : (e as Error).message);
    }
  };

  const update = (uid: string, patch: Partial<ParamRow>) => setRows((rs) => rs.map((r) => (r.uid === uid ? { ...r, ...patch } : r)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setAnswer(null);
    setRowProblems(new Map());
    let input: { json: unknown } | { text: string };
    if (mode === 'fields') {
      const { data, problems } = dataFromRows(rows);
      if (problems.length) {
        setRowProblems(new Map(problems.map((p) => [p.uid, [p.message]])));
        return;
      }
      input = { json: data };
    } else {
      try {
        JSON.parse(jsonText);
      } catch (err) {
        setJsonProblem(`The JSON does not parse: ${(err as Error).message}`);
        return;
      }
      setJsonProblem(null);
      input = { text: jsonText };
    }
    const seconds = Math.min(300, Math.max(1, Math.round(Number(waitSeconds) || 30)));
    setBusy(true);
    try {
      setAnswer(await startRun(workflow, input, { wait: wait ? seconds : undefined, ref: ref.trim() || undefined }));
    } catch (err) {
      if (err instanceof ApiError && err.errors.length && mode === 'fields') {
        const placed = placeProblems(rows, err.errors);
        setRowProblems(placed.byRow);
        setError(placed.rest.length ? new ApiError({ ...err.problem, errors: placed.rest }) : new ApiError({ ...err.problem, errors: [] }));
      } else setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} noValidate>
      <div className="panel">
        <Tabs tabs={[{ id: 'fields', label: 'Fields' }, { id: 'json', label: 'JSON' }]} value={mode} onChange={switchTo} label="How to give the input">
          {mode === 'fields' ? (
            <div className="kv-rows">
              {rows.length === 0 ? <p className="muted">The workflow declares no params: add any field the run should get, or leave it empty.</p> : null}
              {rows.map((r, i) => (
                <RowEditor key={r.uid} row={r} index={i} problems={rowProblems.get(r.uid)} onChange={(p) => update(r.uid, p)} onRemove={() => setRows((rs) => rs.filter((x) => x.uid !== r.uid))} />
              ))}
              <div><Button size="sm" onClick={() => setRows((rs) => [...rs, { uid: newUid(), key: '', value: '', declared: false }])}>Add field</Button></div>
            </div>
          ) : (
            <>
              <JsonEditor label="Run input (JSON)" value={jsonText} onChange={setJsonText} />
              {jsonProblem ? <div className="field-error" role="alert">{jsonProblem}</div> : null}
            </>
          )}
        </Tabs>
        {mode === 'fields' && jsonProblem ? <div className="field-error" role="alert">{jsonProblem}</div> : null}
      </div>
      <div className="panel">
        <div className="form-grid">
          <Input label="Ref (optional)" hint="Idempotency: the same ref with the same input returns the same run." value={ref} onChange={(e) => setRef(e.target.value)} maxLength={255} />
        </div>
        <label className="check"><input type="checkbox" checked={wait} onChange={(e) => setWait(e.target.checked)} /> Wait for the reply</label>
        {wait ? (
          <div className="form-grid">
            <Input label="Wait up to (seconds)" type="number" min={1} max={300} value={waitSeconds} onChange={(e) => setWaitSeconds(e.target.value)} />
          </div>
        ) : null}
        <div className="actions-row">
          <Button type="submit" variant="primary" busy={busy}>{wait ? 'Start and wait' : 'Start run'}</Button>
        </div>
      </div>
      {error ? <ErrorState error={error} /> : null}
      {rowProblems.size > 0 && !error ? <div className="problem" role="alert"><strong>The input is not valid</strong><p>The problems are shown on their fields.</p></div> : null}
      {answer ? <StartResult answer={answer} /> : null}
    </form>
  );
}

function RowEditor({ row, index, problems, onChange, onRemove }: { row: ParamRow; index: number; problems?: string[]; onChange: (p: Partial<ParamRow>) => void; onRemove: () => void }) {
  const error = problems?.join('; ') ?? null;
  if (!row.declared) {
    return (
      <div className="kv-row">
        <Input label={`Field ${index + 1} name`} value={row.key} onChange={(e) => onChange({ key: e.target.value })} className="mono" autoComplete="off" error={error} />
        <Input label={`Field ${index + 1} value`} value={row.value} onChange={(e) => onChange({ value: e.target.value })} autoComplete="off" />
        <Button size="sm" variant="ghost" className="kv-remove" onClick={onRemove} aria-label={`Remove field ${index + 1}`}>Remove</Button>
      </div>
    );
  }
  const meta = [row.type ?? 'any', row.required ? 'required' : row.placeholder !== undefined ? `default ${row.placeholder}` : 'optional'].join(' · ');
  const hint = row.description ? `${meta} — ${row.description}` : meta;
  const label = row.required ? `${row.key} *` : row.key;
  return (
    <div className="kv-row kv-row-declared">
      {row.options ? (
        <Select
          label={label}
          hint={hint}
          value={row.value}
          onChange={(e) => onChange({ value: e.target.value })}
          error={error}
          options={[{ value: '', label: row.placeholder !== undefined ? `(default: ${row.placeholder})` : '(none)' }, ...row.options.map((o) => ({ value: o, label: o }))]}
        />
      ) : (
        <Input label={label} hint={hint} value={row.value} placeholder={row.placeholder} onChange={(e) => onChange({ value: e.target.value })} autoComplete="off" error={error} aria-required={row.required || undefined} />
      )}
    </div>
  );
}

function StartResult({ answer }: { answer: StartAnswer }) {
  if (answer.kind === 'accepted') {
    return (
      <div className="result-box" role="status">
        <strong>Run created</strong>
        <p>
          <Link href={runPath(answer.run.id)} className="mono">{answer.run.id}</Link> <StatusBadge status={answer.run.status} />
          {answer.run.ref ? <> ref <code>{answer.run.ref}</code></> : null}
        </p>
      </div>
    );
  }
  const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body, null, 2);
  return (
    <div className="result-box" role="status">
      <strong>The run answered {answer.status}</strong>
      <p><Link href={runPath(answer.runId)} className="mono">{answer.runId}</Link> {answer.runStatus ? <StatusBadge status={answer.runStatus} /> : null}</p>
      <pre className="code-block" aria-label="Reply">{body}</pre>
    </div>
  );
}
