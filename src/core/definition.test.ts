import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Scope } from './compiled.js';
import { compileWorkflow, parseDocument, validateDefinition } from './definition.js';
import type { FieldProblem } from './errors.js';
import type { Definition, Workflow } from './types.js';

const TYPES = new Set(['set', 'condition', 'http', 'reply', 'delay', 'wait', 'call', 'foreach', 'code', 'end']);
const opts = { supportedStepTypes: TYPES };

const EXAMPLE_YAML = `
id: loan-check                # comment
name: Loan check
params:
  amount:   { type: number, required: true, minimum: 0 }
  currency: { type: string, default: EUR, pattern: "^[A-Z]{3}$" }
  email:    { type: string, format: email }
undeclared: keep
trigger:
  public: true
  verify: { scheme: standard-webhooks, secret: "{{ $secrets.inbound }}" }
  concurrency: 50
steps:
  - id: check
    type: condition
    cases:
      - when: amount > 1000
        next: manual
    default: auto
  - id: auto
    type: set
    set: { decision: approved, fee: "{{ amount * 0.01 }}" }
    next: answer
  - id: manual
    type: http
    method: POST
    url: https://review.example.com/loans
    body: { amount: "{{ amount }}", run: "{{ $run.id }}" }
    secret: "{{ $secrets.review_key }}"
    retry: { max_attempts: 5, on: [network, 5xx, 429, 503] }
    save_as: review
    on_error: answer
  - id: answer
    type: reply
    data: { decision: "{{ decision }}", fee: "{{ fee }}" }
`;

const EXAMPLE_JSON = JSON.stringify({
  id: 'loan-check',
  name: 'Loan check',
  params: {
    amount: { minimum: 0, type: 'number', required: true },
    currency: { type: 'string', default: 'EUR', pattern: '^[A-Z]{3}$' },
    email: { type: 'string', format: 'email' },
  },
  undeclared: 'keep',
  trigger: { concurrency: 50, public: true, verify: { scheme: 'standard-webhooks', secret: '{{ $secrets.inbound }}' } },
  steps: [
    { type: 'condition', id: 'check', default: 'auto', cases: [{ when: 'amount > 1000', next: 'manual' }] },
    { id: 'auto', type: 'set', next: 'answer', set: { decision: 'approved', fee: '{{ amount * 0.01 }}' } },
    {
      id: 'manual', type: 'http', method: 'POST', url: 'https://review.example.com/loans',
      body: { amount: '{{ amount }}', run: '{{ $run.id }}' }, secret: '{{ $secrets.review_key }}',
      retry: { max_attempts: 5, on: ['network', '5xx', 429, 503] }, save_as: 'review', on_error: 'answer',
    },
    { id: 'answer', type: 'reply', data: { decision: '{{ decision }}', fee: '{{ fee }}' } },
  ],
}, null, 2);

function parse(text: string, ct?: string): unknown {
  const r = parseDocument(text, ct);
  assert.ok(r.ok, JSON.stringify(r));
  return r.doc;
}

function valid(doc: unknown): { definition: Definition; warnings: FieldProblem[] } {
  const r = validateDefinition(doc, opts);
  assert.ok(r.ok, JSON.stringify(r, null, 1));
  return r;
}

function problemsOf(doc: unknown): FieldProblem[] {
  const r = validateDefinition(doc, opts);
  assert.equal(r.ok, false, 'expected problems');
  return r.ok ? [] : r.problems;
}

/** A minimal valid document with `steps` replaced. */
const withSteps = (...steps: unknown[]) => ({ id: 'w', steps });
const LITERAL_SECRET = 'must name a tenant secret, written "{{ $secrets.<name> }}" (PUT /v1/secrets/<name>); a secret written into the definition would be stored and shown in clear';
const withVerify = (verify: unknown) => ({ id: 'w', trigger: { verify }, steps: [{ id: 'a', type: 'end' }] });

