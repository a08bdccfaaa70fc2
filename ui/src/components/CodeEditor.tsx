/**
 * A CodeMirror 6 editor for YAML or JSON text, with problems shown as lint diagnostics on their
 * lines. Controlled by `value`: an outside change (another version loaded) replaces the text.
 */
import { useEffect, useRef } from 'react';
import { basicSetup } from 'codemirror';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { json } from '@codemirror/lang-json';
import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { consoleTheme, shadowMount } from './codemirror-root.js';

export type EditorLanguage = 'yaml' | 'json';

export interface EditorProblem {
  from: number;
  to: number;
  message: string;
  severity?: 'error' | 'warning';
}

export interface CodeEditorProps {
  value: string;
  onChange?: (value: string) => void;
  language: EditorLanguage;
  readOnly?: boolean;
  problems?: EditorProblem[];
  /** Accessible name of the text area. */
  label: string;
  /** Ctrl/Cmd+S, with the editor's text at that moment (React may not have rendered the last keystrokes yet). */
  onSave?: (value: string) => void;
  minHeight?: string;
}

const languageOf = (l: EditorLanguage) => (l === 'json' ? json() : yaml());

export function CodeEditor({ value, onChange, language, readOnly = false, problems, label, onSave, minHeight = '320px' }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const lang = useRef(new Compartment());
  const ro = useRef(new Compartment());
  const callbacks = useRef({ onChange, onSave });
  callbacks.current = { onChange, onSave };

  useEffect(() => {
    const v = new EditorView({
      parent: shadowMount(host.current!),
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          consoleTheme,
          lintGutter(),
          lang.current.of(languageOf(language)),
          ro.current.of([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.lineWrapping,
          keymap.of([{ key: 'Mod-s', preventDefault: true, run: (view) => { callbacks.current.onSave?.(view.state.doc.toString()); return true; } }]),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) callbacks.current.onChange?.(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.dom.parentElement?.remove();
      v.destroy();
      view.current = null;
    };
    // The editor is made once; the effects below follow the props.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: lang.current.reconfigure(languageOf(language)) });
  }, [language]);

  useEffect(() => {
    view.current?.dispatch({ effects: ro.current.reconfigure([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]) });
  }, [readOnly]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const len = v.state.doc.length;
    const diagnostics: Diagnostic[] = (problems ?? []).map((p) => ({
      from: Math.min(p.from, len), to: Math.min(Math.max(p.to, p.from), len), message: p.message, severity: p.severity ?? 'error',
    }));
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [problems]);

  return <div className="code-editor" ref={host} style={{ minHeight }} data-language={language} />;
}
