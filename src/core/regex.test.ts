import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import jsonata from 'jsonata';
import { CACHE_SIZE, compileUserRegex, engineReloads, MAX_INPUT, RegexEngine, RegexError, regexProblem } from './regex.js';

/** Every match of a global native RegExp, in the shape UserRegex answers. */
function nativeAll(re: RegExp, s: string): Array<{ match: string; index: number; groups: Array<string | undefined> }> {
  const out = [];
  for (const m of s.matchAll(re)) out.push({ match: m[0], index: m.index as number, groups: m.slice(1) });
  return out;
}

/** Every match by UserRegex, advancing as a global RegExp does (past an empty match by one unit). */
function ours(source: string, flags: string, s: string) {
  const re = compileUserRegex(source, flags);
  const out = [];
  let from = 0;
  while (from <= s.length) {
    const m = re.exec(s, from);
    if (m === null) break;
    out.push(m);
    from = m.index + m.match.length + (m.match.length === 0 ? (s.codePointAt(m.index)! > 0xffff ? 2 : 1) : 0);
  }
  return out;
}

// Safe patterns on which RE2 and JavaScript (with the u flag) must agree.
const CASES: Array<[string, string, string]> = [
  ['([a-z]+)(\\d+)', '', 'ab12cd345 x9'],
  ['(\\w+)@(\\w+)\\.com', '', 'mail ann@example.com, bob@test.com.'],
  ['(a)|(b)', '', 'abba'],
  ['(?<year>\\d{4})-(?<month>\\d{2})', '', 'from 2024-05 to 2025-11'],
  ['^line\\d$', 'm', 'line1\nline2\nxline3'],
  ['^line\\d$', '', 'line1\nline2'],
  ['hello', 'i', 'Hello HELLO hello'],
  ['a.c', 's', 'a\nc abc'],
  ['a.c', '', 'a\nc abc'],
  ['\\bcat\\b', '', 'cat concat cat, bobcat cat'],
  ['\\Bcat', '', 'cat concat bobcat'],
  ['\\s+', '', 'a b\tc\u00a0d\u2003e\ufefff'],
  ['\\S+', '', ' one\u00a0two three '],
  ['[\\s,]+', '', 'a, b,\u3000c'],
  ['é(.)', '', 'aaé😀b éx'],
  ['😀+', '', 'a😀😀b😀'],
  ['.', '', 'a😀b'],
  ['\\p{L}+', '', 'héllo wörld 123 Ωμέγα'],
  ['[^a-z]', 'i', 'aB1-Ω'],
  ['x*', '', 'axxb'],
  ['\\d{2,3}', '', '1 12 123 1234 12345'],
  ['colou?r', '', 'color colour colouur'],
  ['\\u00e9|\\u{1F600}', '', 'é😀e'],
  ['(\\d+)(?:px|em)', '', '12px 3em 4pt'],
  ['$', '', 'abc'],
  ['^', 'm', 'a\nb\nc'],
];

