/**
 * The console's first screen, measured: `node --import tsx bench/console.ts [--runs N] [--out file]`.
 *
 * Needs the console built (`node scripts/build-ui.mjs`) and Debian's chromium. Starts Flowgate as a
 * user does (bench/servers.ts: its own process, a fresh data dir) with some workflows and runs, then
 * drives headless Chromium over loopback, each sample in a fresh browser context (empty cache):
 *
 * - sign-in form: navigation start → the token field is in the page and the main thread is free
 *   (the first task after it appeared), on a cold cache;
 * - list after sign-in: the click on "Sign in" → the workflows table shows its rows;
 * - list, signed in, cold: navigation start → the table's rows, with the session already stored and
 *   an empty cache (a bookmark opened in a new tab's session);
 * - list, signed in, warm: the same after a reload (hashed assets come from the cache);
 * - workflow page: the click on a workflow in the list → its graph's nodes and the editor are shown,
 *   clicked at once after the list showed (the graph and editor code still to load) and clicked
 *   2 s later (the console loads that code in the background once the list is up and it is idle).
 *
 * It also records every file the browser fetched before the sign-in form was usable, and the
 * built files' sizes (scripts/console-size.mjs). Prints a Markdown table (docs/console.md keeps the
 * latest) and writes the figures to bench/results/console.json. Timings are for comparison on one
 * machine: loopback, 2 cores shared with the server.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { consoleSizes } from '../scripts/console-size.mjs';
import { cleanup } from './processes.js';
import { REPO_ROOT, startServer, type ServerHandle } from './servers.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DIST = join(REPO_ROOT, 'ui/dist');
const log = (msg: string): void => void process.stderr.write(`[bench console] ${msg}\n`);

/**
 * Runs in the page before its scripts: notes when each awaited thing first shows (performance.now(),
 * which counts from navigation start), checked on every DOM change and every animation frame
 * (the editor lives in a shadow root, whose changes the observer does not see).
 */
const MARKS_SCRIPT = `(() => {
  const marks = (window.__fgMarks = {});
  const free = (name) => setTimeout(() => { marks[name] = performance.now(); }, 0);
  const check = () => {
    if (!marks.signinShown && document.querySelector('input[name="token"]')) { marks.signinShown = performance.now(); free('signin'); }
    if (!marks.listShown && document.querySelector('.table tbody tr a[href^="/workflows/"]')) { marks.listShown = performance.now(); free('list'); }
    if (!marks.workflowShown && document.querySelector('.wf-node[data-step]')) {
      const host = document.querySelector('.code-editor');
      if (host && host.shadowRoot && host.shadowRoot.querySelector('.cm-content')) { marks.workflowShown = performance.now(); free('workflow'); }
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
  const frame = () => { check(); if (!marks.workflow) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  document.addEventListener('click', () => { marks.clicks = (marks.clicks || []).concat(performance.now()); }, true);
})();`;

type Marks = { signin?: number; list?: number; workflow?: number; clicks?: number[] };

const marks = (page: Page): Promise<Marks> => page.evaluate(() => (window as unknown as { __fgMarks: Marks }).__fgMarks);

async function waitMark(page: Page, name: keyof Marks): Promise<number> {
  await page.waitForFunction((n) => typeof (window as unknown as { __fgMarks: Record<string, unknown> }).__fgMarks?.[n] === 'number', name, { timeout: 30_000, polling: 10 });
  return (await marks(page))[name] as number;
}

interface Sample {
  signinMs: number;
  /** The page's main-thread busy time (CDP Performance.getMetrics TaskDuration) until the sign-in form was usable: less moved by other processes than the wall time. */
  signinBusyMs: number;
  signinScriptMs: number;
  listAfterSignInMs: number;
  listColdMs: number;
  listWarmMs: number;
  workflowPageMs: number;
  workflowPageLaterMs: number;
  firstScreenFiles: { name: string; bytes: number }[];
}

