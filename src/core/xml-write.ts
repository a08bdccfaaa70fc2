/**
 * Writing XML from JSON-like values: the inverse of the reading rule of docs/spec.md §4 "Bodies"
 * (src/http/xml.ts reads). Lives in core so that both the HTTP layer (answers in XML) and the
 * `http` step (`format: xml` bodies) can use it.
 */

/** Deepest value nesting {@link objectToXml} writes. */
export const MAX_XML_WRITE_DEPTH = 256;

const TEXT = '#text';


export interface ObjectToXmlOptions {
  /** Prepend `<?xml version="1.0" encoding="UTF-8"?>` (default true). */
  declaration?: boolean;
  /** Element name used for the members of arrays nested directly in arrays, and for a top-level array (default `item`). */
  itemName?: string;
}

/**
 * The inverse rule: `value` becomes the root element `rootName`. Object keys become child elements,
 * `@name` keys become attributes, `#text` becomes text, arrays become repeated elements, `null` and
 * `""` become empty elements, numbers and booleans their JSON text. Names that are not legal XML names
 * are made legal (illegal characters → `_`, a leading `_` when the first character cannot start a name).
 */
export function objectToXml(value: unknown, rootName = 'root', options: ObjectToXmlOptions = {}): string {
  const itemName = xmlName(options.itemName ?? 'item');
  const out: string[] = [];
  if (options.declaration !== false) out.push('<?xml version="1.0" encoding="UTF-8"?>');
  writeElement(out, xmlName(rootName), value, itemName, 0);
  return out.join('');
}

function writeElement(out: string[], name: string, value: unknown, itemName: string, depth: number): void {
  if (depth > MAX_XML_WRITE_DEPTH) throw new RangeError(`value nests deeper than ${MAX_XML_WRITE_DEPTH} levels; cannot write it as XML`);
  if (Array.isArray(value)) {
    // A top-level (or array-in-array) list: its members become <item> children.
    out.push(`<${name}>`);
    for (const member of value) writeMember(out, itemName, member, itemName, depth + 1);
    out.push(`</${name}>`);
    return;
  }
  if (value !== null && typeof value === 'object') {
    let attrs = '';
    const body: string[] = [];
    for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      if (key.startsWith('@') && key.length > 1) {
        attrs += ` ${xmlName(key.slice(1))}="${escapeAttribute(scalarText(member))}"`;
      } else if (key === TEXT) {
        body.push(escapeText(scalarText(member)));
      } else {
        writeMember(body, xmlName(key), member, itemName, depth + 1);
      }
    }
    out.push(body.length === 0 ? `<${name}${attrs}/>` : `<${name}${attrs}>${body.join('')}</${name}>`);
    return;
  }
  const text = value === null || value === undefined ? '' : scalarText(value);
  out.push(text === '' ? `<${name}/>` : `<${name}>${escapeText(text)}</${name}>`);
}

/** A key's value: an array repeats the element, anything else is one element. */
function writeMember(out: string[], name: string, value: unknown, itemName: string, depth: number): void {
  if (Array.isArray(value)) {
    // An array member that is itself an array becomes one element holding <item> children.
    for (const member of value) writeElement(out, name, member, itemName, depth + 1);
    return;
  }
  writeElement(out, name, value, itemName, depth);
}

function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return '';
  return JSON.stringify(value) ?? '';
}

const NAME_START = /[A-Za-z_\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD]/;
const NAME_ILLEGAL = /[^A-Za-z0-9_.\-:\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C-\u200D\u203F-\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD]/g;

/** Makes `name` a legal XML element or attribute name. */
export function xmlName(name: string): string {
  let legal = name.replace(NAME_ILLEGAL, '_');
  if (legal === '' || !NAME_START.test(legal[0])) legal = `_${legal}`;
  // Names beginning with "xml" (any case) are reserved by the XML spec.
  if (/^xml/i.test(legal) && !/^xmlns(:|$)/.test(legal)) legal = `_${legal}`;
  return legal;
}

// Characters XML 1.0 cannot carry at all (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeText(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

export function escapeAttribute(text: string): string {
  return text.replace(NOT_XML, '\uFFFD').replace(/[&<>"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c]);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
