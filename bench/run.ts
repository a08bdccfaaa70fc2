/**
 * `npm run bench`: measures Flowgate's HTTP trigger paths against a plain node:http server in the
 * same run (the machine is small and noisy: ratios are what we compare, not absolute figures).
 *
 * Every server and every load generator is a process of its own; each Flowgate server gets a fresh
 * temp data dir. The baseline is measured before the first scenario and again after each one, and
 * each scenario is compared with the mean of the two baseline measurements around it.
 * Exit code: 0 when every row passes, 1 when a target or a check fails, 2 when the harness fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { probeDisk } from './disk.js';
import { runLoad, type LoadRun } from './load-runner.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { benchDatabase, type BenchDatabase } from './postgres.js';
import { cleanup } from './processes.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.js';
import { compareWithRows, postgresTables } from './report-postgres.js';
import { cpuPerRequestUs, formatTables, rowName, genericChecks, meetsTarget, type BaselineResult, type ScenarioResult } from './report.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { benchToken, REPO_ROOT, startServer, type ServerHandle } from './servers.js';

const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

async function measure(scenario: Scenario, servers: ServerHandle[], opts: BenchOptions, database: BenchDatabase | null = null) {
  const [server] = servers;
  const prepared = await scenario.setup(server);
  const spread = servers.length > 1 ? ` over ${servers.length} nodes` : '';
  log(`${scenario.id}: ${opts.warmupSeconds} s warm-up + ${opts.durationSeconds} s at ${opts.connections} connections${spread} → ${prepared.request.method} ${prepared.request.path}`);
  const load = await runLoad({
    urls: servers.map((s) => s.url), request: prepared.request, connections: opts.connections,
    warmupSeconds: opts.warmupSeconds, durationSeconds: opts.durationSeconds, timeoutSeconds: opts.timeoutSeconds,
  }, servers.map((s) => s.pid), database);
  const dbFacts = load.database ? databaseFacts(load) : {};
  const checks = genericChecks(load, prepared.request.expectStatus, prepared.request.expectBody !== undefined);
  let facts: Record<string, unknown> = {};
  if (prepared.verify) {
    log(`${scenario.id}: ${Math.round(load.rps)} req/s; checking the runs`);
    const verified = await prepared.verify(load);
    checks.push(...verified.checks);
    facts = verified.facts;
  }
  return { load, checks, facts: { ...facts, ...dbFacts } };
}

/** What the database did inside the measured window, per trigger answered in it (2xx). */
function databaseFacts(load: LoadRun): Record<string, unknown> {
  const db = load.database!;
  const triggers = load.phases.measure.ok2xx || 1;
  return {
    dbRoundTrips: db.roundTrips, groupCommits: db.groupCommits,
    roundTripsPerTrigger: db.roundTrips / triggers,
    roundTripsPerGroupCommit: db.groupCommits ? db.roundTrips / db.groupCommits : 0,
    triggersPerGroupCommit: db.groupCommits ? load.phases.measure.ok2xx / db.groupCommits : 0,
    dbCpuUsPerTrigger: (db.backendCpuSeconds * 1e6) / triggers,
    dbCores: load.measuredSeconds > 0 ? db.backendCpuSeconds / load.measuredSeconds : 0,
    roundTripsByStatement: db.byStatement,
  };
}

