import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowgateError } from '../core/errors.js';
import { maxXmlDepth, objectToXml, xmlName, xmlToObject } from './xml.js';

function malformed(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FlowgateError, `expected FlowgateError, got ${String(err)}`);
    assert.equal(err.code, 'malformed_body');
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

test('the documented example: the root stands for the object, text stays a string', () => {
  assert.deepEqual(xmlToObject('<task><amount>10</amount></task>'), { amount: '10' });
});

test('attributes, repeated elements, nested objects, empty elements, #text', () => {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
    <task id="7" kind='loan'>
      <amount currency="EUR">10.50</amount>
      <tag>a</tag>
      <tag>b</tag>
      <customer><name>Ann</name><vip>true</vip></customer>
      <note/>
      <empty></empty>
    </task>`;
  assert.deepEqual(xmlToObject(xml), {
    '@id': '7',
    '@kind': 'loan',
    amount: { '@currency': 'EUR', '#text': '10.50' },
    tag: ['a', 'b'],
    customer: { name: 'Ann', vip: 'true' },
    note: '',
    empty: '',
  });
});

test('repeated elements of mixed shapes keep document order', () => {
  assert.deepEqual(xmlToObject('<t><a>1</a><b/><a><c>2</c></a><a/></t>'), { a: ['1', { c: '2' }, ''], b: '' });
});

test('root with only text or nothing', () => {
  assert.deepEqual(xmlToObject('<t/>'), {});
  assert.deepEqual(xmlToObject('<t>  </t>'), {});
  assert.deepEqual(xmlToObject('<t>hello</t>'), { '#text': 'hello' });
});

test('entities, character references and CDATA are decoded; comments and PIs ignored', () => {
  const obj = xmlToObject('<t><!-- note --><?app do this?><a>x &amp; y &lt;z&gt; &quot;&apos; &#65;&#x42;&#x1F600;</a><b><![CDATA[ <raw> & ]]></b><c attr="1&#10;2\n3"/></t>');
  assert.deepEqual(obj, { a: 'x & y <z> "\' AB😀', b: ' <raw> & ', c: { '@attr': '1\n2 3' } });
});

test('surrounding whitespace is trimmed, inner whitespace kept; text beside children goes to #text', () => {
  assert.deepEqual(xmlToObject('<t>\n  <name>  Ann  Lee \n</name>\n</t>'), { name: 'Ann  Lee' });
  assert.deepEqual(xmlToObject('<t><m>hi <x/> there</m></t>'), { m: { x: '', '#text': 'hi  there' } });
});

test('namespace prefixes stay part of the names', () => {
  assert.deepEqual(xmlToObject('<n:task xmlns:n="urn:x"><n:amount>1</n:amount></n:task>'), { '@xmlns:n': 'urn:x', 'n:amount': '1' });
});

test('a UTF-8 BOM before the document is accepted', () => {
  assert.deepEqual(xmlToObject('\uFEFF<t><a>1</a></t>'), { a: '1' });
});

test('prototype pollution: dangerous names are plain data keys', () => {
  const obj = xmlToObject('<t><__proto__><polluted>yes</polluted></__proto__><constructor>c</constructor><prototype>p</prototype><toString>s</toString><hasOwnProperty>h</hasOwnProperty></t>');
  assert.equal(Object.getPrototypeOf(obj), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(Object.keys(obj), ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']);
  assert.deepEqual(Object.getOwnPropertyDescriptor(obj, '__proto__')?.value, { polluted: 'yes' });
  assert.equal(obj.constructor, 'c');
  assert.equal(JSON.stringify(obj), '{"__proto__":{"polluted":"yes"},"constructor":"c","prototype":"p","toString":"s","hasOwnProperty":"h"}');
  // Repeated dangerous names still become arrays, not inherited lookups.
  assert.deepEqual(xmlToObject('<t><constructor>a</constructor><constructor>b</constructor></t>').constructor, ['a', 'b']);
  const attrs = xmlToObject('<t __proto__="x" constructor="y"/>');
  assert.deepEqual(Object.keys(attrs), ['@__proto__', '@constructor']);
});

test('DOCTYPEs are refused: billion laughs and external entities never expand', () => {
  const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>`;
  malformed(() => xmlToObject(laughs), /DOCTYPE/);
  malformed(() => xmlToObject('<!DOCTYPE t [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><t>&xxe;</t>'), /DOCTYPE/);
  malformed(() => xmlToObject('<!doctype t><t/>'), /DOCTYPE/);
  // "<!DOCTYPE" inside a comment or CDATA is just text.
  assert.deepEqual(xmlToObject('<!-- <!DOCTYPE x> --><t><![CDATA[<!DOCTYPE x>]]></t>'), { '#text': '<!DOCTYPE x>' });
});

test('undefined entities and bare ampersands are malformed', () => {
  malformed(() => xmlToObject('<t>&nbsp;</t>'), /undefined entity &nbsp;/);
  malformed(() => xmlToObject('<t>a & b</t>'));
  malformed(() => xmlToObject('<t>&#0;</t>'), /not a legal XML character/);
  malformed(() => xmlToObject('<t a="&bogus;"/>'), /undefined entity/);
});

