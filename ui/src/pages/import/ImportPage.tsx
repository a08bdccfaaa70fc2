/**
 * Import from CSV: choose the file and how to read it, see the first rows as the server parsed them
 * (with each bad row's problems), then import with a progress bar; the result's counts and the
 * failed rows as a CSV download.
 */
import { useState } from 'react';
import { Link } from 'wouter';
import { importCsv, previewImport, type ImportOptions, type ImportResult } from '../../api/index.js';
import { Badge, Button, Empty, ErrorState, Field, Input, Loading, Select } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { workflowPath } from '../workflow-actions.js';
import { useWorkflow } from '../useWorkflow.js';
import { delimiterName, previewModel, type PreviewModel } from './preview.js';
import '../actions.css';

const PREVIEW_ROWS = 20;
const ROW_TONE = { ok: 'good', duplicate: 'neutral', failed: 'bad' } as const;
const ROW_LABEL = { ok: 'ok', duplicate: 'duplicate', failed: 'bad' } as const;

export function ImportPage({ params }: { params: { id: string } }) {
  const id = decodeURIComponent(params.id);
  const wf = useWorkflow(id);
  const { can, role } = useRole();
  return (
    <section className="page">
      <Link href={workflowPath(id)} className="back-link">← {id}</Link>
      <h1>Import from CSV</h1>
      {wf.isPending ? <Loading label="Loading the workflow…" /> : null}
      {wf.isError ? <ErrorState error={wf.error} /> : null}
      {wf.data && role && !can('trigger') ? (
        <Empty title="Your key cannot start runs">
          <p>A <code>{role}</code> key reads only. Sign in with a trigger or admin key to import.</p>
        </Empty>
      ) : null}
      {wf.data && can('trigger') ? <ImportForm workflow={id} /> : null}
    </section>
  );
}

function ImportForm({ workflow }: { workflow: string }) {
  const [file, setFile] = useState<File | null>(null);
  const [opts, setOpts] = useState<ImportOptions>({ delimiter: '', encoding: 'utf-8', header: true, refColumn: '', partial: false });
  const [preview, setPreview] = useState<PreviewModel | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [importing, setImporting] = useState(false);
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<unknown>(null);

  // A change in how the file is read makes the preview stale; all-or-nothing vs partial does not.
  const set = (patch: Partial<ImportOptions>) => {
    setOpts((o) => ({ ...o, ...patch }));
    if (Object.keys(patch).some((k) => k !== 'partial')) setPreview(null);
    setResult(null);
  };

  const runPreview = async () => {
    if (!file) return;
    setError(null); setResult(null); setPreviewing(true);
    try {
      setPreview(previewModel(await previewImport(workflow, file, opts, PREVIEW_ROWS)));
    } catch (e) {
      setPreview(null); setError(e);
    } finally {
      setPreviewing(false);
    }
  };

  const runImport = async () => {
    if (!file) return;
    setError(null); setResult(null); setImporting(true); setProgress({ sent: 0, total: file.size });
    try {
      setResult(await importCsv(workflow, file, opts, (sent, total) => setProgress({ sent, total })));
    } catch (e) {
      setError(e);
    } finally {
      setImporting(false);
    }
  };

  const pct = progress && progress.total > 0 ? Math.round((progress.sent / progress.total) * 100) : 0;

  return (
    <>
      <div className="panel">
        <Field label="CSV file" hint={file ? `${file.name}, ${formatBytes(file.size)}` : 'One run per row.'}>
          {(control) => (
            <input {...control} className="input" type="file" accept=".csv,text/csv,text/plain" onChange={(e) => { setFile(e.target.files?.[0] ?? null); setPreview(null); setResult(null); setError(null); }} />
          )}
        </Field>
        <div className="form-grid">
          <Select label="Delimiter" value={opts.delimiter} onChange={(e) => set({ delimiter: e.target.value as ImportOptions['delimiter'] })}
            options={[{ value: '', label: 'Detect' }, { value: ',', label: 'Comma ,' }, { value: ';', label: 'Semicolon ;' }, { value: '|', label: 'Pipe |' }]} />
          <Select label="Encoding" value={opts.encoding} onChange={(e) => set({ encoding: e.target.value as ImportOptions['encoding'] })}
            options={[{ value: 'utf-8', label: 'UTF-8' }, { value: 'windows-1251', label: 'Windows-1251' }]} />
          <Input label="Ref column (optional)" hint="Each row's ref: a repeated import skips rows already started." value={opts.refColumn} onChange={(e) => set({ refColumn: e.target.value })} autoComplete="off" />
        </div>
        <label className="check"><input type="checkbox" checked={opts.header} onChange={(e) => set({ header: e.target.checked })} /> Parameter names are in the first row</label>
        <fieldset className="check-group">
          <legend>When some rows are bad</legend>
          <label className="check"><input type="radio" name="mode" checked={!opts.partial} onChange={() => set({ partial: false })} /> All or nothing: create no run</label>
          <label className="check"><input type="radio" name="mode" checked={opts.partial} onChange={() => set({ partial: true })} /> Partial: create the good rows</label>
        </fieldset>
        <div className="actions-row">
          <Button onClick={runPreview} disabled={!file} busy={previewing}>Preview</Button>
          <Button variant="primary" onClick={runImport} disabled={!file} busy={importing}>Import</Button>
        </div>
        {progress && (importing || result) ? (
          <div className="field upload-progress">
            <label htmlFor="import-progress">{importing ? `Uploading… ${pct}%` : 'Uploaded'}</label>
            <progress id="import-progress" className="progress" max={100} value={pct}>{pct}%</progress>
          </div>
        ) : null}
      </div>
      {error ? <ErrorState error={error} /> : null}
      {result ? <ImportOutcome result={result} /> : null}
      {preview ? <PreviewTable model={preview} /> : null}
    </>
  );
}

