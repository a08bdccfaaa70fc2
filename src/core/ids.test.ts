import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uuidv7, uuidv7Floor } from './ids.js';

test('uuidv7Floor(ms) sorts at or below every UUIDv7 of ms and later, above every earlier one', () => {
  const start = Date.now() + 1000; // ahead of any id this process made (uuidv7 never goes back in time)
  for (let ms = start; ms < start + 2000; ms += 7) {
    const floor = uuidv7Floor(ms);
    const id = uuidv7(ms);
    assert.match(floor, /^[0-9a-f]{8}-[0-9a-f]{4}-0000-0000-000000000000$/);
    assert.ok(id >= floor, `${id} >= ${floor}`);
    assert.ok(id < uuidv7Floor(ms + 1), `${id} < floor of the next ms`);
    assert.ok(uuidv7Floor(ms - 1) < floor);
  }
  assert.equal(uuidv7Floor(0), '00000000-0000-0000-0000-000000000000');
  assert.equal(uuidv7Floor(0x123456789abc), '12345678-9abc-0000-0000-000000000000');
});

test('a UUIDv7 is never earlier than the time it was made for, even when the clock steps back', () => {
  const late = Date.now() + 10_000_000;
  uuidv7(late);
  const id = uuidv7(late - 5000); // the clock went back: the id keeps the later time
  assert.ok(id >= uuidv7Floor(late - 5000));
  assert.ok(id >= uuidv7Floor(late), 'ids stay ordered');
});