test('nesting is held to the nesting limit of the object the document stands for', () => {
  const tooDeep = (fn: () => unknown, pattern: RegExp): void => {
    assert.throws(fn, (err: unknown) => err instanceof FlowgateError && err.code === 'too_deep' && pattern.test(err.message));
  };
  const deep = (n: number): string => '<a>'.repeat(n) + '</a>'.repeat(n);
  // 65 elements, the innermost one a string: 64 levels of objects.
  assert.doesNotThrow(() => xmlToObject(deep(maxXmlDepth())));
  tooDeep(() => xmlToObject(deep(maxXmlDepth() + 1)), /deeper than 64 levels/);
  tooDeep(() => xmlToObject(deep(50_000)), /deeper than 64 levels/);
  // An attribute on the innermost element makes it an object: level 65.
  tooDeep(() => xmlToObject('<a>'.repeat(64) + '<a x="1"/>' + '</a>'.repeat(64)), /deeper than 64 levels/);
  // Repetition makes arrays, each a level of its own.
  const repeated = (n: number): string => (n === 0 ? 'x' : `<a>${repeated(n - 1)}</a><a>y</a>`);
  assert.doesNotThrow(() => xmlToObject(`<r>${repeated(32)}</r>`));
  tooDeep(() => xmlToObject(`<r>${repeated(33)}</r>`), /deeper than 64 levels/);
});

test('invalid XML is malformed_body with a position', () => {
  malformed(() => xmlToObject('<t><a></t>'), /line 1, column \d+/);
  malformed(() => xmlToObject('<t x="1" x="2"/>'), /repeated/);
  malformed(() => xmlToObject('hello'), /line 1/);
  malformed(() => xmlToObject('<t/><u/>'), /more than one root/);
  malformed(() => xmlToObject('<t/>trailing'));
  malformed(() => xmlToObject('   '), /empty/);
  malformed(() => xmlToObject('<t><!-- never closed'), /comment is not closed/);
  malformed(() => xmlToObject('<t>\n<a>\n</t>'), /line \d+, column \d+/);
});

test('objectToXml writes the inverse rule with escaping', () => {
  const xml = objectToXml(
    { '@id': 7, amount: '10', tag: ['a', 'b'], customer: { name: 'A & <B>' }, none: null, empty: '', flag: true, price: 1.5, m: { '@x': 'q"\n<', '#text': 'hi' } },
    'task',
  );
  assert.equal(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?><task id="7"><amount>10</amount><tag>a</tag><tag>b</tag>' +
      '<customer><name>A &amp; &lt;B&gt;</name></customer><none/><empty/><flag>true</flag><price>1.5</price>' +
      '<m x="q&quot;&#10;&lt;">hi</m></task>',
  );
});

test('objectToXml: arrays in arrays, top-level arrays and scalars, options', () => {
  assert.equal(objectToXml({ d: [[1, 2], [3]] }, 'r', { declaration: false }), '<r><d><item>1</item><item>2</item></d><d><item>3</item></d></r>');
  assert.equal(objectToXml([1, { a: 2 }], 'list', { declaration: false, itemName: 'row' }), '<list><row>1</row><row><a>2</a></row></list>');
  assert.equal(objectToXml('x<y', undefined, { declaration: false }), '<root>x&lt;y</root>');
  assert.equal(objectToXml({}, 'r', { declaration: false }), '<r/>');
});

test('objectToXml makes names legal and strips characters XML cannot carry', () => {
  assert.equal(xmlName('my key'), 'my_key');
  assert.equal(xmlName('1abc'), '_1abc');
  assert.equal(xmlName(''), '_');
  assert.equal(xmlName('xmlThing'), '_xmlThing');
  assert.equal(xmlName('a:b'), 'a:b');
  assert.equal(objectToXml({ 'a b': 'x\u0001y\uFFFE' }, 'r', { declaration: false }), '<r><a_b>x\uFFFDy\uFFFD</a_b></r>');
});

test('objectToXml refuses values nested too deep instead of overflowing the stack', () => {
  let v: unknown = 'x';
  for (let i = 0; i < 1000; i++) v = { a: v };
  assert.throws(() => objectToXml(v), RangeError);
});

test('round trip: xmlToObject(objectToXml(x)) gives x back for string-valued documents', () => {
  const value = {
    '@id': '1',
    amount: '10',
    tags: ['a', 'b & c'],
    customer: { '@vip': 'yes', name: 'Ann <A>', address: { city: 'Kyiv', zip: '01001' } },
    note: '',
    text: 'ünïcödé 😀',
  };
  assert.deepEqual(xmlToObject(objectToXml(value, 'task')), value);
});

test('text after a self-closing root is refused; trailing comments and PIs are fine', () => {
  malformed(() => xmlToObject('<t/>a>'), /outside the root/);
  malformed(() => xmlToObject('<t/>&amp;'), /outside the root/);
  malformed(() => xmlToObject('<t a=">"/>x <!-- c -->'), /outside the root/);
  assert.deepEqual(xmlToObject('<t a=">"/> <!-- c --> <?pi x?>\n'), { '@a': '>' });
});
