/** One workflow: its graph and definition (editable by admins), its Start panel, its versions; archive. */
import { useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useLocation } from 'wouter';
import { archiveWorkflow, getWorkflow, type Workflow } from '../../api/index.js';
import { Badge, Button, Confirm, ErrorState, Loading, Tabs } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { DefinitionEditor } from './DefinitionEditor.js';
import { StartPanel } from './StartPanel.js';
import { VersionsPanel } from './VersionsPanel.js';
import { importPath, newRunPath, stepTestPath } from '../workflow-actions.js';

const TABS = [
  { id: 'definition', label: 'Graph and definition' },
  { id: 'start', label: 'Start' },
  { id: 'versions', label: 'Versions' },
];

export function WorkflowPage({ params }: { params: { id: string } }) {
  const id = decodeURIComponent(params.id);
  const [, navigate] = useLocation();
  const qc = useQueryClient();
  const { can } = useRole();
  const [tab, setTab] = useState(() => (new URLSearchParams(location.search).get('tab') ?? 'definition'));
  const [archiving, setArchiving] = useState(false);
  const wf = useQuery({ queryKey: ['workflow', id, null], queryFn: ({ signal }) => getWorkflow(id, undefined, signal) });

  const chooseTab = (t: string) => {
    setTab(t);
    history.replaceState(null, '', t === 'definition' ? location.pathname : `${location.pathname}?tab=${t}`);
  };

  if (wf.isPending) return <section className="page"><Loading label="Loading the workflow…" /></section>;
  if (wf.isError) {
    return (
      <section className="page">
        <ErrorState error={wf.error} action={<Button onClick={() => navigate('/workflows')}>All workflows</Button>} />
      </section>
    );
  }
  const w: Workflow = wf.data;
  const source = w.source ?? JSON.stringify(w.definition, null, 2);
  return (
    <section className="page page-wide">
      <div className="page-head">
        <div>
          <div className="breadcrumb"><a href="/workflows" onClick={(e) => { e.preventDefault(); navigate('/workflows'); }}>Workflows</a> /</div>
          <h1>{w.name && w.name !== w.id ? <>{w.name} <span className="muted mono h1-id">{w.id}</span></> : <span className="mono">{w.id}</span>}</h1>
        </div>
        <div className="head-meta">
          <Badge tone="info">version {w.version}</Badge>
          {w.archived ? <Badge tone="warn">archived</Badge> : null}
          {can('trigger') && !w.archived ? <Button onClick={() => navigate(newRunPath(w.id))}>New run</Button> : null}
          {can('trigger') && !w.archived ? <Button onClick={() => navigate(importPath(w.id))}>Import from CSV</Button> : null}
          {can('admin') ? <Button onClick={() => navigate(stepTestPath(w.id))}>Test a step</Button> : null}
          {can('admin') && !w.archived ? <Button variant="danger" onClick={() => setArchiving(true)}>Archive…</Button> : null}
        </div>
      </div>
      <Tabs tabs={TABS} value={tab} onChange={chooseTab} label="Workflow">
        {tab === 'definition' ? (
          <DefinitionEditor
            id={w.id}
            source={source}
            canEdit={can('admin') && !w.archived}
            onSaved={(saved) => {
              qc.setQueryData(['workflow', id, null], { ...saved, source: saved.source ?? source });
              void qc.invalidateQueries({ queryKey: ['workflow', id] });
              void qc.invalidateQueries({ queryKey: ['workflows'] });
            }}
          />
        ) : null}
        {tab === 'start' ? <StartPanel wf={w} /> : null}
        {tab === 'versions' ? <VersionsPanel wf={w} /> : null}
      </Tabs>
      <Confirm
        open={archiving}
        title={`Archive ${w.id}?`}
        message={<p>Runs in flight finish; new triggers get 404. The versions stay readable.</p>}
        confirmLabel="Archive"
        danger
        onConfirm={async () => {
          await archiveWorkflow(w.id);
          await qc.invalidateQueries({ queryKey: ['workflows'] });
          qc.removeQueries({ queryKey: ['workflow', id] });
          navigate('/workflows');
        }}
        onClose={() => setArchiving(false)}
      />
    </section>
  );
}
