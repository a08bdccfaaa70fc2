/**
 * Result deliveries go through the same outgoing client as http steps, so the SSRF guard applies:
 * without FLOWGATE_HTTP_ALLOW a loopback callback_url is refused before any connection, recorded
 * with the error class `ssrf`, and not retried.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { reply, sleep, startTarget, startTestServer, until, type Target, type TestServer } from '../helpers/server.js';

let srv: TestServer;
let target: Target;
before(async () => {
  // The test helper allows 127.0.0.1 by default; this test needs the guard's default (an empty allow-list).
  srv = await startTestServer({ FLOWGATE_DELIVERY_BACKOFF_MS: '50', FLOWGATE_HTTP_ALLOW: '' });
  target = await startTarget((_req, res) => reply(res, 200, {}));
});
after(async () => {
  await srv?.close();
  await target?.close();
});

test('a delivery to a loopback address is refused by the guard, once, and nothing is sent', async () => {
  await srv.putWorkflow('guarded', { steps: [{ id: 'done', type: 'set', set: { ok: true } }] });
  const trig = await srv.trigger('guarded', {}, `callback_url=${encodeURIComponent(`${target.url}/hook`)}`);
  assert.equal(trig.status, 202, trig.text);
  const d = await until(async () => {
    const items = (await srv.call('GET', `/v1/runs/${trig.body.id}/deliveries`)).body.items;
    return items[0]?.status === 'failed' ? items[0] : undefined;
  }, 'the delivery to be refused');
  assert.equal(d.attempts.length, 1, 'a refusal is not retried');
  assert.equal(d.attempts[0].status, null);
  assert.equal(d.attempts[0].error.class, 'ssrf');
  await sleep(200);
  assert.equal(target.requests.length, 0);
});
