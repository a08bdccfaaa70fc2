/**
 * A direct evaluator for the small JSONata expressions most workflows are made of: field paths
 * (`amount`, `customer.name`, `$run.id`), literals, arithmetic, comparisons, `and`/`or`, `&`,
 * unary minus, `? :` and parentheses. It is built from the parsed JSONata AST, so the syntax is
 * JSONata's own, and it gives exactly what JSONata gives for these shapes (a test compares the two
 * on generated expressions and data).
 *
 * Whatever it is not sure about, it does not decide: an expression outside the subset is not
 * compiled, and a value outside the plain cases at run time (an array, an operand of the wrong
 * type, a non-finite number) makes the evaluation answer FALLBACK, so the caller evaluates the
 * expression with JSONata itself, errors and all. Nothing here has side effects, so stopping
 * half-way is harmless.
 *
 * Why: JSONata evaluates asynchronously, node by node, through promises; on a three-step workflow
 * that was the largest share of the CPU spent executing a run (docs/performance.md).
 */

export const FALLBACK: unique symbol = Symbol('fast-expr fallback');

type Value = unknown;
/** Where bound variables come from: read only when the expression names one (building them costs). */
export interface FastEnv {
  readonly vars: Record<string, unknown> | undefined;
}

/** Evaluates against the input (`scope.data`) and the bound variables; FALLBACK when unsure. */
export type FastEval = (input: Value, env: FastEnv) => Value | typeof FALLBACK;

interface Node {
  type: string;
  value?: unknown;
  steps?: Node[];
  lhs?: Node;
  rhs?: Node;
  expression?: Node;
  expressions?: Node[];
  condition?: Node;
  then?: Node;
  else?: Node;
  [key: string]: unknown;
}

/** Keys a path step may have and still be a plain field lookup (no filters, no focus, no grouping). */
const PLAIN_STEP_KEYS = new Set(['type', 'value', 'position']);
const isPlainStep = (n: Node): boolean => Object.keys(n).every((k) => PLAIN_STEP_KEYS.has(k));
const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** A field of a plain object as JSONata's lookup sees it; FALLBACK for anything unusual. */
function field(v: Value, key: string): Value | typeof FALLBACK {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return FALLBACK;
  if (hasOwn(v, key)) {
    const x = (v as Record<string, unknown>)[key];
    return Array.isArray(x) ? FALLBACK : x;
  }
  return key in v ? FALLBACK : undefined;
}

/** JSONata's $boolean for the values handled here; FALLBACK for arrays and objects. */
function truthy(v: Value): boolean | typeof FALLBACK {
  switch (typeof v) {
    case 'undefined':
      return false;
    case 'boolean':
      return v;
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
    default:
      return v === null ? false : FALLBACK;
  }
}

/** JSONata's $string for the values handled here (numbers to 15 significant digits). */
function text(v: Value): string | typeof FALLBACK {
  switch (typeof v) {
    case 'undefined':
      return '';
    case 'string':
      return v;
    case 'number':
      return JSON.stringify(Number(v.toPrecision(15)));
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return v === null ? 'null' : FALLBACK;
  }
}

const finite = (n: number): number | typeof FALLBACK => (Number.isFinite(n) ? n : FALLBACK);

function compilePath(steps: Node[]): FastEval | null {
  if (steps.length === 0 || !steps.every(isPlainStep)) return null;
  const [first, ...rest] = steps;
  if (!rest.every((s) => s.type === 'name' && typeof s.value === 'string')) return null;
  const names = rest.map((s) => s.value as string);
  let head: FastEval;
  if (first.type === 'name' && typeof first.value === 'string') {
    const name = first.value;
    head = (input) => field(input, name);
  } else if (first.type === 'variable' && typeof first.value === 'string') {
    head = compileVariable(first.value);
  } else {
    return null;
  }
  if (names.length === 0) return head;
  return (input, env) => {
    let v = head(input, env);
    for (let i = 0; i < names.length && v !== FALLBACK; i++) v = field(v, names[i]);
    return v;
  };
}

function compileVariable(name: string): FastEval {
  // `$` is the context and `$$` the root: both are the input at the top of an expression.
  if (name === '' || name === '$') return (input) => (Array.isArray(input) ? FALLBACK : input);
  return (_input, env) => {
    const vars = env.vars;
    if (!vars || !hasOwn(vars, name)) return FALLBACK; // a built-in function, or unbound: JSONata decides
    const v = vars[name];
    return Array.isArray(v) || typeof v === 'function' ? FALLBACK : v;
  };
}

