import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scope } from './compiled.js';
import type { FieldProblem } from './errors.js';
import { warmUpRegexEngine } from './regex.js';
import {
  ExpressionError, compileExpression, compileTemplate, evaluateExpression, evaluateTemplateValue, getExpressionLimits,
  hasTemplate, isTruthy, setExpressionLimits, splitTemplate, toPlainJson,
} from './template.js';

const scope: Scope = {
  data: { amount: 1500, name: 'Ann', items: [{ a: 1 }, { a: 2 }, { a: 3 }], customer: { id: 7, tags: ['x'] }, none: null },
  vars: {
    run: { id: '0190b6d8-52a8-7c3e-8f2b-3b5c2a1d4e6f', ref: 'r-1' },
    secrets: { review_key: 's3cr3t-value' },
    item: { sku: 'A-1' },
    index: 4,
    now: '2024-05-01T12:00:00.000Z',
  },
};

const tmpl = async (value: unknown, s: Scope = scope) => {
  const problems: FieldProblem[] = [];
  const t = compileTemplate(value, 'f', problems);
  assert.deepEqual(problems, []);
  return t.evaluate(s);
};

describe('compileTemplate', () => {
  it('yields the typed value of a string that is exactly one {{ }}', async () => {
    assert.equal(await tmpl('{{ amount }}'), 1500);
    assert.equal(await tmpl('  {{amount * 0.01}}  '), 15);
    assert.equal(await tmpl('{{ amount > 1000 }}'), true);
    assert.deepEqual(await tmpl('{{ customer }}'), { id: 7, tags: ['x'] });
    assert.deepEqual(await tmpl('{{ items.a }}'), [1, 2, 3]);
    assert.equal(await tmpl('{{ missing }}'), null);
    assert.equal(await tmpl('{{ none }}'), null);
    assert.deepEqual(await tmpl('{{ {"a": {"b": amount}} }}'), { a: { b: 1500 } });
    assert.deepEqual(await tmpl('{{ $map([1,2], function($v){ {"v": $v} }) }}'), [{ v: 1 }, { v: 2 }]);
  });

  it('interpolates pieces as text', async () => {
    assert.equal(await tmpl('Hello {{ name }}!'), 'Hello Ann!');
    assert.equal(await tmpl('{{ amount }}{{ name }}'), '1500Ann');
    assert.equal(await tmpl('n={{ missing }}|{{ none }}|{{ true }}'), 'n=||true');
    assert.equal(await tmpl('c={{ customer }} i={{ items.a }}'), 'c={"id":7,"tags":["x"]} i=[1,2,3]');
    assert.equal(await tmpl('{{ "}}" }} and {{ \'{{\' }}'), '}} and {{');
    assert.equal(await tmpl('x {{ /* } */ amount }}'), 'x 1500');
  });

  it('walks objects and arrays, keeping key order', async () => {
    const v = await tmpl({ b: '{{ amount }}', a: ['{{ name }}', 'lit', 3, null, { deep: 'id-{{ customer.id }}' }], c: true });
    assert.deepEqual(v, { b: 1500, a: ['Ann', 'lit', 3, null, { deep: 'id-7' }], c: true });
    assert.deepEqual(Object.keys(v as object), ['b', 'a', 'c']);
  });

  it('binds scope vars as $name', async () => {
    assert.equal(await tmpl('{{ $run.id }}'), '0190b6d8-52a8-7c3e-8f2b-3b5c2a1d4e6f');
    assert.equal(await tmpl('{{ $secrets.review_key }}'), 's3cr3t-value');
    assert.equal(await tmpl('{{ $item.sku }}-{{ $index }}'), 'A-1-4');
    assert.equal(await tmpl('{{ $now }}'), '2024-05-01T12:00:00.000Z');
    const live = await tmpl('{{ $now() }}');
    assert.match(String(live), /^\d{4}-\d{2}-\d{2}T/);
    assert.notEqual(live, '2024-05-01T12:00:00.000Z');
  });

  it('treats values without {{ as constants returning the same value without JSONata', async () => {
    const problems: FieldProblem[] = [];
    const value = { a: 'x', b: [1, { c: 'y' }], d: null, e: 'a } b {' };
    const t = compileTemplate(value, 'f', problems);
    assert.equal(t.constant, true);
    const out = await t.evaluate({ data: {}, vars: {} });
    assert.deepEqual(out, value);
    (out as { a: string }).a = 'changed';
    assert.deepEqual(await t.evaluate({ data: {}, vars: {} }), value, 'callers get their own copy');
    for (const c of ['plain', 42, true, null]) {
      const ct = compileTemplate(c, 'f', problems);
      assert.equal(ct.constant, true);
      assert.equal(await ct.evaluate({ data: {}, vars: {} }), c);
    }
    assert.equal(compileTemplate({ a: ['{{ x }}'] }, 'f', problems).constant, false);
    assert.deepEqual(problems, []);
  });

  it('reports syntax problems at nested paths', () => {
    const problems: FieldProblem[] = [];
    compileTemplate({ fee: '{{ amount * }}', list: ['ok', 'x {{ ( }}'], open: 'a {{ b', empty: '{{ }}' }, 'steps[1].set', problems);
    assert.deepEqual(problems.map((p) => p.path), ['steps[1].set.fee', 'steps[1].set.list[1]', 'steps[1].set.open', 'steps[1].set.empty']);
    assert.match(problems[0].message, /^invalid expression "amount \*": /);
    assert.equal(problems[2].message, 'unterminated {{ starting at character 3');
    assert.equal(problems[3].message, 'empty expression');
  });

  it('quotes odd keys in paths', () => {
    const problems: FieldProblem[] = [];
    compileTemplate({ 'Content-Type': '{{ ( }}', 'a b': '{{ ( }}' }, 'steps[0].headers', problems);
    assert.deepEqual(problems.map((p) => p.path), ['steps[0].headers.Content-Type', 'steps[0].headers["a b"]']);
  });

  it('a template with a syntax error throws ExpressionError when evaluated', async () => {
    const problems: FieldProblem[] = [];
    const t = compileTemplate('{{ 1 + }}', 'f', problems);
    await assert.rejects(t.evaluate(scope), (e: unknown) => e instanceof ExpressionError && e.code === 'expression_error');
  });
});

