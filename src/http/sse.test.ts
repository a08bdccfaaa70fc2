import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sseStream, type SseSink } from './sse.js';

/** A sink whose buffer takes `room` frames before `write` says "full", until `drain()`. */
function fakeSink(room: number) {
  const written: string[] = [];
  let drainFn: (() => void) | null = null;
  let left = room;
  const sink: SseSink & { written: string[]; ended: boolean; destroyed: boolean; drain(): void; room(n: number): void } = {
    written, ended: false, destroyed: false,
    write(chunk) {
      written.push(chunk);
      left--;
      return left > 0;
    },
    end() { sink.ended = true; },
    destroy() { sink.destroyed = true; },
    once(_event, fn) { drainFn = fn; return sink; },
    drain() { const fn = drainFn; drainFn = null; fn?.(); },
    room(n) { left = n; },
  };
  return sink;
}

const settings = (maxBufferBytes = 10_000, shutdown = new AbortController().signal) => ({ heartbeatMs: 60_000, maxBufferBytes, shutdown });
const events = (written: string[]) => written.filter((w) => w.startsWith('event:')).map((w) => JSON.parse(w.split('\ndata: ')[1]));

test('the retry hint first, then frames as they come while the reader keeps up', () => {
  const sink = fakeSink(100);
  const s = sseStream(sink, settings());
  s.send('run', { id: 'a', n: 1 }, 'a');
  s.send('run', { id: 'a', n: 2 }, 'a');
  assert.match(sink.written[0], /^retry: \d+\n\n$/);
  assert.deepEqual(events(sink.written), [{ id: 'a', n: 1 }, { id: 'a', n: 2 }]);
  assert.equal(s.buffered, 0);
  s.close();
});

test('behind a full socket, frames of one key coalesce to the newest; the rest follow on drain, in order', () => {
  const sink = fakeSink(2); // the retry line and one frame fit
  const s = sseStream(sink, settings());
  s.send('run', { id: 'a', n: 1 }, 'a'); // fills the buffer
  for (let n = 2; n <= 50; n++) s.send('run', { id: 'a', n }, 'a');
  s.send('run', { id: 'b', n: 1 }, 'b');
  s.send('step', { unkeyed: 1 });
  s.send('step', { unkeyed: 2 });
  assert.equal(events(sink.written).length, 1);
  assert.ok(s.buffered > 0 && s.buffered < 300, `only the newest of a waits (${s.buffered} bytes)`);
  sink.room(100);
  sink.drain();
  assert.deepEqual(events(sink.written), [{ id: 'a', n: 1 }, { id: 'a', n: 50 }, { id: 'b', n: 1 }, { unkeyed: 1 }, { unkeyed: 2 }]);
  assert.equal(s.buffered, 0);
  assert.equal(s.closed, false);
  s.close();
  assert.equal(sink.ended, true);
});

test('a reader too far behind is dropped: the connection is destroyed, nothing more is kept', () => {
  const sink = fakeSink(1);
  const s = sseStream(sink, settings(500));
  let closedOnce = 0;
  s.onClose(() => closedOnce++);
  for (let i = 0; i < 20 && !s.closed; i++) s.send('run', { id: `r${i}`, pad: 'x'.repeat(50) }, `r${i}`);
  assert.equal(s.closed, true);
  assert.equal(sink.destroyed, true);
  assert.equal(s.buffered, 0);
  s.send('run', { late: true }, 'late');
  assert.equal(sink.written.some((w) => w.includes('late')), false);
  s.close();
  assert.equal(closedOnce, 1);
});

test('the shutdown signal ends every stream', () => {
  const ac = new AbortController();
  const sink = fakeSink(100);
  const s = sseStream(sink, settings(10_000, ac.signal));
  let closed = false;
  s.onClose(() => { closed = true; });
  ac.abort();
  assert.equal(s.closed, true);
  assert.equal(closed, true);
  assert.equal(sink.ended, true);
});

test('heartbeat comments at the configured interval', async () => {
  const sink = fakeSink(100);
  const s = sseStream(sink, { ...settings(), heartbeatMs: 20 });
  await new Promise((r) => setTimeout(r, 90));
  s.close();
  const pings = sink.written.filter((w) => w === ': ping\n\n').length;
  assert.ok(pings >= 2, `${pings} pings`);
  const after = sink.written.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(sink.written.length, after, 'no ping after close');
});