async function newContext(browser: Browser, token?: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (token) await context.addInitScript((t) => sessionStorage.setItem('flowgate.token', t), token);
  await context.addInitScript(MARKS_SCRIPT);
  return context;
}

async function sample(browser: Browser, server: ServerHandle): Promise<Sample> {
  // Signed out, empty cache: the sign-in form, then signing in.
  let context = await newContext(browser);
  let signinMs: number;
  let signinBusyMs: number;
  let signinScriptMs: number;
  let listAfterSignInMs: number;
  let firstScreenFiles: Sample['firstScreenFiles'];
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(server.url + '/');
    signinMs = await waitMark(page, 'signin');
    const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    signinBusyMs = (metrics.TaskDuration ?? NaN) * 1000;
    signinScriptMs = (metrics.ScriptDuration ?? NaN) * 1000;
    firstScreenFiles = await page.evaluate((until) => [
      ...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource'),
    ].filter((e) => e.startTime <= until).map((e) => ({ name: new URL(e.name).pathname, bytes: (e as PerformanceResourceTiming).encodedBodySize })), signinMs);
    await page.locator('input[name="token"]').fill(server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const list = await waitMark(page, 'list');
    const clicks = (await marks(page)).clicks ?? [];
    listAfterSignInMs = list - clicks[clicks.length - 1];
  } finally {
    await context.close();
  }
  // Signed in (the session stored), empty cache; then a reload with the cache; then a workflow.
  context = await newContext(browser, server.token);
  try {
    const page = await context.newPage();
    await page.goto(server.url + '/workflows');
    const listColdMs = await waitMark(page, 'list');
    await page.reload();
    const listWarmMs = await waitMark(page, 'list');
    await page.locator('.table tbody tr a[href^="/workflows/"]').first().click();
    const shown = await waitMark(page, 'workflow');
    const clicks = (await marks(page)).clicks ?? [];
    const workflowPageMs = shown - clicks[clicks.length - 1];
    // The same with a user's pause: a fresh cache, the list for 2 s, then the click.
    const later = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      await later.addInitScript((t) => sessionStorage.setItem('flowgate.token', t), server.token);
      await later.addInitScript(MARKS_SCRIPT);
      const p2 = await later.newPage();
      await p2.goto(server.url + '/workflows');
      await waitMark(p2, 'list');
      await p2.waitForTimeout(2000);
      await p2.locator('.table tbody tr a[href^="/workflows/"]').first().click();
      const shown2 = await waitMark(p2, 'workflow');
      const clicks2 = (await marks(p2)).clicks ?? [];
      return { signinMs, signinBusyMs, signinScriptMs, listAfterSignInMs, listColdMs, listWarmMs, workflowPageMs, workflowPageLaterMs: shown2 - clicks2[clicks2.length - 1], firstScreenFiles };
    } finally {
      await later.close();
    }
  } finally {
    await context.close();
  }
}

const WORKFLOW = (i: number): string => `name: Order flow ${i}
params:
  amount: { type: number, default: 0 }
steps:
  - id: price
    type: set
    set: { fee: "{{ amount * 0.01 }}" }
  - id: check
    type: condition
    cases:
      - { when: amount > 1000, next: review }
    default: answer
  - id: review
    type: wait
    timeout: 1h
    on_timeout: answer
  - id: answer
    type: reply
    data: { fee: "{{ fee }}" }
`;

