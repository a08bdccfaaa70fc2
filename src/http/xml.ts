/**
 * XML ⇄ JSON by one documented rule (docs/spec.md §4 "Bodies"):
 *
 * - the ROOT element stands for the object: its attributes and child elements become its keys;
 * - a child element becomes a key; its text becomes a string (never a number or a boolean: params
 *   coerce later), an empty element becomes "", an element with children becomes an object;
 * - an element repeated under one parent becomes an array, in document order;
 * - an attribute becomes an `@name` key; an element with attributes or children AND text keeps the
 *   text under `#text`;
 * - text is trimmed of surrounding XML whitespace (indentation), CDATA sections are kept verbatim,
 *   entity and character references are decoded; comments and processing instructions are ignored;
 *   namespace prefixes stay part of the name (`<a:x>` → key `a:x`, `xmlns:a` → `@xmlns:a`).
 *
 * `<task id="7"><amount>10</amount><tag>a</tag><tag>b</tag></task>` →
 * `{ "@id": "7", "amount": "10", "tag": ["a", "b"] }`.
 *
 * Hostile input: a DOCTYPE (and with it every entity declaration, so billion-laughs and external
 * entities) is refused, the object is held to the nesting limit (core/depth.ts: the parser stops
 * one element past it, since the root element is the object itself), undefined entity references are
 * refused, and the object is built so that `__proto__`, `constructor`, … stay plain data keys.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { checkDepth, maxDepth, tooDeep } from '../core/depth.js';
import { FlowgateError } from '../core/errors.js';

/**
 * Deepest element nesting read (the root element is depth 1): the nesting limit + 1, since the root
 * stands for the object (level 1) and an innermost element with only text is a string.
 */
export const maxXmlDepth = (): number => maxDepth() + 1;

const TEXT = '#text';
const CDATA = '#cdata';
const ATTRS = ':@';
/**
 * Tag names are prefixed while fast-xml-parser builds its tree, so that names such as `__proto__`,
 * `constructor` or `toString` (which it refuses or renames) reach us unchanged. A NUL can never be
 * part of an XML name, so the prefix cannot collide with a real one.
 */
const TAG_MARK = '\u0000';

const parserOptions = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: CDATA,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: false, // decoded below, strictly: only the five predefined and &#…; references
  htmlEntities: false,
  removeNSPrefix: false,
  // Idempotent: the library applies the transform twice to self-closing tags.
  transformTagName: (name: string) => (name.startsWith(TAG_MARK) ? name : TAG_MARK + name),
};

let parser: XMLParser | null = null;
let parserDepth = 0;

/** The parser for the nesting limit in force (it stops one element past maxXmlDepth). */
function parserFor(depth: number): XMLParser {
  if (parser === null || parserDepth !== depth) {
    parser = new XMLParser({ ...parserOptions, maxNestedTags: depth + 1 });
    parserDepth = depth;
  }
  return parser;
}

type OrderedNode = Record<string, unknown>;

const malformed = (detail: string): FlowgateError => new FlowgateError('malformed_body', detail);

// ---------------------------------------------------------------- reading

