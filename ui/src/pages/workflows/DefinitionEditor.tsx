/**
 * The definition beside its graph: edit the YAML or JSON, see the graph follow as you type, save
 * with PUT /v1/workflows/{id}. A 422's problems are shown on their line (editor diagnostics), on
 * their node (graph) and in a list.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, describeError, saveWorkflow, type SavedWorkflow } from '../../api/index.js';
import { CodeEditor, type EditorLanguage } from '../../components/editors.js';
import { Button } from '../../components/ui/index.js';
import { parseSource } from '../../graph/locate.js';
import { WorkflowGraph } from '../../graph/WorkflowGraph.js';
import { convertSource } from './convert.js';
import { placeProblems, type Problem } from './problems.js';

export interface DefinitionEditorProps {
  /** The workflow's id; for a new workflow, a function giving it at save time from the text. */
  id: string | ((parsed: unknown) => string | null);
  source: string;
  canEdit: boolean;
  onSaved?: (wf: SavedWorkflow) => void;
  /** Shown read-only with this note (an older version). */
  readOnlyNote?: string;
}

export const languageOfSource = (s: string): EditorLanguage => (s.trimStart().startsWith('{') ? 'json' : 'yaml');

/** The text as typed, parsed after a short pause; the last text that parsed is kept while typing. */
function useParsed(source: string): unknown {
  const [parsed, setParsed] = useState<unknown>(() => parseSource(source));
  useEffect(() => {
    const t = setTimeout(() => {
      const p = parseSource(source);
      if (p !== null) setParsed(p);
    }, 250);
    return () => clearTimeout(t);
  }, [source]);
  return parsed;
}

export function DefinitionEditor({ id, source: initial, canEdit, onSaved, readOnlyNote }: DefinitionEditorProps) {
  const [source, setSource] = useState(initial);
  // The text as it is now, set on every change before React renders it: what Save sends, so a click
  // right after typing never saves the text of the last render.
  const latest = useRef(initial);
  const edit = (text: string) => {
    latest.current = text;
    setSource(text);
  };
  const [language, setLanguage] = useState<EditorLanguage>(languageOfSource(initial));
  const [problems, setProblems] = useState<{ source: string; parsed: unknown; list: Problem[] } | null>(null);
  const [outcome, setOutcome] = useState<{ kind: 'saved' | 'unchanged' | 'error'; title: string; detail?: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);
  // Another text from outside (a save's answer, another workflow): take it, unless it is what is shown.
  const shown = useRef(source);
  shown.current = source;
  useEffect(() => {
    if (initial === shown.current) return;
    edit(initial);
    setLanguage(languageOfSource(initial));
    setProblems(null);
    setOutcome(null);
  }, [initial]);
  const parsed = useParsed(source);
  const placed = useMemo(() => (problems ? placeProblems(problems.source, problems.parsed, problems.list) : null), [problems]);
  const readOnly = !canEdit || !!readOnlyNote;
  const dirty = source !== initial;

  /** Rewrites the text in the other language when it parses (comments are not carried over). */
  const switchLanguage = (l: EditorLanguage) => {
    if (l === language) return;
    if (!readOnly) {
      const converted = convertSource(source, l);
      if (converted !== null) edit(converted);
    }
    setLanguage(l);
  };

  // `typed`: the editor's own text (Ctrl+S); else the latest change (never the last render's copy).
  const save = async (typed?: string) => {
    if (readOnly || busy) return;
    const text = typeof typed === 'string' ? typed : latest.current;
    const wfId = typeof id === 'string' ? id : id(parseSource(text));
    if (!wfId) {
      setOutcome({ kind: 'error', title: 'The workflow needs an id', detail: 'Give it one in the id field (or as `id:` in the definition).' });
      return;
    }
    setBusy(true);
    setOutcome(null);
    try {
      const saved = await saveWorkflow(wfId, text);
      setProblems(null);
      setOutcome(saved.created ? { kind: 'saved', title: `Saved as version ${saved.version}` } : { kind: 'unchanged', title: `No change: version ${saved.version} is the same` });
      onSaved?.(saved);
    } catch (e) {
      if (e instanceof ApiError && e.errors.length) setProblems({ source: text, parsed: parseSource(text), list: e.errors });
      else setProblems(null);
      const p = describeError(e);
      setOutcome({ kind: 'error', title: p.title, detail: p.detail });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="definition">
      <div className="definition-graph">
        <WorkflowGraph definition={parsed} problems={placed?.nodes} selected={selected} onSelect={setSelected} label="Workflow graph" />
      </div>
      <div className="definition-editor">
        <div className="editor-bar">
          <div className="segmented" role="group" aria-label="Editor language">
            {(['yaml', 'json'] as const).map((l) => (
              <button key={l} type="button" className={`seg${language === l ? ' seg-on' : ''}`} aria-pressed={language === l} onClick={() => switchLanguage(l)}>{l.toUpperCase()}</button>
            ))}
          </div>
          {readOnlyNote ? <span className="muted">{readOnlyNote}</span> : null}
          {!readOnly ? (
            <>
              {dirty ? <span className="muted">Unsaved changes</span> : null}
              <Button variant="primary" busy={busy} onClick={() => void save()} aria-keyshortcuts="Control+S">Save</Button>
            </>
          ) : null}
        </div>
        <CodeEditor value={source} onChange={edit} language={language} readOnly={readOnly} problems={placed?.editor} label="Workflow definition" onSave={save} minHeight="420px" />
        <div aria-live="polite">
          {outcome?.kind === 'saved' || outcome?.kind === 'unchanged' ? <div className="notice notice-good" role="status">{outcome.title}</div> : null}
        </div>
        {outcome?.kind === 'error' ? (
          <div className="problem" role="alert">
            <strong>{outcome.title}</strong>
            {outcome.detail ? <p>{outcome.detail}</p> : null}
            {placed?.editor.length ? (
              <ul className="problem-list">
                {placed.editor.map((p, i) => <li key={i}><span className="muted">line {p.line}</span> {p.message}</li>)}
              </ul>
            ) : null}
          </div>
        ) : null}
      </div>
    </div>
  );
}
