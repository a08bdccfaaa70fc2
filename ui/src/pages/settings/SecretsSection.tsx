/** Secrets, write-only: set or replace a value (never shown again), delete one after a confirmation. */
import { useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, deleteSecret, listSecrets, putSecret, type SecretView } from '../../api/index.js';
import { Button, Confirm, Empty, ErrorState, Input, Loading, Table, type Column } from '../../components/ui/index.js';
import { when } from './format.js';

export function SecretsSection() {
  const qc = useQueryClient();
  const secrets = useQuery({ queryKey: ['secrets'], queryFn: listSecrets });
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [saved, setSaved] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<SecretView | null>(null);
  const valueRef = useRef<HTMLDivElement>(null);
  const save = useMutation({
    mutationFn: () => putSecret(name.trim(), value),
    onSuccess: (r) => { setSaved(`${r.name} ${r.created ? 'created' : 'replaced'}. The value is stored encrypted and is not shown again.`); setValue(''); setName(''); void qc.invalidateQueries({ queryKey: ['secrets'] }); },
  });
  const submit = (e: FormEvent) => { e.preventDefault(); setSaved(null); save.mutate(); };
  const fieldError = (path: string) => (save.error instanceof ApiError ? save.error.errors.find((p) => p.path === path)?.message ?? null : null);
  const shownAsFields = fieldError('name') || fieldError('value');

  const columns: Column<SecretView>[] = [
    { key: 'name', header: 'Name', cell: (s) => <code>{s.name}</code> },
    { key: 'updated', header: 'Updated', secondary: true, cell: (s) => when(s.updated_at) },
    {
      key: 'actions', header: <span className="sr-only">Actions</span>, align: 'end', cell: (s) => (
        <span className="actions-row">
          <Button size="sm" onClick={() => { setName(s.name); setValue(''); setSaved(null); valueRef.current?.querySelector('input')?.focus(); }} aria-label={`Replace ${s.name}`}>Replace</Button>
          <Button size="sm" variant="danger" onClick={() => setDeleting(s)} aria-label={`Delete ${s.name}`}>Delete</Button>
        </span>
      ),
    },
  ];

  return (
    <>
      <form className="panel" onSubmit={submit}>
        <h2>Set a secret</h2>
        <p className="muted">Steps read it as <code>{'{{ $secrets.NAME }}'}</code>. Values are write-only: nobody can read one back.</p>
        <div className="form-grid">
          <Input label="Secret name" value={name} onChange={(e) => setName(e.target.value)} required autoComplete="off" pattern="[A-Za-z_][A-Za-z0-9_]*" error={fieldError('name')} />
          <div ref={valueRef}>
            <Input label="Value" type="password" value={value} onChange={(e) => setValue(e.target.value)} required autoComplete="new-password" error={fieldError('value')} />
          </div>
        </div>
        <Button type="submit" variant="primary" busy={save.isPending}>Save secret</Button>
        {save.isError && !shownAsFields ? <ErrorState error={save.error} /> : null}
        {saved ? <div className="result-box" role="status">{saved}</div> : null}
      </form>
      <div className="panel">
        <h2>Secrets</h2>
        {secrets.isPending ? <Loading label="Loading secrets…" /> : null}
        {secrets.isError ? <ErrorState error={secrets.error} /> : null}
        {secrets.data?.length === 0 ? <Empty title="No secrets yet"><p>Keep tokens and passwords here instead of in definitions.</p></Empty> : null}
        {secrets.data?.length ? <Table caption="Secrets" columns={columns} rows={secrets.data} rowKey={(s) => s.name} /> : null}
      </div>
      <Confirm
        open={deleting !== null}
        title={`Delete ${deleting?.name ?? ''}?`}
        message={<p>Steps that read <code>$secrets.{deleting?.name}</code> get nothing from then on.</p>}
        confirmLabel="Delete"
        danger
        onConfirm={async () => { await deleteSecret(deleting!.name); await qc.invalidateQueries({ queryKey: ['secrets'] }); }}
        onClose={() => setDeleting(null)}
      />
    </>
  );
}
