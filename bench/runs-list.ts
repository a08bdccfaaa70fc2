/**
 * The runs list with a long history, measured: `node --import tsx bench/runs-list.ts [--history N] [--samples N]`.
 *
 * Starts Flowgate as a user does (bench/servers.ts), gives it N finished runs (default 100 000,
 * created through the batch API, 1 000 per request), then measures, each `samples` times:
 * - the API: `GET /v1/runs?limit=50` for the newest page, for a page 1 000 pages deep (its cursor),
 *   and with a workflow and status filter;
 * - the console (headless Chromium over loopback, signed in, warm cache): opening /runs until its
 *   rows show, and each click on "Older" until the next page's rows show.
 * Prints a Markdown table (docs/console.md keeps the latest). Needs the console built and Debian's chromium.
 */
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { cleanup } from './processes.js';
import { startServer, type ServerHandle } from './servers.js';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const log = (msg: string): void => void process.stderr.write(`[bench runs-list] ${msg}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function seed(server: ServerHandle, total: number): Promise<void> {
  for (const id of ['orders', 'refunds']) {
    const put = await server.api('PUT', `/v1/workflows/${id}`, `id: ${id}\nsteps:\n  - id: done\n    type: set\n    set: { ok: true }\n`, { 'Content-Type': 'application/yaml' });
    if (put.status !== 201) throw new Error(`PUT ${id}: ${put.status} ${put.text}`);
  }
  const started = Date.now();
  for (let made = 0; made < total; made += 1000) {
    const n = Math.min(1000, total - made);
    const r = await server.api('POST', `/v1/workflows/${made % 10_000 === 0 ? 'refunds' : 'orders'}/runs/batch`, { items: Array.from({ length: n }, (_, i) => ({ data: { i: made + i } })) });
    if (r.status !== 200) throw new Error(`batch: ${r.status} ${r.text.slice(0, 200)}`);
    if (made % 20_000 === 0) log(`${made} runs made (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  // Until every run has ended (the list then holds N finished runs).
  for (;;) {
    const r = await server.api('GET', '/v1/runs?status=queued&limit=1');
    const q = await server.api('GET', '/v1/runs?status=running&limit=1');
    if ((r.json() as { items: unknown[] }).items.length === 0 && (q.json() as { items: unknown[] }).items.length === 0) break;
    await new Promise((res) => setTimeout(res, 500));
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { history: { type: 'string' }, samples: { type: 'string' } } });
  const history = Number(values.history ?? 100_000);
  const samples = Number(values.samples ?? 5);
  const server = await startServer('flowgate');
  try {
    log(`making ${history} runs`);
    await seed(server, history);
    // A cursor 1 000 pages deep, found by walking there once.
    let deep = '';
    for (let i = 0; i < Math.min(1000, Math.floor(history / 50) - 1); i++) {
      const r = await server.api('GET', `/v1/runs?limit=50${deep ? `&cursor=${deep}` : ''}`);
      deep = (r.json() as { next_cursor: string }).next_cursor;
    }
    const api = { first: [] as number[], deep: [] as number[], filtered: [] as number[] };
    for (let i = 0; i < samples; i++) {
      api.first.push(await timed(() => server.api('GET', '/v1/runs?limit=50')));
      api.deep.push(await timed(() => server.api('GET', `/v1/runs?limit=50&cursor=${deep}`)));
      api.filtered.push(await timed(() => server.api('GET', '/v1/runs?limit=50&workflow=refunds&status=succeeded')));
    }
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
    const ui = { open: [] as number[], older: [] as number[] };
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addInitScript((t) => sessionStorage.setItem('flowgate.token', t), server.token);
      const page = await context.newPage();
      await page.goto(`${server.url}/runs`);
      await page.locator('table tbody tr').first().waitFor();
      for (let i = 0; i < samples; i++) {
        ui.open.push(await timed(async () => {
          await page.goto(`${server.url}/runs`);
          await page.locator('table tbody tr').first().waitFor();
        }));
        for (let k = 0; k < 5; k++) {
          const first = await page.locator('table tbody tr').first().innerText();
          ui.older.push(await timed(async () => {
            await page.getByRole('button', { name: 'Older' }).click();
            await page.waitForFunction((before) => document.querySelector('table tbody tr')?.textContent !== before, first.replace(/\t/g, ''));
          }));
        }
      }
    } finally {
      await browser.close();
    }
    const row = (name: string, xs: number[]): string => `| ${name} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`;
    console.log([
      `Runs list with ${history} finished runs (SQLite), ms:`, '', '| measured | median | min | max |', '|---|---|---|---|',
      row('API: newest page (limit 50)', api.first), row('API: a page 1 000 pages deep', api.deep), row('API: workflow + status filter', api.filtered),
      row('console: /runs until its rows show', ui.open), row('console: "Older" until the next page shows', ui.older),
    ].join('\n'));
  } finally {
    await server.stop();
    cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