/** Converts an XML document to the params object it stands for. Throws only FlowgateError (`malformed_body`, `too_deep`). */
export function xmlToObject(text: string): Record<string, unknown> {
  const doc = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (doc.trim() === '') throw malformed('XML body is empty');
  rejectDeclarations(doc);

  const verdict = XMLValidator.validate(doc, { allowBooleanAttributes: false });
  if (verdict !== true) {
    const { msg, line, col } = verdict.err;
    throw malformed(`invalid XML at line ${line}, column ${col}: ${msg}`);
  }
  rejectTrailingText(doc);

  let tree: unknown;
  const depth = maxXmlDepth();
  try {
    tree = parserFor(depth).parse(doc);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/nested tags/i.test(message)) throw tooDeepXml(depth);
    throw malformed(`invalid XML: ${message.replaceAll(TAG_MARK, '')}`);
  }

  const top = (Array.isArray(tree) ? tree : []) as OrderedNode[];
  for (const node of top) {
    if (elementName(node) === undefined && (Object.hasOwn(node, CDATA) || /[^ \t\r\n]/.test(String(node[TEXT] ?? '')))) {
      throw malformed('invalid XML: text outside the root element');
    }
  }
  const roots = top.filter((node) => elementName(node) !== undefined);
  if (roots.length !== 1) {
    throw malformed(roots.length === 0 ? 'XML document has no root element' : 'XML document has more than one root element');
  }
  const value = elementValue(roots[0], 1, depth);
  if (typeof value === 'string') {
    // A root with nothing but text (or nothing at all) still stands for an object.
    const root: Record<string, unknown> = {};
    if (value !== '') root[TEXT] = value;
    return root;
  }
  // Repeated elements (arrays) and attributes on the innermost elements add levels of their own.
  checkDepth(value, 'the XML body');
  return value;
}

const tooDeepXml = (elements: number): FlowgateError =>
  tooDeep(`the XML body (elements nested more than ${elements} deep)`);

/**
 * Refuses `<!DOCTYPE …>` and any other markup declaration. Comments, CDATA sections and processing
 * instructions are skipped so that a `<!` inside them is not mistaken for a declaration; in
 * well-formed XML a raw `<` cannot appear anywhere else.
 */
function rejectDeclarations(doc: string): void {
  for (let i = doc.indexOf('<'); i !== -1; i = doc.indexOf('<', i + 1)) {
    const next = doc.charCodeAt(i + 1);
    if (next === 0x3f /* ? */) {
      i = skipPast(doc, i, '?>', 'processing instruction');
    } else if (next === 0x21 /* ! */) {
      if (doc.startsWith('<!--', i)) i = skipPast(doc, i, '-->', 'comment');
      else if (doc.startsWith('<![CDATA[', i)) i = skipPast(doc, i, ']]>', 'CDATA section');
      else throw malformed(`XML with a DOCTYPE or other markup declaration is not accepted (at ${position(doc, i)})`);
    }
  }
}

/**
 * The validator lets text follow a self-closing root (`<t/>junk`) and the parser drops it silently.
 * After trailing comments, PIs and whitespace, the document must end with the `>` of a tag.
 */
function rejectTrailingText(doc: string): void {
  let end = doc.length;
  for (;;) {
    while (end > 0 && isXmlSpace(doc.charCodeAt(end - 1))) end--;
    if (doc.startsWith('-->', end - 3)) end = doc.lastIndexOf('<!--', end - 3);
    else if (doc.startsWith('?>', end - 2)) end = doc.lastIndexOf('<?', end - 2);
    else break;
    if (end < 0) throw malformed('invalid XML: unbalanced comment or processing instruction at the end');
  }
  const lt = doc.lastIndexOf('<', end - 1);
  let quote = 0;
  let close = -1;
  for (let i = lt + 1; i < end; i++) {
    const c = doc.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) {
      quote = c;
    } else if (c === 0x3e /* > */) {
      close = i;
      break;
    }
  }
  if (lt === -1 || close !== end - 1) throw malformed(`invalid XML at ${position(doc, close + 1)}: text outside the root element`);
}

function isXmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Index of the last character of `terminator` after `from`; malformed when it never comes. */
function skipPast(doc: string, from: number, terminator: string, what: string): number {
  const end = doc.indexOf(terminator, from + 2);
  if (end === -1) throw malformed(`invalid XML at ${position(doc, from)}: ${what} is not closed`);
  return end + terminator.length - 1;
}