async function seed(server: ServerHandle, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const id = `orders-${String(i).padStart(2, '0')}`;
    const put = await server.api('PUT', `/v1/workflows/${id}`, WORKFLOW(i), { 'Content-Type': 'application/yaml' });
    if (put.status !== 201 && put.status !== 200) throw new Error(`PUT /v1/workflows/${id} answered ${put.status}: ${put.text.slice(0, 300)}`);
    const run = await server.api('POST', `/v1/workflows/${id}/runs`, { amount: i * 100 });
    if (run.status !== 202) throw new Error(`starting a run of ${id} answered ${run.status}: ${run.text.slice(0, 300)}`);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const kB = (n: number): string => `${(n / 1000).toFixed(1)} kB`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2), strict: true,
    options: { runs: { type: 'string' }, workflows: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log('node --import tsx bench/console.ts [--runs N (default 7)] [--workflows N (default 20)] [--out file (default bench/results/console.json)]');
    return 0;
  }
  const runs = Number(values.runs ?? 7);
  const workflows = Number(values.workflows ?? 20);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(workflows) || workflows < 1) throw new Error('--runs and --workflows take a positive integer');
  const out = values.out ?? join(REPO_ROOT, 'bench/results/console.json');
  if (!existsSync(join(DIST, 'index.html'))) throw new Error('the console is not built: run node scripts/build-ui.mjs first');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium)`);

  const sizes = consoleSizes(DIST);
  const server = await startServer('flowgate');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  const samples: Sample[] = [];
  try {
    await seed(server, workflows);
    log(`${workflows} workflows with a run each; one warm-up sample, then ${runs}`);
    await sample(browser, server);
    for (let i = 0; i < runs; i++) {
      const s = await sample(browser, server);
      samples.push(s);
      log(`#${i + 1}: sign-in form ${s.signinMs.toFixed(0)} ms (busy ${s.signinBusyMs.toFixed(0)} ms), list after sign-in ${s.listAfterSignInMs.toFixed(0)} ms, list cold ${s.listColdMs.toFixed(0)} ms, warm ${s.listWarmMs.toFixed(0)} ms, workflow page ${s.workflowPageMs.toFixed(0)} ms (2 s later: ${s.workflowPageLaterMs.toFixed(0)} ms)`);
    }
  } finally {
    await browser.close();
    await server.stop();
  }

  const rows: [string, keyof Omit<Sample, 'firstScreenFiles'>][] = [
    ['sign-in form usable (navigation start, empty cache)', 'signinMs'],
    ["… of which the page's main thread was busy", 'signinBusyMs'],
    ['… of which running script', 'signinScriptMs'],
    ['workflows list after the Sign in click', 'listAfterSignInMs'],
    ['workflows list, signed in (navigation start, empty cache)', 'listColdMs'],
    ['workflows list, signed in (navigation start, cached)', 'listWarmMs'],
    ['workflow page (graph and editor) after a click in the list at once', 'workflowPageMs'],
    ['workflow page after a click in the list 2 s after it showed', 'workflowPageLaterMs'],
  ];
  const figures = rows.map(([title, key]) => {
    const xs = samples.map((s) => s[key]);
    return { title, key, median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
  });
  const fetched = samples[0].firstScreenFiles;
  const table = [
    `| measured (${runs} samples, ms) | median | min | max |`, '|---|---|---|---|',
    ...figures.map((f) => `| ${f.title} | ${f.median.toFixed(0)} | ${f.min.toFixed(0)} | ${f.max.toFixed(0)} |`),
    '',
    `First screen: ${kB(sizes.firstScreen.gzip)} gzipped (${kB(sizes.firstScreen.raw)} raw) in ${sizes.firstScreen.files.length + 1} files: index.html, ${sizes.firstScreen.files.join(', ')}.`,
    `Fetched before the sign-in form was usable: ${fetched.map((f) => `${f.name} (${kB(f.bytes)})`).join(', ')}.`,
    `All built files: ${kB(sizes.total.gzip)} gzipped (${kB(sizes.total.raw)} raw).`,
  ].join('\n');
  console.log(`\n${table}\n`);
  const cpu = cpus();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({
    at: new Date().toISOString(), runs, workflows,
    machine: { cores: cpu.length, cpu: cpu[0]?.model ?? null, node: process.version, loadavg: loadavg() },
    figures, sizes, samples, table,
  }, null, 2)}\n`);
  log(`results written to ${relative(process.cwd(), out) || out}`);
  return 0;
}

process.on('exit', cleanup);
main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  cleanup();
  process.exitCode = 2;
});
