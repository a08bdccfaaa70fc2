// The OpenAPI document as the ecosystem's tools use it: `redocly lint` finds no error in it, and a
// TypeScript client generated from the served document (openapi-typescript + openapi-fetch) type-checks
// against its own use and, run against a real server, creates a workflow, starts a run and reads its result.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import openapiTS, { astToString } from 'openapi-typescript';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ROOT = new URL('../..', import.meta.url).pathname;
let s: TestServer;
let dir: string;

before(async () => {
  s = await startTestServer();
  // Inside the checkout (.tmp/ is ignored by git), so the generated code resolves the project's packages.
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  dir = mkdtempSync(join(ROOT, '.tmp', 'openapi-client-'));
});
after(async () => {
  await s?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function servedDocument(): Promise<string> {
  const r = await s.call('GET', '/v1/openapi.json', { token: null });
  assert.equal(r.status, 200);
  return r.text;
}

test('redocly lint finds no error in the served document', async () => {
  const file = join(dir, 'openapi.json');
  writeFileSync(file, await servedDocument());
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--format=json'], {
    cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  assert.equal(r.status, 0, `redocly lint failed:\n${r.stdout.slice(0, 4000)}\n${r.stderr.slice(0, 2000)}`);
  const report = JSON.parse(r.stdout) as { totals: { errors: number; warnings: number } };
  assert.equal(report.totals.errors, 0);
});

test('a client generated from the served document type-checks and creates a workflow, starts a run and reads its result', async () => {
  // defaultNonNullable: false, so a field with a default (e.g. a definition's \`undeclared\`) may be left out of a request.
  const ast = await openapiTS(JSON.parse(await servedDocument()), { defaultNonNullable: false });
  writeFileSync(join(dir, 'schema.ts'), astToString(ast));
  writeFileSync(join(dir, 'use.ts'), `import createClient from 'openapi-fetch';
import type { paths } from './schema.js';

export async function use(baseUrl: string, token: string): Promise<{ created: number; started: number; result: unknown; status: string }> {
  const client = createClient<paths>({ baseUrl, headers: { Authorization: \`Bearer \${token}\` } });
  const put = await client.PUT('/v1/workflows/{id}', {
    params: { path: { id: 'generated' } },
    body: { id: 'generated', steps: [{ id: 'double', type: 'set', set: { doubled: '{{ n * 2 }}' } }, { id: 'answer', type: 'reply' }] },
  });
  if (!put.data) throw new Error('PUT failed: ' + JSON.stringify(put.error));
  const run = await client.POST('/v1/workflows/{id}/runs', { params: { path: { id: put.data.id } }, body: { n: 21 } });
  // Without ?wait the answer is the 202 (with it, a 200 carries whatever the run replies).
  if (!run.data || run.response.status !== 202) throw new Error('POST failed: ' + JSON.stringify(run.error));
  type Accepted = paths['/v1/workflows/{id}/runs']['post']['responses'][202]['content']['application/json'];
  const runId: string = (run.data as Accepted).id;
  for (let i = 0; i < 100; i++) {
    const got = await client.GET('/v1/runs/{id}', { params: { path: { id: runId } } });
    if (got.data && (got.data.status === 'succeeded' || got.data.status === 'failed')) {
      const result = await client.GET('/v1/runs/{id}/result', { params: { path: { id: runId } } });
      return { created: put.response.status, started: run.response.status, result: result.data, status: got.data.status };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the run did not end');
}
`);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
    files: ['use.ts'],
  }));
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(tsc.status, 0, `the generated client does not type-check against its use:\n${tsc.stdout}${tsc.stderr}`);
  const { use } = (await import(join(dir, 'use.ts'))) as { use: (base: string, token: string) => Promise<{ created: number; started: number; result: unknown; status: string }> };
  const out = await use(s.url, (await s.call('POST', '/v1/keys', { json: { name: 'client', role: 'admin', tenant: 'default' } })).body.token);
  assert.deepEqual(out, { created: 201, started: 202, result: { n: 21, doubled: 42 }, status: 'succeeded' });
});