describe('compileExpression', () => {
  it('evaluates bare JSONata to plain JSON', async () => {
    const problems: FieldProblem[] = [];
    const e = compileExpression('amount > 1000', 'steps[0].cases[0].when', problems);
    assert.equal(e.source, 'amount > 1000');
    assert.equal(await e.evaluate(scope), true);
    const seq = await compileExpression('items[a > 1].a', 'x', problems).evaluate(scope);
    assert.ok(Array.isArray(seq));
    assert.equal(Object.getPrototypeOf(seq), Array.prototype);
    assert.equal((seq as unknown as { sequence?: boolean }).sequence, undefined);
    assert.deepEqual(seq, [2, 3]);
    assert.deepEqual(problems, []);
  });

  it('adds a problem for a syntax error and returns an expression that throws', async () => {
    const problems: FieldProblem[] = [];
    const e = compileExpression('amount >', 'steps[0].cases[1].when', problems);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].path, 'steps[0].cases[1].when');
    assert.match(problems[0].message, /invalid expression "amount >": .*position/);
    await assert.rejects(e.evaluate(scope), ExpressionError);
  });

  it('wraps evaluation errors with the expression and JSONata message, redacting secrets', async () => {
    const problems: FieldProblem[] = [];
    await assert.rejects(compileExpression('name * 2', 'x', problems).evaluate(scope), (e: unknown) => {
      assert.ok(e instanceof ExpressionError);
      assert.equal(e.code, 'expression_error');
      assert.match(e.message, /^expression "name \* 2" failed: .*must evaluate to a number/);
      assert.equal(e.jsonataCode, 'T2001');
      return true;
    });
    await assert.rejects(compileExpression('$number($secrets.review_key)', 'x', problems).evaluate(scope), (e: unknown) => {
      assert.ok(e instanceof ExpressionError);
      assert.doesNotMatch(e.message, /s3cr3t-value/);
      assert.match(e.message, /\[redacted\]/);
      return true;
    });
  });

  it('converts results to plain JSON', async () => {
    assert.deepEqual(await evaluateExpression('{"f": function($x){$x}, "a": [1, 2], "u": missing}', scope), { a: [1, 2] });
    assert.equal(await evaluateExpression('function($x){$x}', scope), null);
    assert.deepEqual(await evaluateExpression('[$uppercase, 1]', scope), [null, 1]);
    assert.deepEqual(toPlainJson([1, undefined, () => 1, Number.NaN, { x: undefined, y: 2 }]), [1, null, null, null, { y: 2 }]);
  });

  it('caches compilations by source', () => {
    const p: FieldProblem[] = [];
    const t = performance.now();
    for (let i = 0; i < 10_000; i++) compileExpression('amount * 0.01 + $count(items)', 'x', p);
    assert.ok(performance.now() - t < 500);
  });
});