describe('parseDocument', () => {
  it('gives the same normalized definition for YAML and JSON', () => {
    const a = valid(parse(EXAMPLE_YAML)).definition;
    const b = valid(parse(EXAMPLE_JSON, 'application/json')).definition;
    const c = valid(parse(EXAMPLE_JSON)).definition;
    assert.deepEqual(a, b);
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    assert.equal(JSON.stringify(a), JSON.stringify(c));
    assert.deepEqual(Object.keys(a.params.amount), ['type', 'required', 'minimum']);
    assert.deepEqual(Object.keys(a.steps[0]), ['id', 'type', 'cases', 'default']);
  });

  it('uses YAML 1.2: on/yes/no stay strings', () => {
    assert.deepEqual(parse('on: yes\nno: off\n'), { on: 'yes', no: 'off' });
  });

  it('reports YAML syntax errors with line and column', () => {
    const r = parseDocument('id: x\nsteps: [1, 2\n');
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.problems[0].path === '');
    assert.match(!r.ok ? r.problems[0].message : '', /^YAML syntax error: .* at line 3, column 1$/);
    const dup = parseDocument('id: x\nid: y\n');
    assert.match(!dup.ok ? dup.problems[0].message : '', /unique at line 2, column 1/);
  });

  it('reports JSON syntax errors with line and column', () => {
    const r = parseDocument('{\n  "id": "x",\n  "steps": [,]\n}');
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.problems[0].message : '', /^JSON syntax error at line 3, column 13: /);
    const typed = parseDocument('id: x', 'application/json; charset=utf-8');
    assert.match(!typed.ok ? typed.problems[0].message : '', /^JSON syntax error/);
  });

  it('reads a YAML flow mapping that starts with {', () => {
    assert.deepEqual(parse('{id: x, steps: [{id: a, type: end}]}', 'application/yaml'), { id: 'x', steps: [{ id: 'a', type: 'end' }] });
  });

  it('refuses empty text, several documents and non-JSON values', () => {
    for (const text of ['', '   \n', '# just a comment\n', '~\n']) {
      assert.deepEqual(parseDocument(text), { ok: false, problems: [{ path: '', message: 'the document is empty' }] }, JSON.stringify(text));
    }
    const multi = parseDocument('id: a\n---\nid: b\n');
    assert.match(!multi.ok ? multi.problems[0].message : '', /2 YAML documents/);
    assert.deepEqual(parseDocument('id: x\nsteps:\n  - n: .inf\n'), {
      ok: false, problems: [{ path: 'steps[0].n', message: 'is not a JSON number (infinity and NaN are not allowed)' }],
    });
  });

  it('refuses an alias bomb quickly', () => {
    let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let prev = 'a';
    for (const n of 'bcdefghi') {
      bomb += `${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]\n`;
      prev = n;
    }
    const t = Date.now();
    const r = parseDocument(bomb);
    assert.ok(Date.now() - t < 500);
    assert.match(!r.ok ? r.problems[0].message : '', /too many aliases/);
    assert.deepEqual(parse('a: &x [1, 2]\nb: *x\n'), { a: [1, 2], b: [1, 2] });
  });

  it('keeps a __proto__ key as data without polluting prototypes', () => {
    const doc = parse('__proto__: { polluted: true }\nid: x\n') as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.deepEqual(problemsOf({ ...doc, steps: [{ id: 'a', type: 'end' }] }).map((p) => p.path), ['__proto__']);
  });
});

