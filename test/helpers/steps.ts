/** What the step unit tests (src/steps/*.test.ts) share: a compiled test workflow and fake ports. */
import { validateDefinition } from '../../src/core/definition.js';
import type { Workflow } from '../../src/core/types.js';
import { SUPPORTED_STEP_TYPES } from '../../src/steps/index.js';
import type { ChildPort, HttpPort, HttpRequest, HttpResponse } from '../../src/steps/types.js';

export const T0 = 1_700_000_000_000;

/** A stored-looking workflow `wf` (version 1) from a definition document; throws when it is invalid. */
export function testWorkflow(doc: Record<string, unknown>): Workflow {
  const v = validateDefinition({ id: 'wf', ...doc }, { supportedStepTypes: SUPPORTED_STEP_TYPES });
  if (!v.ok) throw new Error(`invalid test definition: ${JSON.stringify(v.problems)}`);
  return {
    tenant: 'default', id: 'wf', name: v.definition.name, version: 1, definition: v.definition, source: '',
    conv_id: 1, hash: 'h'.repeat(40), guid: '00000000-0000-4000-8000-000000000000', archived: false, created_at: T0, updated_at: T0,
  };
}

export const noHttp: HttpPort = { request: async () => { throw new Error('no http in this test'); } };
export const noChildren: ChildPort = { start: async () => { throw new Error('no child runs in this test'); } };

/** A scripted HttpPort: answers (or throws) in order, records every request. */
export class FakeHttp implements HttpPort {
  readonly requests: HttpRequest[] = [];
  constructor(private readonly script: (HttpResponse | Error)[]) {}
  async request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push(req);
    const next = this.script.shift();
    if (!next) throw new Error('unexpected request');
    if (next instanceof Error) throw next;
    return next;
  }
}
