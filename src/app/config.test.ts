// Settings (docs/operations.md): every documented FLOWGATE_* variable is one the server reads, and an
// unknown or unsupported one stops the start with a clear error instead of being ignored.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from './config.js';

const flags = () => ({ dataDir: mkdtempSync(join(tmpdir(), 'flowgate-config-')), examples: false as const });
const documented = [...new Set(readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8').match(/FLOWGATE_[A-Z0-9_]+/g) ?? [])]
  ;

test('every setting docs/operations.md names is accepted, also when a flag overrides it', () => {
  assert.ok(documented.length > 20, `operations.md names the settings (${documented.length})`);
  // Empty values mean "the default" for every setting, so this checks names, not values.
  const env = Object.fromEntries(documented.map((name) => [name, '']));
  assert.doesNotThrow(() => loadConfig({ ...flags(), port: 0, host: '127.0.0.1', logLevel: 'silent', publicUrl: 'http://x.test' }, env));
});

test('an unknown FLOWGATE_* setting stops the start, naming it and the nearest known one', () => {
  assert.throws(() => loadConfig(flags(), { FLOWGATE_PORTT: '9000' }), /unknown setting FLOWGATE_PORTT \(did you mean FLOWGATE_PORT\?\)/);
  assert.throws(() => loadConfig(flags(), { FLOWGATE_RATE_LIMIT_PER_KYE: '5', FLOWGATE_WHATEVER: '1' }), (e: Error) => {
    assert.match(e.message, /unknown settings FLOWGATE_RATE_LIMIT_PER_KYE \(did you mean FLOWGATE_RATE_LIMIT_PER_KEY\?\), FLOWGATE_WHATEVER:/);
    return true;
  });
});

test('the CLI\'s own variables and other programs\' variables are left alone', () => {
  assert.doesNotThrow(() => loadConfig(flags(), { FLOWGATE_URL: 'http://x', FLOWGATE_TOKEN: 't', HOME: '/root', PORT: '1' }));
});

test('FLOWGATE_DATABASE_URL or --database-url selects PostgreSQL; without it, the embedded store', () => {
  assert.equal(loadConfig(flags(), {}).database.url, null);
  assert.equal(loadConfig(flags(), { FLOWGATE_DATABASE_URL: 'postgres://127.0.0.1/flowgate', FLOWGATE_ADMIN_TOKEN: 'fga_same', FLOWGATE_MASTER_KEY: 'k'.repeat(40) }).database.url, 'postgres://127.0.0.1/flowgate');
  const flagged = loadConfig({ ...flags(), databaseUrl: 'postgresql://db.internal:5433/fg' }, { FLOWGATE_DATABASE_URL: 'postgres://127.0.0.1/other', FLOWGATE_DATABASE_POOL_SIZE: '25', FLOWGATE_ADMIN_TOKEN: 'fga_same', FLOWGATE_MASTER_KEY: 'k'.repeat(40) });
  assert.equal(flagged.database.url, 'postgresql://db.internal:5433/fg', 'the flag wins');
  assert.equal(flagged.database.poolSize, 25);
  assert.throws(() => loadConfig(flags(), { FLOWGATE_DATABASE_URL: 'mysql://x/y' }), /must be a postgres:\/\/ or postgresql:\/\/ URL/);
  assert.throws(() => loadConfig(flags(), { FLOWGATE_DATABASE_URL: 'postgres://x/y', FLOWGATE_DATABASE_POOL_SIZE: '0', FLOWGATE_ADMIN_TOKEN: 'fga_same', FLOWGATE_MASTER_KEY: 'k'.repeat(40) }), /FLOWGATE_DATABASE_POOL_SIZE must be a positive integer/);
});

test('cluster mode (FLOWGATE_DATABASE_URL) needs the admin token and the master key from the environment, the same on every node', () => {
  const url = 'postgres://127.0.0.1/flowgate';
  assert.throws(() => loadConfig(flags(), { FLOWGATE_DATABASE_URL: url }), /cluster mode, so FLOWGATE_ADMIN_TOKEN and FLOWGATE_MASTER_KEY must be set too/);
  assert.throws(() => loadConfig(flags(), { FLOWGATE_DATABASE_URL: url, FLOWGATE_ADMIN_TOKEN: 't'.repeat(32) }), /so FLOWGATE_MASTER_KEY must be set too/);
  const dir = flags();
  const config = loadConfig(dir, { FLOWGATE_DATABASE_URL: url, FLOWGATE_ADMIN_TOKEN: 'fga_same', FLOWGATE_MASTER_KEY: 'k'.repeat(40) });
  assert.equal(config.database.url, url);
  assert.equal(config.adminToken, 'fga_same');
  assert.equal(config.adminTokenGenerated, false);
  assert.equal(config.masterKey, 'k'.repeat(40));
});

test('PORT is read when FLOWGATE_PORT is not set; FLOWGATE_PORT and --port win over it', () => {
  assert.equal(loadConfig(flags(), { PORT: '9123' }).port, 9123);
  assert.equal(loadConfig(flags(), { PORT: '9123', FLOWGATE_PORT: '9124' }).port, 9124);
  assert.equal(loadConfig({ ...flags(), port: 9125 }, { PORT: '9123' }).port, 9125);
  assert.equal(loadConfig(flags(), { PORT: '' }).port, 8080);
  assert.throws(() => loadConfig(flags(), { PORT: 'http' }), /port must be 0-65535/);
});

test('settings that read as "off" mean off: a rate limit of 0 is no limit, not a refused start', () => {
  const off = loadConfig(flags(), { FLOWGATE_RATE_LIMIT_PER_KEY: '0', FLOWGATE_RATE_LIMIT_PER_WORKFLOW: '0' });
  assert.deepEqual(off.rateLimit, { perKey: 0, perWorkflow: 0, mode: 'split' });
  assert.equal(loadConfig(flags(), { FLOWGATE_RATE_LIMIT_PER_KEY: '7' }).rateLimit.perKey, 7);
  assert.throws(() => loadConfig(flags(), { FLOWGATE_RATE_LIMIT_PER_KEY: '-1' }), /FLOWGATE_RATE_LIMIT_PER_KEY must be a non-negative integer \(0 turns it off\)/);
});

test('FLOWGATE_RATE_LIMIT_MODE: split (the default) or database, which needs the PostgreSQL store', () => {
  const cluster = { FLOWGATE_DATABASE_URL: 'postgres://127.0.0.1/flowgate', FLOWGATE_ADMIN_TOKEN: 'fga_same', FLOWGATE_MASTER_KEY: 'k'.repeat(40) };
  assert.equal(loadConfig(flags(), {}).rateLimit.mode, 'split');
  assert.equal(loadConfig(flags(), cluster).rateLimit.mode, 'split');
  assert.equal(loadConfig(flags(), { ...cluster, FLOWGATE_RATE_LIMIT_MODE: 'database' }).rateLimit.mode, 'database');
  assert.throws(() => loadConfig(flags(), { FLOWGATE_RATE_LIMIT_MODE: 'database' }), /needs the PostgreSQL store/);
  assert.throws(() => loadConfig(flags(), { ...cluster, FLOWGATE_RATE_LIMIT_MODE: 'exact' }), /must be split or database, got "exact"/);
});
