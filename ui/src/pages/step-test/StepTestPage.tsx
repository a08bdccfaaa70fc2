/**
 * Test an http step (Trifacta's Test button): a step of the workflow's current version (saved), or a
 * step as it is being edited (unsaved, its JSON), run once on sample data; the exchange is shown as
 * the run page shows a step's (request, answer, duration, error) with what the step would do next.
 */
import { useMemo, useState } from 'react';
import { Link, useSearch } from 'wouter';
import { testSavedStep, testUnsavedStep, type StepTestResult } from '../../api/index.js';
import { Exchange, showValue } from '../../components/Exchange.js';
import { JsonEditor } from '../../components/editors.js';
import { Badge, Button, Empty, ErrorState, Loading, Select } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { workflowPath } from '../workflow-actions.js';
import { useWorkflow } from '../useWorkflow.js';
import '../actions.css';

type StepDef = Record<string, unknown> & { id: string; type: string };

/** The http steps of a definition, nested ones (a foreach's or a branch's `steps`) included. */
export function httpSteps(definition: unknown): StepDef[] {
  const out: StepDef[] = [];
  const walk = (steps: unknown) => {
    if (!Array.isArray(steps)) return;
    for (const s of steps) {
      if (!s || typeof s !== 'object') continue;
      const st = s as Record<string, unknown>;
      if (st.type === 'http' && typeof st.id === 'string') out.push(st as StepDef);
      walk(st.steps);
    }
  };
  walk((definition as Record<string, unknown> | undefined)?.steps);
  return out;
}

const NEW_STEP = { id: 'try', type: 'http', method: 'GET', url: 'https://example.com/' };

export function StepTestPage({ params }: { params: { id: string } }) {
  const id = decodeURIComponent(params.id);
  const search = new URLSearchParams(useSearch());
  const wf = useWorkflow(id);
  const { can, role } = useRole();
  return (
    <section className="page">
      <Link href={workflowPath(id)} className="back-link">← {id}</Link>
      <h1>Test an http step</h1>
      {wf.isPending ? <Loading label="Loading the workflow…" /> : null}
      {wf.isError ? <ErrorState error={wf.error} /> : null}
      {wf.data && role && !can('admin') ? (
        <Empty title="Testing a step needs an admin key">
          <p>A test sends a real request from the server; a <code>{role}</code> key cannot.</p>
        </Empty>
      ) : null}
      {wf.data && can('admin') ? <StepTester workflow={id} definition={wf.data.definition} initialStep={search.get('step') ?? undefined} /> : null}
    </section>
  );
}

export interface StepTesterProps {
  /** The saved workflow the test runs in the context of. */
  workflow: string;
  /** The definition whose http steps are offered (the saved one, or the one being edited). */
  definition: unknown;
  /** The step to preselect. */
  initialStep?: string;
  /** Start on the unsaved tab with this step (e.g. the editor's current text for the step). */
  unsavedStep?: Record<string, unknown>;
  sampleData?: Record<string, unknown>;
}

/** The test form and its result; the workflow page can embed it beside its editor. */
export function StepTester({ workflow, definition, initialStep, unsavedStep, sampleData }: StepTesterProps) {
  const steps = useMemo(() => httpSteps(definition), [definition]);
  const [source, setSource] = useState<'saved' | 'unsaved'>(unsavedStep || steps.length === 0 ? 'unsaved' : 'saved');
  const [stepId, setStepId] = useState(initialStep && steps.some((s) => s.id === initialStep) ? initialStep : steps[0]?.id ?? '');
  const chosen = steps.find((s) => s.id === stepId);
  const [stepText, setStepText] = useState(() => JSON.stringify(unsavedStep ?? chosen ?? NEW_STEP, null, 2));
  const [dataText, setDataText] = useState(() => JSON.stringify(sampleData ?? {}, null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<StepTestResult | null>(null);

  const parseObject = (text: string, what: string): Record<string, unknown> | null => {
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
      setProblem(`${what} must be a JSON object.`);
    } catch (e) {
      setProblem(`${what} does not parse: ${(e as Error).message}`);
    }
    return null;
  };

  const run = async () => {
    setProblem(null); setError(null); setResult(null);
    const data = parseObject(dataText, 'The sample data');
    if (!data) return;
    let step: Record<string, unknown> | null = null;
    if (source === 'unsaved') {
      step = parseObject(stepText, 'The step');
      if (!step) return;
    }
    setBusy(true);
    try {
      setResult(source === 'saved' ? await testSavedStep(workflow, stepId, data) : await testUnsavedStep(step!, data, workflow));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <div className="panel">
        <fieldset className="check-group">
          <legend>Which step</legend>
          <label className="check"><input type="radio" name="source" checked={source === 'saved'} disabled={steps.length === 0} onChange={() => setSource('saved')} /> A saved step of the current version</label>
          <label className="check"><input type="radio" name="source" checked={source === 'unsaved'} onChange={() => setSource('unsaved')} /> A step as edited (not saved)</label>
        </fieldset>
        {source === 'saved' ? (
          steps.length ? (
            <>
              <div className="field-wide">
                <Select label="Step" value={stepId} onChange={(e) => setStepId(e.target.value)} options={steps.map((s) => ({ value: s.id, label: `${s.id}${typeof s.name === 'string' ? ` — ${s.name}` : ''}` }))} />
              </div>
              {chosen ? <pre className="code-block" aria-label="The saved step">{showValue(chosen)}</pre> : null}
              <div className="actions-row">
                <Button size="sm" onClick={() => { setStepText(JSON.stringify(chosen, null, 2)); setSource('unsaved'); }}>Edit a copy before testing</Button>
              </div>
            </>
          ) : <p className="muted">The current version has no http step: test one as edited.</p>
        ) : (
          <JsonEditor label="Step (JSON)" value={stepText} onChange={setStepText} />
        )}
      </div>
      <div className="panel">
        <JsonEditor label="Sample data (JSON)" value={dataText} onChange={setDataText} />
        {problem ? <div className="field-error" role="alert">{problem}</div> : null}
        <div className="actions-row">
          <Button variant="primary" busy={busy} onClick={run} disabled={source === 'saved' && !stepId}>Test</Button>
          <span className="muted">The request really goes out (through the server's address guard); nothing is stored.</span>
        </div>
      </div>
      {error ? <ErrorState error={error} /> : null}
      {result ? <TestOutcome result={result} /> : null}
    </>
  );
}

const TONE: Record<string, 'good' | 'bad' | 'warn' | 'info'> = { continue: 'good', fail: 'bad', retry: 'warn', follow: 'info' };

function TestOutcome({ result }: { result: StepTestResult }) {
  const { kind, ...rest } = result.outcome ?? { kind: 'unknown' };
  const detail = Object.keys(rest).length ? rest : null;
  return (
    <div className="panel" aria-label="Test result">
      <h2>Result <Badge tone={TONE[kind] ?? 'neutral'}>{kind}</Badge></h2>
      <Exchange
        request={result.request}
        response={result.response}
        durationMs={result.duration_ms}
        error={result.error ? { class: result.error.code, message: result.error.message } : null}
      />
      {detail ? (
        <>
          <h3>{kind === 'continue' ? 'The data the step would set' : 'Outcome'}</h3>
          <pre className="code-block" aria-label="Outcome">{showValue(kind === 'continue' ? rest.data : detail)}</pre>
        </>
      ) : null}
    </div>
  );
}
