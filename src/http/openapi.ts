/**
 * The OpenAPI 3.1 document of the native API (docs/spec.md §4 and §8), served at `GET /v1/openapi.json`.
 * Built once per public URL; the compatibility surfaces (§5) speak foreign formats and are not in it.
 */

import {
  anyJson, arrayOf, bool, header, int, json, listOf, object, ok, param, path, query, ref, response, schemas, str, type Obj,
} from './openapi-schemas.js';

const PARAMS_XML_EXAMPLE = '<task><amount>10</amount><currency>EUR</currency></task>';

/** Request bodies that carry a trigger's params: JSON object, form or XML (docs/spec.md §4 "Bodies"). */
const paramsBody = (description: string, required = false): Obj => ({
  required,
  description,
  content: {
    'application/json': { schema: ref('Params'), example: { amount: 10, currency: 'EUR' } },
    'application/x-www-form-urlencoded': { schema: ref('FormParams'), example: 'amount=10&currency=EUR' },
    'application/xml': { schema: ref('XmlParams'), example: PARAMS_XML_EXAMPLE },
    'text/xml': { schema: ref('XmlParams'), example: PARAMS_XML_EXAMPLE },
  },
});

const DEFINITION_YAML_EXAMPLE = `id: hello
name: Hello
params:
  name: { type: string, default: world }
steps:
  - id: answer
    type: reply
    data: { greeting: "Hello {{ name }}" }
`;

interface OperationSpec {
  id: string;
  tag: string;
  summary: string;
  description?: string;
  params?: Obj[];
  body?: Obj;
  responses: Obj;
  /** No bearer token: the path carries its own credential (callbacks) or it is a probe. */
  public?: boolean;
}

/** Failures every authenticated operation can answer (404: the admin token's Flowgate-Tenant names no tenant). */
const AUTH_FAILURES: Obj = { '401': response('Unauthorized'), '403': response('Forbidden'), '404': response('NotFound'), '429': response('RateLimited') };

/** An operation without the tenant parameters that still takes a bearer token (its own: /metrics). */
const withBearer = (op: Obj): Obj => ({ ...op, security: [{ bearer: [] }] });

function operation(spec: OperationSpec): Obj {
  const op: Obj = { operationId: spec.id, tags: [spec.tag], summary: spec.summary };
  if (spec.description) op.description = spec.description;
  const params = spec.public ? (spec.params ?? []) : [param('Tenant'), ...(spec.params ?? [])];
  if (params.length) op.parameters = params;
  if (spec.body) op.requestBody = spec.body;
  op.responses = spec.public ? { ...spec.responses } : { ...AUTH_FAILURES, ...spec.responses };
  if (spec.public) op.security = [];
  return op;
}

