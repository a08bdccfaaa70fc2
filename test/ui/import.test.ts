/** Import from CSV: a Windows-1251 file with a bad row, its preview, a partial import with progress and counts, the failed rows downloaded. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import iconv from 'iconv-lite';
import { browserSkip, openConsole } from './harness.js';

const WORKFLOW = `
id: payouts
params:
  name: { type: string, required: true }
  amount: { type: integer, required: true }
steps:
  - { id: done, type: set, set: { ok: true } }
`;

test('import: a Windows-1251 CSV with a bad row is previewed with its problem, imported partially with progress, and its failed rows downloaded', { skip: browserSkip() }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-import-ui-'));
  const c = await openConsole();
  try {
    const { page, server } = c;
    await server.createWorkflow('payouts', WORKFLOW);
    const file = join(dir, 'payouts.csv');
    writeFileSync(file, iconv.encode('name;amount\r\nИван;10\r\nПётр;много\r\nМария;30\r\n', 'windows-1251'));
    // The dry run refuses the file with a 422 on purpose (all-or-nothing, one bad row).
    c.allowErrors(/^http: POST \/v1\/workflows\/payouts\/runs\/import 422$/);

    await c.open('/');
    await c.signIn('test-admin', 'default');
    await c.open('/workflows/payouts/import');
    await page.getByRole('heading', { name: 'Import from CSV' }).waitFor();
    await page.getByLabel('CSV file').setInputFiles(file);
    await page.getByLabel('Encoding').selectOption('windows-1251');
    assert.equal(await page.getByLabel('Parameter names are in the first row').isChecked(), true);

    // The preview: the server's parse, the bad row (line 3) named with its problem.
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByLabel('Preview');
    await preview.getByRole('heading', { name: 'Preview' }).waitFor();
    const text = await preview.innerText();
    assert.match(text, /3 rows, 1 bad/);
    assert.match(text, /amount/);
    // The server's row preview: the decoded values, the bad row marked with its problem.
    assert.match(text, /Иван/);
    assert.match(text, /Пётр/);
    assert.match(text, /semicolon-separated, windows-1251/);
    assert.equal(await preview.locator('tr.row-bad').count(), 1);
    assert.match(await preview.locator('tr.row-bad').innerText(), /^3\s+bad\s+Пётр\s+много\s+amount: /);
    assert.equal(await server.runCount(), 0, 'a preview creates nothing');
    await c.screenshot('import-preview');

    // Partial import: the good rows are created; progress and counts are shown.
    await page.getByLabel('Partial: create the good rows').check();
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const result = page.getByRole('status', { name: 'Import result' });
    await result.waitFor();
    assert.match(await result.innerText(), /Imported/);
    const counts = await result.locator('.count').allInnerTexts();
    assert.deepEqual(counts.map((t) => t.replace(/\s+/g, ' ').trim()), ['3 rows', '2 created', '0 duplicates', '1 failed']);
    assert.match(await page.locator('label[for="import-progress"]').innerText(), /Uploaded/);
    assert.equal(await page.locator('#import-progress').getAttribute('value'), '100');
    assert.equal(await server.runCount(), 2);
    await c.screenshot('import-result');

    // The failed rows as the server wrote them: the file's delimiter and encoding, with the problem.
    const [download] = await Promise.all([page.waitForEvent('download'), result.getByRole('button', { name: 'Download the failed rows (CSV)' }).click()]);
    const saved = join(dir, 'failed.csv');
    await download.saveAs(saved);
    const csv = iconv.decode(readFileSync(saved), 'windows-1251');
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines.length, 2, csv);
    assert.match(lines[0], /^row;name;amount;error$/);
    assert.match(lines[1], /^3;Пётр;много;/);
    assert.match(download.suggestedFilename(), /\.csv$/);

    await page.setViewportSize({ width: 390, height: 844 });
    await c.screenshot('import-390');
    c.assertNoErrors();
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
