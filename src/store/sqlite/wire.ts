/**
 * How group commits travel to the store thread (thread.ts → thread-host.ts). A run and its step
 * records go as arrays of their field values in a fixed order (RUN_FIELDS, STEP_FIELDS in
 * ../run-row.ts) instead of as objects: the structured clone then writes no property names, which
 * makes posting a batch about a third cheaper for the thread that serves HTTP. Unpacking rebuilds
 * equal objects; wire.test.ts checks the round trip.
 */
import type { Run, StepRecord } from '../../core/types.js';
import { RUN_FIELDS, STEP_FIELDS } from '../run-row.js';
import type { NewRun, Transition } from '../types.js';

type PackedRecord = unknown[];
type PackedRun = unknown[];
export type PackedNewRun = [PackedRun, NewRun['refPolicy'], PackedRecord[] | null];
export type PackedTransition = [PackedRun, number, string | null | undefined, PackedRecord[]];

const packRecord = (s: StepRecord): PackedRecord => STEP_FIELDS.map((f) => s[f]);

const unpackRecord = (p: PackedRecord): StepRecord => {
  const record: Record<string, unknown> = {};
  STEP_FIELDS.forEach((f, i) => { record[f] = p[i]; });
  return record as unknown as StepRecord;
};

/** `meta` (the last field) is the only optional one: a run without it packs one value shorter. */
const packRun = (r: Run): PackedRun => {
  const packed = RUN_FIELDS.map((f) => r[f]);
  if (r.meta === undefined) packed.length -= 1;
  return packed;
};

const unpackRun = (p: PackedRun): Run => {
  const run: Record<string, unknown> = {};
  for (let i = 0; i < p.length; i++) run[RUN_FIELDS[i]] = p[i];
  return run as unknown as Run;
};

export const packNewRun = (n: NewRun): PackedNewRun => [packRun(n.run), n.refPolicy, n.steps ? n.steps.map(packRecord) : null];

export function unpackNewRun(p: PackedNewRun): NewRun {
  const n: NewRun = { run: unpackRun(p[0]), refPolicy: p[1] };
  if (p[2] !== null) n.steps = p[2].map(unpackRecord);
  return n;
}

export const packTransition = (t: Transition): PackedTransition => [packRun(t.run), t.expectRev, t.owner, t.steps.map(packRecord)];

export function unpackTransition(p: PackedTransition): Transition {
  const t: Transition = { run: unpackRun(p[0]), expectRev: p[1], steps: p[3].map(unpackRecord) };
  if (p[2] !== undefined) t.owner = p[2];
  return t;
}
