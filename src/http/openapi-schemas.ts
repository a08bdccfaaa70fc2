/**
 * The building blocks of the OpenAPI document (src/http/openapi.ts): small schema helpers and the
 * component schemas the operations refer to.
 */

export type Obj = Record<string, unknown>;

export const ref = (name: string): Obj => ({ $ref: `#/components/schemas/${name}` });
export const param = (name: string): Obj => ({ $ref: `#/components/parameters/${name}` });
export const response = (name: string): Obj => ({ $ref: `#/components/responses/${name}` });
export const json = (schema: Obj): Obj => ({ 'application/json': { schema } });
export const ok = (description: string, schema: Obj, headers?: Obj): Obj => ({ description, content: json(schema), ...(headers ? { headers } : {}) });
export const nullable = (schema: Obj): Obj => ({ oneOf: [schema, { type: 'null' }] });
export const str = (description?: string, extra: Obj = {}): Obj => ({ type: 'string', ...(description ? { description } : {}), ...extra });
export const int = (description?: string, extra: Obj = {}): Obj => ({ type: 'integer', ...(description ? { description } : {}), ...extra });
export const bool = (description?: string): Obj => ({ type: 'boolean', ...(description ? { description } : {}) });
export const time = (description?: string): Obj => str(description, { format: 'date-time' });
export const anyJson: Obj = { description: 'Any JSON value' };
export const object = (properties: Obj, required: string[] = [], extra: Obj = {}): Obj => ({ type: 'object', properties, ...(required.length ? { required } : {}), ...extra });
export const arrayOf = (items: Obj, extra: Obj = {}): Obj => ({ type: 'array', items, ...extra });
export const listOf = (item: string): Obj =>
  object({ items: arrayOf(ref(item)), next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` to read the next page; null on the last page' } }, ['items', 'next_cursor']);
export const header = (description: string, schema: Obj = str()): Obj => ({ description, schema });
export const query = (name: string, description: string, schema: Obj = str()): Obj => ({ name, in: 'query', required: false, description, schema });
export const path = (name: string, description: string, schema: Obj = str()): Obj => ({ name, in: 'path', required: true, description, schema });

/** The component schemas (`#/components/schemas/...`). */
export function schemas(): Obj {
  const runStatus = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];
  return {
    Problem: object({
      type: str('Problem type URI', { format: 'uri' }), title: str(), status: int(), detail: str(), instance: str(),
      errors: arrayOf({ anyOf: [ref('FieldProblem'), ref('RowProblem')] }),
    }, ['type', 'title', 'status', 'detail'], { additionalProperties: true, description: 'RFC 9457 problem details' }),
    FieldProblem: object({ path: str('Where, e.g. `amount` or `steps[2].next`'), message: str() }, ['path', 'message']),
    RowProblem: object({ row: int('Line number in the CSV file (header = 1)'), column: str(), message: str() }, ['row', 'message']),
    Params: { type: 'object', additionalProperties: true, description: 'A run\'s params: keys are declared params (coerced to their types) or extra keys' },
    FormParams: { type: 'object', additionalProperties: { oneOf: [str(), arrayOf(str())] }, description: 'String values; a repeated key gives an array' },
    XmlParams: {
      type: 'object', additionalProperties: true, xml: { name: 'task' },
      description: 'The root element stands for the object: child elements are keys (text → string, repeated → array, nested → object), attributes are `@name` keys, text beside children is `#text`. DOCTYPEs are refused.',
    },
    ParamSpec: object({
      type: str(undefined, { enum: ['string', 'number', 'integer', 'boolean', 'object', 'array'] }),
      required: { type: 'boolean' }, default: anyJson, enum: arrayOf(anyJson), pattern: str(), minimum: { type: 'number' }, maximum: { type: 'number' },
      minLength: int(), maxLength: int(), format: str(undefined, { enum: ['email', 'uri', 'date-time', 'uuid'] }), description: str(),
    }, ['type']),
    Step: object({
      id: str(undefined, { pattern: '^[A-Za-z0-9_-]+$' }),
      type: str(undefined, { enum: ['set', 'condition', 'http', 'reply', 'delay', 'wait', 'call', 'foreach', 'code', 'end'] }),
      name: str(), next: str(), on_error: str(), progress: { oneOf: [{ type: 'number', minimum: 0, maximum: 100 }, str('Expression')] },
    }, ['id', 'type'], { additionalProperties: true, description: 'One step; the other fields depend on its type (docs/spec.md §2)' }),
    Definition: object({
      id: str(undefined, { pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }), name: str(), description: str(),
      params: { type: 'object', additionalProperties: ref('ParamSpec') },
      undeclared: str(undefined, { enum: ['keep', 'reject'], default: 'keep' }),
      trigger: object({
        public: { type: 'boolean', default: true },
        verify: object({
          scheme: str('Inbound signature every trigger must carry', { enum: ['standard-webhooks', 'github', 'stripe', 'hmac', 'trifacta', 'corezoid'] }),
          secret: str('The tenant secret that keys it: `{{ $secrets.<name> }}` (a definition stored before this rule, with the secret written in it, shows `[redacted]`)', { pattern: '^(\\{\\{\\s*\\$secrets\\.[A-Za-z_][A-Za-z0-9_]{0,63}\\s*\\}\\}|\\[redacted\\])$' }),
          tolerance: str('Replay window of a signed timestamp (default `5m`)'),
          header: str('hmac: the header carrying the signature'),
          algorithm: str('hmac: the digest', { enum: ['sha256', 'sha512', 'sha1'], default: 'sha256' }),
          encoding: str('hmac: how the digest is written', { enum: ['hex', 'base64'], default: 'hex' }),
          prefix: str('hmac: text before the digest, e.g. `sha256=`'),
        }, ['scheme', 'secret'], { additionalProperties: false }),
        concurrency: int(undefined, { minimum: 1 }), retry_after: str('Duration, e.g. `5s`'),
      }),
      start: str(), steps: arrayOf(ref('Step'), { minItems: 1 }),
    }, ['id', 'steps']),
    Triggers: object({
      conv_id: int('Numeric process id (Corezoid)'),
      hash: str('Direct-URL hash (rotatable)', { pattern: '^[0-9a-f]{40}$' }),
      guid: str('GUID for the CSI endpoints', { format: 'uuid' }),
      public: { type: 'boolean', description: 'Whether the hash- and GUID-guarded public URLs are on' },
      luma_workflow_identifier: str('The `workflowIdentifier` a Luma client sends to start this workflow'),
      urls: {
        type: 'object', description: 'Every absolute URL that starts this workflow',
        properties: Object.fromEntries(['native', 'batch', 'import', 'corezoid_api', 'corezoid_sync_api', 'luma_trigger', 'direct_json', 'direct_xml', 'direct_nvp', 'csi_execute', 'csi_executepolling'].map((k) => [k, str(undefined, { format: 'uri' })])),
        additionalProperties: str(undefined, { format: 'uri' }),
      },
    }, ['conv_id', 'hash', 'guid'], { additionalProperties: true }),
    Workflow: object({
      id: str(), name: str(), version: int(undefined, { minimum: 1 }), definition: ref('Definition'), source: str('The document as sent (YAML or JSON)'),
      triggers: ref('Triggers'), archived: { type: 'boolean' }, created_at: time(), updated_at: time(),
    }, ['id', 'name', 'version']),
    WorkflowListItem: {
      allOf: [ref('Workflow'), object({
        last_run: nullable(object({ id: str(undefined, { format: 'uuid' }), status: ref('RunStatus'), created_at: time() }, ['id', 'status', 'created_at'], { description: 'The workflow\'s newest run (any version)' })),
        runs_24h: int('Runs of the workflow created in the last 24 hours', { minimum: 0 }),
      }, ['last_run', 'runs_24h'])],
    },
    WorkflowVersion: object({
      version: int(undefined, { minimum: 1 }), name: str('The name in that version'), created_at: time('When that version was saved'),
      current: { type: 'boolean', description: 'Whether it is the current version' },
      links: object({ self: str('`GET /v1/workflows/{id}?version=N`', { format: 'uri' }) }, ['self']),
    }, ['version', 'name', 'created_at', 'current', 'links']),
    RunStatus: str(undefined, { enum: runStatus }),
    Reply: object({ status: str(undefined, { enum: ['ok', 'error'] }), http_status: int(), headers: { type: 'object', additionalProperties: str() }, data: anyJson, at: time() }, ['status', 'data']),
    RunError: object({ step: str(), code: str(), message: str() }, ['code', 'message']),
    Run: object({
      id: str(undefined, { format: 'uuid' }), workflow: str(), version: int(), ref: { type: ['string', 'null'] }, status: ref('RunStatus'),
      progress: { type: 'number', minimum: 0, maximum: 100 }, input: { type: 'object' }, data: { type: 'object' },
      reply: nullable(ref('Reply')), error: nullable(ref('RunError')), step: { type: ['string', 'null'], description: 'The step to run next, or the one the run is parked in' },
      attempt: int('1 + how many times the run was retried'), wake_at: { type: ['string', 'null'], format: 'date-time' },
      parent_run_id: { type: ['string', 'null'], format: 'uuid' },
      trace_id: { type: ['string', 'null'], pattern: '^[0-9a-f]{32}$', description: 'The W3C trace the run belongs to (the trigger\'s `traceparent`; a child run its parent\'s), or null' },
      callback_url: str('The run\'s callback URL (`$run.callback_url`)', { format: 'uri' }), links: ref('RunLinks'),
      result_url: { type: ['string', 'null'], format: 'uri', description: 'Where the result is POSTed when the run ends (the trigger\'s `?callback_url=`)' },
      created_at: time(), started_at: { type: ['string', 'null'], format: 'date-time' }, finished_at: { type: ['string', 'null'], format: 'date-time' }, updated_at: time(),
    }, ['id', 'workflow', 'version', 'status']),
    RunAccepted: object({
      id: str(undefined, { format: 'uuid' }), status: ref('RunStatus'), ref: { type: ['string', 'null'] },
      links: ref('RunLinks'),
    }, ['id', 'status', 'ref', 'links']),
    RunLinks: object(
      Object.fromEntries(['self', 'result', 'steps', 'events'].map((k) => [k, str(undefined, { format: 'uri' })])),
      ['self', 'result'], { additionalProperties: str(undefined, { format: 'uri' }) },
    ),
    Attempt: object({
      n: int(), started_at: time(), finished_at: { type: ['string', 'null'], format: 'date-time' }, duration_ms: { type: ['integer', 'null'] },
      request: anyJson, response: anyJson, error: nullable(object({ class: str(), message: str() })),
    }, ['n', 'started_at']),
    StepRecord: object({
      seq: int('Position in execution order, from 1'), step_id: str(), type: str(), name: { type: ['string', 'null'] }, status: str(undefined, { enum: ['running', 'waiting', 'succeeded', 'failed', 'skipped'] }),
      attempts: arrayOf(ref('Attempt')), input: anyJson, output: anyJson, error: nullable(ref('RunError')),
      started_at: time(), finished_at: { type: ['string', 'null'], format: 'date-time' }, duration_ms: { type: ['integer', 'null'] },
    }, ['step_id', 'type', 'status', 'attempts']),
    BatchRequest: object({ items: arrayOf(object({ ref: str(undefined, { minLength: 1, maxLength: 255 }), data: ref('Params') }, ['data']), { maxItems: 1000 }) }, ['items']),
    BatchResponse: object({
      items: arrayOf({
        oneOf: [
          object({ ref: { type: ['string', 'null'] }, run_id: str(undefined, { format: 'uuid' }) }, ['run_id']),
          object({ ref: { type: ['string', 'null'] }, error: ref('Problem') }, ['error']),
        ],
      }),
    }, ['items']),
    ImportResult: object({
      total: int(), created: int(), duplicates: int(), failed: int(), errors: arrayOf(ref('RowProblem')),
      dry_run: { type: 'boolean' }, delimiter: str('With preview: the delimiter used', { enum: [',', ';', '|'] }),
      encoding: str('With preview: the encoding used', { enum: ['utf-8', 'windows-1251'] }), preview: ref('ImportPreview'),
    }, ['total', 'created', 'duplicates', 'failed', 'errors']),
    ImportPreview: object({
      columns: arrayOf(str()),
      rows: arrayOf(object({
        row: int('Line in the file (header = 1)'), fields: arrayOf(str(), { description: 'As parsed, before coercion' }),
        values: { type: 'object', additionalProperties: str(), description: 'The fields by column name' },
        status: str(undefined, { enum: ['ok', 'duplicate', 'failed'] }),
        params: nullable({ type: 'object', description: 'The run\'s params once coerced (null for a failed row)' }),
        errors: arrayOf(object({ column: str(), message: str() }, ['message'])),
      }, ['row', 'fields', 'values', 'status', 'params', 'errors'])),
    }, ['columns', 'rows']),
    StepTestRequest: object({ data: { type: 'object', additionalProperties: true } }, ['data']),
    UnsavedStepTestRequest: object({
      step: ref('Step'), data: { type: 'object', additionalProperties: true, description: 'The data the step reads (default `{}`)' },
      workflow: str('A saved workflow whose context the step runs in', { pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }),
    }, ['step'], { additionalProperties: false }),
    StepTestResult: object({
      request: object({ method: str(), url: str(), headers: { type: 'object', additionalProperties: str() }, body: str('Excerpt (first 64 KiB)') }, ['method', 'url', 'headers'], { additionalProperties: true }),
      response: nullable(object({ status: int(), headers: { type: 'object', additionalProperties: str() }, body: anyJson, truncated: { type: 'boolean' } }, ['status', 'headers', 'body'])),
      duration_ms: { type: ['integer', 'null'] },
      error: object({ code: str('Error class: network, timeout, connect_timeout, tls, ssrf, redirects, http_status, …'), message: str() }, ['code', 'message']),
      outcome: object({ kind: str('What a run would do next', { enum: ['continue', 'fail', 'retry', 'follow'] }) }, ['kind'], { additionalProperties: true }),
    }, ['request', 'response', 'duration_ms', 'outcome']),
    Secret: object({ name: str(), created_at: time(), updated_at: time() }, ['name']),
    ApiKeyCreate: object({ name: str(), role: str(undefined, { enum: ['admin', 'trigger', 'read'] }), tenant: str() }, ['name', 'role']),
    ApiKey: object({ id: str(), tenant: str(), name: str(), role: str(undefined, { enum: ['admin', 'trigger', 'read'] }), created_at: time() }, ['id', 'tenant', 'name', 'role']),
    ApiKeyCreated: { allOf: [ref('ApiKey'), object({ token: str('Shown once') }, ['token'])] },
    ApiLogin: object({ login: int(), name: { type: ['string', 'null'] }, tenant: str(), created_at: time() }, ['login']),
    ApiLoginCreated: { allOf: [ref('ApiLogin'), object({ secret: str('Shown once') }, ['secret'])] },
    WebhookSecret: object({
      secret: str('Standard Webhooks secret: `whsec_` + base64 of 32 random bytes', { pattern: '^whsec_' }), created_at: time(),
      rotated_at: { type: ['string', 'null'], format: 'date-time' },
      previous_valid_until: { type: ['string', 'null'], format: 'date-time', description: 'Until when deliveries are also signed with the secret the last rotation replaced' },
    }, ['secret']),
    DeliveryAttempt: object({
      n: int(), started_at: time(), duration_ms: int(), request: anyJson,
      status: { type: ['integer', 'null'], description: 'The answer\'s status; null when none came' },
      response: anyJson, error: nullable(object({ class: str('network, timeout, ssrf, tls, status_<code>, …'), message: str() })),
    }, ['n', 'started_at', 'status']),
    Delivery: object({
      id: str('Also the `webhook-id` and `Idempotency-Key` of every attempt'), run_id: str(undefined, { format: 'uuid' }), run_attempt: int(),
      url: str(undefined, { format: 'uri' }), status: str(undefined, { enum: ['pending', 'delivered', 'failed'] }),
      attempts: arrayOf(ref('DeliveryAttempt')), next_attempt_at: { type: ['string', 'null'], format: 'date-time' },
      body: { description: 'What is POSTed: `{ run_id, workflow, status, result }`' }, created_at: time(), finished_at: { type: ['string', 'null'], format: 'date-time' },
    }, ['id', 'run_id', 'url', 'status', 'attempts']),
    Health: object({ status: str() }),
  };
}

