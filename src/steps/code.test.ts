/**
 * The `code` step on a plain StepContext with the real sandbox (QuickJS in worker threads): what is
 * merged into data, which returns fail the step, and how sandbox failures become step errors.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { WorkerSandbox } from '../app/sandbox.js';
import { compileWorkflow } from '../core/definition.js';
import type { JsonObject, Run } from '../core/types.js';
import { codeStep } from './code.js';
import type { Outcome, SandboxPort, StepContext } from './types.js';
import { T0, testWorkflow } from '../../test/helpers/steps.js';

const sandbox = new WorkerSandbox({ workers: 1, memoryBytes: 32 * 1024 * 1024 });
after(() => sandbox.close());

function ctxFor(step: Record<string, unknown>, data: JsonObject, port: SandboxPort | undefined = sandbox, seq = 1): StepContext {
  const compiled = compileWorkflow(testWorkflow({ steps: [{ id: 'c', type: 'code', ...step }] }));
  return {
    run: { id: 'run-1', data, status: 'running' } as unknown as Run, workflow: compiled, step: compiled.steps.get('c')!, seq, attempt: 1,
    now: () => T0, http: { request: async () => { throw new Error('no http'); } },
    children: { start: async () => { throw new Error('no children'); } }, record: null, sandbox: port,
    scope: { data, vars: {} },
  } as StepContext;
}

const exec = (step: Record<string, unknown>, data: JsonObject = {}, port?: SandboxPort, seq?: number): Promise<Outcome> =>
  codeStep.execute(ctxFor(step, data, port, seq));

describe('code: results', () => {
  test('a returned object is merged into data and recorded as the output', async () => {
    const out = await exec({ code: 'return { total: data.items.reduce((a, b) => a + b, 0), items: undefined }' }, { items: [1, 2, 3], keep: 'x' });
    assert.equal(out.kind, 'continue');
    assert.ok(out.kind === 'continue');
    assert.deepEqual(out.data, { items: [1, 2, 3], keep: 'x', total: 6 });
    assert.deepEqual(out.output, { total: 6 });
  });

  test('no return leaves data as it was, even if the code mutated its copy', async () => {
    const data = { n: 1 };
    const out = await exec({ code: 'data.n = 2; data.added = true;' }, data);
    assert.deepEqual(out, { kind: 'continue', output: null, attempt: { duration_ms: 0 } });
    assert.deepEqual(data, { n: 1 });
  });

  test('a __proto__ key in the returned object stays plain data', async () => {
    const out = await exec({ code: 'return JSON.parse(\'{"__proto__": {"polluted": true}, "ok": 1}\')' }, {});
    assert.ok(out.kind === 'continue' && out.data);
    assert.equal(Object.getPrototypeOf(out.data), Object.prototype);
    assert.deepEqual(Object.keys(out.data).sort(), ['__proto__', 'ok']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  for (const [code, shown] of [['return 5', 'a number'], ['return "text"', 'a string'], ['return [1, 2]', 'an array'], ['return null', 'null'], ['return true', 'a boolean']] as const) {
    test(`returning ${shown} fails the step with a clear error`, async () => {
      const out = await exec({ code }, {});
      assert.equal(out.kind, 'fail');
      assert.ok(out.kind === 'fail');
      assert.equal(out.error.code, 'code_error');
      assert.match(out.error.message, new RegExp(`must return an object .* it returned ${shown}`));
    });
  }
});

describe('code: failures', () => {
  test('a thrown error fails with code_error, its message and its line', async () => {
    const out = await exec({ code: 'const a = 1;\nconst b = 2;\nthrow new TypeError("amount is missing");' });
    assert.ok(out.kind === 'fail');
    assert.equal(out.error.code, 'code_error');
    assert.equal(out.error.message, 'TypeError: amount is missing (line 3)');
    assert.deepEqual(out.output, { line: 3 });
  });

  test('an endless loop fails with code_timeout after the step timeout', async () => {
    const started = Date.now();
    const out = await exec({ code: 'for (;;) {}', timeout: '200ms' });
    assert.ok(out.kind === 'fail');
    assert.equal(out.error.code, 'code_timeout');
    assert.ok(Date.now() - started < 1500);
  });

  test('the default timeout is 1 s', async () => {
    const started = Date.now();
    const out = await exec({ code: 'while (true) {}' });
    const took = Date.now() - started;
    assert.ok(out.kind === 'fail' && out.error.code === 'code_timeout');
    assert.ok(took >= 900 && took < 3000, `took ${took} ms`);
  });

  test('a huge allocation fails with code_memory', async () => {
    const out = await exec({ code: 'const big = "x".repeat(512 * 1024 * 1024);\nreturn { n: big.length }' });
    assert.ok(out.kind === 'fail');
    assert.equal(out.error.code, 'code_memory');
  });

  test('without a sandbox the step fails instead of running code in the host', async () => {
    const out = await exec({ code: 'return {}' }, {}, null as unknown as undefined);
    assert.ok(out.kind === 'fail');
    assert.equal(out.error.code, 'code_error');
  });

  test('the sandbox is asked with the step timeout (capped) and a seed per run and step', async () => {
    const asked: unknown[] = [];
    const fake: SandboxPort = { run: async (req) => { asked.push({ timeoutMs: req.timeoutMs, seed: req.seed }); return { ok: true, value: undefined }; } };
    await exec({ code: 'x', timeout: '5s' }, {}, fake, 7);
    await exec({ code: 'x', timeout: '1h' }, {}, fake, 8);
    assert.deepEqual(asked, [{ timeoutMs: 5000, seed: 'run-1:7' }, { timeoutMs: 60_000, seed: 'run-1:8' }]);
  });
});
