/**
 * A run's ref (its idempotency key) as a trigger brings it, on every surface: the native `ref`
 * (query, body item, Idempotency-Key), the Corezoid ops' `ref`, the Luma and CSI Idempotency-Key.
 * Each surface words the refusal its own way (problem+json, the Corezoid envelope); the rule is here.
 */

/** The longest ref, in UTF-16 code units (docs/spec.md). */
export const REF_MAX = 255;

/** `type`: neither a string nor a number; `length`: longer than REF_MAX. */
export type RefCheck = { ok: true; ref: string | null } | { ok: false; problem: 'type' | 'length' };

/** Absent, null and '' mean no ref; a number is its decimal text. */
export function readRef(value: unknown): RefCheck {
  if (value === undefined || value === null || value === '') return { ok: true, ref: null };
  if (typeof value !== 'string' && typeof value !== 'number') return { ok: false, problem: 'type' };
  const ref = String(value);
  if (ref.length > REF_MAX) return { ok: false, problem: 'length' };
  return { ok: true, ref };
}