describe('guards', () => {
  // The default budget is 1 s of running time; the timeout tests shorten it to stay fast.
  before(() => assert.deepEqual(getExpressionLimits(), { timeoutMs: 1000, maxDepth: 500 }));
  after(() => setExpressionLimits({ timeoutMs: 1000, maxDepth: 500 }));

  it('stops unbounded recursion as too deeply nested', async () => {
    const t = Date.now();
    await assert.rejects(evaluateExpression('($f := function($n){ 1 + $f($n+1) }; $f(0))', scope), (e: unknown) => {
      assert.ok(e instanceof ExpressionError);
      assert.match(e.message, /^expression too deeply nested/);
      return true;
    });
    assert.ok(Date.now() - t < 1000);
  });

  it('stops an infinite tail call with a timeout', async () => {
    setExpressionLimits({ timeoutMs: 100 });
    const t = Date.now();
    await assert.rejects(evaluateExpression('($f := function($n){ $f($n+1) }; $f(0))', scope), (e: unknown) => {
      assert.ok(e instanceof ExpressionError);
      assert.match(e.message, /^expression timed out after 100 ms/);
      return true;
    });
    assert.ok(Date.now() - t < 1000);
  });

  it('stops an infinite tail-recursive loop with a timeout', async () => {
    const t = Date.now();
    await assert.rejects(
      evaluateExpression('($loop := function($n){ $n < 0 ? 0 : $loop($n) }; $loop(1))', scope),
      /expression timed out/,
    );
    assert.ok(Date.now() - t < 1000);
  });

  it('leaves the process healthy afterwards', async () => {
    await assert.rejects(evaluateExpression('($f := function($n){ $f($n) }; $f(0))', scope), ExpressionError);
    const timer = new Promise<string>((resolve) => setTimeout(() => resolve('tick'), 5));
    assert.equal(await timer, 'tick');
    assert.equal(await evaluateExpression('amount + 1', scope), 1501);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => evaluateExpression(`${i} + amount`, scope)));
    assert.equal(results[49], 1549);
  });

  it('applies new limits to already compiled expressions', async () => {
    const p: FieldProblem[] = [];
    const e = compileExpression('($f := function($n){ $n = 0 ? 0 : 1 + $f($n-1) }; $f(30))', 'x', p);
    assert.equal(await e.evaluate(scope), 30);
    setExpressionLimits({ maxDepth: 20 });
    assert.deepEqual(getExpressionLimits(), { timeoutMs: 100, maxDepth: 20 });
    await assert.rejects(e.evaluate(scope), /too deeply nested/);
    setExpressionLimits({ maxDepth: 500, timeoutMs: 20 });
    const t = Date.now();
    await assert.rejects(evaluateExpression('($f := function(){ $f() }; $f())', scope), /timed out after 20 ms/);
    assert.ok(Date.now() - t < 500);
    assert.throws(() => setExpressionLimits({ timeoutMs: 0 }), RangeError);
  });

  it('lets the event loop run while a long expression evaluates, and counts only its own time', async () => {
    setExpressionLimits({ timeoutMs: 400 });
    // A timer that should tick every 2 ms: the longest gap between ticks is the longest the
    // expression held the event loop. Without yielding it would be the whole 400 ms budget.
    let last = performance.now();
    let longest = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 2);
    // Other work sharing the loop meanwhile: a busy 30 ms on every tick of a second timer.
    const busy = setInterval(() => {
      const end = performance.now() + 30;
      while (performance.now() < end);
    }, 1);
    const t = performance.now();
    try {
      await assert.rejects(evaluateExpression('$count([1..200000].($count([1..200].($ + 1))))', scope), /expression timed out after 400 ms/);
    } finally {
      clearInterval(ticker);
      clearInterval(busy);
    }
    const elapsed = performance.now() - t;
    assert.ok(longest < 150, `the event loop was held for ${longest.toFixed(0)} ms at once`);
    assert.ok(elapsed > 500, `the other work's time did not count against the budget (finished after ${elapsed.toFixed(0)} ms)`);
  });
});

