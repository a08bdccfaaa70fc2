/**
 * Hostile values, drawn with fast-check's imperative generator (`fc.gen()`), so that one seed gives one
 * sequence of requests. Every size is bounded: the deepest value is 12,000 levels, the longest string
 * 17 MiB, the slowest catastrophic-regex input ~27 characters.
 */
import fc from 'fast-check';

export type G = fc.GeneratorValue;

export const pick = <T>(g: G, items: readonly T[]): T => items[g(fc.nat, { max: items.length - 1 })]!;
export const int = (g: G, min: number, max: number): number => g(fc.integer, { min, max });
export const chance = (g: G, p: number): boolean => g(fc.double, { min: 0, max: 1, noNaN: true }) < p;

/** Nesting depths: around the usual limits (64, 128), around the store-thread band (3,000–3,400) and past the JSON stack. */
export const DEPTHS = [64, 65, 128, 129, 500, 1000, 2000, 3000, 3250, 3300, 3400, 5000, 10_000, 12_000] as const;

/** A JSON text nested `depth` levels deep, as arrays or objects. */
export function deepJsonText(depth: number, shape: 'array' | 'object' | 'mixed'): string {
  if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
  if (shape === 'object') return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    if (i % 2) {
      open += '[';
      close = ']' + close;
    } else {
      open += '{"k":';
      close = '}' + close;
    }
  }
  return open + '0' + close;
}

export function deepXmlText(depth: number): string {
  return '<task><meta>' + '<a>'.repeat(depth) + 'x' + '</a>'.repeat(depth) + '</meta></task>';
}

