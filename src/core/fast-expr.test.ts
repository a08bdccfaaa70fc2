/**
 * The direct evaluator must give exactly what JSONata gives, or step aside (FALLBACK). Checked on
 * chosen cases and on thousands of generated expressions and inputs, against JSONata itself.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jsonata from 'jsonata';
import { compileFast, FALLBACK } from './fast-expr.js';
import { toPlainJson } from './template.js';

type Outcome = { ok: true; value: unknown } | { ok: false; code: string };

async function viaJsonata(source: string, data: unknown, vars: Record<string, unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: toPlainJson(await jsonata(source).evaluate(data, vars)) };
  } catch (e) {
    return { ok: false, code: String((e as { code?: string }).code ?? e) };
  }
}

function fast(source: string, data: unknown, vars: Record<string, unknown>): unknown {
  const f = compileFast(jsonata(source).ast());
  if (!f) return FALLBACK;
  const v = f(data, { vars });
  return v === FALLBACK ? FALLBACK : toPlainJson(v);
}

/** Compares one case; returns whether the direct evaluator answered (rather than stepping aside). */
async function check(source: string, data: unknown, vars: Record<string, unknown>): Promise<boolean> {
  const mine = fast(source, data, vars);
  if (mine === FALLBACK) return false;
  const theirs = await viaJsonata(source, data, vars);
  assert.ok(theirs.ok, `${source} on ${JSON.stringify(data)}: JSONata fails with ${!theirs.ok && theirs.code} but the direct evaluator answered ${JSON.stringify(mine)}`);
  assert.deepEqual(mine, theirs.value, `${source} on ${JSON.stringify(data)}`);
  return true;
}

const DATA = { amount: 1250, zero: 0, neg: -2.5, name: 'Ann', empty: '', yes: true, no: false, none: null, customer: { id: 7, name: 'Bo', address: { city: 'Kyiv' } }, list: [1, 2], obj: {} };
const VARS = { run: { id: 'r-1', ref: null, attempt: 2 }, index: 3, item: { sku: 'A' }, list: [1], now: '2026-01-01T00:00:00.000Z' };

describe('fast expressions', () => {
  it('answers the usual shapes directly, exactly as JSONata', async () => {
    const direct = [
      'amount', 'amount * 0.01', '"order of " & amount', 'amount > 1000', 'amount >= 1250 and name = "Ann"', 'customer.address.city',
      'customer.missing.deeper', 'missing', '$run.id', '$index + 1', '$item.sku & "-" & $run.attempt', 'zero ? "y" : "n"', 'empty or none',
      '-neg', '(amount - 50) / 3', 'amount % 7', 'name != "Bo"', 'missing = 1', 'missing < 3', 'missing + 1', '"a" < "b"', 'none = null',
      '1.1 * 3', 'amount & ""', '0.1 + 0.2 & ""', '1e21 & ""', '$', 'customer', 'true and missing', 'yes ? customer : 0', 'amount / 3 & ""',
    ];
    for (const source of direct) assert.ok(await check(source, DATA, VARS), `${source} should be answered directly`);
  });

  it('steps aside for anything else, so JSONata decides (errors included)', async () => {
    const aside = [
      'list', 'list[0]', '$sum(list)', 'name + 1', 'yes > 1', 'customer = customer', 'obj ? 1 : 2', '$list', 'amount / zero', '-name',
      '$missing', '$now()', '{"a": amount}', '[amount]', 'customer.name.first.x', '(amount; name)', '$string(amount)',
    ];
    for (const source of aside) {
      const mine = fast(source, DATA, VARS);
      assert.equal(mine, FALLBACK, `${source} should be left to JSONata, got ${JSON.stringify(mine)}`);
    }
  });

  it('agrees with JSONata on thousands of generated expressions and inputs', async () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)];
    const values = [0, 1, -1, 2.5, 1000, 1e21, 0.1, 'x', '', 'abc', '10', true, false, null, { k: 1 }, {}, [1], []];
    const leaves = ['a', 'b', 's', 'o.k', 'o.p.q', 'missing', '$v', '$w.k', '$', '1', '0', '2.5', '"t"', '""', 'true', 'false', 'null', '-a'];
    const ops = ['+', '-', '*', '/', '%', '=', '!=', '<', '<=', '>', '>=', 'and', 'or', '&'];
    const gen = (depth: number): string => {
      if (depth === 0 || rnd(3) === 0) return pick(leaves);
      if (rnd(6) === 0) return `(${gen(depth - 1)} ? ${gen(depth - 1)} : ${gen(depth - 1)})`;
      return `(${gen(depth - 1)} ${pick(ops)} ${gen(depth - 1)})`;
    };
    let answered = 0;
    for (let i = 0; i < 3000; i++) {
      const data = { a: pick(values), b: pick(values), s: pick(values), o: rnd(2) ? { k: pick(values), p: { q: pick(values) } } : pick(values) };
      const vars = { v: pick(values), w: { k: pick(values) } };
      if (await check(gen(3), data, vars)) answered++;
    }
    // The comparison only means something if the direct path answered a good share of the cases.
    assert.ok(answered > 800, `the direct evaluator answered only ${answered} of 3000`);
  });
});
