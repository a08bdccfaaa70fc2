import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childSpan, parseTraceparent, traceIdOf, traceOf } from './trace.js';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('a valid traceparent is kept; invalid ones are ignored as the specification says', () => {
  assert.equal(parseTraceparent(TP), TP);
  assert.equal(parseTraceparent(` ${TP} `), TP);
  for (const bad of [
    '', 'garbage', TP.toUpperCase(), '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    `ff${TP.slice(2)}`, `${TP}-extra`, '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
  ]) assert.equal(parseTraceparent(bad), null, bad);
  assert.equal(parseTraceparent(`01${TP.slice(2)}-future-field`), TP, 'a later version is read as its four known fields');
});

test('headers: tracestate only beside a valid traceparent, bounded; a child span keeps the trace id and flags', () => {
  assert.equal(traceOf({ tracestate: 'a=1' }), undefined);
  assert.deepEqual(traceOf({ traceparent: TP, tracestate: 'congo=t61rcWkgMzE' }), { traceparent: TP, tracestate: 'congo=t61rcWkgMzE' });
  assert.equal(traceOf({ traceparent: TP, tracestate: 'x'.repeat(2000) })?.tracestate?.length, 512);
  const child = childSpan({ traceparent: TP });
  assert.match(child.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.notEqual(child.traceparent, TP);
  assert.notEqual(childSpan({ traceparent: TP }).traceparent, child.traceparent, 'each span its own id');
  assert.equal(traceIdOf({ meta: { trace: { traceparent: TP } } }), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(traceIdOf({}), undefined);
});
