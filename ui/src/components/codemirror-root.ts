/**
 * CodeMirror under the console's CSP. CodeMirror writes its styles with style-mod, which in a
 * document appends a <style> element (blocked by `style-src 'self'`), but in a shadow root uses a
 * constructed stylesheet (adoptedStyleSheets), which the CSP does not govern. So every editor is
 * mounted inside a shadow root; the console's colours reach it through CSS custom properties, which
 * inherit into shadow trees. This keeps `style-src 'self'` without 'unsafe-inline' or a nonce.
 */
import { defaultHighlightStyle, HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import type { Extension } from '@codemirror/state';
import { EditorView } from '@codemirror/view';

/** The element to mount an editor in: inside an open shadow root of `host` (made once). */
export function shadowMount(host: HTMLElement): HTMLElement {
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  const mount = document.createElement('div');
  mount.className = 'cm-mount';
  root.appendChild(mount);
  return mount;
}

/**
 * Token colours: CodeMirror's default highlight style with each colour read from a custom property
 * (`--cm-708` for `#708`, …), falling back to the colour itself. styles.css gives the dark scheme
 * its own, light on dark (the defaults are dark on light and cannot be read there).
 */
const consoleHighlight = HighlightStyle.define(
  defaultHighlightStyle.specs.map((spec) => (typeof spec.color === 'string' && spec.color.startsWith('#') ? { ...spec, color: `var(--cm-${spec.color.slice(1)}, ${spec.color})` } : spec)),
);

/** The editor's look in the console's colours (light and dark follow the page's variables). */
const consoleLook = EditorView.theme({
  '&': { backgroundColor: 'var(--panel)', color: 'var(--text)', fontSize: '13px', minHeight: 'inherit', height: '100%' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', minHeight: 'inherit' },
  '.cm-gutters': { backgroundColor: 'var(--code-bg)', color: 'var(--muted)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine, .cm-activeLineGutter': { backgroundColor: 'color-mix(in srgb, var(--accent) 7%, transparent)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused': { outline: '2px solid var(--focus)', outlineOffset: '-1px' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: 'color-mix(in srgb, var(--accent) 25%, transparent)' },
  '.cm-tooltip': { backgroundColor: 'var(--panel)', color: 'var(--text)', border: '1px solid var(--border)' },
  '.cm-panels': { backgroundColor: 'var(--code-bg)', color: 'var(--text)' },
  '.cm-panel input, .cm-panel button': { color: 'var(--text)' },
});

export const consoleTheme: Extension = [consoleLook, syntaxHighlighting(consoleHighlight)];
