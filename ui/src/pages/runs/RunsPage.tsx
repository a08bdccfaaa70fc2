/**
 * The runs list (/runs): filters in the URL query, newest first, one page of 50 at a time through
 * GET /v1/runs's cursor ("Older" / "Newer"), live through the tenant's run changes.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useLocation, useSearch } from 'wouter';
import { listRuns, listWorkflows, type Page, type Run } from '../../api/index.js';
import { Button, Empty, ErrorState, Input, Loading, Select, StatusBadge, Table, type Column } from '../../components/ui/index.js';
import { useRunChanges } from './live.js';
import { applyRunChange, isoToLocal, localToIso, PAGE_SIZE, readQuery, writeQuery, type ListQuery } from './runs-list.js';
import { formatDuration, runDuration } from './run-states.js';
import './runs.css';

const STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'];

export const shortId = (id: string): string => (id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

/** Ticks every second while `active` (running durations grow). */
export function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

export function RunsPage() {
  const search = useSearch();
  const [, navigate] = useLocation();
  const q = useMemo(() => readQuery(search), [search]);
  const { cursor, ...filters } = q;
  const [older, setOlder] = useState<string[]>([]);
  const qc = useQueryClient();
  const key = ['runs', filters, cursor ?? null];
  const page = useQuery({ queryKey: key, queryFn: ({ signal }) => listRuns({ ...filters, cursor, limit: PAGE_SIZE }, signal) });
  const workflows = useQuery({ queryKey: ['workflows'], queryFn: ({ signal }) => listWorkflows(signal) });

  useRunChanges(
    { workflow: filters.workflow, status: filters.status },
    (run) => qc.setQueryData<Page<Run>>(key, (old) => (old ? { ...old, items: applyRunChange(old.items, run, filters, !cursor) } : old)),
    () => void qc.invalidateQueries({ queryKey: ['runs'] }),
  );

  const rows = page.data?.items ?? [];
  const now = useNow(rows.some((r) => r.status === 'running' || r.status === 'queued' || r.status === 'waiting'));
  const go = (next: ListQuery, keepHistory = false) => {
    if (!keepHistory) setOlder([]);
    navigate(`/runs${writeQuery(next)}`);
  };
  const [ref, setRef] = useState(filters.ref ?? '');
  useEffect(() => setRef(filters.ref ?? ''), [filters.ref]);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    go({ ...filters, ref: ref.trim() || undefined });
  };

  const link = (href: string) => (e: React.MouseEvent) => { e.preventDefault(); e.stopPropagation(); navigate(href); };
  const columns: Column<Run>[] = [
    { key: 'id', header: 'Run', cell: (r) => <a href={`/runs/${r.id}`} onClick={link(`/runs/${r.id}`)} className="mono" title={r.id}>{shortId(r.id)}</a> },
    { key: 'workflow', header: 'Workflow', cell: (r) => <a href={`/workflows/${encodeURIComponent(r.workflow)}`} onClick={link(`/workflows/${encodeURIComponent(r.workflow)}`)}>{r.workflow}</a> },
    { key: 'status', header: 'Status', cell: (r) => <StatusBadge status={r.status} /> },
    { key: 'ref', header: 'Ref', secondary: true, cell: (r) => (r.ref ? <span className="mono">{r.ref}</span> : '—') },
    { key: 'created', header: 'Started', secondary: true, cell: (r) => when(r.started_at ?? r.created_at) },
    { key: 'duration', header: 'Duration', align: 'end', secondary: true, cell: (r) => formatDuration(runDuration(r, now)) },
  ];
  const filtered = Object.values(filters).some(Boolean);

  return (
    <section className="page">
      <div className="page-head"><h1>Runs</h1></div>
      <form className="run-filters" onSubmit={onSubmit} aria-label="Filter runs">
        <Select
          label="Workflow"
          value={filters.workflow ?? ''}
          onChange={(e) => go({ ...filters, workflow: e.target.value || undefined })}
          options={[{ value: '', label: 'All workflows' }, ...(workflows.data ?? []).map((w) => ({ value: w.id, label: w.id })),
            ...(filters.workflow && !(workflows.data ?? []).some((w) => w.id === filters.workflow) ? [{ value: filters.workflow, label: filters.workflow }] : [])]}
        />
        <Select
          label="Status"
          value={filters.status ?? ''}
          onChange={(e) => go({ ...filters, status: e.target.value || undefined })}
          options={[{ value: '', label: 'Any status' }, ...STATUSES.map((s) => ({ value: s, label: s }))]}
        />
        <Input label="Ref" value={ref} onChange={(e) => setRef(e.target.value)} onBlur={() => { if (ref.trim() !== (filters.ref ?? '')) go({ ...filters, ref: ref.trim() || undefined }); }} placeholder="exact ref" spellCheck={false} />
        <Input label="From" type="datetime-local" value={isoToLocal(filters.since)} onChange={(e) => go({ ...filters, since: localToIso(e.target.value) || undefined })} />
        <Input label="To" type="datetime-local" value={isoToLocal(filters.until)} onChange={(e) => go({ ...filters, until: localToIso(e.target.value) || undefined })} />
        {filtered ? <Button variant="ghost" onClick={() => go({})}>Clear filters</Button> : null}
      </form>
      {page.isPending ? <Loading label="Loading runs…" /> : null}
      {page.isError ? <ErrorState error={page.error} action={<Button onClick={() => page.refetch()}>Try again</Button>} /> : null}
      {page.data && rows.length === 0 ? (
        filtered || cursor ? (
          <Empty title="No run matches"><p>No run of the tenant has these filters{cursor ? ' on this page' : ''}.</p></Empty>
        ) : (
          <Empty title="No runs yet">
            <p>Start one from a workflow's page, or with <code>POST /v1/workflows/&#123;id&#125;/runs</code>. New runs appear here as they start.</p>
            <Link href="/workflows">See the workflows</Link>
          </Empty>
        )
      ) : null}
      {rows.length ? <Table caption="Runs, newest first" columns={columns} rows={rows} rowKey={(r) => r.id} onRowClick={(r) => navigate(`/runs/${r.id}`)} /> : null}
      {page.data && (cursor || page.data.next_cursor) ? (
        <nav className="pager" aria-label="Pages of runs">
          <Button disabled={!cursor} onClick={() => { const prev = older.slice(0, -1); const back = older[older.length - 1]; setOlder(prev); go({ ...filters, cursor: back || undefined }, true); }}>Newer</Button>
          <Button disabled={!page.data.next_cursor} onClick={() => { setOlder([...older, cursor ?? '']); go({ ...filters, cursor: page.data.next_cursor ?? undefined }, true); }}>Older</Button>
        </nav>
      ) : null}
    </section>
  );
}