function paths(): Obj {
  const workflowId = param('WorkflowId');
  const runId = param('RunId');
  return {
    '/v1/workflows': {
      get: operation({
        id: 'listWorkflows', tag: 'Workflows', summary: 'List workflows (current versions)',
        params: [param('Limit'), param('Cursor')],
        responses: { '200': ok('A page of workflows, each with its newest run and its runs of the last 24 hours', listOf('WorkflowListItem')) },
      }),
    },
    '/v1/workflows/{id}/versions': {
      get: operation({
        id: 'listWorkflowVersions', tag: 'Workflows', summary: 'The stored versions of a workflow, newest first',
        description: 'Archived workflows keep their versions. The first item of the first page is the current version. Read one with `GET /v1/workflows/{id}?version=N` (`links.self`).',
        params: [workflowId, param('Limit'), query('cursor', 'The `next_cursor` of the previous page (a version number); anything else is 400', str(undefined, { pattern: '^[1-9][0-9]*$' }))],
        responses: { '200': ok('A page of versions', listOf('WorkflowVersion')), '400': response('BadRequest'), '404': response('NotFound') },
      }),
    },
    '/v1/workflows/{id}': {
      put: operation({
        id: 'putWorkflow', tag: 'Workflows', summary: 'Create or update a workflow',
        description: 'The body is the definition in YAML or JSON. A definition that differs from the current one creates version N+1 (201); an identical one answers 200 with the current version. Every problem is reported at once (422). With `If-Match: <ETag>` the save happens only while the workflow is still at that tag (`*`: it exists); with `If-None-Match: *` only when it does not exist yet; else 412 and nothing is saved.',
        params: [workflowId, param('IfMatch'), param('IfNoneMatch')],
        body: {
          required: true,
          content: {
            'application/json': { schema: ref('Definition') },
            'application/yaml': { schema: ref('Definition'), example: DEFINITION_YAML_EXAMPLE },
            'text/yaml': { schema: ref('Definition'), example: DEFINITION_YAML_EXAMPLE },
            'application/x-yaml': { schema: ref('Definition'), example: DEFINITION_YAML_EXAMPLE },
          },
        },
        responses: {
          '200': ok('Unchanged: the current version', ref('Workflow'), ETAG_HEADERS),
          '201': ok('A new version (the first one creates the workflow)', ref('Workflow'), ETAG_HEADERS),
          '400': response('BadRequest'), '412': response('PreconditionFailed'), '413': response('PayloadTooLarge'), '415': response('UnsupportedMediaType'),
          '422': response('InvalidDefinition'),
        },
      }),
      get: operation({
        id: 'getWorkflow', tag: 'Workflows', summary: 'Read a workflow, with every URL that starts it',
        params: [workflowId, query('version', 'A specific version (default: the current one)', int(undefined, { minimum: 1 })), { name: 'If-None-Match', in: 'header', required: false, description: 'An ETag read before: 304 while the workflow is unchanged', schema: str() }],
        responses: { '200': ok('The workflow', ref('Workflow'), ETAG_HEADERS), '304': { description: 'Not modified since the ETag named', headers: ETAG_HEADERS }, '404': response('NotFound'), '422': response('ValidationFailed') },
      }),
      delete: operation({
        id: 'archiveWorkflow', tag: 'Workflows', summary: 'Archive a workflow',
        description: 'New runs are refused; running runs finish.',
        params: [workflowId],
        responses: { '204': { description: 'Archived (no body)' }, '404': response('NotFound') },
      }),
    },
    '/v1/workflows/{id}/runs': {
      post: operation({
        id: 'triggerRun', tag: 'Runs', summary: 'Start a run',
        description: [
          'The body holds the params. Response modes on the same endpoint:',
          '- default: 202 with `Location` (the run\'s status monitor, `GET /v1/runs/{id}/result`: 202 with the same `Location` and `Retry-After` until the run settles, then its final answer), `Retry-After` and `{ id, status, ref, links }`;',
          '- `?wait=N` or `Prefer: wait=N`: blocks until the run replies or ends and answers exactly what `GET /v1/runs/{id}/result` would (status and headers from the `reply` step, else 200), with `Flowgate-Run-Id` and `Flowgate-Run-Status`; when N passes first it degrades to the 202 answer;',
          '- `?callback_url=`: when the run ends its result `{ run_id, workflow, status, result }` is POSTed there, signed with Standard Webhooks headers (the tenant\'s secret, `GET /v1/webhook-secret`) and retried on network failures, 5xx and 429; attempts are listed at `GET /v1/runs/{id}/deliveries`. Combines with `wait`.',
          'A `ref` (from `Idempotency-Key` or `?ref=`) repeated with the same input returns the existing run; with a different input it is 409.',
        ].join('\n'),
        params: [workflowId, param('Wait'), param('Prefer'), param('CallbackUrl'), param('Ref'), param('IdempotencyKey')],
        body: paramsBody('The run\'s params; an empty body is `{}`'),
        responses: {
          '200': { description: 'With `wait`: the run\'s result (the reply may choose another status)', headers: RESULT_HEADERS, content: json(anyJson) },
          '202': { description: 'Accepted (or `wait` elapsed first)', headers: ACCEPTED_HEADERS, content: json(ref('RunAccepted')) },
          '400': response('BadRequest'), '404': response('NotFound'), '409': response('Conflict'),
          '413': response('PayloadTooLarge'), '415': response('UnsupportedMediaType'), '422': response('ValidationFailed'),
          '500': response('RunFailed'),
          default: { description: 'With `wait`: the status and headers a `reply` step chose', headers: RESULT_HEADERS, content: json(anyJson) },
        },
      }),
    },
    '/v1/workflows/{id}/runs/batch': {
      post: operation({
        id: 'triggerBatch', tag: 'Runs', summary: 'Start up to 1000 runs at once',
        description: 'Each item is refused or accepted on its own; the answer lists them in request order.',
        params: [workflowId],
        body: { required: true, content: json(ref('BatchRequest')) },
        responses: {
          '200': ok('Per-item results in request order', ref('BatchResponse')),
          '400': response('BadRequest'), '404': response('NotFound'), '413': response('PayloadTooLarge'), '415': response('UnsupportedMediaType'),
          '422': response('ValidationFailed'),
        },
      }),
    },
    '/v1/workflows/{id}/runs/import': {
      post: operation({
        id: 'importRuns', tag: 'Runs', summary: 'Start one run per CSV row',
        description: 'The first row holds parameter names unless `header=false`. Every row is validated before anything is created; by default one bad row refuses the whole file (422 with every bad row by its line number, the header being line 1). Duplicate refs are counted, not re-created.',
        params: [
          workflowId,
          query('delimiter', 'Field delimiter (auto-detected when absent)', str(undefined, { enum: [',', ';', '|'] })),
          query('encoding', 'Character encoding of the file', str(undefined, { enum: ['utf-8', 'windows-1251'], default: 'utf-8' })),
          query('header', 'Whether the first row names the columns (else key1, key2, …)', { type: 'boolean', default: true }),
          query('ref_column', 'Column whose value becomes each run\'s ref'),
          query('partial', 'Create the good rows even when some are bad', { type: 'boolean', default: false }),
          query('dry_run', 'Check every row, create nothing', { type: 'boolean', default: false }),
          query('format', 'json: the summary; csv: the failed rows as CSV with an `error` column (counts in Flowgate-Import-* headers)', str(undefined, { enum: ['json', 'csv'], default: 'json' })),
          query('preview', 'A dry run whose answer adds the first N data rows as parsed (`preview`) and the `delimiter` and `encoding` used', int(undefined, { minimum: 1, maximum: 100 })),
        ],
        body: { required: true, content: { 'text/csv': { schema: str('CSV text'), example: 'amount;currency\n10;EUR\n25;USD\n' } } },
        responses: {
          '200': {
            description: 'Import summary (with format=csv: the failed rows)',
            content: { ...json(ref('ImportResult')), 'text/csv': { schema: str('`row`, the file\'s columns, `error`; in the file\'s delimiter and encoding') } },
          },
          '400': response('BadRequest'), '404': response('NotFound'), '413': response('PayloadTooLarge'), '415': response('UnsupportedMediaType'),
          '422': response('ValidationFailed'),
        },
      }),
    },
    '/v1/workflows/{id}/steps/{step}/test': {
      post: operation({
        id: 'testStep', tag: 'Workflows', summary: 'Run one step on given data, without a run',
        description: 'The "Test" button: the current version\'s `http` step is executed once on `data` (no retries, `follow_async` not followed, nothing stored). The request really goes out, through the same SSRF guard, timeouts and body cap as a run\'s. The answer is the full exchange with secret values redacted; a failed exchange is still 200, with `error`. 404 for an unknown workflow or step, 422 for a step that is not `http`. Needs the admin role.',
        params: [workflowId, path('step', 'Step id', str(undefined, { pattern: '^[A-Za-z0-9_-]+$' }))],
        body: { required: true, content: json(ref('StepTestRequest')) },
        responses: { '200': ok('What the step did', ref('StepTestResult')), '400': response('BadRequest'), '404': response('NotFound'), '422': response('ValidationFailed') },
      }),
    },
    '/v1/steps/test': {
      post: operation({
        id: 'testUnsavedStep', tag: 'Workflows', summary: 'Run an unsaved http step on given data, without a run',
        description: 'The "Test" button before saving: `step` is checked as a workflow\'s step is (422 `invalid-definition`, each problem at its path under `step`; `next` and `on_error` are not checked) and executed once as `POST /v1/workflows/{id}/steps/{step}/test` executes a saved one, with the same answer. `workflow` names a saved workflow whose context (`$plan`, `$run`) it runs in. Needs the admin role.',
        body: { required: true, content: json(ref('UnsavedStepTestRequest')) },
        responses: {
          '200': ok('What the step did', ref('StepTestResult')), '400': response('BadRequest'), '404': response('NotFound'),
          '422': problemResponse('Invalid request fields (`validation-failed`), an invalid step (`invalid-definition`, paths under `step`), or a step that is not http'),
        },
      }),
    },
    '/v1/workflows/{id}/hash/rotate': {
      post: operation({
        id: 'rotateHash', tag: 'Workflows', summary: 'Issue a new direct-URL hash; the old one stops at once',
        params: [workflowId],
        responses: { '200': ok('The workflow with its new trigger URLs', ref('Workflow')), '404': response('NotFound') },
      }),
    },
    '/v1/workflows/{id}/identifiers': {
      put: operation({
        id: 'setWorkflowIdentifiers', tag: 'Workflows', summary: 'Bring the conv_id, direct-URL hash or CSI GUID existing clients already use',
        description: 'Sets the identifiers given; the others stay. Each is unique across tenants: a clash is 409 (naming the holder only when it is in the caller\'s tenant). New conv_ids skip brought ones; `hash/rotate` still replaces a brought hash.',
        params: [workflowId],
        body: { required: true, content: json(object({ conv_id: int(undefined, { minimum: 1 }), hash: str(undefined, { pattern: '^[0-9a-fA-F]{40}$' }), guid: str(undefined, { format: 'uuid' }) })) },
        responses: { '200': ok('The workflow with its identifiers', ref('Workflow')), '404': response('NotFound'), '409': response('Conflict'), '422': response('ValidationFailed') },
      }),
    },
    '/v1/whoami': {
      get: operation({
        id: 'whoami', tag: 'Tenants', summary: 'Who the caller is: its role and tenant (the console uses it to offer only what the token may do)',
        responses: { '200': ok('The caller', object({ kind: str('`admin` for the admin token, `key` for a tenant key', { enum: ['admin', 'key'] }), role: str(undefined, { enum: ['admin', 'trigger', 'read'] }), tenant: str('The tenant the token acts on'), key_id: str('The key\'s id (tenant keys only)') }, ['kind', 'role', 'tenant'])), '404': response('NotFound') },
      }),
    },
    '/v1/tenants': {
      post: operation({
        id: 'createTenant', tag: 'Tenants', summary: 'Create a tenant (admin token only); an MPO company_id such as i123456789 can be a tenant id',
        body: { required: true, content: json(object({ id: str(undefined, { pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }) }, ['id'])) },
        responses: { '201': ok('The tenant', object({ id: str(), created_at: str(undefined, { format: 'date-time' }) })), '403': response('Forbidden'), '409': response('Conflict'), '422': response('ValidationFailed') },
      }),
    },
    '/v1/cluster': {
      get: operation({
        id: 'listClusterNodes', tag: 'System', summary: 'The live nodes serving from this store (admin token only)',
        description: 'The nodes heard from within `alive_within_ms` (each writes a heartbeat every 2 s), oldest first, with the runs each holds under a live lease. On SQLite (one node) the list is this node.',
        responses: {
          '200': ok('The nodes', object({
            node: str('The id of the node that answered'), clustered: bool('Whether the store is shared by several nodes (PostgreSQL)'),
            alive_within_ms: int(), items: { type: 'array', items: object({
              id: str('The node id (the owner of its leases)'), self: bool(), started_at: str(undefined, { format: 'date-time' }),
              heartbeat_at: str(undefined, { format: 'date-time' }), runs_held: int('Runs queued or running under a live lease of this node'),
              info: { type: 'object', description: 'host, pid, url, version, executing (runs in its executor)' },
            }) },
          })),
          '403': response('Forbidden'),
        },
      }),
    },
    '/v1/runs': {
      get: operation({
        id: 'listRuns', tag: 'Runs', summary: 'List runs, newest first',
        params: [
          query('workflow', 'Only runs of this workflow'),
          query('status', 'Only runs in this status', ref('RunStatus')),
          query('ref', 'Only the run with this ref'),
          query('parent', 'Only child runs of this run (started by its call or foreach steps)'),
          query('since', 'Created at or after', str(undefined, { format: 'date-time' })),
          query('until', 'Created before', str(undefined, { format: 'date-time' })),
          param('Limit'), param('Cursor'),
        ],
        responses: { '200': ok('A page of runs', listOf('Run')), '400': response('BadRequest'), '422': response('ValidationFailed') },
      }),
    },
    '/v1/runs/{id}': {
      get: operation({ id: 'getRun', tag: 'Runs', summary: 'Read a run', params: [runId], responses: { '200': ok('The run', ref('Run')), '404': response('NotFound') } }),
    },
    '/v1/runs/{id}/result': {
      get: operation({
        id: 'getRunResult', tag: 'Runs', summary: 'The run\'s result (asynchronous request-reply)',
        description: '202 with `Retry-After` while the run has neither replied nor ended; the result (its reply, else its final data) once it has; a `run-failed` problem when it failed without replying.',
        params: [runId],
        responses: {
          '200': { description: 'The result', headers: RESULT_HEADERS, content: json(anyJson) },
          '202': { description: 'Not done yet', headers: ACCEPTED_HEADERS, content: json(ref('RunAccepted')) },
          '404': response('NotFound'), '409': response('RunCancelled'), '500': response('RunFailed'),
          default: { description: 'The status and headers a `reply` step chose', headers: RESULT_HEADERS, content: json(anyJson) },
        },
      }),
    },
    '/v1/runs/{id}/steps': {
      get: operation({
        id: 'listRunSteps', tag: 'Runs', summary: 'Step records in execution order, each with its attempts',
        params: [runId],
        responses: { '200': ok('Step records', object({ items: arrayOf(ref('StepRecord')), next_cursor: { type: ['string', 'null'] } }, ['items'])), '404': response('NotFound') },
      }),
    },
    '/v1/runs/{id}/deliveries': {
      get: operation({
        id: 'listRunDeliveries', tag: 'Webhooks', summary: 'The run\'s result deliveries to its callback_url, each with every attempt',
        params: [runId],
        responses: { '200': ok('Deliveries, oldest first', object({ items: arrayOf(ref('Delivery')), next_cursor: { type: ['string', 'null'] } }, ['items'])), '404': response('NotFound') },
      }),
    },
    '/v1/runs/{id}/events': {
      get: operation({
        id: 'streamRunEvents', tag: 'Runs', summary: 'Live run and step changes (Server-Sent Events)',
        description: 'Headers are sent at once; the first event is the run\'s current state (`event: run`), then `run` and `step` events as they happen. The stream ends after the run ends.',
        params: [runId],
        responses: { '200': { description: 'An event stream', content: { 'text/event-stream': { schema: str('`event: run|step` and `data: <JSON>` lines') } } }, '404': response('NotFound') },
      }),
    },
    '/v1/runs/stream': {
      get: operation({
        id: 'streamTenantRuns', tag: 'Runs', summary: 'Live changes of every run of the tenant (Server-Sent Events)',
        description: 'Starts with `retry: 3000`; then one `event: run` (data: the run as `GET /v1/runs` lists it) per committed creation or change of a run of the caller\'s tenant, `: ping` comments every 15 s, and `event: resync` when changes may have been missed. Subscribed when the headers arrive: open it, then read `GET /v1/runs`. A reader that falls behind gets only each run\'s newest state and is disconnected past 1 MiB waiting (`FLOWGATE_SSE_MAX_BUFFER_BYTES`). At most `FLOWGATE_RUN_STREAMS_PER_TENANT` open streams per tenant (429).',
        params: [
          query('workflow', 'Only runs of this workflow'),
          query('status', 'Runs that have this status after the change, or had it before it (so a filtered list can drop them)', ref('RunStatus')),
        ],
        responses: {
          '200': { description: 'An event stream', content: { 'text/event-stream': { schema: str('`event: run|resync` and `data: <JSON>` lines') } } },
          '422': response('ValidationFailed'),
        },
      }),
    },
    '/v1/runs/{id}/cancel': {
      post: operation({
        id: 'cancelRun', tag: 'Runs', summary: 'Cancel a run', params: [runId],
        responses: { '200': ok('The cancelled run', ref('Run')), '404': response('NotFound'), '409': response('Conflict') },
      }),
    },
    '/v1/runs/{id}/retry': {
      post: operation({
        id: 'retryRun', tag: 'Runs', summary: 'Retry a failed run from its failed step',
        params: [runId, query('from', '`start` retries from the first step', str(undefined, { enum: ['start'] }))],
        responses: {
          '202': { description: 'The run is queued again', headers: ACCEPTED_HEADERS, content: json(ref('RunAccepted')) },
          '404': response('NotFound'), '409': response('Conflict'),
        },
      }),
    },
    '/v1/callbacks/{token}': {
      post: operation({
        id: 'postCallback', tag: 'Runs', summary: 'Resume a waiting run, or deliver its reply', public: true,
        description: 'No `Authorization`: the token (≥128 bits) is the credential. Resumes a run parked in `wait` (the body is merged into its data); otherwise the body becomes the run\'s reply if it has not replied yet; otherwise 409.',
        params: [path('token', 'The run\'s callback token')],
        body: paramsBody('Data for the run'),
        responses: {
          '202': ok('Accepted', object({ status: str(undefined, { const: 'accepted' }) })),
          '400': response('BadRequest'), '404': response('NotFound'), '409': response('Conflict'),
          '413': response('PayloadTooLarge'), '415': response('UnsupportedMediaType'),
        },
      }),
    },
    '/v1/secrets': {
      get: operation({ id: 'listSecrets', tag: 'Secrets', summary: 'List secret names (values are never returned)', responses: { '200': ok('Secrets', listOf('Secret')) } }),
    },
    '/v1/secrets/{name}': {
      put: operation({
        id: 'putSecret', tag: 'Secrets', summary: 'Write a secret (encrypted at rest)',
        params: [path('name', 'Secret name', str(undefined, { pattern: '^[A-Za-z0-9_-]{1,64}$' }))],
        body: { required: true, content: json(object({ value: str() }, ['value'])) },
        responses: { '200': ok('Secret written', ref('Secret')), '201': ok('Secret created', ref('Secret')), '400': response('BadRequest'), '422': response('ValidationFailed') },
      }),
      delete: operation({
        id: 'deleteSecret', tag: 'Secrets', summary: 'Delete a secret', params: [path('name', 'Secret name')],
        responses: { '204': { description: 'Deleted' }, '404': response('NotFound') },
      }),
    },
    '/v1/keys': {
      post: operation({
        id: 'createKey', tag: 'Keys', summary: 'Create an API key (the token is shown once)',
        description: 'A key for a tenant that does not exist yet creates the tenant.',
        body: { required: true, content: json(ref('ApiKeyCreate')) },
        responses: { '201': ok('The key, with its token', ref('ApiKeyCreated')), '400': response('BadRequest'), '422': response('ValidationFailed') },
      }),
      get: operation({ id: 'listKeys', tag: 'Keys', summary: 'List API keys', responses: { '200': ok('Keys', listOf('ApiKey')) } }),
    },
    '/v1/keys/{id}': {
      delete: operation({
        id: 'deleteKey', tag: 'Keys', summary: 'Revoke an API key', params: [path('id', 'Key id')],
        responses: { '204': { description: 'Revoked' }, '404': response('NotFound') },
      }),
    },
    '/v1/api-logins': {
      post: operation({
        id: 'createApiLogin', tag: 'API logins', summary: 'Create a Corezoid-style API login (numeric login + secret, shown once)',
        description: 'A client moving over brings the login number and secret it already signs with (`login`, `secret`); otherwise both are made here. Login numbers are global: a taken one is 409.',
        body: { required: false, content: json(object({ name: str(), login: int('The login number to keep', { minimum: 1 }), secret: str('The secret to keep (16-256 printable ASCII characters)') })) },
        responses: { '201': ok('The login, with its secret', ref('ApiLoginCreated')), '400': response('BadRequest'), '409': response('Conflict'), '422': response('ValidationFailed') },
      }),
      get: operation({ id: 'listApiLogins', tag: 'API logins', summary: 'List API logins', responses: { '200': ok('Logins', listOf('ApiLogin')) } }),
    },
    '/v1/api-logins/{login}': {
      delete: operation({
        id: 'deleteApiLogin', tag: 'API logins', summary: 'Delete an API login', params: [path('login', 'The numeric login', int())],
        responses: { '204': { description: 'Deleted' }, '404': response('NotFound') },
      }),
    },
    '/v1/webhook-secret': {
      get: operation({ id: 'getWebhookSecret', tag: 'Webhooks', summary: 'The tenant\'s Standard Webhooks secret for result deliveries (made on first use)', responses: { '200': ok('The secret', ref('WebhookSecret')) } }),
      post: operation({
        id: 'rotateWebhookSecret', tag: 'Webhooks', summary: 'Rotate the tenant\'s webhook secret',
        description: 'For 24 hours (`previous_valid_until`) deliveries carry a signature with the old secret too, space-separated in `webhook-signature`.',
        responses: { '200': ok('The new secret', ref('WebhookSecret')) },
      }),
    },
    '/v1/openapi.json': {
      get: operation({ id: 'getOpenApi', tag: 'System', summary: 'This document', public: true, responses: { '200': ok('OpenAPI 3.1 document', { type: 'object' }) } }),
    },
    '/healthz': {
      get: operation({ id: 'healthz', tag: 'System', summary: 'Liveness: 200 while the process lives', public: true, responses: { '200': ok('Alive', ref('Health')) } }),
    },
    '/readyz': {
      get: operation({
        id: 'readyz', tag: 'System', summary: 'Readiness: 200 once the store is open and recovery is done', public: true,
        responses: { '200': ok('Ready', ref('Health')), '503': response('Unavailable') },
      }),
    },
    '/metrics': {
      get: withBearer(operation({
        id: 'metrics', tag: 'System', summary: 'Prometheus metrics', public: true,
        description: 'Needs the admin token or FLOWGATE_METRICS_TOKEN as a bearer token (never a tenant key: the labels name every tenant\'s workflows).',
        responses: {
          '200': { description: 'Metrics in the Prometheus text format', content: { 'text/plain': { schema: str('Exposition format 0.0.4 (`Content-Type: text/plain; version=0.0.4`)') } } },
          '401': response('Unauthorized'), '403': response('Forbidden'),
        },
      })),
    },
  };
}