/** Deep YAML: flow collections, or an alias that refers to itself. */
export function deepYaml(g: G, id: string): string {
  const kind = pick(g, ['flow', 'block', 'self-alias', 'alias-fanout'] as const);
  if (kind === 'flow') {
    const depth = pick(g, DEPTHS);
    return `id: ${id}\nsteps: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
  }
  if (kind === 'block') {
    const depth = pick(g, [64, 200, 1000, 3000]);
    let s = `id: ${id}\nsteps:\n  - id: a\n    type: set\n    set:\n`;
    for (let i = 0; i < depth; i++) s += `${' '.repeat(6 + i)}k${i}:\n`;
    return s + `${' '.repeat(6 + depth)}v\n`;
  }
  if (kind === 'self-alias') return `id: ${id}\na: &a [*a]\nsteps: *a\n`;
  // A small alias fan-out (5 levels of 5): bounded, but it multiplies.
  let s = `id: ${id}\nl0: &l0 [x, x, x, x, x]\n`;
  for (let i = 1; i < 5; i++) s += `l${i}: &l${i} [*l${i - 1}, *l${i - 1}, *l${i - 1}, *l${i - 1}, *l${i - 1}]\n`;
  return s + 'steps: *l4\n';
}

/** Strings near and over the limits (body 1 MiB, data 256 KiB, 16× body is the discard bound). */
export const HUGE_SIZES = [255, 256, 2049, 64 * 1024, 256 * 1024 - 64, 256 * 1024 + 1, 1024 * 1024 - 200, 1024 * 1024 + 1, 3 * 1024 * 1024, 17 * 1024 * 1024] as const;

export function hugeString(g: G): string {
  const n = pick(g, HUGE_SIZES);
  return pick(g, ['x', 'é', '🦄', '\\', '"'])!.repeat(Math.max(1, Math.floor(n / 2)));
}

/** Unicode edge cases (strings; invalid UTF-8 is made at the byte level, see `invalidUtf8`). */
export const UNICODE = [
  '\uD800', '\uDFFF', '\uD83D', 'a\uD800b', '\u0000', 'a\u0000b', '\uFEFF', '\uFEFFname', '\u202Eevil', '\u2028\u2029',
  'e\u0301'.repeat(500), '🦄', '👩‍👩‍👧‍👦', '\u{10FFFF}', '\uFFFE', 'İ', 'ß', 'ǅ', '\u00A0', '\u3000', '𝟘𝟙', 'Ａ', '\r\n', '\t', '\u001b[31m',
] as const;

export function unicodeString(g: G): string {
  if (chance(g, 0.3)) return g(fc.string, { unit: pick(g, ['binary', 'grapheme', 'binary-ascii'] as const), maxLength: 40 });
  return pick(g, UNICODE).repeat(int(g, 1, 4));
}

export function invalidUtf8(g: G): Buffer {
  return pick(g, [
    Buffer.from([0xc3, 0x28]), Buffer.from([0xff, 0xfe]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xe0, 0x80, 0xaf]),
    Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from([0x80]), Buffer.from([0xf0, 0x9f, 0x98]),
  ]);
}

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'] as const;

/** JSON text of an object whose keys include prototype-pollution keys (written as text: `__proto__` must be an own key). */
export function protoJson(g: G, base: Record<string, unknown> = {}): string {
  const k = pick(g, PROTO_KEYS);
  const inner = pick(g, ['{"polluted":"yes"}', '{"prototype":{"polluted":"yes"}}', '"x"', 'null', '[]', '1']);
  const extra = Object.keys(base).length ? JSON.stringify(base).slice(1, -1) + ',' : '';
  if (chance(g, 0.3)) return `{${extra}"meta":{"${k}":${inner}}}`;
  return `{${extra}"${k}":${inner}}`;
}

/** Numbers out of range, as JSON text (some are not valid JSON numbers for JS, on purpose). */
export const NUMBERS_JSON = ['1e309', '-1e309', '1e-400', '-0', '9007199254740993', '123456789012345678901234567890', '1e999999', '0.1e-999', '-9223372036854775809', '1E+2', '00012', '1.', '.5', '+1', 'NaN', 'Infinity'] as const;
/** The same, as query or form text. */
export const NUMBERS_TEXT = ['-1', '0', '1e400', '99999999999999999999', '1.5', '0x10', '1_000', 'NaN', 'Infinity', '-Infinity', ' 5', '5 ', '', '٣', '1e-7', '-0', '2147483648', '4294967296', '9007199254740993'] as const;

/** Catastrophic inputs for `^(a+)+$`-like patterns: a run of `a`s and a breaker. Bounded to ~27 characters. */
export function regexBomb(g: G, max = 27): string {
  const n = int(g, 12, max);
  return 'a'.repeat(n) + pick(g, ['!', 'b', '-', '\u0000', '🦄']);
}
/** For the `^([a-z0-9]+[-]?)*[a-z0-9]$` pattern and e-mail/URI formats. */
export function regexBombFor(g: G, what: 'code' | 'email' | 'uri' | 'date'): string {
  const n = int(g, 12, 27);
  if (what === 'code') return 'a'.repeat(n) + '-!';
  if (what === 'email') return pick(g, ['a'.repeat(n * 4) + '@', 'a@' + 'a.'.repeat(n * 4) + '!', '"' + 'a'.repeat(n * 8), 'a'.repeat(n) + '@' + '-'.repeat(n * 4)]);
  if (what === 'uri') return 'http://' + 'a.'.repeat(n * 20) + '!' ;
  return '2024-01-01T' + '0'.repeat(n * 20);
}

/** Bogus ids for path segments (already percent-encoded where needed). */
export function bogusId(g: G): string {
  return pick(g, [
    '', '%20', '..', '%2E%2E', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', '..%2F..%2Fx', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-7fff-bfff-ffffffffffff',
    'x'.repeat(300), 'x'.repeat(10_000), '%00', 'a%00b', "'%20OR%201%3D1%20--", 'null', 'undefined', '0', '-1', '99999999999999999999', '1e400',
    '%F0%9F%A6%84', '%FF', '%C0%AF', '%', '%ZZ', 'constructor', '__proto__', 'prototype', 'toString', 'hasOwnProperty', 'A'.repeat(40), '0'.repeat(40),
  ]);
}

/** Bogus pagination cursors. */
export function bogusCursor(g: G): string {
  return pick(g, [
    '', 'x', '%00', 'eyJ9', 'e30', 'eyJ0IjoxfQ', Buffer.from('{"t":1e400,"id":"\'"}').toString('base64url'), Buffer.from('{"__proto__":{"x":1}}').toString('base64url'),
    Buffer.from('[' .repeat(5000)).toString('base64url'), 'A'.repeat(20_000), '%FF%FE', 'null', '-1', Buffer.from('{"t":"NaN","id":null}').toString('base64url'),
  ]);
}

/** Content types that do not say what the body is. */
export const WRONG_TYPES = [
  'text/plain', 'application/xml', 'text/xml', 'application/x-www-form-urlencoded', 'application/json', 'multipart/form-data; boundary=x',
  'application/json; charset=utf-16', 'application/json; charset=bogus', 'application/json;', ';;;', '', 'application/octet-stream', 'text/csv',
  'application/yaml', 'application/*', '*/*', 'application/json, text/xml', 'a'.repeat(5000), 'application/json; charset=windows-1251', 'application/problem+json',
] as const;

/** Cuts a valid text at a random place (never at its end). */
export function truncate(g: G, text: string): string {
  if (text.length < 2) return '';
  return text.slice(0, int(g, 0, text.length - 1));
}

export const MALFORMED_JSON = ['{', '{"a":', '{"a":1,}', "{'a':1}", '[1,2', '{"a":"\\u12"}', '{"a":"\\x41"}', 'nul', '{"a":1}}', '{"a":1} trailing', '\u0000', '{"a":01}', '"unterminated', '{"a":NaN}', '{"a" 1}', '/* c */ {}', '{"\uD800":1}'] as const;
export const MALFORMED_XML = [
  '<task>', '<task><a>1</task>', '<task a="1>', '<?xml version="1.0"?>', '<!DOCTYPE task [<!ENTITY x "y">]><task>&x;</task>',
  '<!DOCTYPE task SYSTEM "file:///etc/passwd"><task/>', '<task><![CDATA[x</task>', '<task>&undefined;</task>', '<a:b xmlns:a="x"><a:c>1</a:c></a:b>',
  '<task><amount>1</amount><amount>2</amount></task>', '<' + 'x'.repeat(70_000) + '/>', '<task>' + '<a/>'.repeat(50_000) + '</task>', '<task>\u0000</task>',
] as const;
export const MALFORMED_FORM = ['a=%ZZ', '%', '=', '&&&', 'a', 'a=1&a=2&a=3', 'a[b]=1&a[c]=2', '__proto__[x]=1', 'constructor[prototype][x]=1', 'a=' + '%F0'.repeat(10), 'a=%00', '+=+', 'a==b'] as const;
export const MALFORMED_CSV = ['"unclosed\n1,2', 'a,b\n1', 'a,a\n1,2', 'a b,c\n1,2', '\uFEFFa,b\n1,2', 'a,b\n"1"x,2', 'a;b|c\n1;2|3', ',\n,', '\n\n\n', 'a\n\u0000', 'a,b\r1,2\r', '"a""b",c\n1,2'] as const;
