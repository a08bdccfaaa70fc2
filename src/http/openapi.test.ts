import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApiDocument } from './openapi.js';

type Obj = Record<string, any>;
const doc = openApiDocument('https://flowgate.example.com/') as Obj;

/** Every path and method of docs/spec.md §4 and §8 that the document must describe. */
const EXPECTED: Array<[string, string]> = [
  ['get', '/v1/workflows'],
  ['put', '/v1/workflows/{id}'],
  ['get', '/v1/workflows/{id}'],
  ['delete', '/v1/workflows/{id}'],
  ['get', '/v1/workflows/{id}/versions'],
  ['post', '/v1/workflows/{id}/runs'],
  ['post', '/v1/workflows/{id}/runs/batch'],
  ['post', '/v1/workflows/{id}/runs/import'],
  ['post', '/v1/workflows/{id}/steps/{step}/test'],
  ['post', '/v1/steps/test'],
  ['post', '/v1/workflows/{id}/hash/rotate'],
  ['get', '/v1/runs'],
  ['get', '/v1/runs/{id}'],
  ['get', '/v1/runs/{id}/result'],
  ['get', '/v1/runs/{id}/steps'],
  ['get', '/v1/runs/{id}/events'],
  ['get', '/v1/runs/stream'],
  ['post', '/v1/runs/{id}/cancel'],
  ['post', '/v1/runs/{id}/retry'],
  ['post', '/v1/callbacks/{token}'],
  ['get', '/v1/secrets'],
  ['put', '/v1/secrets/{name}'],
  ['delete', '/v1/secrets/{name}'],
  ['post', '/v1/keys'],
  ['get', '/v1/keys'],
  ['delete', '/v1/keys/{id}'],
  ['post', '/v1/api-logins'],
  ['get', '/v1/api-logins'],
  ['delete', '/v1/api-logins/{login}'],
  ['get', '/v1/webhook-secret'],
  ['post', '/v1/webhook-secret'],
  ['get', '/v1/openapi.json'],
  ['get', '/healthz'],
  ['get', '/readyz'],
  ['get', '/metrics'],
];

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const operations = (): Array<[string, string, Obj]> =>
  Object.entries(doc.paths as Obj).flatMap(([path, item]) =>
    Object.entries(item as Obj).filter(([m]) => METHODS.includes(m)).map(([m, op]) => [path, m, op as Obj] as [string, string, Obj]));

function resolve(pointer: string): unknown {
  assert.ok(pointer.startsWith('#/'), `only local refs: ${pointer}`);
  let node: unknown = doc;
  for (const raw of pointer.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in (node as Obj))) return undefined;
    node = (node as Obj)[key];
  }
  return node;
}

test('is an OpenAPI 3.1 document with a server at the public URL', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(typeof doc.info.title, 'string');
  assert.equal(typeof doc.info.version, 'string');
  assert.deepEqual(doc.servers, [{ url: 'https://flowgate.example.com' }]);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(doc)));
});

test('every path and method of the native API is present', () => {
  const present = new Set(operations().map(([p, m]) => `${m} ${p}`));
  for (const [method, path] of EXPECTED) assert.ok(present.has(`${method} ${path}`), `missing ${method.toUpperCase()} ${path}`);
});

test('every $ref resolves inside the document', () => {
  const refs: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref') refs.push(String(v));
        else walk(v);
      }
    }
  };
  walk(doc);
  assert.ok(refs.length > 50);
  for (const ref of new Set(refs)) assert.notEqual(resolve(ref), undefined, `unresolved ${ref}`);
});

