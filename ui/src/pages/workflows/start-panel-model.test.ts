import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Workflow } from '../../api/types.js';
import { exampleParams, startGroups } from './start-panel-model.js';

const base = 'http://127.0.0.1:8080';
const wf: Workflow = {
  id: 'orders', version: 2, definition: { params: { amount: { type: 'number' }, currency: { type: 'string', default: 'EUR' }, vip: { type: 'boolean' } } },
  triggers: {
    conv_id: 7, hash: 'ab'.repeat(20), guid: '0e3b8c2a-1b2c-4d5e-8f90-123456789abc', luma_workflow_identifier: 'orders', public: true,
    urls: {
      native: `${base}/v1/workflows/orders/runs`, batch: `${base}/v1/workflows/orders/runs/batch`, import: `${base}/v1/workflows/orders/runs/import`,
      corezoid_api: `${base}/api/2/json`, corezoid_sync_api: `${base}/sync/api/2/json`, luma_trigger: `${base}/gateway/api/v1/workflow/trigger`,
      direct_json: `${base}/api/1/json/public/7/${'ab'.repeat(20)}`, direct_xml: `${base}/api/1/xml/public/7/${'ab'.repeat(20)}`, direct_nvp: `${base}/api/1/nvp/public/7/${'ab'.repeat(20)}`,
      csi_execute: `${base}/task/execute/0e3b8c2a-1b2c-4d5e-8f90-123456789abc`, csi_executepolling: `${base}/task/executepolling/0e3b8c2a-1b2c-4d5e-8f90-123456789abc`,
    },
  },
};

test('every URL and identifier of the triggers is listed once', () => {
  const values = startGroups(wf).flatMap((g) => g.items.map((i) => i.value));
  for (const v of [...Object.values(wf.triggers!.urls!), '7', 'ab'.repeat(20), wf.triggers!.guid, 'orders']) assert.ok(values.includes(v as string), `missing ${v}`);
  assert.equal(new Set(values).size, values.length);
});

test('the native curl is ready to paste, with example params from the declared ones', () => {
  assert.deepEqual(exampleParams(wf.definition), { amount: 0, currency: 'EUR', vip: false });
  const native = startGroups(wf)[0].items[0];
  assert.match(native.command!, /^curl -X POST 'http:\/\/127\.0\.0\.1:8080\/v1\/workflows\/orders\/runs'/);
  assert.match(native.command!, /-d '\{"amount":0,"currency":"EUR","vip":false\}'/);
  const xml = startGroups(wf).find((g) => g.title.startsWith('Corezoid direct'))!.items[1];
  assert.match(xml.command!, /<task><amount>0<\/amount><currency>EUR<\/currency><vip>false<\/vip><\/task>/);
});

test('a workflow that is not public lists no direct or CSI URLs and says why', () => {
  const closed: Workflow = { ...wf, triggers: { ...wf.triggers, public: false, urls: { native: wf.triggers!.urls!.native } } };
  const groups = startGroups(closed);
  assert.ok(!groups.some((g) => g.title.startsWith('Corezoid direct')));
  assert.match(groups.at(-1)!.description, /not public/);
});
