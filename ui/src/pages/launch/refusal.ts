/** Why the launch view cannot show (more of) its run, from the launch reads' answer; null: it can. */
import { ApiError } from '../../api/problem.js';

export interface Refusal {
  reason: 'expired' | 'invalid' | 'gone';
  title: string;
  message: string;
}

export function refusalOf(error: unknown): Refusal | null {
  if (!(error instanceof ApiError)) return null;
  if (error.status === 403) {
    return error.problem.reason === 'expired'
      ? { reason: 'expired', title: 'This link has expired', message: 'Launch-in-context links work for a limited time. Ask for a new link.' }
      : { reason: 'invalid', title: 'This link is not valid', message: 'The link is incomplete or was altered. Ask for a new link.' };
  }
  if (error.status === 404) return { reason: 'gone', title: 'Run not found', message: 'This run no longer exists.' };
  return null;
}
