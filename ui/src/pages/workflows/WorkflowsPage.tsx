/** The workflows list: id, name, version, triggers, last run, runs in the last 24 h; searchable. */
import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useLocation } from 'wouter';
import { listWorkflows, type WorkflowSummary } from '../../api/index.js';
import { Button, CopyButton, Empty, ErrorState, Input, Loading, StatusBadge, Table, type Column } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { preloadPage } from '../loaders.js';

const APPLY_EXAMPLE = (origin: string) =>
  `curl -X PUT ${origin}/v1/workflows/hello \\\n  -H "Authorization: Bearer $FLOWGATE_TOKEN" \\\n  -H 'Content-Type: application/yaml' \\\n  --data-binary @hello.yaml`;

/** The trigger kinds a workflow can be started by, from its `triggers` block. */
export function triggerKinds(wf: WorkflowSummary): string[] {
  const urls = wf.triggers?.urls ?? {};
  const kinds = ['native'];
  if (urls.corezoid_api || wf.triggers?.conv_id !== undefined) kinds.push('corezoid');
  if (urls.direct_json || urls.direct_xml || urls.direct_nvp) kinds.push('direct URL');
  if (urls.csi_execute || wf.triggers?.guid) kinds.push('CSI');
  if (urls.luma_trigger || wf.triggers?.luma_workflow_identifier) kinds.push('Luma');
  return kinds;
}

export function matches(wf: WorkflowSummary, q: string): boolean {
  const s = q.trim().toLowerCase();
  if (!s) return true;
  return wf.id.toLowerCase().includes(s) || (wf.name ?? '').toLowerCase().includes(s);
}

export function WorkflowsPage() {
  const [, navigate] = useLocation();
  const { can } = useRole();
  const [q, setQ] = useState('');
  const list = useQuery({ queryKey: ['workflows'], queryFn: ({ signal }) => listWorkflows(signal) });
  const shown = useMemo(() => (list.data ?? []).filter((wf) => matches(wf, q)), [list.data, q]);

  const columns: Column<WorkflowSummary>[] = [
    {
      key: 'id', header: 'Workflow', cell: (wf) => {
        const href = `/workflows/${encodeURIComponent(wf.id)}`;
        return <a href={href} onClick={(e) => { e.preventDefault(); navigate(href); }} onPointerEnter={() => preloadPage(href)} onFocus={() => preloadPage(href)} className="mono">{wf.id}</a>;
      },
    },
    { key: 'name', header: 'Name', cell: (wf) => wf.name ?? '—' },
    { key: 'version', header: 'Version', align: 'end', secondary: true, cell: (wf) => wf.version },
    { key: 'triggers', header: 'Triggers', secondary: true, cell: (wf) => triggerKinds(wf).join(', ') },
    { key: 'last', header: 'Last run', cell: (wf) => (wf.last_run ? <StatusBadge status={wf.last_run.status} /> : '—') },
    { key: 'runs24', header: 'Runs, 24 h', align: 'end', secondary: true, cell: (wf) => (typeof wf.runs_24h === 'number' ? wf.runs_24h : '—') },
  ];

  return (
    <section className="page">
      <div className="page-head">
        <h1>Workflows</h1>
        {can('admin') ? <Button variant="primary" onClick={() => navigate('/workflows/new')}>New workflow</Button> : null}
      </div>
      {list.isPending ? <Loading label="Loading workflows…" /> : null}
      {list.isError ? <ErrorState error={list.error} action={<Button onClick={() => list.refetch()}>Try again</Button>} /> : null}
      {list.data && list.data.length === 0 ? (
        <Empty title="No workflows yet">
          <p>Apply a workflow definition (YAML or JSON) with the API, the CLI (<code>flowgate apply hello.yaml</code>){can('admin') ? ', or the New workflow button' : ''}:</p>
          <pre className="code-block">{APPLY_EXAMPLE(location.origin)}</pre>
          <CopyButton text={APPLY_EXAMPLE(location.origin)} what="the apply command" />
        </Empty>
      ) : null}
      {list.data && list.data.length > 0 ? (
        <>
          <div className="toolbar">
            <Input label="Search workflows" type="search" placeholder="id or name" value={q} onChange={(e) => setQ(e.target.value)} />
          </div>
          {shown.length ? (
            <Table caption="Workflows" columns={columns} rows={shown} rowKey={(wf) => wf.id} />
          ) : (
            <Empty title="No workflow matches">
              <p>Nothing has “{q}” in its id or name.</p>
            </Empty>
          )}
        </>
      ) : null}
    </section>
  );
}
