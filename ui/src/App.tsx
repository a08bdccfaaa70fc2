/** The app: signed out, the sign-in page; signed in, the shell around the route table's pages. */
import { Suspense } from 'react';
import { Route, Switch } from 'wouter';
import { Empty, Loading } from './components/ui/index.js';
import { routes } from './routes.js';
import { SignIn } from './pages/sign-in/SignIn.js';
import { Shell } from './Shell.js';
import { useSession } from './session.js';

export function App() {
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
