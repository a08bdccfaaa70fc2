/** A new workflow: a starting definition in the editor; saving creates it and opens its page. */
import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useLocation } from 'wouter';
import { Empty, Input } from '../../components/ui/index.js';
import { useRole } from '../../session.js';
import { DefinitionEditor } from './DefinitionEditor.js';

export const NEW_WORKFLOW_TEMPLATE = `# A workflow: declared params, then steps run in order (docs/workflow-format.md).
name: Hello
params:
  name: { type: string, default: world }
steps:
  - id: greet
    type: set
    set: { greeting: "Hello, {{ name }}" }
  - id: answer
    type: reply
    data: { greeting: "{{ greeting }}" }
`;

const ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function NewWorkflowPage() {
  const [, navigate] = useLocation();
  const qc = useQueryClient();
  const { can, role } = useRole();
  const [id, setId] = useState('');
  const idError = id && !ID_RE.test(id) ? 'Lower-case letters, digits, - and _; at most 64, starting with a letter or digit.' : null;
  if (role && !can('admin')) {
    return <section className="page"><Empty title="Creating workflows needs an admin key"><p>This key's role is {role}.</p></Empty></section>;
  }
  return (
    <section className="page page-wide">
      <div className="page-head"><h1>New workflow</h1></div>
      <div className="new-id">
        <Input label="Workflow id" value={id} onChange={(e) => setId(e.target.value.trim())} error={idError} placeholder="e.g. loan-check" hint="Or give it as id: in the definition." spellCheck={false} autoComplete="off" />
      </div>
      <DefinitionEditor
        id={(parsed) => {
          if (id) return idError ? null : id;
          const fromDoc = (parsed as { id?: unknown } | null)?.id;
          return typeof fromDoc === 'string' ? fromDoc : null;
        }}
        source={NEW_WORKFLOW_TEMPLATE}
        canEdit
        onSaved={(saved) => {
          void qc.invalidateQueries({ queryKey: ['workflows'] });
          navigate(`/workflows/${encodeURIComponent(saved.id)}`);
        }}
      />
    </section>
  );
}
