import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, isDuration, parseDuration } from './duration.js';
import { FlowgateError } from './errors.js';

describe('parseDuration', () => {
  it('parses every unit', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('0s'), 0);
    assert.equal(parseDuration(' 1.5h '), 5_400_000);
    assert.equal(parseDuration('1.0005s'), 1001);
  });

  it('takes a plain number as milliseconds', () => {
    assert.equal(parseDuration(1500), 1500);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration(2.4), 2);
  });

  it('refuses everything else with bad_request', () => {
    for (const bad of ['', '5', '5 minutes', '1h30m', '-5s', '5x', 's', '1e3ms', 'NaN', '5M', '99999999999999d']) {
      assert.throws(() => parseDuration(bad), (e: unknown) => e instanceof FlowgateError && e.code === 'bad_request' && e.message.includes('not a duration'), bad);
    }
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => parseDuration(bad), FlowgateError);
    }
    assert.throws(() => parseDuration(null as unknown as string), FlowgateError);
  });
});

describe('isDuration', () => {
  it('answers without throwing', () => {
    assert.equal(isDuration('30s'), true);
    assert.equal(isDuration(10), true);
    assert.equal(isDuration('30'), false);
    assert.equal(isDuration({}), false);
    assert.equal(isDuration(undefined), false);
  });
});

describe('formatDuration', () => {
  it('uses the largest exact unit', () => {
    assert.equal(formatDuration(0), '0ms');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(1500), '1500ms');
    assert.equal(formatDuration(30_000), '30s');
    assert.equal(formatDuration(90_000), '90s');
    assert.equal(formatDuration(300_000), '5m');
    assert.equal(formatDuration(7_200_000), '2h');
    assert.equal(formatDuration(86_400_000), '1d');
    assert.equal(formatDuration(-5), '0ms');
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [0, 1, 999, 1000, 61_000, 3_600_000, 90_000_000, 172_800_000]) {
      assert.equal(parseDuration(formatDuration(ms)), ms);
    }
  });
});