function compileBinary(op: string, lhs: FastEval, rhs: FastEval): FastEval | null {
  switch (op) {
    case '+': case '-': case '*': case '/': case '%':
      return (input, env) => {
        const a = lhs(input, env);
        if (a === FALLBACK || (a !== undefined && typeof a !== 'number')) return FALLBACK;
        const b = rhs(input, env);
        if (b === FALLBACK || (b !== undefined && typeof b !== 'number')) return FALLBACK;
        if (a === undefined || b === undefined) return undefined;
        if (op === '+') return finite(a + b);
        if (op === '-') return finite(a - b);
        if (op === '*') return finite(a * b);
        if (op === '/') return finite(a / b);
        return finite(a % b);
      };
    case '=': case '!=':
      return (input, env) => {
        const a = lhs(input, env);
        if (a === FALLBACK) return FALLBACK;
        const b = rhs(input, env);
        if (b === FALLBACK) return FALLBACK;
        if (a === undefined || b === undefined) return false;
        if ((a !== null && typeof a === 'object') || (b !== null && typeof b === 'object')) return FALLBACK;
        return op === '=' ? a === b : a !== b;
      };
    case '<': case '<=': case '>': case '>=':
      return (input, env) => {
        const a = lhs(input, env);
        if (a === FALLBACK) return FALLBACK;
        const b = rhs(input, env);
        if (b === FALLBACK) return FALLBACK;
        const ta = typeof a;
        const tb = typeof b;
        if ((ta !== 'undefined' && ta !== 'string' && ta !== 'number') || (tb !== 'undefined' && tb !== 'string' && tb !== 'number')) return FALLBACK;
        if (a === undefined || b === undefined) return undefined;
        if (ta !== tb) return FALLBACK;
        const x = a as number;
        const y = b as number;
        if (op === '<') return x < y;
        if (op === '<=') return x <= y;
        if (op === '>') return x > y;
        return x >= y;
      };
    case 'and': case 'or':
      return (input, env) => {
        const a = lhs(input, env);
        if (a === FALLBACK) return FALLBACK;
        const l = truthy(a);
        if (l === FALLBACK) return FALLBACK;
        if (op === 'and' ? !l : l) return l; // JSONata does not evaluate the right side either
        const b = rhs(input, env);
        if (b === FALLBACK) return FALLBACK;
        return truthy(b);
      };
    case '&':
      return (input, env) => {
        const a = lhs(input, env);
        if (a === FALLBACK) return FALLBACK;
        const b = rhs(input, env);
        if (b === FALLBACK) return FALLBACK;
        const x = text(a);
        const y = text(b);
        return x === FALLBACK || y === FALLBACK ? FALLBACK : x + y;
      };
    default:
      return null;
  }
}

function compileNode(n: Node): FastEval | null {
  switch (n.type) {
    case 'number':
    case 'string':
    case 'value': {
      const v = n.value;
      if (typeof v === 'number' && !Number.isFinite(v)) return null;
      if (v !== null && typeof v === 'object') return null;
      return () => v;
    }
    case 'path':
      return n.steps ? compilePath(n.steps) : null;
    case 'variable':
      return typeof n.value === 'string' && isPlainStep(n) ? compileVariable(n.value) : null;
    case 'binary': {
      if (!n.lhs || !n.rhs || typeof n.value !== 'string') return null;
      const l = compileNode(n.lhs);
      const r = compileNode(n.rhs);
      return l && r ? compileBinary(n.value, l, r) : null;
    }
    case 'unary': {
      if (n.value !== '-' || !n.expression) return null;
      const e = compileNode(n.expression);
      if (!e) return null;
      return (input, env) => {
        const v = e(input, env);
        if (v === undefined) return undefined;
        return typeof v === 'number' ? -v : FALLBACK;
      };
    }
    case 'condition': {
      if (!n.condition || !n.then) return null;
      const c = compileNode(n.condition);
      const t = compileNode(n.then);
      const e = n.else ? compileNode(n.else) : () => undefined;
      if (!c || !t || !e) return null;
      return (input, env) => {
        const v = c(input, env);
        if (v === FALLBACK) return FALLBACK;
        const b = truthy(v);
        if (b === FALLBACK) return FALLBACK;
        return b ? t(input, env) : e(input, env);
      };
    }
    case 'block':
      return n.expressions?.length === 1 ? compileNode(n.expressions[0]) : null;
    default:
      return null;
  }
}

/** A direct evaluator for a parsed JSONata expression, or null when it is outside the subset. */
export function compileFast(ast: unknown): FastEval | null {
  if (!ast || typeof ast !== 'object') return null;
  try {
    return compileNode(ast as Node);
  } catch {
    return null;
  }
}
