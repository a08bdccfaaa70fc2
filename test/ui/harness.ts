/**
 * Browser tests of the web console: the real server (test/helpers/server.ts) on an ephemeral port
 * serving the built console (ui/dist, built by `npm test`), Debian's chromium driven by
 * playwright-core on a fresh profile, every browser console error collected (a test fails on any),
 * screenshots saved to test-artifacts/screenshots/<name>.png.
 *
 * Without /usr/bin/chromium the tests skip saying so; under CI=true a missing chromium fails them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ADMIN, startTestServer, type TestServer } from '../helpers/server.js';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = new URL('../..', import.meta.url).pathname;
export const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** `skip` for node:test: a reason when the browser tests cannot run here, else false. */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true') throw new Error(`the console's browser tests need ${CHROMIUM} under CI (apt-get install chromium; .ci/run does it)`);
  return `no ${CHROMIUM} on this machine: the console's browser tests are skipped`;
}

export interface Console {
  server: TestServer;
  context: BrowserContext;
  page: Page;
  /** Messages the browser logged as errors (console.error, uncaught exceptions, CSP violations) and failed answers (`http: GET /v1/x 404`). */
  errors: string[];
  /** Opens `path` of the console. */
  open(path?: string): Promise<void>;
  /** Signs in through the sign-in page with real typing and a click. */
  signIn(token?: string, tenant?: string): Promise<void>;
  screenshot(name: string): Promise<string>;
  /**
   * Lets errors matching `pattern` pass (e.g. `http: GET /v1/whoami 401` for a wrong token the test
   * types on purpose). Every other error still fails the test.
   */
  allowErrors(pattern: RegExp): void;
  /** Asserts no browser errors (but allowed ones) were logged so far. */
  assertNoErrors(): void;
  close(): Promise<void>;
}

export interface ConsoleOptions {
  env?: Record<string, string>;
  viewport?: { width: number; height: number };
}

export async function openConsole(opts: ConsoleOptions = {}): Promise<Console> {
  assert.ok(existsSync(join(ROOT, 'ui/dist/index.html')), 'the console is not built: run node scripts/build-ui.mjs (npm test does)');
  const server = await startTestServer(opts.env);
  const profile = mkdtempSync(join(tmpdir(), 'flowgate-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS,
      viewport: opts.viewport ?? { width: 1280, height: 800 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
  } catch (e) {
    await server.close();
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? await context.newPage();
  const errors: string[] = [];
  const allowed: RegExp[] = [];
  const watch = (p: Page) => {
    // Chromium logs every 4xx/5xx answer as "Failed to load resource" without its URL: those are
    // recorded from the responses instead, with method, URL and status, so a test can allow exactly
    // the answers it provokes.
    p.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`); });
    p.on('response', (r) => { if (r.status() >= 400) errors.push(`http: ${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`); });
    p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  };
  watch(page);
  context.on('page', watch);
  mkdirSync(SCREENSHOTS, { recursive: true });

  const c: Console = {
    server, context, page, errors,
    async open(path = '/') {
      await page.goto(server.url + path);
    },
    async signIn(token = ADMIN, tenant) {
      if (!page.url().startsWith(server.url)) await c.open('/');
      await page.getByLabel('Token').fill('');
      await page.getByLabel('Token').pressSequentially(token);
      if (tenant !== undefined) {
        await page.getByLabel('Tenant').fill('');
        await page.getByLabel('Tenant').pressSequentially(tenant);
      }
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
    },
    async screenshot(name) {
      const file = join(SCREENSHOTS, `${name}.png`);
      // From the top: a full-page picture of a scrolled page draws the sticky top bar in its middle.
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    allowErrors(pattern) {
      allowed.push(pattern);
    },
    assertNoErrors() {
      assert.deepEqual(errors.filter((e) => !allowed.some((re) => re.test(e))), [], 'the browser logged errors');
    },
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
        await server.close();
      }
    },
  };
  return c;
}