describe('validateDefinition', () => {
  it('fills defaults for name, undeclared and trigger.public', () => {
    const { definition, warnings } = valid({ id: 'min', steps: [{ id: 'a', type: 'end' }] });
    assert.deepEqual(definition, { id: 'min', name: 'min', params: {}, undeclared: 'keep', trigger: { public: true }, steps: [{ id: 'a', type: 'end' }] });
    assert.deepEqual(warnings, []);
  });

  it('is deterministic whatever the key order of the document', () => {
    const a = valid({ steps: [{ type: 'wait', timeout: '1h', id: 's', save_as: 'cb' }], id: 'w', trigger: { concurrency: 2, public: false } }).definition;
    const b = valid({ id: 'w', trigger: { public: false, concurrency: 2 }, steps: [{ id: 's', save_as: 'cb', type: 'wait', timeout: '1h' }] }).definition;
    assert.equal(JSON.stringify(a), JSON.stringify(b));
  });

  it('reports every problem of a document at once, in document order', () => {
    const problems = problemsOf({
      id: 'Loan Check',
      params: { amount: { type: 'money' } },
      undeclared: 'drop',
      trigger: { public: 'yes', verify: { scheme: 'hmac' }, concurrency: 0, retry_after: 'soon' },
      start: 'nowhere',
      steps: [
        { id: 'check', type: 'condition', cases: [{ when: 'amount >', next: 'manual' }, { when: 'true', next: 'ghost' }], default: 'auto' },
        { id: 'auto', type: 'set', set: { fee: '{{ amount * }}' }, next: 'answer', colour: 'red' },
        { id: 'auto', type: 'teleport' },
        { id: 'manual', type: 'http', url: 'https://x.example', timeout: '30 seconds', on_error: 'nope' },
        { id: 'answer', type: 'reply', progress: 150 },
      ],
    });
    assert.deepEqual(problems, [
      { path: 'id', message: 'must match [a-z0-9][a-z0-9_-]{0,63} (lowercase letters, digits, _ and -)' },
      { path: 'params.amount.type', message: 'unknown param type "money" (one of: string, number, integer, boolean, object, array)' },
      { path: 'undeclared', message: 'must be keep or reject' },
      { path: 'trigger.public', message: 'must be true or false' },
      { path: 'trigger.verify.secret', message: 'is required' },
      { path: 'trigger.verify.header', message: 'is required for the hmac scheme (the header that carries the signature)' },
      { path: 'trigger.concurrency', message: 'must be a positive integer' },
      { path: 'trigger.retry_after', message: '"soon" is not a duration (e.g. 250ms, 30s, 5m, 2h, 1d)' },
      { path: 'start', message: "unknown step 'nowhere'" },
      { path: 'steps[0].cases[0].when', message: 'invalid expression "amount >": Unexpected end of expression (at position 8)' },
      { path: 'steps[0].cases[1].next', message: "unknown step 'ghost'" },
      { path: 'steps[1].set.fee', message: 'invalid expression "amount *": Unexpected end of expression (at position 8)' },
      { path: 'steps[1].colour', message: "unknown field 'colour' for a set step (allowed: id, type, name, next, on_error, progress, set, unset)" },
      { path: 'steps[2].id', message: "duplicate step id 'auto' (also steps[1])" },
      { path: 'steps[2].type', message: "unknown step type 'teleport'" },
      { path: 'steps[3].timeout', message: '"30 seconds" is not a duration (e.g. 250ms, 30s, 5m, 2h, 1d)' },
      { path: 'steps[3].on_error', message: "unknown step 'nope'" },
      { path: 'steps[4].progress', message: 'must be a number from 0 to 100' },
    ]);
  });

  it('refuses regexes RE2 cannot run where they are written (params and expressions)', () => {
    const problems = problemsOf({
      id: 'w',
      params: {
        ok: { type: 'string', pattern: '^(a+)+$' },
        back: { type: 'string', pattern: '^(a)\\1$' },
        behind: { type: 'string', pattern: '(?<!x)y' },
      },
      steps: [
        { id: 's', type: 'set', set: { m: '{{ $match(v, /(\\w+)(?=@)/) }}', n: '{{ $replace(v, /(a+)+$/, "") }}' }, next: 'c' },
        { id: 'c', type: 'condition', cases: [{ when: '$contains(v, /(x)\\1/i)', next: 'e' }], default: 'e' },
        { id: 'e', type: 'end' },
      ],
    });
    const re2 = "which Flowgate's linear-time regex engine (RE2) does not support";
    assert.deepEqual(problems, [
      { path: 'params.back.pattern', message: `uses a backreference (\\1, \\k<name>), ${re2}` },
      { path: 'params.behind.pattern', message: `uses lookahead or lookbehind ((?=…), (?!…), (?<=…), (?<!…)), ${re2}` },
      { path: 'steps[0].set.m', message: `invalid expression "$match(v, /(\\\\w+)(?=@)/)": regex /(\\w+)(?=@)/ uses lookahead or lookbehind ((?=…), (?!…), (?<=…), (?<!…)), ${re2}` },
      { path: 'steps[1].cases[0].when', message: `invalid expression "$contains(v, /(x)\\\\1/i)": regex /(x)\\1/ uses a backreference (\\1, \\k<name>), ${re2}` },
    ]);
  });

  it('checks the top level', () => {
    assert.deepEqual(problemsOf(null), [{ path: '', message: 'the definition must be a mapping (an object with id and steps)' }]);
    assert.deepEqual(problemsOf({}), [{ path: 'id', message: 'is required' }, { path: 'steps', message: 'is required (a non-empty list of steps)' }]);
    assert.deepEqual(problemsOf({ id: 'w', steps: [] }), [{ path: 'steps', message: 'must be a non-empty list of steps' }]);
    assert.deepEqual(problemsOf({ id: 'w', version: 3, steps: [{ id: 'a', type: 'end' }] }), [
      { path: 'version', message: "unknown field 'version' (allowed: id, name, description, params, undeclared, trigger, start, steps)" },
    ]);
    assert.deepEqual(problemsOf({ id: 'w', name: '', steps: [{ id: 'a', type: 'end' }] }).map((p) => p.path), ['name']);
    assert.deepEqual(problemsOf({ id: 'a'.repeat(65), steps: [{ id: 'a', type: 'end' }] }).map((p) => p.path), ['id']);
    assert.deepEqual(problemsOf({ id: 'w', trigger: { verify: { scheme: 'trifacta', secret: '{{ $secrets.x ' }, extra: 1 }, steps: [{ id: 'a', type: 'end' }] }), [
      { path: 'trigger.extra', message: "unknown field 'extra' for trigger (allowed: public, verify, concurrency, retry_after)" },
      { path: 'trigger.verify.secret', message: LITERAL_SECRET },
    ]);
  });

  it('keeps a valid trigger and start', () => {
    const { definition } = valid({
      id: 'w', start: 'b', trigger: { public: false, verify: { scheme: 'corezoid', secret: '{{ $secrets.k }}' }, concurrency: 3, retry_after: '5s' },
      steps: [{ id: 'a', type: 'end' }, { id: 'b', type: 'set', set: { x: 1 }, next: 'a' }],
    });
    assert.deepEqual(definition.trigger, { public: false, verify: { scheme: 'corezoid', secret: '{{ $secrets.k }}' }, concurrency: 3, retry_after: '5s' });
    assert.equal(definition.start, 'b');
  });

  it('checks step ids, types and structure', () => {
    assert.deepEqual(problemsOf(withSteps('x', { type: 'end' }, { id: 'a b', type: 'end' }, { id: 'c' }, { id: 'd', type: 7 })), [
      { path: 'steps[0]', message: 'must be a mapping with at least id and type' },
      { path: 'steps[1].id', message: 'is required' },
      { path: 'steps[2].id', message: 'must be 1 to 128 letters, digits, _ or -' },
      { path: 'steps[3].type', message: 'is required' },
      { path: 'steps[4].type', message: "unknown step type '7'" },
    ]);
    const narrow = validateDefinition(withSteps({ id: 'a', type: 'code', code: 'return {}' }), { supportedStepTypes: new Set(['set']) });
    assert.deepEqual(!narrow.ok && narrow.problems, [{ path: 'steps[0].type', message: "unknown step type 'code'" }]);
  });

  it('accepts fields of a supported type it has no rule for', () => {
    const r = validateDefinition(withSteps({ id: 'a', type: 'custom', anything: 1, next: 'b' }, { id: 'b', type: 'end' }), {
      supportedStepTypes: new Set([...TYPES, 'custom']),
    });
    assert.equal(r.ok, true);
  });

  it('warns about unreachable steps and follows every kind of edge', () => {
    const { warnings } = valid(withSteps(
      { id: 'start', type: 'condition', cases: [{ when: 'x', next: 'c1' }], default: 'd' },
      { id: 'skipped', type: 'set', set: { a: 1 } },
      { id: 'c1', type: 'wait', on_timeout: 't', on_error: 'e', next: 'fin' },
      { id: 'd', type: 'end' },
      { id: 't', type: 'end' },
      { id: 'e', type: 'end' },
      { id: 'fin', type: 'end' },
      { id: 'orphan', type: 'end' },
    ));
    assert.deepEqual(warnings, [
      { path: 'steps[1]', message: "step 'skipped' is unreachable from the start step 'start'" },
      { path: 'steps[7]', message: "step 'orphan' is unreachable from the start step 'start'" },
    ]);
    const fallthrough = valid(withSteps({ id: 'a', type: 'condition', cases: [{ when: 'x', next: 'c' }] }, { id: 'b', type: 'end' }, { id: 'c', type: 'end' }));
    assert.deepEqual(fallthrough.warnings, []);
    const fromStart = valid({ ...withSteps({ id: 'a', type: 'end' }, { id: 'b', type: 'end' }), start: 'b' });
    assert.deepEqual(fromStart.warnings, [{ path: 'steps[0]', message: "step 'a' is unreachable from the start step 'b'" }]);
  });
});

