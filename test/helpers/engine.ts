/**
 * What the engine tests share: a migrated store (closed and removed after the test, with every
 * engine started on it stopped first), the engine settings they start from, and a workflow deployed
 * straight into the store. The store is SQLite in a temporary directory, or with
 * FLOWGATE_TEST_BACKEND=postgres a PostgreSQL database of its own (test/helpers/postgres.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { validateDefinition } from '../../src/core/definition.js';
import { randomToken } from '../../src/core/ids.js';
import type { Workflow } from '../../src/core/types.js';
import type { EngineConfig } from '../../src/engine/engine.js';
import { SUPPORTED_STEP_TYPES } from '../../src/steps/index.js';
import type { HttpPort } from '../../src/steps/types.js';
import { openPostgresStore } from '../../src/store/postgres/store.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/store.js';
import type { Store } from '../../src/store/types.js';
import { createTestDatabase, testBackend } from './postgres.js';

/** An http port for engines whose workflows make no request. */
export const NO_HTTP: HttpPort = { request: async () => { throw new Error('no http here'); } };

/** The settings every engine test starts from (a fresh owner each time). */
export function engineConfig(overrides: Partial<EngineConfig> = {}): EngineConfig {
  return {
    owner: `node-${randomToken(4)}`, leaseMs: 30_000, maxDataBytes: 256 * 1024, stepsPerSlice: 200, maxStepsPerRun: 10_000,
    maxActive: 100, clock: Date.now, callbackUrl: (tok) => `http://flowgate.test/v1/callbacks/${tok}`, ...overrides,
  } as EngineConfig;
}

/** A migrated store with the default tenant; `engines` are stopped before it closes after the test. */
export async function migratedStore(t: TestContext, prefix: string): Promise<{ store: Store; engines: { stop(): Promise<unknown> }[] }> {
  const dir = mkdtempSync(join(tmpdir(), `flowgate-${prefix}-`));
  const database = testBackend() === 'postgres' ? await createTestDatabase() : null;
  const store = database ? await openPostgresStore({ url: database.url, poolSize: 4 }) : await openSqliteStore({ path: join(dir, 'flowgate.db') });
  await store.migrate();
  await store.ensureTenant('default');
  const engines: { stop(): Promise<unknown> }[] = [];
  t.after(async () => {
    for (const e of engines) await e.stop().catch(() => {});
    await store.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, engines };
}

/** Validates a definition and saves it as the default tenant's workflow. */
export async function deployTo(store: Store, doc: Record<string, unknown>): Promise<Workflow> {
  const v = validateDefinition(doc, { supportedStepTypes: SUPPORTED_STEP_TYPES });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return (await store.saveWorkflow('default', v.definition, JSON.stringify(doc), { hash: randomToken(20), guid: crypto.randomUUID() }, Date.now())).workflow;
}

/**
 * Two stores on ONE SQLite file, each as another node would open it (SqliteOptions.shared, a
 * multi-claimer store), migrated, with the default tenant; the engines pushed to `engines` are
 * stopped and both stores closed and removed after the test.
 */
export async function sharedStores(t: TestContext, prefix: string): Promise<{ a: SqliteStore; b: SqliteStore; engines: { stop(): Promise<unknown> }[] }> {
  const dir = mkdtempSync(join(tmpdir(), `flowgate-${prefix}-`));
  const path = join(dir, 'flowgate.db');
  const a = await openSqliteStore({ path, shared: true });
  await a.migrate();
  await a.ensureTenant('default');
  const b = await openSqliteStore({ path, shared: true });
  await b.migrate();
  const engines: { stop(): Promise<unknown> }[] = [];
  t.after(async () => {
    for (const e of engines) await e.stop().catch(() => {});
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { a, b, engines };
}
