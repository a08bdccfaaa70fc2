/**
 * The console's route table, in one place: each page adds one line here. Paths are the console's
 * own (the server answers index.html for any of them); `nav` routes appear in the top bar. A page
 * with heavy dependencies is `lazy(() => import(...))`: App renders routes inside Suspense.
 */
import { lazy, type ComponentType } from 'react';
import { WorkflowsPage } from './pages/workflows/WorkflowsPage.js';
import { RunsPage } from './pages/runs/RunsPage.js';
import { NewRunPage } from './pages/new-run/NewRunPage.js';
import { ImportPage } from './pages/import/ImportPage.js';
import { StepTestPage } from './pages/step-test/StepTestPage.js';
import { SettingsPage } from './pages/settings/SettingsPage.js';

// Pages with the graph and the editors (React Flow, CodeMirror) load when first opened, so the
// sign-in page and the lists come up at once.
const WorkflowPage = lazy(() => import('./pages/workflows/WorkflowPage.js').then((m) => ({ default: m.WorkflowPage })));
const RunPage = lazy(() => import('./pages/runs/RunPage.js').then((m) => ({ default: m.RunPage })));
const NewWorkflowPage = lazy(() => import('./pages/workflows/NewWorkflowPage.js').then((m) => ({ default: m.NewWorkflowPage })));
const LaunchPage = lazy(() => import('./pages/launch/LaunchPage.js').then((m) => ({ default: m.LaunchPage })));

export interface RouteEntry {
  path: string;
  component: ComponentType<any>;
  /** The label in the top bar's navigation, for top-level pages. */
  nav?: string;
}

export const routes: RouteEntry[] = [
  { path: '/', component: WorkflowsPage },
  { path: '/workflows', component: WorkflowsPage, nav: 'Workflows' },
  { path: '/workflows/new', component: NewWorkflowPage },
  { path: '/workflows/:id', component: WorkflowPage },
  { path: '/runs', component: RunsPage, nav: 'Runs' },
  { path: '/runs/:id', component: RunPage },
  { path: '/workflows/:id/run', component: NewRunPage },
  { path: '/workflows/:id/import', component: ImportPage },
  { path: '/workflows/:id/test', component: StepTestPage },
  { path: '/settings', component: SettingsPage, nav: 'Settings' },
];

/**
 * Pages that need no sign-in and have no shell (no top bar, no links into the console): the Luma
 * launch-in-context view, opened by the key in its address.
 */
export const publicRoutes: RouteEntry[] = [
  { path: '/launch/:key', component: LaunchPage },
];
