/**
 * A JSON editor (CodeMirror 6): syntax highlighting, bracket matching, a parse error marked at its
 * place. Controlled from outside through `value` / `onChange`; labelled for screen readers.
 *
 * The editor lives in a shadow root: CodeMirror's styles are then adopted style sheets
 * (constructed in script), which the console's Content-Security-Policy (`style-src 'self'`)
 * allows, where in the document itself they would be an inline <style> element it refuses.
 */
import { useEffect, useRef } from 'react';
import { basicSetup } from 'codemirror';
import { json, jsonParseLinter } from '@codemirror/lang-json';
import { linter, lintGutter } from '@codemirror/lint';
import { EditorView } from '@codemirror/view';

export interface JsonEditorProps {
  value: string;
  onChange: (text: string) => void;
  label: string;
}

const theme = EditorView.theme({
  '&': { minHeight: '14em', maxHeight: '60vh', backgroundColor: 'var(--panel)', color: 'var(--text)', border: '1px solid var(--border)', borderRadius: 'var(--radius)' },
  '&.cm-focused': { outline: '2px solid var(--accent)', outlineOffset: '1px' },
  '.cm-scroller': { overflow: 'auto' },
  '.cm-content': { fontFamily: 'var(--mono, ui-monospace, monospace)', caretColor: 'var(--text)' },
  '.cm-gutters': { backgroundColor: 'var(--code-bg)', color: 'var(--muted)', border: 'none' },
  '.cm-activeLine, .cm-activeLineGutter': { backgroundColor: 'color-mix(in srgb, var(--accent) 7%, transparent)' },
});

export function JsonEditor({ value, onChange, label }: JsonEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const change = useRef(onChange);
  change.current = onChange;

  useEffect(() => {
    const shadow = host.current!.shadowRoot ?? host.current!.attachShadow({ mode: 'open' });
    const v = new EditorView({
      parent: shadow,
      root: shadow,
      doc: value,
      extensions: [
        basicSetup,
        json(),
        linter(jsonParseLinter()),
        lintGutter(),
        theme,
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': label, 'aria-multiline': 'true' }),
        EditorView.updateListener.of((u) => { if (u.docChanged) change.current(u.state.doc.toString()); }),
      ],
    });
    view.current = v;
    return () => { v.destroy(); view.current = null; };
    // The editor is made once; later values arrive through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  return (
    <div className="json-editor-field">
      {/* The visible name; the editable area inside the shadow root carries it as its aria-label. */}
      <div className="json-editor-label" aria-hidden="true">{label}</div>
      <div className="json-editor" ref={host} />
    </div>
  );
}
