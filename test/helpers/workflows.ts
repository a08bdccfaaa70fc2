/** Shorthands for tests that deploy YAML workflows and read the step records of their runs. */
import assert from 'node:assert/strict';
import type { TestServer } from './server.js';

export interface WorkflowTools {
  /** PUTs a YAML workflow and asserts it was stored (201 created or 200 replaced). */
  put(id: string, yaml: string): Promise<void>;
  /** The step records of a run (GET /v1/runs/{id}/steps). */
  stepsOf(runId: string): Promise<any[]>;
}

/** `put` and `stepsOf` against the server `server()` returns at call time (it may be started later, in `before`). */
export function workflowTools(server: () => TestServer): WorkflowTools {
  return {
    put: async (id, yaml) => {
      const r = await server().putWorkflow(id, yaml);
      assert.ok(r.status === 201 || r.status === 200, r.text);
    },
    stepsOf: async (runId) => (await server().call('GET', `/v1/runs/${runId}/steps`)).body.items,
  };
}
