/** Signing in to the console: a wrong token is told so, the admin token signs in to the empty list. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { browserSkip, openConsole } from './harness.js';

test('sign in: a wrong token gets a clear message, the admin token shows the empty workflows list', { skip: browserSkip() }, async () => {
  const c = await openConsole();
  try {
    const { page } = c;
    await c.open('/');
    await page.getByRole('heading', { name: 'Sign in to Flowgate' }).waitFor();
    await c.screenshot('sign-in');

    // The wrong token and the unknown tenant below are refused on purpose.
    c.allowErrors(/^http: GET \/v1\/whoami (401|404)$/);
    await page.getByLabel('Token').pressSequentially('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /That token is not valid/);
    await c.screenshot('sign-in-wrong-token');

    // An unknown tenant for the admin token is named as such.
    await page.getByLabel('Token').fill('');
    await page.getByLabel('Token').pressSequentially('test-admin');
    await page.getByLabel('Tenant').fill('');
    await page.getByLabel('Tenant').pressSequentially('nosuch');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(/tenant nosuch not found/).waitFor();

    await c.signIn('test-admin', 'default');
    await page.getByRole('heading', { name: 'No workflows yet' }).waitFor();
    assert.match(await page.locator('.whoami').innerText(), /default/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('flowgate.token')), 'test-admin');
    await c.screenshot('workflows-empty');

    // The session survives a reload (same tab), and signing out forgets it.
    await page.reload();
    await page.getByRole('heading', { name: 'No workflows yet' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Flowgate' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('flowgate.token')), null);
    c.assertNoErrors();
  } finally {
    await c.close();
  }
});