test('operation ids are unique and every operation answers', () => {
  const ids = operations().map(([, , op]) => op.operationId);
  assert.equal(new Set(ids).size, ids.length);
  for (const [path, method, op] of operations()) {
    assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} has no responses`);
    for (const status of Object.keys(op.responses)) assert.match(status, /^([1-5]\d\d|[1-5]XX|default)$/);
  }
});

test('every path template parameter is declared as a required path parameter', () => {
  for (const [path, method, op] of operations()) {
    const declared = new Set(
      ((op.parameters ?? []) as Obj[])
        .map((p) => (p.$ref ? (resolve(p.$ref) as Obj) : p))
        .filter((p) => p.in === 'path' && p.required === true)
        .map((p) => p.name),
    );
    for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) assert.ok(declared.has(name), `${method} ${path} does not declare {${name}}`);
  }
});

test('bearer security everywhere except the public endpoints; Flowgate-Tenant on authenticated ones', () => {
  assert.deepEqual(doc.security, [{ bearer: [] }]);
  assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
  const publicOps = new Set(['post /v1/callbacks/{token}', 'get /healthz', 'get /readyz', 'get /v1/openapi.json']);
  for (const [path, method, op] of operations()) {
    const key = `${method} ${path}`;
    if (key === 'get /metrics') {
      // The server's own token (admin or metrics), not a tenant's: no Flowgate-Tenant.
      assert.deepEqual(op.security, [{ bearer: [] }]);
      assert.ok(op.responses['401'] && op.responses['403']);
    } else if (publicOps.has(key)) {
      assert.deepEqual(op.security, [], `${key} should need no token`);
    } else {
      assert.equal(op.security, undefined, `${key} should use the default security`);
      assert.ok((op.parameters as Obj[]).some((p) => p.$ref === '#/components/parameters/Tenant'), `${key} lacks Flowgate-Tenant`);
      assert.ok(op.responses['401'], `${key} lacks 401`);
    }
  }
  assert.equal(doc.components.parameters.Tenant.name, 'Flowgate-Tenant');
});

test('the trigger describes its bodies and response modes', () => {
  const op = doc.paths['/v1/workflows/{id}/runs'].post;
  assert.deepEqual(Object.keys(op.requestBody.content).sort(), ['application/json', 'application/x-www-form-urlencoded', 'application/xml', 'text/xml']);
  const params = (op.parameters as Obj[]).map((p) => resolve(p.$ref) as Obj);
  const names = params.map((p) => `${p.in}:${p.name}`);
  for (const n of ['path:id', 'query:wait', 'header:Prefer', 'query:callback_url', 'query:ref', 'header:Idempotency-Key', 'header:Flowgate-Tenant']) {
    assert.ok(names.includes(n), `missing ${n}`);
  }
  assert.ok(op.responses['202'].headers.Location && op.responses['202'].headers['Retry-After']);
  assert.ok(op.responses['200'].headers['Flowgate-Run-Id'] && op.responses['200'].headers['Flowgate-Run-Status']);
  for (const s of ['409', '413', '415', '422']) assert.ok(op.responses[s], `trigger lacks ${s}`);
});

test('workflow PUT accepts YAML and JSON; import takes text/csv; events are SSE; retry takes ?from=start', () => {
  const put = doc.paths['/v1/workflows/{id}'].put;
  assert.deepEqual(Object.keys(put.requestBody.content).sort(), ['application/json', 'application/x-yaml', 'application/yaml', 'text/yaml']);
  const get = doc.paths['/v1/workflows/{id}'].get;
  assert.ok((get.parameters as Obj[]).some((p) => p.name === 'version' && p.in === 'query'));
  assert.ok(doc.paths['/v1/workflows/{id}/runs/import'].post.requestBody.content['text/csv']);
  assert.ok(doc.paths['/v1/runs/{id}/events'].get.responses['200'].content['text/event-stream']);
  const retry = doc.paths['/v1/runs/{id}/retry'].post;
  assert.deepEqual((retry.parameters as Obj[]).find((p) => p.name === 'from')?.schema.enum, ['start']);
  const list = (doc.paths['/v1/runs'].get.parameters as Obj[]).map((p) => (p.$ref ? (resolve(p.$ref) as Obj) : p).name);
  for (const q of ['workflow', 'status', 'ref', 'since', 'until', 'limit', 'cursor']) assert.ok(list.includes(q), `runs list lacks ${q}`);
});

test('component schemas: Workflow triggers, Run, StepRecord attempts, Problem errors, list envelopes', () => {
  const s = doc.components.schemas;
  for (const k of ['conv_id', 'hash', 'guid', 'urls']) assert.ok(s.Triggers.properties[k], `Triggers.${k}`);
  assert.equal(s.Workflow.properties.triggers.$ref, '#/components/schemas/Triggers');
  assert.deepEqual(s.RunStatus.enum, ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled']);
  assert.equal(s.StepRecord.properties.attempts.items.$ref, '#/components/schemas/Attempt');
  assert.ok(s.Problem.required.includes('type') && s.Problem.properties.errors);
  assert.deepEqual(s.FieldProblem.required, ['path', 'message']);
  const runsList = doc.paths['/v1/runs'].get.responses['200'].content['application/json'].schema;
  assert.deepEqual(runsList.required, ['items', 'next_cursor']);
  assert.equal(doc.components.responses.Unauthorized.content['application/problem+json'].schema.$ref, '#/components/schemas/Problem');
});
