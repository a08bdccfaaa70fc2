/**
 * The console's route table, in one place: each page adds one line here. Paths are the console's
 * own (the server answers index.html for any of them); `nav` routes appear in the top bar. A page
 * that loads on first use comes from pages/loaders.ts: App renders routes inside Suspense.
 */
import type { ComponentType } from 'react';
import { WorkflowsPage } from './pages/workflows/WorkflowsPage.js';
import { RunsPage } from './pages/runs/RunsPage.js';
import { pages } from './pages/loaders.js';

// The first screen's code is the sign-in page, the shell and the two lists. Every other page loads
// when first opened (pages/loaders.ts), and the graph (React Flow, dagre) and the editors
// (CodeMirror) with the first page that shows one, so the sign-in page and the lists come up at once.
const WorkflowPage = pages.workflow.Component;
const RunPage = pages.run.Component;
const NewWorkflowPage = pages.newWorkflow.Component;
const NewRunPage = pages.newRun.Component;
const ImportPage = pages.import.Component;
const StepTestPage = pages.stepTest.Component;
const SettingsPage = pages.settings.Component;
const LaunchPage = pages.launch.Component;

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
