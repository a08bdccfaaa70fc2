/** A workflow's versions: list them, view one, compare two (or one with the current). */
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { getWorkflow, listVersions, type Workflow } from '../../api/index.js';
import { CodeEditor, DiffView } from '../../components/editors.js';
import { Button, ErrorState, Loading, Select, Table, type Column } from '../../components/ui/index.js';
import type { WorkflowVersion } from '../../api/types.js';
import { languageOfSource } from './DefinitionEditor.js';

export function VersionsPanel({ wf }: { wf: Workflow }) {
  const versions = useQuery({ queryKey: ['versions', wf.id, wf.version], queryFn: ({ signal }) => listVersions(wf.id, wf.version, signal) });
  const [viewing, setViewing] = useState<number | null>(null);
  const [compare, setCompare] = useState<{ a: number; b: number } | null>(null);

  const columns: Column<WorkflowVersion>[] = [
    { key: 'v', header: 'Version', cell: (v) => <>{v.version}{v.current || v.version === wf.version ? <span className="muted"> (current)</span> : null}</> },
    { key: 'name', header: 'Name', secondary: true, cell: (v) => v.name ?? '—' },
    { key: 'at', header: 'Saved', secondary: true, cell: (v) => (v.created_at ? new Date(v.created_at).toLocaleString() : '—') },
    {
      key: 'actions', header: <span className="sr-only">Actions</span>, cell: (v) => (
        <div className="row-actions">
          <Button size="sm" onClick={() => { setCompare(null); setViewing(v.version); }} aria-label={`View version ${v.version}`}>View</Button>
          {v.version !== wf.version ? (
            <Button size="sm" onClick={() => { setViewing(null); setCompare({ a: v.version, b: wf.version }); }} aria-label={`Compare version ${v.version} with the current`}>Compare with current</Button>
          ) : null}
        </div>
      ),
    },
  ];

  if (versions.isPending) return <Loading label="Loading versions…" />;
  if (versions.isError) return <ErrorState error={versions.error} />;
  const options = versions.data.map((v) => ({ value: String(v.version), label: `Version ${v.version}` }));
  return (
    <div className="versions">
      <Table caption="Versions" columns={columns} rows={versions.data} rowKey={(v) => String(v.version)} />
      {versions.data.length > 1 ? (
        <div className="compare-pick">
          <Select label="Compare" options={options} value={String(compare?.a ?? versions.data[1]?.version ?? wf.version)} onChange={(e) => setCompare({ a: Number(e.target.value), b: compare?.b ?? wf.version })} />
          <Select label="with" options={options} value={String(compare?.b ?? wf.version)} onChange={(e) => setCompare({ a: compare?.a ?? versions.data[1].version, b: Number(e.target.value) })} />
        </div>
      ) : null}
      {viewing !== null ? <VersionView id={wf.id} version={viewing} /> : null}
      {compare ? <VersionCompare id={wf.id} a={compare.a} b={compare.b} /> : null}
    </div>
  );
}

const useVersion = (id: string, version: number) =>
  useQuery({ queryKey: ['workflow', id, version], queryFn: ({ signal }) => getWorkflow(id, version, signal), staleTime: Infinity });

function VersionView({ id, version }: { id: string; version: number }) {
  const v = useVersion(id, version);
  if (v.isPending) return <Loading />;
  if (v.isError) return <ErrorState error={v.error} />;
  const source = v.data.source ?? JSON.stringify(v.data.definition, null, 2);
  return (
    <section className="version-view" aria-label={`Version ${version}`}>
      <h2>Version {version}</h2>
      <CodeEditor value={source} language={languageOfSource(source)} readOnly label={`Definition of version ${version}`} minHeight="200px" />
    </section>
  );
}

function VersionCompare({ id, a, b }: { id: string; a: number; b: number }) {
  const va = useVersion(id, a);
  const vb = useVersion(id, b);
  if (va.isPending || vb.isPending) return <Loading />;
  if (va.isError) return <ErrorState error={va.error} />;
  if (vb.isError) return <ErrorState error={vb.error} />;
  const sa = va.data.source ?? JSON.stringify(va.data.definition, null, 2);
  const sb = vb.data.source ?? JSON.stringify(vb.data.definition, null, 2);
  return (
    <section className="version-compare" aria-label={`Version ${a} compared with version ${b}`}>
      <h2>Version {a} → version {b}</h2>
      {sa === sb ? <p className="muted">The two versions have the same text.</p> : null}
      <DiffView a={sa} b={sb} language={languageOfSource(sb)} labelA={`Version ${a}`} labelB={`Version ${b}`} />
    </section>
  );
}
