/**
 * A trigger's `callback_url` (docs/spec.md §4): where the run's result is POSTed when it ends. Checked at
 * trigger time, so a bad URL is a 422 and nothing is created.
 */
import { validationFailed } from '../core/errors.js';

export const RESULT_URL_MAX = 2048;

/** The URL to deliver the run's result to, or null when none was given; throws 422 when it is unusable. */
export function checkResultUrl(raw: string | null, path = 'callback_url'): string | null {
  if (raw === null || raw === '') return null;
  const bad = (message: string): never => {
    throw validationFailed([{ path, message }], 'Invalid callback_url');
  };
  if (raw.length > RESULT_URL_MAX) bad(`must be at most ${RESULT_URL_MAX} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return bad('must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') bad('must be an absolute http or https URL');
  if (url.username || url.password) bad('must not carry credentials (user:password@); deliveries are signed with the tenant\'s webhook secret instead');
  if (url.hash) url.hash = '';
  return url.toString();
}
