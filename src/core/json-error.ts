/**
 * Where a JSON text first goes wrong. Node 20's JSON.parse often names no position ("Unexpected
 * token ',', …"), so on the error path a small scanner finds the offset and a plain reason.
 */

export interface JsonErrorLocation {
  /** Offset (UTF-16 index) of the first character that cannot continue valid JSON. */
  pos: number;
  reason: string;
  line: number;
  column: number;
}

import { maxDepth, tooDeepMessage } from './depth.js';

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Line and column (1-based) of an offset. */
export function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: pos - lineStart + 1 };
}

class JsonSyntax extends Error {
  constructor(readonly pos: number, reason: string) {
    super(reason);
  }
}

/**
 * Where valid JSON text first nests deeper than `max` levels (the `{` or `[` that opens level
 * max + 1), or null. A scan without recursion: it reads any depth.
 */
export function locateTooDeep(text: string, max: number = maxDepth()): { pos: number; line: number; column: number } | null {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string (escapes included).
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return { pos: i, ...lineColumn(text, i) };
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}

/**
 * The first syntax error of `text`, or null when it is valid JSON. Nesting deeper than `max` levels
 * is reported as an error at the bracket that goes too deep (the scanner recurses per level).
 */
export function locateJsonError(text: string, max: number = maxDepth()): JsonErrorLocation | null {
  let i = 0;
  const n = text.length;
  const fail = (reason: string, at = i): never => {
    throw new JsonSyntax(at, reason);
  };
  const describe = (at: number): string => (at >= n ? 'unexpected end of text' : `unexpected ${JSON.stringify(text[at])}`);
  const ws = (): void => {
    while (i < n && WS.has(text.charCodeAt(i))) i++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(describe(i));
  };
  const string = (): void => {
    const start = i;
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character in string (escape newlines as \\n)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape in string');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('bad escape in string');
      } else i++;
    }
    fail('unterminated string', start);
  };
  const number = (): void => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail(describe(i));
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (depth: number): void => {
    ws();
    const c = text[i];
    // A container at `depth` is level depth + 1.
    if (depth >= max && (c === '{' || c === '[')) fail(tooDeepMessage('the document', max));
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? 'trailing comma before }' : `expected a property name in double quotes, found ${describe(i).replace('unexpected ', '')}`);
        string();
        ws();
        if (text[i] !== ':') fail(`expected ':' after the property name, found ${describe(i).replace('unexpected ', '')}`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected ',' or '}', found ${describe(i).replace('unexpected ', '')}`);
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail('trailing comma before ]');
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected ',' or ']', found ${describe(i).replace('unexpected ', '')}`);
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail(describe(i));
  };
  try {
    value(0);
    ws();
    if (i < n) fail(`unexpected ${JSON.stringify(text[i])} after the end of the document`);
    return null;
  } catch (e) {
    if (!(e instanceof JsonSyntax)) return null;
    return { pos: e.pos, reason: e.message, ...lineColumn(text, e.pos) };
  }
}
