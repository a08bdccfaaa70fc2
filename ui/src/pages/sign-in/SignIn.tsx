/**
 * Sign in with the admin token or a tenant key. The token is checked with GET /v1/whoami before it
 * is kept (sessionStorage); the admin token also names the tenant it acts on (Flowgate-Tenant).
 */
import { useState, type FormEvent } from 'react';
import { ApiError, describeError, whoami } from '../../api/index.js';
import { saveSession } from '../../api/session.js';
import { Button, Input } from '../../components/ui/index.js';

export function SignIn() {
  const [token, setToken] = useState('');
  const [tenant, setTenant] = useState('default');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<{ title: string; detail: string } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    const t = token.trim();
    if (!t) {
      setProblem({ title: 'Enter a token', detail: 'The admin token or a tenant API key (fg_…).' });
      return;
    }
    setBusy(true);
    try {
      const tenantName = tenant.trim() || 'default';
      const me = await whoami({ token: t, tenant: tenantName === 'default' ? null : tenantName });
      // A tenant key ignores Flowgate-Tenant: keep it only for the admin token.
      saveSession({ token: t, tenant: me.kind === 'admin' && tenantName !== 'default' ? tenantName : null });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setProblem({ title: 'That token is not valid', detail: 'Check the admin token (printed on first start, in <data-dir>/admin-token) or the API key, which is shown once when it is created.' });
      } else setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <form className="signin-card" onSubmit={submit} noValidate aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Flowgate</h1>
        <p className="muted">Use the admin token or a tenant API key. It is kept in this tab only.</p>
        <Input label="Token" type="password" name="token" autoComplete="current-password" autoFocus value={token} onChange={(e) => setToken(e.target.value)} />
        <Input
          label="Tenant"
          name="tenant"
          value={tenant}
          onChange={(e) => setTenant(e.target.value)}
          hint="For the admin token: the tenant to work in. A tenant key always works in its own."
          autoComplete="off"
          spellCheck={false}
        />
        {problem ? (
          <div className="problem" role="alert">
            <strong>{problem.title}</strong>
            {problem.detail ? <p>{problem.detail}</p> : null}
          </div>
        ) : null}
        <Button type="submit" variant="primary" busy={busy}>Sign in</Button>
      </form>
    </main>
  );
}
