// The request generator without a server: one seed and index give one request, and a few thousand
// draws reach every route of the OpenAPI document and of the compatibility surfaces, in every category.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { openApiDocument } from '../../src/http/openapi.js';
import { requestSeed } from './fuzz.js';
import { buildRequest, CATEGORIES, emptyPools, type BuildContext } from './requests.js';
import { COMPAT_ROUTES, routesFromOpenApi } from './routes.js';
import type { Tenant, TenantFixture, World } from './world.js';

const KINDS = ['params', 'regex', 'expr', 'child', 'foreach', 'wait', 'http', 'code', 'loop'];

function fakeWorld(): World {
  const tenant = (t: Tenant, n: number): TenantFixture => ({
    keys: { read: { id: `${t}-kr`, token: `fg_${t}_read` }, trigger: { id: `${t}-kt`, token: `fg_${t}_trigger` }, admin: { id: `${t}-ka`, token: `fg_${t}_admin` } },
    login: { login: 100_000 + n, secret: `${t}-secret` },
    workflows: KINDS.map((kind, i) => ({ id: `${t}-${kind}`, tenant: t, kind, convId: 1000 + n * 100 + i, hash: 'ab'.repeat(20), guid: '6f1c7a4e-2b8d-4c1e-9a3f-0d5e7b9c1a2f', steps: ['a', 'b'] })),
    runs: [`01a2-${t}-run-1`, `01a2-${t}-run-2`], callbackTokens: [`${t}-token`], secretNames: [`${t}_secret`],
  });
  const tenants = { alpha: tenant('alpha', 0), beta: tenant('beta', 1) };
  return { base: 'http://127.0.0.1:1', target: { url: 'http://127.0.0.1:2', requests: [], close: async () => {} }, tenants, aIds: () => [], alive: () => true } as unknown as World;
}

const ctx = (): BuildContext => ({ world: fakeWorld(), pools: emptyPools(), routes: [...routesFromOpenApi(openApiDocument('http://127.0.0.1:1')), ...COMPAT_ROUTES] });
const draw = (c: BuildContext, seed: number, i: number) => buildRequest(fc.sample(fc.gen(), { seed: requestSeed(seed, i), numRuns: 1 })[0]!, i, c);

/** A signed Corezoid URL carries the current second and its signature: the two draws may straddle a second. */
const unsigned = (path: string): string => path.replace(/\/\d{9,11}\/[0-9a-f]{40}(?=$|\?)/, '/TIME/SIGNATURE');

test('the same seed and index give the same request', () => {
  for (let i = 0; i < 50; i++) {
    const a = draw(ctx(), 7, i);
    const b = draw(ctx(), 7, i);
    assert.deepEqual(
      { ...a.out, path: unsigned(a.out.path), route: a.route.name, category: a.category },
      { ...b.out, path: unsigned(b.out.path), route: b.route.name, category: b.category },
    );
  }
  assert.notDeepEqual(draw(ctx(), 7, 0).out, draw(ctx(), 8, 0).out);
});

test('a few thousand draws reach every route and every category', () => {
  const c = ctx();
  const routes = new Set<string>();
  const categories = new Set<string>();
  for (let i = 0; i < 4000; i++) {
    const r = draw(c, 1, i);
    routes.add(r.route.name);
    categories.add(r.category);
    assert.ok(!/\{[a-zA-Z_]+\}/.test(r.out.path), `a path parameter was left unfilled: ${r.out.path}`);
    assert.ok(!/https?:\/\/(?!127\.0\.0\.1)[a-z0-9.-]+\.[a-z]{2,}/i.test(r.out.body?.toString('utf8').slice(0, 5000) ?? ''), 'a request names an outside host');
  }
  assert.deepEqual([...categories].sort(), [...CATEGORIES].sort());
  const all = c.routes.map((r) => r.name);
  assert.deepEqual(all.filter((n) => !routes.has(n)), []);
  assert.ok(all.length >= 50, `only ${all.length} routes`);
});
