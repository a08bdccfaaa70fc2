/** Turning a definition's text from YAML into JSON and back (the editor's YAML / JSON switch). Pure. */
import { stringify } from 'yaml';
import { parseSource } from '../../graph/locate.js';

/** The same definition written in `to`; null when the text does not parse (then only the mode changes). */
export function convertSource(source: string, to: 'yaml' | 'json'): string | null {
  const doc = parseSource(source);
  if (doc === null || typeof doc !== 'object') return null;
  return to === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 });
}
