/**
 * Where a problem's path (`steps[2].next`, `params.amount.type`) is in the definition's source text,
 * YAML or JSON (JSON is read as YAML, which keeps the positions). Pure; uses the `yaml` package's
 * node ranges. A path that does not exist in the text (a missing required field) points at its
 * nearest existing parent.
 */
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';

export type PathSegment = string | number;

/** `steps[2].cases[0].when` → ['steps', 2, 'cases', 0, 'when']. */
export function splitPath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path))) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

export interface SourceRange {
  from: number;
  to: number;
  /** 1-based line of `from`. */
  line: number;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * The text range a problem at `path` refers to; `message` is looked at for a syntax error's own
 * "at line N, column M". Null when the text does not parse at all.
 */
export function locatePath(source: string, path: string, message = ''): SourceRange | null {
  // A YAML syntax error names its own line.
  const lineHint = /at line (\d+), column (\d+)/.exec(message);
  if (lineHint) return rangeOfLine(source, Number(lineHint[1]));
  let doc;
  try {
    doc = parseDocument(source, { keepSourceTokens: false, uniqueKeys: false });
  } catch {
    return null;
  }
  let node: unknown = doc.contents;
  let range: [number, number] | null = node && (node as YamlNode).range ? [(node as YamlNode).range![0], (node as YamlNode).range![1]] : null;
  for (const seg of splitPath(path)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const key = pair.key as YamlNode;
      const value = pair.value as YamlNode | null;
      // Point at the key and its value (a scalar value), or at the key alone (a block below it).
      const end = value && isScalar(value) && value.range ? value.range[1] : key.range![1];
      range = [key.range![0], end];
      node = value;
      if (!value) break;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item || !item.range) break;
      range = [item.range[0], isScalar(item) ? item.range[1] : firstLineEnd(source, item.range[0], item.range[1])];
      node = item;
    } else break;
  }
  if (!range) return source.length ? { from: 0, to: firstLineEnd(source, 0, source.length), line: 1 } : { from: 0, to: 0, line: 1 };
  return { from: range[0], to: Math.max(range[0], range[1]), line: lineOf(source, range[0]) };
}

function firstLineEnd(source: string, from: number, to: number): number {
  const nl = source.indexOf('\n', from);
  return nl === -1 || nl > to ? to : nl;
}

function rangeOfLine(source: string, line: number): SourceRange {
  let from = 0;
  for (let l = 1; l < line; l++) {
    const nl = source.indexOf('\n', from);
    if (nl === -1) break;
    from = nl + 1;
  }
  return { from, to: firstLineEnd(source, from, source.length), line };
}

/** The source's parsed document, or null when it does not parse (for drawing the graph while typing). */
export function parseSource(source: string): unknown {
  try {
    const doc = parseDocument(source, { uniqueKeys: false });
    if (doc.errors.length) return null;
    return doc.toJS({ maxAliasCount: 100 });
  } catch {
    return null;
  }
}
