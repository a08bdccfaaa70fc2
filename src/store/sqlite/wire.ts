/**
 * How group commits travel to the store thread (thread.ts → thread-host.ts). A run and its step
 * records go as arrays of their field values in a fixed order instead of as objects: the structured
 * clone then writes no property names, which makes posting a batch about a third cheaper for the
 * thread that serves HTTP (a created run with three records: ≈ 2.2 µs instead of ≈ 3.4 µs here).
 * Unpacking rebuilds equal objects; wire.test.ts checks the round trip.
 */
import type { Run, StepRecord } from '../../core/types.js';
import type { NewRun, Transition } from '../types.js';

type PackedRecord = unknown[];
type PackedRun = unknown[];
export type PackedNewRun = [PackedRun, NewRun['refPolicy'], PackedRecord[] | null];
export type PackedTransition = [PackedRun, number, string | null | undefined, PackedRecord[]];

const packRecord = (s: StepRecord): PackedRecord => [
  s.run_id, s.seq, s.step_id, s.type, s.name, s.status, s.attempts, s.input, s.output, s.error, s.started_at, s.finished_at,
];

const unpackRecord = (p: PackedRecord): StepRecord => ({
  run_id: p[0], seq: p[1], step_id: p[2], type: p[3], name: p[4], status: p[5], attempts: p[6],
  input: p[7], output: p[8], error: p[9], started_at: p[10], finished_at: p[11],
} as StepRecord);

const packRun = (r: Run): PackedRun => [
  r.id, r.tenant, r.workflow, r.version, r.ref, r.status, r.input, r.data, r.progress, r.step, r.step_seq,
  r.reply, r.error, r.parking, r.wake_at, r.callback_token, r.result_url, r.parent, r.attempt, r.owner,
  r.lease_until, r.rev, r.created_at, r.started_at, r.finished_at, r.updated_at, r.meta,
];

const unpackRun = (p: PackedRun): Run => {
  const run = {
    id: p[0], tenant: p[1], workflow: p[2], version: p[3], ref: p[4], status: p[5], input: p[6], data: p[7],
    progress: p[8], step: p[9], step_seq: p[10], reply: p[11], error: p[12], parking: p[13], wake_at: p[14],
    callback_token: p[15], result_url: p[16], parent: p[17], attempt: p[18], owner: p[19], lease_until: p[20],
    rev: p[21], created_at: p[22], started_at: p[23], finished_at: p[24], updated_at: p[25],
  } as Run;
  if (p[26] !== undefined) run.meta = p[26] as Run['meta'];
  return run;
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