describe('helpers', () => {
  it('splitTemplate finds the end of each expression', () => {
    assert.deepEqual(splitTemplate('a {{ x }} b {{ {"k":{"j":1}} }}').pieces, [
      { text: 'a ' }, { expr: 'x' }, { text: ' b ' }, { expr: '{"k":{"j":1}}' },
    ]);
    assert.equal(splitTemplate('{{ x').error, 'unterminated {{ starting at character 1');
  });

  it('hasTemplate, isTruthy, evaluateTemplateValue', async () => {
    assert.equal(hasTemplate({ a: [1, 'x {{y}}'] }), true);
    assert.equal(hasTemplate({ a: [1, 'x {y}'] }), false);
    for (const v of [false, null, 0, '', [], {}, [0, '']]) assert.equal(isTruthy(v), false, JSON.stringify(v));
    for (const v of [true, 1, 'a', [0, 1], { a: 0 }]) assert.equal(isTruthy(v), true, JSON.stringify(v));
    assert.deepEqual(await evaluateTemplateValue({ x: '{{ amount }}' }, scope), { x: 1500 });
    await assert.rejects(evaluateTemplateValue('{{ ( }}', scope), ExpressionError);
  });
});

// After the guards: the regex engine's first use compiles its code in the background for a while,
// which would disturb the guards' timing measurements.
describe('regexes (RE2)', () => {
  it('runs regexes in linear time: a catastrophic pattern answers at once', async () => {
    warmUpRegexEngine();
    await evaluateExpression('$match("a", /a/)', scope);
    const t = performance.now();
    const s: Scope = { data: { v: `${'a'.repeat(40)}!` }, vars: {} };
    assert.equal(await evaluateExpression('$contains(v, /^(a+)+$/)', s), false);
    assert.equal(await evaluateExpression('$match(v, /^(a|a)+$/)', s), null);
    assert.equal(await evaluateExpression('$replace(v, /(a+)+b/, "x")', s), s.data.v);
    assert.deepEqual(await evaluateExpression('$split(v, /(a+)+!/)', s), ['', '']);
    // JavaScript's engine needs days for 40 a's; RE2 microseconds (the bar allows for a loaded machine)
    assert.ok(performance.now() - t < 2000, `${performance.now() - t} ms`);
  });

  it('counts regex matching against the budget inside a regex function', async () => {
    // 60,000 matches in one $match: a loop of JSONata's own that evaluates no node between them
    setExpressionLimits({ timeoutMs: 50 });
    const t = Date.now();
    try {
      await assert.rejects(evaluateExpression('$count($match($pad("", 60000, "a"), /a/))', scope), /expression timed out after 50 ms/);
      assert.ok(Date.now() - t < 1000, `${Date.now() - t} ms`);
    } finally {
      setExpressionLimits({ timeoutMs: 1000 });
    }
  });
});