describe('trigger.verify', () => {
  it('keeps every scheme with its fields', () => {
    const specs = [
      { scheme: 'standard-webhooks', secret: '{{ $secrets.inbound }}' },
      { scheme: 'stripe', secret: '{{$secrets.stripe_whsec}}', tolerance: '10m' },
      { scheme: 'github', secret: '{{ $secrets.gh }}' },
      { scheme: 'hmac', secret: '{{ $secrets.h }}', header: 'X-Signature', algorithm: 'sha512', encoding: 'base64', prefix: 'sha512=' },
      { scheme: 'trifacta', secret: '{{ $secrets.t }}', tolerance: 60000 },
      { scheme: 'corezoid', secret: '{{ $secrets.c }}' },
    ];
    for (const spec of specs) {
      const expected = spec.tolerance === 60000 ? { ...spec, tolerance: '60000ms' } : spec;
      assert.deepEqual(valid(withVerify(spec)).definition.trigger.verify, expected, spec.scheme);
    }
  });

  it('refuses a secret written in clear, naming the path', () => {
    for (const secret of ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'k', '{{ "literal" }}', '{{ $secrets.a }} and more', '{{ $secrets }}', 42, '']) {
      assert.deepEqual(problemsOf(withVerify({ scheme: 'standard-webhooks', secret })), [{ path: 'trigger.verify.secret', message: LITERAL_SECRET }], String(secret));
    }
  });

  it('checks the scheme, the tolerance and the hmac fields', () => {
    assert.deepEqual(problemsOf(withVerify({ scheme: 'rsa', secret: '{{ $secrets.a }}', colour: 1 })), [
      { path: 'trigger.verify.colour', message: "unknown field 'colour' for trigger.verify (allowed: scheme, secret, tolerance, header, algorithm, encoding, prefix)" },
      { path: 'trigger.verify.scheme', message: 'must be one of: standard-webhooks, github, stripe, hmac, trifacta, corezoid' },
    ]);
    assert.deepEqual(problemsOf(withVerify({ scheme: 'github', secret: '{{ $secrets.a }}', tolerance: '5m', header: 'X-Sig' })), [
      { path: 'trigger.verify.tolerance', message: 'the github scheme signs no timestamp, so it has no tolerance' },
      { path: 'trigger.verify.header', message: 'is only for the hmac scheme (github fixes its own)' },
    ]);
    assert.deepEqual(problemsOf(withVerify({ scheme: 'stripe', secret: '{{ $secrets.a }}', tolerance: '500ms' })), [
      { path: 'trigger.verify.tolerance', message: '"500ms" is not a duration of at least 1s (e.g. 30s, 5m)' },
    ]);
    assert.deepEqual(problemsOf(withVerify({ scheme: 'hmac', secret: '{{ $secrets.a }}', header: 'Bad Header', algorithm: 'md5', encoding: 'base32', prefix: '' })), [
      { path: 'trigger.verify.header', message: 'must be a header name' },
      { path: 'trigger.verify.algorithm', message: 'must be one of: sha256, sha512, sha1' },
      { path: 'trigger.verify.encoding', message: 'must be one of: hex, base64' },
      { path: 'trigger.verify.prefix', message: 'must be a non-empty string of at most 64 characters' },
    ]);
  });
});