describe('UserRegex', () => {
  it('agrees with native RegExp on matches, indices and groups', () => {
    for (const [source, flags, input] of CASES) {
      const native = nativeAll(new RegExp(source, `${flags}gu`), input);
      assert.deepEqual(ours(source, flags, input), native, `/${source}/${flags} on ${JSON.stringify(input)}`);
    }
  });

  it('agrees from any start position (context before the start is seen)', () => {
    for (const [source, flags, input] of CASES) {
      for (let from = 0; from <= input.length; from++) {
        const re = new RegExp(source, `${flags}gu`);
        re.lastIndex = from;
        const n = re.exec(input);
        // the u flag moves a start inside a surrogate pair back to the pair; RE2 is given whole code points
        if (from > 0 && /[\udc00-\udfff]/.test(input[from]) && /[\ud800-\udbff]/.test(input[from - 1])) continue;
        const m = compileUserRegex(source, flags).exec(input, from);
        assert.deepEqual(m, n && { match: n[0], index: n.index, groups: n.slice(1) }, `/${source}/${flags} from ${from} in ${JSON.stringify(input)}`);
      }
    }
  });

  it('tests like RegExp.test', () => {
    const re = compileUserRegex('^[A-Z]{3}$');
    assert.equal(re.test('EUR'), true);
    assert.equal(re.test('eur'), false);
    assert.equal(re.test('EURO'), false);
    assert.equal(compileUserRegex('^[A-Z]{3}$', 'i').test('eur'), true);
  });

  it('answers a catastrophic pattern in linear time', () => {
    const re = compileUserRegex('^(a+)+$');
    const t = performance.now();
    assert.equal(re.test(`${'a'.repeat(30)}!`), false);
    assert.equal(re.test(`${'a'.repeat(5000)}!`), false);
    assert.equal(re.test('a'.repeat(5000)), true);
    assert.equal(compileUserRegex('(x+x+)+y').test('x'.repeat(5000)), false);
    // JavaScript's engine would not finish these in a lifetime; the bar allows for a loaded machine
    assert.ok(performance.now() - t < 2000, `${performance.now() - t} ms`);
  });

  it('keeps lone surrogates in place', () => {
    const m = compileUserRegex('b').exec('a\ud800xb', 0);
    assert.deepEqual(m, { match: 'b', index: 3, groups: [] });
    const dot = compileUserRegex('.').exec('a\ud800x', 1);
    assert.deepEqual(dot, { match: '\ud800', index: 1, groups: [] });
  });

  it('refuses backreferences and lookaround, saying why', () => {
    for (const p of ['(a)\\1', '(?<n>a)\\k<n>']) assert.match(regexProblem(p) ?? '', /^uses a backreference .*RE2/);
    for (const p of ['(?<=a)b', '(?<!a)b', 'a(?=b)', 'a(?!b)']) assert.match(regexProblem(p) ?? '', /^uses lookahead or lookbehind .*RE2/);
    assert.equal(regexProblem('^(a+)+$'), null);
    assert.match(regexProblem('(') ?? '', /^is not a valid regular expression \(RE2 syntax\): missing \)/);
    assert.match(regexProblem('a{1001}') ?? '', /invalid repetition size/);
    assert.throws(() => compileUserRegex('(a)\\1'), RegexError);
    assert.throws(() => compileUserRegex('a', 'x'), /unsupported flag "x"/);
  });

  it('refuses an input longer than MAX_INPUT', () => {
    const re = compileUserRegex('z');
    assert.throws(() => re.exec('a'.repeat(MAX_INPUT + 1)), (e: unknown) => e instanceof RegexError && /longer than 100000 characters/.test(e.message));
  });

  it('keeps working after evicting compiled patterns from its cache', () => {
    const first = compileUserRegex('^first-(\\d+)$');
    for (let i = 0; i < CACHE_SIZE * 3; i++) assert.equal(compileUserRegex(`^p${i}-(\\d+)$`).test(`p${i}-7`), true);
    assert.deepEqual(first.exec('first-42'), { match: 'first-42', index: 0, groups: ['42'] });
  });

  it('loads a fresh engine when the engine aborted (out of memory), and carries on', () => {
    const re = compileUserRegex('^ok-(\\d+)$');
    const before = engineReloads();
    // The engine in use answers the next match as an exhausted heap does: it aborts.
    const { RE2 } = createRequire(import.meta.url)('re2-wasm') as { RE2: { prototype: { exec(s: string): unknown } } };
    RE2.prototype.exec = () => {
      throw new WebAssembly.RuntimeError('abort(Cannot enlarge memory arrays to size 16781312 bytes (OOM))');
    };
    assert.deepEqual(re.exec('ok-9'), { match: 'ok-9', index: 0, groups: ['9'] });
    assert.equal(engineReloads(), before + 1);
    assert.equal(compileUserRegex('^(a+)+$').test('aaa'), true);
    assert.deepEqual(compileUserRegex('^ok-(\\d+)$').exec('ok-10')?.groups, ['10']);
  });
});

describe('RegexEngine (JSONata)', () => {
  const both = async (expr: string, input: unknown = {}) => {
    const native = await jsonata(expr).evaluate(input);
    const re2 = await jsonata(expr, { RegexEngine: RegexEngine as unknown as RegExpConstructor }).evaluate(input);
    return { native: JSON.parse(JSON.stringify(native ?? null)), re2: JSON.parse(JSON.stringify(re2 ?? null)) };
  };

  it('gives JSONata the answers of native RegExp', async () => {
    const exprs = [
      '$match("ab12cd345", /([a-z]+)(\\d+)/)',
      '$match("ab12cd345", /([a-z]+)(\\d+)/, 1)',
      '$match("Hello hello HELLO", /hello/i)',
      '$match("line1\\nline2", /^line\\d$/m)',
      '$contains("Hello World", /world/i)',
      '$contains("Hello World", /^world/i)',
      '$replace("John Smith", /(\\w+)\\s(\\w+)/, "$2, $1")',
      '$replace("a1b22c333", /\\d+/, "#")',
      '$replace("a1b22c333", /\\d+/, "#", 2)',
      '$replace("abc", /b/, function($m) { $uppercase($m.match) })',
      '$split("a, b,c ,  d", /\\s*,\\s*/)',
      '$split("a1b2c3", /\\d/, 2)',
      '$match("a😀b😀c", /😀/).index',
      '$replace("héllo wörld", /ö/, "o")',
      '"x" ~> $match(/y/)',
      '$count($match(s, /\\w+/))',
      '$map(["a1", "b", "c3"], function($v) { $contains($v, /\\d/) })',
    ];
    for (const e of exprs) {
      const { native, re2 } = await both(e, { s: 'the quick brown fox' });
      assert.deepEqual(re2, native, e);
    }
  });

  it('fails a zero-length global match as JSONata does (D1004)', async () => {
    const opts = { RegexEngine: RegexEngine as unknown as RegExpConstructor };
    await assert.rejects(jsonata('$match("abc", /x*/)', opts).evaluate({}), (e: { code?: string }) => e.code === 'D1004');
  });

  it('behaves as RegExp for lastIndex and exec', () => {
    const g = new RegexEngine(/a(\d)/g);
    assert.equal(g.flags, 'g');
    assert.deepEqual([...(g.exec('a1 a2') ?? [])], ['a1', '1']);
    assert.equal(g.lastIndex, 2);
    assert.equal(g.exec('a1 a2')?.index, 3);
    assert.equal(g.lastIndex, 5);
    assert.equal(g.exec('a1 a2'), null);
    assert.equal(g.lastIndex, 0);
    const once = new RegexEngine('a', 'i');
    once.lastIndex = 3;
    assert.equal(once.exec('xA')?.index, 1);
    assert.equal(once.lastIndex, 3);
  });
});
