/**
 * A JSON input (a run's input, a step to test, sample data): the code editor in JSON with its
 * visible name above it and the place where the text stops parsing marked. Controlled through
 * `value` / `onChange`. Pages use it through editors.tsx (CodeMirror loads when first shown).
 */
import { CodeEditor } from './CodeEditor.js';

export interface JsonEditorProps {
  value: string;
  onChange: (text: string) => void;
  label: string;
}

export function JsonEditor({ value, onChange, label }: JsonEditorProps) {
  return (
    <div className="json-editor-field">
      {/* The visible name; the editable area inside the shadow root carries it as its aria-label. */}
      <div className="json-editor-label" aria-hidden="true">{label}</div>
      <CodeEditor value={value} onChange={onChange} language="json" label={label} parseProblems minHeight="14em" maxHeight="60vh" />
    </div>
  );
}
