/** MPO's Start node: every URL and identifier a client needs, with copy buttons; rotate the direct-URL hash. */
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { rotateHash, type Workflow } from '../../api/index.js';
import { Button, Confirm, CopyButton } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { startGroups } from './start-panel-model.js';

export function StartPanel({ wf }: { wf: Workflow }) {
  const { can } = useRole();
  const qc = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const groups = startGroups(wf);
  return (
    <div className="start-panel">
      {groups.map((g) => (
        <section key={g.title} className="start-group" aria-labelledby={`sg-${g.title}`}>
          <h2 id={`sg-${g.title}`}>{g.title}</h2>
          <p className="muted">{g.description}</p>
          <dl className="start-items">
            {g.items.map((item) => (
              <div key={item.label} className="start-item">
                <dt>{item.label}</dt>
                <dd>
                  <div className="copy-row">
                    <code className="copy-value" data-testid={item.label}>{item.value}</code>
                    <CopyButton text={item.value} what={item.label} />
                  </div>
                  {item.note ? <div className="muted small">{item.note}</div> : null}
                  {item.command ? (
                    <div className="copy-row command-row">
                      <pre className="code-block">{item.command}</pre>
                      <CopyButton text={item.command} label="Copy curl" what={`for the ${item.label}`} />
                    </div>
                  ) : null}
                </dd>
              </div>
            ))}
          </dl>
          {g.title === 'Corezoid direct URLs' && can('admin') ? (
            <Button variant="danger" onClick={() => setConfirming(true)}>Rotate the hash…</Button>
          ) : null}
        </section>
      ))}
      <Confirm
        open={confirming}
        title="Rotate the direct-URL hash?"
        message={<p>The current direct URLs stop working at once; clients must be given the new ones. This cannot be undone.</p>}
        confirmLabel="Rotate"
        danger
        onConfirm={async () => {
          const updated = await rotateHash(wf.id);
          qc.setQueryData(['workflow', wf.id, null], (old: Workflow | undefined) => (old ? { ...old, ...updated, source: old.source } : updated));
          await qc.invalidateQueries({ queryKey: ['workflow', wf.id] });
        }}
        onClose={() => setConfirming(false)}
      />
    </div>
  );
}
