import type { ReactNode } from 'react';

const STATUS_LABEL: Record<string, string> = {
  queued: 'queued', running: 'running', waiting: 'waiting', succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled',
  not_reached: 'not reached', parked: 'parked', skipped: 'skipped',
};

/** A run's (or step's) status as a coloured label; the colour is never the only signal (the word is there). */
export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{STATUS_LABEL[status] ?? status}</span>;
}

export function Badge({ children, tone = 'neutral' }: { children: ReactNode; tone?: 'neutral' | 'info' | 'good' | 'bad' | 'warn' }) {
  return <span className={`badge badge-tone-${tone}`}>{children}</span>;
}
