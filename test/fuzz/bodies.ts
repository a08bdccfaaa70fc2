/**
 * Request bodies: a trigger's params in JSON, form and XML, spoiled by category; CSV files; workflow
 * definitions. Every size is bounded (see values.ts).
 */
import {
  chance, DEPTHS, deepJsonText, deepXmlText, deepYaml, hugeString, int, invalidUtf8, MALFORMED_CSV, MALFORMED_FORM, MALFORMED_JSON, MALFORMED_XML,
  NUMBERS_JSON, pick, protoJson, regexBomb, regexBombFor, truncate, unicodeString, WRONG_TYPES, type G,
} from './values.js';
import type { World } from './world.js';

export const CATEGORIES = [
  'valid', 'malformed', 'deep-nesting', 'huge', 'unicode', 'proto-keys', 'content-type', 'credentials', 'bogus-ids', 'regex', 'numbers', 'fan-out', 'endless',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** encodeURIComponent, except that a lone surrogate is sent as its WTF-8 bytes instead of throwing. */
export function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    let out = '';
    for (let i = 0; i < s.length; i++) {
      const cu = s.charCodeAt(i);
      if (cu >= 0xd800 && cu <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        out += encodeURIComponent(s.slice(i, i + 2));
        i++;
      } else if (cu >= 0xd800 && cu <= 0xdfff) {
        out += [0xe0 | (cu >> 12), 0x80 | ((cu >> 6) & 0x3f), 0x80 | (cu & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      } else out += encodeURIComponent(s[i]!);
    }
    return out;
  }
}

/** A params body in the three encodings a trigger reads. */
export interface Params {
  json: string;
  form: string;
  xml: string;
  note: string;
}

function xmlOf(v: unknown, name: string): string {
  const safe = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (Array.isArray(v)) return v.map((x) => xmlOf(x, name)).join('');
  if (v && typeof v === 'object') return `<${name}>${Object.entries(v).map(([k, x]) => xmlOf(x, k)).join('')}</${name}>`;
  return `<${name}>${safe(String(v))}</${name}>`;
}

const encode = (o: Record<string, unknown>, note: string): Params => ({
  json: JSON.stringify(o),
  form: Object.entries(o).map(([k, v]) => `${enc(k)}=${enc(typeof v === 'object' ? JSON.stringify(v) : String(v))}`).join('&'),
  xml: xmlOf(o, 'task'),
  note,
});

export function validParams(g: G, kind: string, world: World): Record<string, unknown> {
  const word = (): string => pick(g, ['abc', 'hello', 'zeta', 'x'.repeat(int(g, 1, 20))]);
  const o: Record<string, unknown> = (() => {
    switch (kind) {
      case 'params': return { name: word(), amount: int(g, 0, 1000), count: int(g, 0, 5), flag: chance(g, 0.5), email: 'a@b.co', when: '2024-05-01T10:00:00Z', tags: ['a', 'b'], meta: { k: int(g, 0, 9) }, currency: pick(g, ['EUR', 'USD']) };
      case 'regex': return { word: 'a'.repeat(int(g, 1, 10)), code: 'abc-def1' };
      case 'expr': return { text: 'a'.repeat(int(g, 1, 10)) };
      case 'foreach': return { items: Array.from({ length: int(g, 0, 5) }, (_, i) => ({ i })) };
      case 'wait': return { note: word() };
      case 'http': return { mode: pick(g, ['ok', 'ok', 'malformed', 'fail', 'slow', 'big']), payload: { x: 1 } };
      case 'code': return { payload: { x: int(g, 0, 9) }, n: int(g, 0, 100) };
      case 'loop': return { n: int(g, 0, 20) };
      default: return {};
    }
  })();
  void world;
  for (const k of Object.keys(o)) if (chance(g, 0.15)) delete o[k];
  return o;
}

/** The hostile part of a params body, by category. */
export function hostileParams(g: G, kind: string, category: Category, world: World): Params {
  const base = validParams(g, kind, world);
  // Undeclared keys are kept in the run's data, so `extra` reaches the store whatever the params say.
  const objectSlot = kind === 'params' ? 'meta' : kind === 'code' || kind === 'http' ? 'payload' : 'extra';
  const arraySlot = kind === 'params' ? 'tags' : kind === 'foreach' ? 'items' : 'extra';
  const slot = chance(g, 0.4) ? 'extra' : pick(g, [objectSlot, arraySlot]);
  const withRaw = (key: string, raw: string, formValue = raw, xml?: string): Params => {
    const rest = { ...base };
    delete rest[key];
    const restJson = JSON.stringify(rest).slice(1, -1);
    return {
      json: `{${restJson}${restJson ? ',' : ''}"${key}":${raw}}`,
      form: [...Object.entries(rest).map(([k, v]) => `${enc(k)}=${enc(typeof v === 'object' ? JSON.stringify(v) : String(v))}`), `${enc(key)}=${enc(formValue)}`].join('&'),
      xml: xml ?? xmlOf({ ...rest, [key]: formValue }, 'task'),
      note: `${key}=${raw.length > 60 ? `${raw.slice(0, 40)}… (${raw.length} chars)` : raw}`,
    };
  };
  switch (category) {
    case 'deep-nesting': {
      const depth = pick(g, DEPTHS);
      const shape = slot === 'extra' ? pick(g, ['array', 'object', 'mixed'] as const) : slot === objectSlot ? pick(g, ['object', 'mixed'] as const) : 'array';
      if (kind === 'http' && chance(g, 0.5)) {
        const mode = pick(g, ['deep', 'deeper']);
        return encode({ ...base, mode }, `the target answers the http step ${mode === 'deep' ? '3,300' : '12,000'} levels deep`);
      }
      const text = deepJsonText(depth, shape);
      const p = withRaw(slot, text, text, deepXmlText(depth));
      p.note = `${slot} nested ${depth} levels (${shape})`;
      return p;
    }
    case 'huge': {
      const s = hugeString(g);
      const p = encode({ ...base, [pick(g, ['name', 'note', 'text', 'word', 'mode'])]: s }, `a ${s.length}-character string`);
      if (chance(g, 0.3)) return encode({ ...base, [`k${'x'.repeat(int(g, 1000, 70_000))}`]: 1 }, 'a very long key');
      return p;
    }
    case 'unicode': {
      const key = chance(g, 0.3) ? unicodeString(g) : pick(g, ['name', 'note', 'text', 'word', 'mode', 'currency']);
      return encode({ ...base, [key]: unicodeString(g) }, `unicode in ${JSON.stringify(key).slice(0, 30)}`);
    }
    case 'proto-keys': {
      const text = protoJson(g, base);
      return { json: text, form: pick(g, ['__proto__[polluted]=yes', 'constructor[prototype][polluted]=yes', '__proto__=x', 'toString=1']), xml: '<task><__proto__><polluted>yes</polluted></__proto__><constructor>1</constructor></task>', note: text.slice(0, 80) };
    }
    case 'numbers': {
      const key = pick(g, kind === 'loop' || kind === 'code' ? ['n'] : ['amount', 'count', 'n', 'flag']);
      const num = pick(g, NUMBERS_JSON);
      return withRaw(key, num, num);
    }
    case 'regex': {
      if (kind === 'regex') return encode({ ...base, ...(chance(g, 0.6) ? { word: regexBomb(g) } : { code: regexBombFor(g, 'code') }) }, 'catastrophic input for the param pattern');
      if (kind === 'expr') return encode({ ...base, text: regexBomb(g, 25) }, 'catastrophic input for a JSONata regex');
      const what = pick(g, ['email', 'uri', 'date'] as const);
      return encode({ ...base, [what === 'date' ? 'when' : what]: regexBombFor(g, what) }, `catastrophic input for the ${what} format`);
    }
    case 'fan-out': {
      const n = pick(g, [50, 200, 500]);
      return encode({ items: Array.from({ length: n }, (_, i) => i) }, `foreach over ${n} items`);
    }
    case 'endless': {
      if (kind === 'code') return encode({ ...base, n: pick(g, [1000, 100_000]) }, 'a long code loop');
      const n = pick(g, [98, 99, 100, 198, 199, 200, 201, 398, 399, 400, 1000]);
      return encode({ n }, `loop ${n} times (step limit 400, slice 200)`);
    }
    default:
      return encode(base, 'valid params');
  }
}

/** Picks a body encoding and its content type; `content-type` and `malformed` spoil it. */
export function paramsBody(g: G, p: Params, category: Category, allowed: string[]): { type: string | null; body: Buffer; note: string } {
  const fmt = pick(g, allowed.length ? allowed : ['application/json']);
  const text = /xml/.test(fmt) ? p.xml : /form/.test(fmt) ? p.form : p.json;
  let type: string | null = fmt;
  let body = Buffer.from(text);
  let note = p.note;
  if (category === 'malformed') {
    const m = pick(g, ['truncate', 'garbage', 'utf8', 'empty']);
    if (m === 'truncate') body = Buffer.from(truncate(g, text));
    else if (m === 'garbage') body = Buffer.from(/xml/.test(fmt) ? pick(g, MALFORMED_XML) : /form/.test(fmt) ? pick(g, MALFORMED_FORM) : pick(g, MALFORMED_JSON));
    else if (m === 'utf8') body = Buffer.concat([Buffer.from(text.slice(0, text.length >> 1)), invalidUtf8(g), Buffer.from(text.slice(text.length >> 1))]);
    else body = Buffer.alloc(0);
    note = `malformed body (${m})`;
  }
  if (category === 'content-type') {
    type = chance(g, 0.15) ? null : pick(g, WRONG_TYPES);
    note = `${fmt} body sent as ${JSON.stringify(type)}`;
  }
  return { type, body, note };
}


export function csvBody(g: G, kind: string, category: Category, world: World): { text: string; note: string } {
  const o = validParams(g, kind, world);
  const cols = Object.keys(o).filter((k) => typeof o[k] !== 'object');
  const header = cols.length ? cols : ['note'];
  const row = (): string => header.map((c) => String(o[c] ?? 'x').replace(/[",;|\n]/g, '')).join(',');
  const rows = Array.from({ length: int(g, 1, 5) }, row);
  switch (category) {
    case 'malformed': return { text: pick(g, MALFORMED_CSV), note: 'malformed CSV' };
    case 'huge': {
      const n = pick(g, [300_000, 1_500_000, 5 * 1024 * 1024]);
      return { text: `${header.join(',')}\n${'x'.repeat(n)}\n${rows.join('\n')}\n`, note: `a CSV record of ${n} bytes` };
    }
    case 'deep-nesting': {
      const depth = pick(g, DEPTHS);
      const cell = `"${deepJsonText(depth, 'array').replace(/"/g, '""')}"`;
      const col = kind === 'params' ? 'meta' : kind === 'foreach' ? 'items' : 'payload';
      return { text: `${col}\n${cell}\n`, note: `a CSV cell nested ${depth} levels` };
    }
    case 'proto-keys': return { text: `__proto__,constructor\n1,2\n`, note: 'prototype keys as CSV columns' };
    case 'unicode': return { text: `${header.join(',')},${unicodeString(g).replace(/[,\n"]/g, '')}\n${rows.join('\n')}\n`, note: 'unicode CSV header' };
    case 'regex': return { text: `word\n${regexBomb(g)}\n`, note: 'catastrophic regex input in a CSV row' };
    default: return { text: `${header.join(',')}\n${rows.join('\n')}\n`, note: `${rows.length} CSV rows` };
  }
}

export function definitionBody(g: G, id: string, category: Category, world: World): { text: string; type: string; note: string } {
  const yaml = `id: ${id}\nparams:\n  name: { type: string, pattern: "^[a-z]+$" }\nsteps:\n  - { id: a, type: set, set: { x: 1 } }\n  - { id: b, type: reply }\n`;
  switch (category) {
    case 'deep-nesting':
      if (chance(g, 0.5)) return { text: deepYaml(g, id), type: 'application/yaml', note: 'deep or self-referencing YAML' };
      {
        const depth = pick(g, DEPTHS);
        return { text: `{"id":"${id}","steps":[{"id":"a","type":"set","set":{"x":${deepJsonText(depth, 'mixed')}}}]}`, type: 'application/json', note: `a definition nested ${depth} levels` };
      }
    case 'malformed': return { text: pick(g, [truncate(g, yaml), 'id: [', ': : :', '\t- x', '{"id":', '%YAML 9.9\n---\nid: x', 'a: !!js/function "() => 1"', `id: ${id}\nsteps: *nope`]), type: 'application/yaml', note: 'malformed definition' };
    case 'huge': return { text: `id: ${id}\nname: "${'n'.repeat(pick(g, [1000, 300_000, 1_100_000]))}"\nsteps:\n  - { id: a, type: reply }\n`, type: 'application/yaml', note: 'a huge definition' };
    case 'proto-keys': return { text: `{"id":"${id}","__proto__":{"polluted":true},"steps":[{"id":"a","type":"set","set":{"__proto__":{"x":1},"constructor":{"prototype":{"y":1}}}}]}`, type: 'application/json', note: 'prototype keys in a definition' };
    case 'unicode': return { text: `id: ${id}\nname: ${JSON.stringify(unicodeString(g))}\nsteps:\n  - { id: a, type: reply }\n`, type: 'application/yaml', note: 'unicode in a definition' };
    case 'regex': return { text: `id: ${id}\nparams:\n  w: { type: string, pattern: ${JSON.stringify(pick(g, ['^(a+)+$', '(a|a)*b', '(.*a){20}', '^(\\\\w+\\\\s?)*$', '(?<=a)b', '\\\\1(a)', '[']))} }\nsteps:\n  - { id: a, type: reply }\n`, type: 'application/yaml', note: 'a definition with a catastrophic or odd pattern' };
    case 'numbers': return { text: `id: ${id}\nparams:\n  n: { type: integer, minimum: ${pick(g, NUMBERS_JSON)}, maximum: 1e400 }\nsteps:\n  - { id: a, type: delay, for: ${pick(g, ['99999999999d', '-1s', '0ms', '1e400s'])} }\n`, type: 'application/yaml', note: 'out-of-range numbers in a definition' };
    case 'fan-out': return { text: `id: ${id}\nsteps:\n  - { id: a, type: foreach, items: "[1..1000000]", workflow: ${id}, concurrency: 100000 }\n`, type: 'application/yaml', note: 'a self-recursive foreach definition (not triggered)' };
    default: return { text: chance(g, 0.3) ? JSON.stringify({ id, steps: [{ id: 'a', type: 'http', url: `${world.target.url}/t`, timeout: '1s' }] }) : yaml, type: chance(g, 0.5) ? 'application/yaml' : 'text/yaml', note: 'a valid definition' };
  }
}

