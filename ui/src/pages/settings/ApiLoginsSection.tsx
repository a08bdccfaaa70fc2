/** Corezoid API logins for the signed ops API and Sync API: create (login and secret shown once), list, delete. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createApiLogin, deleteApiLogin, listApiLogins, type ApiLoginView, type CreatedApiLogin } from '../../api/index.js';
import { Button, Confirm, CopyButton, Empty, ErrorState, Input, Loading, Table, type Column } from '../../components/ui/index.js';
import { when } from './format.js';

export function ApiLoginsSection() {
  const qc = useQueryClient();
  const logins = useQuery({ queryKey: ['api-logins'], queryFn: listApiLogins });
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedApiLogin | null>(null);
  const [deleting, setDeleting] = useState<ApiLoginView | null>(null);
  const create = useMutation({
    mutationFn: () => createApiLogin(name.trim() || undefined),
    onSuccess: (l) => { setCreated(l); setName(''); void qc.invalidateQueries({ queryKey: ['api-logins'] }); },
  });
  const submit = (e: FormEvent) => { e.preventDefault(); create.mutate(); };

  const columns: Column<ApiLoginView>[] = [
    { key: 'login', header: 'Login', cell: (l) => <code>{l.login}</code> },
    { key: 'name', header: 'Name', cell: (l) => l.name || '—' },
    { key: 'created', header: 'Created', secondary: true, cell: (l) => when(l.created_at) },
    { key: 'delete', header: <span className="sr-only">Actions</span>, align: 'end', cell: (l) => <Button size="sm" variant="danger" onClick={() => setDeleting(l)} aria-label={`Delete login ${l.login}`}>Delete</Button> },
  ];

  return (
    <>
      <form className="panel" onSubmit={submit}>
        <h2>Create an API login</h2>
        <p className="muted">A Corezoid-style login and secret: clients sign <code>/api/2/json/&#123;login&#125;/…</code> requests with it (docs/compatibility.md).</p>
        <div className="form-grid">
          <Input label="Login name (optional)" value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" maxLength={128} />
        </div>
        <Button type="submit" variant="primary" busy={create.isPending}>Create login</Button>
        {create.isError ? <ErrorState error={create.error} /> : null}
        {created ? (
          <div className="once-box" role="status">
            <p><strong>Login {created.login} created.</strong> Copy its secret now: it is not shown again.</p>
            <p>Login <code aria-label="New login">{created.login}</code> <CopyButton text={created.login} what="the login" /></p>
            <p>Secret <code aria-label="New login secret">{created.secret}</code> <CopyButton text={created.secret} what="the login secret" /></p>
            <Button size="sm" variant="ghost" onClick={() => setCreated(null)}>Done</Button>
          </div>
        ) : null}
      </form>
      <div className="panel">
        <h2>API logins</h2>
        {logins.isPending ? <Loading label="Loading logins…" /> : null}
        {logins.isError ? <ErrorState error={logins.error} /> : null}
        {logins.data?.length === 0 ? <Empty title="No API logins yet"><p>Create one for a client of the Corezoid ops API or Sync API.</p></Empty> : null}
        {logins.data?.length ? <Table caption="API logins" columns={columns} rows={logins.data} rowKey={(l) => l.login} /> : null}
      </div>
      <Confirm
        open={deleting !== null}
        title={`Delete login ${deleting?.login ?? ''}?`}
        message={<p>Requests signed with this login are refused at once.</p>}
        confirmLabel="Delete"
        danger
        onConfirm={async () => { await deleteApiLogin(deleting!.login); await qc.invalidateQueries({ queryKey: ['api-logins'] }); }}
        onClose={() => setDeleting(null)}
      />
    </>
  );
}
