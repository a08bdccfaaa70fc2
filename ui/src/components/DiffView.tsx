/** Two texts side by side with their differences marked (@codemirror/merge), read-only. Pages use it through editors.tsx. */
import { useEffect, useRef } from 'react';
import { basicSetup } from 'codemirror';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { MergeView } from '@codemirror/merge';
import { json } from '@codemirror/lang-json';
import { yaml } from '@codemirror/lang-yaml';
import { consoleTheme, shadowMount } from './codemirror-root.js';

/**
 * The "N unchanged lines" bar in the console's colours, framed with a glyph every font has
 * (the merge view's own ⦚ is missing from many).
 */
const collapsedLook = EditorView.theme({
  '&.cm-editor .cm-collapsedLines': { color: 'var(--muted)', background: 'var(--code-bg)' },
  '&.cm-editor .cm-collapsedLines::before, &.cm-editor .cm-collapsedLines::after': { content: '"⋮"' },
});

export interface DiffViewProps {
  a: string;
  b: string;
  language: 'yaml' | 'json';
  labelA: string;
  labelB: string;
}

export function DiffView({ a, b, language, labelA, labelB }: DiffViewProps) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const ext = (label: string) => [
      basicSetup, consoleTheme, collapsedLook, language === 'json' ? json() : yaml(), EditorState.readOnly.of(true), EditorView.editable.of(false),
      EditorView.contentAttributes.of({ 'aria-label': label }),
    ];
    const parent = shadowMount(host.current!);
    const mv = new MergeView({ a: { doc: a, extensions: ext(labelA) }, b: { doc: b, extensions: ext(labelB) }, parent, root: parent.getRootNode() as ShadowRoot, collapseUnchanged: { margin: 3, minSize: 6 } });
    return () => {
      mv.destroy();
      parent.remove();
    };
  }, [a, b, language, labelA, labelB]);
  return (
    <div className="diff-view">
      <div className="diff-heads"><span>{labelA}</span><span>{labelB}</span></div>
      <div ref={host} />
    </div>
  );
}
