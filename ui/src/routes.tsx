/**
 * The console's route table, in one place: each page adds one line here. Paths are the console's
 * own (the server answers index.html for any of them); `nav` routes appear in the top bar.
 */
import type { ComponentType } from 'react';
import { WorkflowsPage } from './pages/workflows/WorkflowsPage.js';
import { RunsPage } from './pages/runs/RunsPage.js';
import { RunPage } from './pages/runs/RunPage.js';
import { NewRunPage } from './pages/new-run/NewRunPage.js';
import { ImportPage } from './pages/import/ImportPage.js';
import { StepTestPage } from './pages/step-test/StepTestPage.js';
import { SettingsPage } from './pages/settings/SettingsPage.js';

export interface RouteEntry {
  path: string;
  component: ComponentType<any>;
  /** The label in the top bar's navigation, for top-level pages. */
  nav?: string;
}

export const routes: RouteEntry[] = [
  { path: '/', component: WorkflowsPage },
  { path: '/workflows', component: WorkflowsPage, nav: 'Workflows' },
  { path: '/runs', component: RunsPage, nav: 'Runs' },
  { path: '/runs/:id', component: RunPage },
  { path: '/workflows/:id/run', component: NewRunPage },
  { path: '/workflows/:id/import', component: ImportPage },
  { path: '/workflows/:id/test', component: StepTestPage },
  { path: '/settings', component: SettingsPage, nav: 'Settings' },
];