function position(doc: string, index: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = doc.indexOf('\n'); i !== -1 && i < index; i = doc.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${index - lineStart + 1}`;
}

/** The element name of an ordered node, or undefined for text/CDATA/comment nodes. */
function elementName(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  for (const key of Object.keys(node)) {
    if (key.startsWith(TAG_MARK)) return key.slice(TAG_MARK.length);
  }
  return undefined;
}

interface TextPart {
  text: string;
  cdata: boolean;
}

function elementValue(node: OrderedNode, depth: number, max: number): string | Record<string, unknown> {
  if (depth > max) throw tooDeepXml(max);
  const name = elementName(node) as string;
  const children = (node[TAG_MARK + name] ?? []) as OrderedNode[];
  const attrs = node[ATTRS] as Record<string, unknown> | undefined;

  const obj: Record<string, unknown> = {};
  let hasKeys = false;
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      // Attribute-value normalisation (XML 1.0 §3.3.3): literal whitespace characters become spaces.
      setKey(obj, key, decodeReferences(String(attrs[key]).replace(/[\t\n\r]/g, ' ')));
      hasKeys = true;
    }
  }

  const parts: TextPart[] = [];
  for (const child of children) {
    const childName = elementName(child);
    if (childName !== undefined) {
      addChild(obj, childName, elementValue(child, depth + 1, max));
      hasKeys = true;
    } else if (Object.hasOwn(child, CDATA)) {
      const inner = child[CDATA] as OrderedNode[];
      parts.push({ text: inner.map((n) => String(n[TEXT] ?? '')).join(''), cdata: true });
    } else if (Object.hasOwn(child, TEXT)) {
      parts.push({ text: decodeReferences(String(child[TEXT])), cdata: false });
    }
  }

  const text = joinText(parts);
  if (!hasKeys) return text;
  if (text !== '') setKey(obj, TEXT, text);
  return obj;
}

const XML_SPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;

/** Joins an element's text pieces: whitespace-only text is indentation, the outer edges are trimmed, CDATA is verbatim. */
function joinText(parts: TextPart[]): string {
  const kept = parts.filter((p) => p.cdata || /[^ \t\r\n]/.test(p.text));
  if (kept.length === 0) return '';
  if (kept.length === 1 && !kept[0].cdata) return kept[0].text.replace(XML_SPACE, '');
  const first = kept[0];
  const last = kept[kept.length - 1];
  if (!first.cdata) first.text = first.text.replace(/^[ \t\r\n]+/, '');
  if (!last.cdata) last.text = last.text.replace(/[ \t\r\n]+$/, '');
  return kept.map((p) => p.text).join('');
}

function addChild(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (!Object.hasOwn(obj, key)) {
    setKey(obj, key, value);
    return;
  }
  const existing = obj[key];
  // Arrays only ever come from repetition here (an element's own value is a string or an object).
  if (Array.isArray(existing)) existing.push(value);
  else setKey(obj, key, [existing, value]);
}

/** Defines an own data property, so `__proto__` is a key like any other and never the prototype. */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const REFERENCE = /&(#x[0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);|&/g;

/** Decodes the five predefined entities and character references; anything else is malformed XML. */
function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, (match, ref: string | undefined) => {
    if (ref === undefined) throw malformed(`invalid XML: '&' must start an entity reference (write &amp;) near "${excerpt(text, match)}"`);
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!isXmlChar(code)) throw malformed(`invalid XML: character reference &${ref}; is not a legal XML character`);
      return String.fromCodePoint(code);
    }
    const value = PREDEFINED[ref];
    if (value === undefined) throw malformed(`invalid XML: undefined entity &${ref}; (only &lt; &gt; &amp; &quot; &apos; are known)`);
    return value;
  });
}

function excerpt(text: string, match: string): string {
  const at = text.indexOf(match);
  return text.slice(Math.max(0, at - 10), at + 10);
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 || code === 0xa || code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

// ---------------------------------------------------------------- writing

// The writer lives in core (the `http` step uses it too); re-exported here for the HTTP layer.
export { MAX_XML_WRITE_DEPTH, objectToXml, xmlName, escapeText, escapeAttribute, type ObjectToXmlOptions } from '../core/xml-write.js';