describe('step fields', () => {
  const paths = (...steps: unknown[]) => problemsOf(withSteps(...steps, { id: 'z', type: 'end' }));

  it('set', () => {
    valid(withSteps({ id: 'a', type: 'set', unset: ['x', 'y'] }));
    assert.deepEqual(paths({ id: 'a', type: 'set' }), [{ path: 'steps[0]', message: 'a set step needs set, unset or both' }]);
    assert.deepEqual(paths({ id: 'a', type: 'set', set: [1], unset: 'x' }), [
      { path: 'steps[0].set', message: 'must be a mapping of data key to value' },
      { path: 'steps[0].unset', message: 'must be a list of data keys' },
    ]);
  });

  it('condition', () => {
    assert.deepEqual(paths({ id: 'a', type: 'condition' }), [{ path: 'steps[0].cases', message: 'is required' }]);
    assert.deepEqual(paths({ id: 'a', type: 'condition', cases: [{ when: 'x' }, { next: 'z', if: 'y' }, { when: 3, next: 'z' }] }), [
      { path: 'steps[0].cases[0].next', message: 'is required' },
      { path: 'steps[0].cases[1].if', message: "unknown field 'if' for case (allowed: when, next)" },
      { path: 'steps[0].cases[1].when', message: 'is required' },
      { path: 'steps[0].cases[2].when', message: 'must be an expression (a non-empty string)' },
    ]);
    const r = validateDefinition(withSteps({ id: 'a', type: 'condition', cases: [{ when: 'x', next: 'z' }], default: 'z', next: 'z' }, { id: 'z', type: 'end' }), opts);
    assert.ok(r.ok);
    assert.deepEqual(r.warnings, [{ path: 'steps[0].next', message: 'is never used: a condition with default always goes to a case or the default' }]);
  });

  it('http', () => {
    valid(withSteps({
      id: 'h', type: 'http', method: '{{ verb }}', url: '{{ $secrets.base }}/x', query: { q: '{{ q }}', n: 1 },
      headers: { 'X-Api-Key': '{{ $secrets.k }}' }, body: '{{ $ }}', format: 'form', timeout: '10s', connect_timeout: 500,
      tls_verify: false, secret: 'whsec_abc', signature: 'trifacta',
      retry: { max_attempts: 3, backoff: 'fixed', initial: '1s', max: '1m', on: ['network', '429', 502] },
      expect: ['200-299', 404, '409'], follow_async: { timeout: '5m' }, save_as: 'resp', merge: true, max_response_bytes: 65536,
    }));
    valid(withSteps({ id: 'h', type: 'http', method: 'patch', url: 'http://localhost:8080/x', expect: 201, follow_async: true }));
    assert.deepEqual(paths({
      id: 'h', type: 'http', method: 'FETCH', query: 'q=1', headers: { 'Bad Header': 'x' }, format: 'yaml', tls_verify: 'no',
      signature: 'md5', retry: { max_attempts: 0, backoff: 'linear', on: 'all', jitter: true }, expect: ['2xx', '600'],
      follow_async: { every: '1s' }, save_as: '', merge: 1, max_response_bytes: 0,
    }), [
      { path: 'steps[0].method', message: 'must be one of: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS' },
      { path: 'steps[0].query', message: 'must be a mapping (or a {{ }} expression)' },
      { path: 'steps[0].headers["Bad Header"]', message: '"Bad Header" is not a valid header name' },
      { path: 'steps[0].format', message: 'must be one of: json, form, xml, raw' },
      { path: 'steps[0].tls_verify', message: 'must be true or false' },
      { path: 'steps[0].signature', message: 'must be one of: standard-webhooks, trifacta, corezoid' },
      { path: 'steps[0].retry.max_attempts', message: 'must be at least 1' },
      { path: 'steps[0].retry.backoff', message: 'must be one of: exponential, fixed' },
      { path: 'steps[0].retry.on', message: 'must be a list of network, 5xx, 429 or HTTP status codes' },
      { path: 'steps[0].retry.jitter', message: "unknown field 'jitter' for retry (allowed: max_attempts, backoff, initial, max, on)" },
      { path: 'steps[0].expect[0]', message: 'must be an HTTP status (100-599) or a range like "200-299"' },
      { path: 'steps[0].expect[1]', message: 'must be an HTTP status (100-599) or a range like "200-299"' },
      { path: 'steps[0].follow_async.every', message: "unknown field 'every' for follow_async (allowed: timeout)" },
      { path: 'steps[0].save_as', message: 'must be a data key (a non-empty string)' },
      { path: 'steps[0].merge', message: 'must be true or false' },
      { path: 'steps[0].max_response_bytes', message: 'must be at least 1' },
      { path: 'steps[0].url', message: 'is required' },
      { path: 'steps[0].secret', message: 'is required when signature is given' },
    ]);
  });

  it('reply', () => {
    valid(withSteps({ id: 'r', type: 'reply', data: { ok: true }, status: 'error', http_status: 422, headers: { 'X-Id': '{{ $run.id }}' } }));
    assert.deepEqual(paths({ id: 'r', type: 'reply', status: 'fine', http_status: 700, headers: 'x' }), [
      { path: 'steps[0].status', message: 'must be one of: ok, error' },
      { path: 'steps[0].http_status', message: 'must be at most 599' },
      { path: 'steps[0].headers', message: 'must be a mapping (or a {{ }} expression)' },
    ]);
  });

  it('delay', () => {
    valid(withSteps({ id: 'd', type: 'delay', for: '2h' }));
    valid(withSteps({ id: 'd', type: 'delay', until: '$fromMillis($toMillis($now) + 1000)' }));
    assert.deepEqual(paths({ id: 'd', type: 'delay' }), [{ path: 'steps[0]', message: 'a delay step needs for (a duration) or until (an expression)' }]);
    assert.deepEqual(paths({ id: 'd', type: 'delay', for: '1s', until: 'x' }), [{ path: 'steps[0].until', message: 'give either for or until, not both' }]);
    assert.deepEqual(paths({ id: 'd', type: 'delay', until: 'x +' }).map((p) => p.path), ['steps[0].until']);
  });

  it('wait, call, foreach', () => {
    valid(withSteps({ id: 'w', type: 'wait', timeout: '1d', on_timeout: 'z', save_as: 'cb' }, { id: 'z', type: 'end' }));
    valid(withSteps({ id: 'c', type: 'call', workflow: 'child', data: { x: '{{ x }}' }, wait: false, timeout: '5m', save_as: 'r' }));
    valid(withSteps({ id: 'f', type: 'foreach', items: 'orders', workflow: 'child', data: { o: '{{ $item }}', i: '{{ $index }}' }, concurrency: 5, save_as: 'all' }));
    assert.deepEqual(paths({ id: 'w', type: 'wait', on_timeout: 'gone', timeout: 'forever' }), [
      { path: 'steps[0].timeout', message: '"forever" is not a duration (e.g. 250ms, 30s, 5m, 2h, 1d)' },
      { path: 'steps[0].on_timeout', message: "unknown step 'gone'" },
    ]);
    assert.deepEqual(paths({ id: 'c', type: 'call', workflow: 'Bad Id', wait: 'yes' }), [
      { path: 'steps[0].workflow', message: 'must be a workflow id ([a-z0-9][a-z0-9_-]{0,63})' },
      { path: 'steps[0].wait', message: 'must be true or false' },
    ]);
    assert.deepEqual(paths({ id: 'c', type: 'call' }), [{ path: 'steps[0].workflow', message: 'is required' }]);
    assert.deepEqual(paths({ id: 'f', type: 'foreach', concurrency: 0 }), [
      { path: 'steps[0].concurrency', message: 'must be at least 1' },
      { path: 'steps[0].items', message: 'is required' },
      { path: 'steps[0].workflow', message: 'is required' },
    ]);
  });

  it('code', () => {
    valid(withSteps({ id: 'c', type: 'code', code: 'const x = data.a + 1;\nreturn { x };', timeout: '1s' }));
    valid(withSteps({ id: 'c', type: 'code', code: 'return await Promise.resolve({ ok: true })' }));
    assert.deepEqual(paths({ id: 'c', type: 'code' }), [{ path: 'steps[0].code', message: 'is required' }]);
    const p = paths({ id: 'c', type: 'code', code: 'return {' });
    assert.equal(p[0].path, 'steps[0].code');
    assert.match(p[0].message, /^is not valid JavaScript: /);
  });

  it('end', () => {
    valid(withSteps({ id: 'e', type: 'end', status: 'failed', error: 'declined: {{ reason }}' }));
    assert.deepEqual(paths({ id: 'e', type: 'end', status: 'done', next: 'z' }), [
      { path: 'steps[0].status', message: 'must be one of: succeeded, failed' },
      { path: 'steps[0].next', message: 'an end step has no next' },
    ]);
  });

  it('common fields', () => {
    valid(withSteps({ id: 's', type: 'set', set: { a: 1 }, name: 'Set A', progress: '$count(items) * 10' }));
    assert.deepEqual(paths({ id: 's', type: 'set', set: { a: 1 }, name: 5, next: '', progress: 'x +' }).map((p) => p.path), [
      'steps[0].name', 'steps[0].next', 'steps[0].progress',
    ]);
  });
});

