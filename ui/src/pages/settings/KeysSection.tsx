/** API keys: create one with a role (its token shown once), list them, revoke one after a confirmation. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, createKey, listKeys, revokeKey, type ApiKeyView, type CreatedKey, type Role } from '../../api/index.js';
import { Badge, Button, Confirm, CopyButton, Empty, ErrorState, Input, Loading, Select, Table, type Column } from '../../components/ui/index.js';
import { useSession } from '../../session.js';
import { when } from './format.js';

const ROLES: { value: Role; label: string; can: string }[] = [
  { value: 'read', label: 'read', can: 'Sees workflows and runs.' },
  { value: 'trigger', label: 'trigger', can: 'Also starts, cancels, retries and resumes runs.' },
  { value: 'admin', label: 'admin', can: 'Also edits workflows and manages keys, secrets and logins.' },
];

export function KeysSection() {
  const qc = useQueryClient();
  const { me } = useSession();
  const keys = useQuery({ queryKey: ['keys'], queryFn: listKeys });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('trigger');
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyView | null>(null);
  const create = useMutation({
    mutationFn: () => createKey(name.trim(), role),
    onSuccess: (k) => { setCreated(k); setName(''); void qc.invalidateQueries({ queryKey: ['keys'] }); },
  });
  const submit = (e: FormEvent) => { e.preventDefault(); create.mutate(); };
  const nameError = create.error instanceof ApiError ? create.error.errors.find((p) => p.path === 'name')?.message ?? null : null;

  const columns: Column<ApiKeyView>[] = [
    { key: 'name', header: 'Name', cell: (k) => <>{k.name}{me?.key_id === k.id ? <> <Badge tone="info">this session</Badge></> : null}</> },
    { key: 'id', header: 'Id', secondary: true, cell: (k) => <code>{k.id}</code> },
    { key: 'role', header: 'Role', cell: (k) => <Badge tone={k.role === 'admin' ? 'warn' : 'neutral'}>{k.role}</Badge> },
    { key: 'created', header: 'Created', secondary: true, cell: (k) => when(k.created_at) },
    { key: 'revoke', header: <span className="sr-only">Actions</span>, align: 'end', cell: (k) => <Button size="sm" variant="danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>Revoke</Button> },
  ];

  return (
    <>
      <form className="panel" onSubmit={submit}>
        <h2>Create a key</h2>
        <div className="form-grid">
          <Input label="Key name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={128} autoComplete="off" error={nameError} />
          <Select label="Role" value={role} onChange={(e) => setRole(e.target.value as Role)} options={ROLES} hint={ROLES.find((r) => r.value === role)?.can} />
        </div>
        <Button type="submit" variant="primary" busy={create.isPending}>Create key</Button>
        {create.isError && !nameError ? <ErrorState error={create.error} /> : null}
        {created ? (
          <div className="once-box" role="status">
            <p><strong>Key {created.name} created ({created.role}).</strong> Copy its token now: it is not shown again.</p>
            <p><code aria-label="New token">{created.token}</code></p>
            <div className="actions-row">
              <CopyButton text={created.token} what="the new token" />
              <Button size="sm" variant="ghost" onClick={() => setCreated(null)}>Done</Button>
            </div>
          </div>
        ) : null}
      </form>
      <div className="panel">
        <h2>Keys</h2>
        {keys.isPending ? <Loading label="Loading keys…" /> : null}
        {keys.isError ? <ErrorState error={keys.error} /> : null}
        {keys.data?.length === 0 ? <Empty title="No keys yet"><p>Create one above for a client or a person.</p></Empty> : null}
        {keys.data?.length ? <Table caption="API keys" columns={columns} rows={keys.data} rowKey={(k) => k.id} /> : null}
      </div>
      <Confirm
        open={revoking !== null}
        title={`Revoke ${revoking?.name ?? ''}?`}
        message={<p>Clients using this key are refused at once.{me?.key_id === revoking?.id ? ' It is the key you are signed in with: you will be signed out.' : ''}</p>}
        confirmLabel="Revoke"
        danger
        onConfirm={async () => { await revokeKey(revoking!.id); await qc.invalidateQueries({ queryKey: ['keys'] }); }}
        onClose={() => setRevoking(null)}
      />
    </>
  );
}
