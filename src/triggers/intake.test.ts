import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateDefinition } from '../core/definition.js';
import { FlowgateError } from '../core/errors.js';
import type { Workflow } from '../core/types.js';
import type { Engine, StartRequest } from '../engine/engine.js';
import { SUPPORTED_STEP_TYPES } from '../steps/index.js';
import { Intake } from './intake.js';

function workflow(): Workflow {
  const v = validateDefinition({
    id: 'orders', params: { amount: { type: 'number', required: true } },
    steps: [{ id: 'done', type: 'end' }],
  }, { supportedStepTypes: SUPPORTED_STEP_TYPES });
  assert.ok(v.ok);
  return {
    tenant: 'default', id: 'orders', name: 'orders', version: 1, definition: v.definition, source: '', conv_id: 1,
    hash: 'h', guid: 'g', archived: false, created_at: 0, updated_at: 0,
  };
}

describe('Intake.start', () => {
  // Callers start many runs in one synchronous loop and handle each start's failure on its promise
  // (the Corezoid ops API, CSV imports): a bad item must reject its promise, not throw.
  it('answers invalid params with a rejected promise (422), never a synchronous throw, and starts nothing', async () => {
    const started: StartRequest[] = [];
    const engine = { startRun: (req: StartRequest) => { started.push(req); return Promise.resolve({ kind: 'created' }); } } as unknown as Engine;
    const intake = new Intake(engine, { maxDataBytes: 1 << 20, maxWaitSeconds: 30, maxBatchItems: 100 });
    let pending: Promise<unknown> | undefined;
    assert.doesNotThrow(() => { pending = intake.start(workflow(), { amount: 'many' }); });
    await assert.rejects(pending!, (e: unknown) => e instanceof FlowgateError && e.status === 422);
    assert.equal(started.length, 0);
    await intake.start(workflow(), { amount: 5 });
    assert.deepEqual(started.map((r) => r.data), [{ amount: 5 }]);
  });
});