describe('compileWorkflow', () => {
  const workflowOf = (definition: Definition): Workflow => ({
    tenant: 'default', id: definition.id, name: definition.name, version: 1, definition, source: '', conv_id: 1,
    hash: 'h', guid: 'g', archived: false, created_at: 0, updated_at: 0,
  });

  it('resolves next, compiles fields and expressions, and caches', async () => {
    const { definition } = valid(parse(EXAMPLE_YAML));
    const wf = workflowOf(definition);
    const c = compileWorkflow(wf);
    assert.equal(compileWorkflow(wf), c);
    assert.equal(c.start, 'check');
    assert.equal(c.workflow, wf);
    assert.deepEqual([...c.steps.keys()], ['check', 'auto', 'manual', 'answer']);
    const check = c.steps.get('check')!;
    assert.equal(check.index, 0);
    assert.equal(check.next, 'auto');
    assert.deepEqual(Object.keys(check.expressions), ['cases.0.when']);
    assert.equal(c.steps.get('auto')!.next, 'answer');
    assert.equal(c.steps.get('manual')!.next, 'answer');
    assert.equal(c.steps.get('answer')!.next, null);
    assert.deepEqual(Object.keys(c.steps.get('manual')!.fields), ['method', 'url', 'body', 'secret']);

    const scope: Scope = { data: { amount: 2000 }, vars: { run: { id: 'r1' }, secrets: { review_key: 'k' } } };
    assert.equal(await check.expressions['cases.0.when'].evaluate(scope), true);
    assert.deepEqual(await c.steps.get('auto')!.fields.set.evaluate(scope), { decision: 'approved', fee: 20 });
    const manual = c.steps.get('manual')!;
    assert.equal(manual.fields.url.constant, true);
    assert.deepEqual(await manual.fields.body.evaluate(scope), { amount: 2000, run: 'r1' });
    assert.equal(await manual.fields.secret.evaluate(scope), 'k');
  });

  it('covers every template and expression field', async () => {
    const { definition } = valid({
      id: 'all', start: 'f',
      steps: [
        { id: 'h', type: 'http', url: 'https://x.example/{{ id }}', headers: { A: '{{ a }}' }, query: { q: 1 } },
        { id: 'r', type: 'reply', data: '{{ $ }}', headers: { B: 'b' } },
        { id: 'd', type: 'delay', until: 'at', progress: 40 },
        { id: 'c', type: 'call', workflow: 'x', data: { v: '{{ v }}' } },
        { id: 'f', type: 'foreach', workflow: 'x', items: 'list', data: '{{ $item }}', progress: '$index' },
        { id: 'e', type: 'end', status: 'failed', error: 'bad {{ v }}' },
      ],
    });
    const c = compileWorkflow(workflowOf(definition));
    assert.equal(c.start, 'f');
    const s = (id: string) => c.steps.get(id)!;
    assert.deepEqual(Object.keys(s('h').fields), ['method', 'url', 'query', 'headers']);
    assert.equal(await s('h').fields.method.evaluate({ data: {}, vars: {} }), 'GET');
    assert.deepEqual(Object.keys(s('r').fields), ['data', 'headers']);
    assert.deepEqual(Object.keys(s('d').expressions), ['until']);
    assert.deepEqual(Object.keys(s('c').fields), ['data']);
    assert.deepEqual(Object.keys(s('f').fields), ['data']);
    assert.deepEqual(Object.keys(s('f').expressions), ['items', 'progress']);
    assert.deepEqual(Object.keys(s('e').fields), ['error']);
    assert.equal(s('e').next, null);
    assert.equal(s('f').next, 'e');
    assert.deepEqual(await s('f').fields.data.evaluate({ data: {}, vars: { item: { n: 1 } } }), { n: 1 });
    assert.equal(await s('e').fields.error.evaluate({ data: { v: 'x' }, vars: {} }), 'bad x');
  });
});
