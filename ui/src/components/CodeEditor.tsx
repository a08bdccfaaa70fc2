/**
 * A CodeMirror 6 editor for YAML or JSON text, with problems shown as lint diagnostics on their
 * lines. Controlled by `value`: an outside change (another version loaded) replaces the text; the
 * editor's own changes coming back late from React do not (echo.ts).
 *
 * Pages use it through editors.tsx, which loads CodeMirror only when an editor is first shown.
 */
import { useEffect, useRef } from 'react';
import { basicSetup } from 'codemirror';
import { Compartment, EditorState } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { json, jsonParseLinter } from '@codemirror/lang-json';
import { yaml } from '@codemirror/lang-yaml';
import { linter, lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { consoleTheme, shadowMount } from './codemirror-root.js';
import { EchoGuard } from './echo.js';

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
  /** Taller text scrolls inside the editor (e.g. '60vh'); by default the editor grows with it. */
  maxHeight?: string;
  /** Marks where JSON text stops parsing (for a JSON input, not for a definition, whose problems come from the API). */
  parseProblems?: boolean;
}

const languageOf = (l: EditorLanguage) => (l === 'json' ? json() : yaml());

export function CodeEditor({ value, onChange, language, readOnly = false, problems, label, onSave, minHeight = '320px', maxHeight, parseProblems = false }: CodeEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const echoes = useRef(new EchoGuard());
  // True while the editor takes the owner's text: that change is not reported back.
  const applying = useRef(false);
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
          parseProblems ? linter(jsonParseLinter(), { delay: 300 }) : [],
          maxHeight ? EditorView.theme({ '&': { maxHeight }, '.cm-scroller': { overflow: 'auto' } }) : [],
          lang.current.of(languageOf(language)),
          ro.current.of([EditorState.readOnly.of(readOnly), EditorView.editable.of(!readOnly)]),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.lineWrapping,
          keymap.of([{ key: 'Mod-s', preventDefault: true, run: (view) => { callbacks.current.onSave?.(view.state.doc.toString()); return true; } }]),
          EditorView.updateListener.of((u) => {
            if (!u.docChanged || applying.current || !callbacks.current.onChange) return;
            const text = u.state.doc.toString();
            echoes.current.reported(text);
            callbacks.current.onChange(text);
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
    if (!v || !echoes.current.isOwnersText(value) || v.state.doc.toString() === value) return;
    applying.current = true;
    try {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    } finally {
      applying.current = false;
    }
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
