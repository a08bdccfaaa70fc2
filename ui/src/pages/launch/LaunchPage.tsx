/**
 * The launch-in-context view (/launch/:key): the run page, read-only, for whoever holds a launch URL
 * (Luma shows it in a frame). No sign-in: the key in the address is sent as `Authorization: Launch
 * <key>` to the two reads it opens (GET /launch/api/run and its events) and kept nowhere else (not
 * in sessionStorage: it is no sign-in). No actions, no links into the console, no top bar. Live
 * until the run ends or the key expires; after that the last state stays, saying the link expired.
 */
import { useEffect, useRef, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  getLaunchView, isTerminalStatus, LAUNCH_EVENTS_PATH, launchHeaders, type LaunchView, type Run, type StepRecord,
} from '../../api/index.js';
import { ErrorState, Loading } from '../../components/ui/index.js';
import { upsertStep, useFollow } from '../runs/live.js';
import { RunView } from '../runs/RunView.js';
import { when } from '../runs/RunsPage.js';
import { refusalOf } from './refusal.js';
import './launch.css';

/** Follows the launch view's events until the run ends or the key expires. */
function useLaunchEvents(key: string, follow: boolean, handlers: { onRun: (run: Run) => void; onStep: (step: StepRecord) => void; onExpired: () => void; onRefresh: () => void }): void {
  // Set as the events arrive (not at the next render): the reader asks right after the stream ends.
  const over = useRef(false);
  over.current = !follow;
  useFollow(follow ? LAUNCH_EVENTS_PATH : null, {
    events: ['run', 'step', 'expired'],
    headers: launchHeaders(key),
    onEvent: (name, data) => {
      if (name === 'expired') {
        over.current = true;
        handlers.onExpired();
      } else if (name === 'run') {
        if (isTerminalStatus((data as Run).status)) over.current = true;
        handlers.onRun(data as Run);
      } else handlers.onStep(data as StepRecord);
    },
    onRefresh: handlers.onRefresh,
    isDone: () => over.current,
  });
}

/** True from `iso` on (a timer; none for a time further off than a timer can wait). */
function usePassed(iso: string | undefined): boolean {
  const [passed, setPassed] = useState(false);
  useEffect(() => {
    if (!iso) return;
    const left = Date.parse(iso) - Date.now();
    if (left <= 0) {
      setPassed(true);
      return;
    }
    if (left >= 2 ** 31) return;
    const t = setTimeout(() => setPassed(true), left);
    return () => clearTimeout(t);
  }, [iso]);
  return passed;
}

export function LaunchPage({ params }: { params: { key: string } }) {
  const key = params.key;
  const qc = useQueryClient();
  const queryKey = ['launch', key];
  const view = useQuery({ queryKey, queryFn: ({ signal }) => getLaunchView(key, signal), refetchOnReconnect: false });
  const [expiredEvent, setExpiredEvent] = useState(false);
  const data = view.data;
  const refused = refusalOf(view.error);
  const passed = usePassed(data?.expires_at);
  const expired = expiredEvent || passed || refused?.reason === 'expired';
  const done = data ? isTerminalStatus(data.run.status) : false;
  const update = (fn: (old: LaunchView) => LaunchView) => qc.setQueryData<LaunchView>(queryKey, (old) => (old ? fn(old) : old));
  useLaunchEvents(key, !!data && !done && !expired && !refused, {
    onRun: (r) => update((old) => ({ ...old, run: { ...old.run, ...r } })),
    onStep: (s) => update((old) => ({ ...old, steps: upsertStep(old.steps, s) })),
    onExpired: () => setExpiredEvent(true),
    onRefresh: () => void qc.invalidateQueries({ queryKey }),
  });
  const title = data ? `${data.workflow?.name || data.run.workflow} · run ${data.run.id}` : 'Flowgate';
  useEffect(() => { document.title = title; }, [title]);

  if (view.isPending) return <main className="launch"><Loading label="Loading the run…" /></main>;
  if (!data) {
    return (
      <main className="launch">
        {refused ? (
          <div className="state state-error problem launch-refused" role="alert">
            <h1>{refused.title}</h1>
            <p>{refused.message}</p>
          </div>
        ) : <ErrorState error={view.error} />}
      </main>
    );
  }
  return (
    <main className="launch" id="main">
      {expired ? (
        <div className="launch-expired" role="status">
          <strong>This link has expired.</strong> The run is shown as it was then and no longer follows it. Ask for a new link to see more.
        </div>
      ) : null}
      {refused && !expired ? <div className="launch-expired" role="status"><strong>{refused.title}.</strong> {refused.message}</div> : null}
      <RunView run={data.run} steps={data.steps} definition={data.workflow?.definition ?? null} workflowName={data.workflow?.name} />
      <p className="launch-foot">Read-only view · {expired ? 'this link expired' : 'this link works until'} {when(data.expires_at)}</p>
    </main>
  );
}