/** The row's nodes: one server, or `scenario.nodes` servers sharing the row's database, one admin token and one master key. */
async function startNodes(scenario: Scenario, database: BenchDatabase | null, cpuProfileDir: string | undefined): Promise<ServerHandle[]> {
  const count = scenario.nodes ?? 1;
  if (count > 1 && !database) throw new Error(`row ${scenario.id}: several nodes need database: 'postgres'`);
  // In cluster mode (a database URL) every node must be given the same admin token and master key.
  const env = { ...scenario.env, ...(database ? { FLOWGATE_DATABASE_URL: database.url, FLOWGATE_MASTER_KEY: randomBytes(32).toString('base64') } : {}) };
  const token = benchToken();
  const started = await Promise.allSettled(Array.from({ length: count }, () => startServer(scenario.server, { cpuProfileDir, env, token })));
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failed.reason;
  }
  return servers;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts.list) {
    for (const s of SCENARIOS) console.log(`${s.id.padEnd(10)} ${s.title}`);
    return 0;
  }
  const baselineScenario = SCENARIOS.find((s) => s.id === 'baseline')!;
  const known = new Set(SCENARIOS.map((s) => s.id));
  const unknown = (opts.only ?? []).filter((id) => !known.has(id));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  const rows = SCENARIOS.filter((s) => s !== baselineScenario && (!opts.only || opts.only.includes(s.id)));
  const chosen = Array.from({ length: opts.rounds }, (_, r) => rows.map((scenario) => ({ scenario, round: r + 1 }))).flat();
  const profileDir = opts.cpuProf ? join(dirname(opts.out), 'profiles') : undefined;
  const startedAt = new Date();
  const loadBefore = loadavg();
  if (opts.quick) log('quick mode: a smoke check, not a measurement');
  const disk = probeDisk();
  log(`disk: fdatasync after a 96 KiB WAL-like write, p50 ${disk.p50Ms.toFixed(2)} ms, p90 ${disk.p90Ms.toFixed(2)} ms`);

  const baselines: BaselineResult[] = [];
  const results: ScenarioResult[] = [];
  const baselineServer = await startServer('baseline');
  try {
    const measureBaseline = async (index: number): Promise<LoadRun> => {
      const { load } = await measure(baselineScenario, [baselineServer], opts);
      if (load.total.non2xx || load.total.errors) throw new Error(`the baseline itself failed: ${JSON.stringify(load.total)}`);
      baselines.push({ index, load });
      log(`baseline #${baselines.length}: ${Math.round(load.rps)} req/s`);
      return load;
    };
    let before = await measureBaseline(0);
    for (const [i, { scenario, round }] of chosen.entries()) {
      const result: ScenarioResult = {
        id: scenario.id, round, title: scenario.title, server: scenario.server, target: scenario.target, connections: opts.connections,
        load: null, baselineRps: null, ratio: null, cpuCostRatio: null, targetOk: null, checks: [], facts: {}, pass: false, error: null, profile: null,
      };
      results.push(result);
      let servers: ServerHandle[] = [];
      let database: BenchDatabase | null = null;
      try {
        database = scenario.database === 'postgres' ? await benchDatabase() : null;
        servers = await startNodes(scenario, database, profileDir);
        Object.assign(result, await measure(scenario, servers, opts, database));
      } catch (e) {
        result.error = (e as Error).message;
        log(`${scenario.id} failed: ${result.error}${servers.map((s) => `\n${s.log()}`).join('')}`);
      } finally {
        // Every node's profile is summarized; the printed one is the first node's (the others are in the JSON).
        const profiles: ProfileSummary[] = [];
        for (const stopped of await Promise.all(servers.map((s) => s.stop()))) {
          if (!stopped.cpuProfile || !result.load) continue;
          const profile = summarizeProfile(stopped.cpuProfile, 25, result.load.windowUs);
          profile.file = relative(REPO_ROOT, stopped.cpuProfile);
          profiles.push(profile);
        }
        result.profile = profiles[0] ?? null;
        if (profiles.length > 1) result.facts.otherNodeProfiles = profiles.slice(1);
        await database?.drop().catch((e: Error) => log(`dropping the bench database failed: ${e.message}`));
      }
      const after = await measureBaseline(i + 1);
      if (result.load) {
        result.baselineRps = (before.rps + after.rps) / 2;
        result.ratio = result.load.rps / result.baselineRps;
        const cost = cpuPerRequestUs(result.load);
        const baseCost = [cpuPerRequestUs(before), cpuPerRequestUs(after)];
        if (cost && baseCost[0] && baseCost[1]) result.cpuCostRatio = (baseCost[0] + baseCost[1]) / 2 / cost;
        result.targetOk = meetsTarget(result.target, result.load, result.ratio);
        result.pass = result.error === null && result.targetOk !== false && result.checks.every((c) => c.ok);
      }
      before = after;
    }
  } finally {
    await baselineServer.stop();
  }
  compareWithRows(results); // targets against another row of the same run (PostgreSQL vs SQLite, three nodes vs one)

  const tables = formatTables(baselines, results, opts.connections, disk, (format) => postgresTables(results, format));
  console.log(`\n${tables}\n`);
  for (const r of results) if (r.profile) console.log(`(${rowName(r, opts.rounds)}) ${formatProfile(r.profile)}\n`);

  const pass = results.every((r) => r.pass);
  const cpu = cpus();
  const report = {
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    command: ['npm run bench --', ...process.argv.slice(2)].join(' '),
    options: opts,
    machine: {
      cores: cpu.length, cpu: cpu[0]?.model ?? null, node: process.version, platform: `${process.platform} ${release()}`,
      memory_gib: +(totalmem() / 2 ** 30).toFixed(1), loadavg_before: loadBefore, loadavg_after: loadavg(),
      fdatasync_ms: { p50: +disk.p50Ms.toFixed(3), p90: +disk.p90Ms.toFixed(3) },
    },
    baseline: { mean_rps: baselines.reduce((s, b) => s + b.load.rps, 0) / baselines.length, runs: baselines },
    scenarios: results,
    pass,
    tables,
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
  log(`results written to ${relative(process.cwd(), opts.out) || opts.out}`);
  if (opts.quick) log('quick mode: figures from 3 s loads are indicative only');
  return pass ? 0 : 1;
}

process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping every server and load generator`);
    cleanup();
    process.exit(130);
  });
}

main().then(
  (code) => {
    cleanup();
    process.exitCode = code;
  },
  (e: unknown) => {
    log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    cleanup();
    process.exitCode = 2;
  },
);
