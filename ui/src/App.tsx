/**
 * The app: a public page (the launch view) on its own, whoever is signed in; else signed out, the
 * sign-in page; signed in, the shell around the route table's pages.
 */
import { Suspense, type ReactNode } from 'react';
import { matchRoute, Route, Switch, useLocation, useRouter } from 'wouter';
import { Empty, Loading } from './components/ui/index.js';
import { publicRoutes, routes } from './routes.js';
import { SignIn } from './pages/sign-in/SignIn.js';
import { Shell } from './Shell.js';
import { useSession } from './session.js';

function PublicPage() {
  return (
    <Suspense fallback={<main className="launch"><Loading /></main>}>
      <Switch>
        {publicRoutes.map((r) => <Route key={r.path} path={r.path} component={r.component} />)}
      </Switch>
    </Suspense>
  );
}

/**
 * A public page when the address is one, else `children`. It re-renders on every navigation; the
 * console it wraps does not (its element is the same), as before public pages existed.
 */
function PublicOr({ children }: { children: ReactNode }) {
  const router = useRouter();
  const [location] = useLocation();
  if (publicRoutes.some((r) => matchRoute(router.parser, r.path, location)[0])) return <PublicPage />;
  return children;
}

export function App() {
  return <PublicOr><SignedIn /></PublicOr>;
}

function SignedIn() {
  const { session } = useSession();
  if (!session) return <SignIn />;
  return (
    <Shell>
      <Suspense fallback={<section className="page"><Loading /></section>}>
      <Switch>
        {routes.map((r) => <Route key={r.path} path={r.path} component={r.component} />)}
        <Route>
          <section className="page">
            <Empty title="No such page"><p>The address does not name a page of the console.</p></Empty>
          </section>
        </Route>
      </Switch>
      </Suspense>
    </Shell>
  );
}