const RESULT_HEADERS: Obj = {
  'Flowgate-Run-Id': header('The run id', str(undefined, { format: 'uuid' })),
  'Flowgate-Run-Status': header('The run status at the time of the answer', ref('RunStatus')),
  'Preference-Applied': header('`wait=M` when the wait was asked with `Prefer: wait=N` (M: the wait given, capped)'),
};
const ETAG_HEADERS: Obj = {
  ETag: header('The workflow\'s entity tag: changes with a new version, an archive, a rotated hash or moved identifiers (`If-Match` on PUT)', str(undefined, { pattern: '^"[0-9]+-[0-9a-f]{16}"$' })),
};
const ACCEPTED_HEADERS: Obj = {
  Location: header('Absolute URL of the run\'s status monitor (`/v1/runs/{id}/result`)', str(undefined, { format: 'uri' })),
  'Retry-After': header('Seconds to wait before polling the result', int(undefined, { minimum: 0 })),
};

function problemResponse(description: string, headers?: Obj): Obj {
  return { description, ...(headers ? { headers } : {}), content: { 'application/problem+json': { schema: ref('Problem') } } };
}

function components(): Obj {
  return {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'The admin token, or a tenant API key with role `admin`, `trigger` or `read`' },
    },
    parameters: {
      Tenant: { name: 'Flowgate-Tenant', in: 'header', required: false, description: 'With the admin token: the tenant to act on (default `default`). Ignored for tenant keys.', schema: str() },
      WorkflowId: path('id', 'Workflow id', str(undefined, { pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' })),
      RunId: path('id', 'Run id (UUIDv7)', str(undefined, { format: 'uuid' })),
      Limit: query('limit', 'Page size; clamped to 1..1000, never an error', int(undefined, { default: 50 })),
      Cursor: query('cursor', 'The `next_cursor` of the previous page'),
      Wait: query('wait', 'Seconds to block for the result (capped by the server, default cap 300)', int(undefined, { minimum: 0 })),
      Prefer: { name: 'Prefer', in: 'header', required: false, description: '`wait=N`: same as `?wait=N`; when honoured the answer carries `Preference-Applied: wait=M` (M the wait given, capped)', schema: str(undefined, { pattern: 'wait=\\d+' }) },
      IfMatch: { name: 'If-Match', in: 'header', required: false, description: 'Save only while the workflow is at this ETag (strong comparison), or `*`: only when it exists', schema: str() },
      IfNoneMatch: { name: 'If-None-Match', in: 'header', required: false, description: '`*`: create only (412 when the workflow exists)', schema: str() },
      CallbackUrl: query('callback_url', 'Absolute http(s) URL (at most 2048 characters, no credentials) the run\'s result is POSTed to when it ends (signed, retried)', str(undefined, { format: 'uri', maxLength: 2048 })),
      Ref: query('ref', 'Caller-chosen unique key of the run within its workflow', str(undefined, { minLength: 1, maxLength: 255 })),
      IdempotencyKey: { name: 'Idempotency-Key', in: 'header', required: false, description: 'The run\'s ref (same as `?ref=`)', schema: str(undefined, { minLength: 1, maxLength: 255 }) },
    },
    responses: {
      BadRequest: problemResponse('Malformed request or body, or a body nested past the nesting limit (`bad-request`, `malformed-body`, `too-deep`)'),
      Unauthorized: problemResponse('Missing or unknown token', { 'WWW-Authenticate': header('`Bearer`') }),
      Forbidden: problemResponse('The key\'s role is too low'),
      NotFound: problemResponse('Unknown id, or one of another tenant'),
      Conflict: problemResponse('Conflicting state, e.g. a ref reused with a different input'),
      PreconditionFailed: problemResponse('`If-Match` / `If-None-Match` does not hold: the workflow changed since it was read (or exists, or does not); nothing was saved', ETAG_HEADERS),
      PayloadTooLarge: problemResponse('Body larger than the configured limit (default 1 MiB)'),
      UnsupportedMediaType: problemResponse('Body media type or charset not accepted'),
      ValidationFailed: problemResponse('Input does not match the declared params; every problem in `errors`'),
      InvalidDefinition: problemResponse('Invalid workflow definition; every problem in `errors` with its path'),
      RateLimited: problemResponse('Rate limit exceeded', { 'Retry-After': header('Seconds until a retry may succeed', int()) }),
      RunFailed: problemResponse('The run failed without replying (`run-failed`)'),
      RunCancelled: problemResponse('The run was cancelled before it replied (`run-cancelled`)'),
      Unavailable: problemResponse('Not ready yet'),
    },
    schemas: schemas(),
  };
}

/** The OpenAPI 3.1 document of the native API, with `publicUrl` as its server. */
export function openApiDocument(publicUrl: string): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Flowgate API',
      version: '1.0.0',
      description: 'Native API of Flowgate. JSON in and out; errors are `application/problem+json` (RFC 9457). Authenticate with `Authorization: Bearer <token>`.',
    },
    servers: [{ url: publicUrl.replace(/\/+$/, '') }],
    security: [{ bearer: [] }],
    tags: ['Workflows', 'Runs', 'Secrets', 'Keys', 'API logins', 'Webhooks', 'System'].map((name) => ({ name })),
    paths: paths(),
    components: components(),
  };
}
