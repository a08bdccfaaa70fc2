/**
 * The editors as pages use them: CodeMirror (about 150 kB gzipped with its languages and the merge
 * view) is fetched the first time a page shows an editor, not with the console's first screen.
 * While it loads, the place of the editor shows its text, read-only, at the editor's size, so the
 * page does not jump and the content is there at once.
 */
import { Suspense, type ReactNode } from 'react';
import type { CodeEditorProps } from './CodeEditor.js';
import type { DiffViewProps } from './DiffView.js';
import type { JsonEditorProps } from './JsonEditor.js';
import { loadable } from './loadable.js';

export type { EditorLanguage, EditorProblem, CodeEditorProps } from './CodeEditor.js';
export type { JsonEditorProps } from './JsonEditor.js';
export type { DiffViewProps } from './DiffView.js';

const LazyCodeEditor = loadable<CodeEditorProps>(() => import('./CodeEditor.js').then((m) => m.CodeEditor));
const LazyJsonEditor = loadable<JsonEditorProps>(() => import('./JsonEditor.js').then((m) => m.JsonEditor));
const LazyDiffView = loadable<DiffViewProps>(() => import('./DiffView.js').then((m) => m.DiffView));

/** Starts fetching the editors' code (a page that always shows one loads it beside its own). */
export const loadCodeEditor = (): Promise<unknown> => Promise.all([LazyCodeEditor.preload(), LazyJsonEditor.preload()]);

/** The editor's place while its code loads: the text as it will be shown, and a note. */
function EditorPlaceholder({ text, minHeight, children }: { text: string; minHeight: string; children?: ReactNode }) {
  return (
    <div className="editor-placeholder" style={{ minHeight }}>
      {children}
      {/* Hidden from assistive technology: the editor, labelled, takes its place in a moment. */}
      <pre className="editor-placeholder-text" aria-hidden="true">{text}</pre>
      <div className="editor-placeholder-note" role="status"><span className="spinner" aria-hidden="true" /> Loading the editor…</div>
    </div>
  );
}

export function CodeEditor(props: CodeEditorProps) {
  const minHeight = props.minHeight ?? '320px';
  return (
    <Suspense fallback={<EditorPlaceholder text={props.value} minHeight={minHeight} />}>
      <LazyCodeEditor.Component {...props} />
    </Suspense>
  );
}

export function JsonEditor(props: JsonEditorProps) {
  return (
    <Suspense fallback={(
      <div className="json-editor-field">
        <div className="json-editor-label" aria-hidden="true">{props.label}</div>
        <EditorPlaceholder text={props.value} minHeight="14em" />
      </div>
    )}>
      <LazyJsonEditor.Component {...props} />
    </Suspense>
  );
}

export function DiffView(props: DiffViewProps) {
  return (
    <Suspense fallback={<EditorPlaceholder text={props.b} minHeight="200px" />}>
      <LazyDiffView.Component {...props} />
    </Suspense>
  );
}