function PreviewTable({ model }: { model: PreviewModel }) {
  const bad = model.failed;
  return (
    <div className="panel" aria-label="Preview">
      <h2>Preview</h2>
      <p>
        {model.total} {model.total === 1 ? 'row' : 'rows'}, {bad} bad{model.duplicates ? `, ${model.duplicates} duplicates` : ''}
        {model.delimiter || model.encoding ? <span className="muted"> · read as {delimiterName(model.delimiter)}-separated{model.encoding ? `, ${model.encoding}` : ''}</span> : null}
      </p>
      {model.rows.length ? (
        <div className="table-wrap">
          <table className="table">
            <caption className="sr-only">The first rows as the server parsed them</caption>
            <thead>
              <tr><th scope="col" className="num">Line</th><th scope="col">Row</th>{model.columns.map((c, i) => <th key={i} scope="col" className="mono">{c}</th>)}<th scope="col">Problems</th></tr>
            </thead>
            <tbody>
              {model.rows.map((r) => (
                <tr key={r.row} className={r.status === 'failed' ? 'row-bad' : undefined}>
                  <td className="num">{r.row}</td>
                  <td><Badge tone={ROW_TONE[r.status]}>{ROW_LABEL[r.status]}</Badge></td>
                  {model.columns.map((_, i) => <td key={i}>{r.cells[i] ?? ''}</td>)}
                  <td className="cell-problems">{r.problems.join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : model.countsOnly ? <p className="muted">The server checked the file; the rows themselves are not previewed.</p> : null}
      {model.others.length ? (
        <>
          <h3>{model.rows.length ? 'Problems in later rows' : 'Problems'}</h3>
          <ul className="cell-problems">
            {model.others.map((p, i) => <li key={i}>{p.row !== null ? `Line ${p.row}: ` : ''}{p.column ? `${p.column}: ` : ''}{p.message}</li>)}
          </ul>
        </>
      ) : null}
      {bad === 0 ? <p>No bad rows: the import will create {model.total - model.duplicates} runs.</p> : null}
    </div>
  );
}

function ImportOutcome({ result }: { result: ImportResult }) {
  const download = () => {
    if (!result.failedRows) return;
    const url = URL.createObjectURL(result.failedRows);
    const a = document.createElement('a');
    a.href = url;
    a.download = result.filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <div className={result.refused ? 'problem' : 'result-box'} role="status" aria-label="Import result">
      <strong>{result.refused ? 'Nothing was imported: bad rows refused the file' : 'Imported'}</strong>
      <div className="counts">
        <div className="count"><strong>{result.total}</strong>rows</div>
        <div className="count"><strong>{result.created}</strong>created</div>
        <div className="count"><strong>{result.duplicates}</strong>duplicates</div>
        <div className="count"><strong>{result.failed}</strong>failed</div>
      </div>
      {result.refused ? <p>Fix the rows, or choose “Partial” to create the good ones.</p> : null}
      {result.failedRows ? <Button onClick={download}>Download the failed rows (CSV)</Button> : null}
    </div>
  );
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
