/**
 * The frame around every page: top bar with the navigation, who is signed in, and sign out. On a
 * narrow screen the navigation takes a second row of its own (styles.css), so every link stays in
 * sight and in the tab order.
 */
import { useEffect, type ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { Button } from './components/ui/index.js';
import { preloadPage, warmUpLater } from './pages/loaders.js';
import { routes } from './routes.js';
import { useSession } from './session.js';

export function Shell({ children }: { children: ReactNode }) {
  const { me, signOut } = useSession();
  const [location] = useLocation();
  const nav = routes.filter((r) => r.nav);
  useEffect(() => warmUpLater(), []);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <Link href="/" className="brand">Flowgate</Link>
        <nav aria-label="Main" className="nav">
          {nav.map((r) => {
            const active = location === r.path || location.startsWith(`${r.path}/`) || (r.path === '/workflows' && location === '/');
            return (
              <Link
                key={r.path}
                href={r.path}
                className={`nav-link${active ? ' nav-active' : ''}`}
                aria-current={active ? 'page' : undefined}
                onPointerEnter={() => preloadPage(r.path)}
                onFocus={() => preloadPage(r.path)}
              >
                {r.nav}
              </Link>
            );
          })}
        </nav>
        <div className="whoami">
          {me ? (
            <span className="whoami-text" title={`tenant ${me.tenant}, ${me.key_id ? `key ${me.key_id}` : 'admin token'}`}>
              <span className="sr-only">Signed in to tenant </span>
              <span className="whoami-tenant">{me.tenant}</span> <span className="whoami-role">{me.kind === 'admin' ? 'admin token' : `${me.role} key`}</span>
            </span>
          ) : null}
          <Button size="sm" variant="ghost" onClick={signOut}>Sign out</Button>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>{children}</main>
    </div>
  );
}
