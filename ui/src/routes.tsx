/**
 * The console's route table, in one place: each page adds one line here. Paths are the console's
 * own (the server answers index.html for any of them); `nav` routes appear in the top bar. A page
 * with heavy dependencies is `lazy(() => import(...))`: App renders routes inside Suspense.
 */
import { lazy, type ComponentType } from 'react';
import { WorkflowsPage } from './pages/workflows/WorkflowsPage.js';
import { SettingsPlaceholder, RunsPlaceholder } from './pages/placeholders.js';

// Pages with the graph and the editors (React Flow, CodeMirror) load when first opened, so the
// sign-in page and the lists come up at once.
const WorkflowPage = lazy(() => import('./pages/workflows/WorkflowPage.js').then((m) => ({ default: m.WorkflowPage })));
const NewWorkflowPage = lazy(() => import('./pages/workflows/NewWorkflowPage.js').then((m) => ({ default: m.NewWorkflowPage })));

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
  { path: '/runs', component: RunsPlaceholder, nav: 'Runs' },
  { path: '/settings', component: SettingsPlaceholder, nav: 'Settings' },
];
