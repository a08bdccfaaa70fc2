/**
 * The pages that load on first use (routes.tsx makes them lazy routes), each with what it always
 * shows fetched at the same time, not one after the other: the workflow pages their editor's
 * CodeMirror, beside the graph their own module brings. `preloadPage(path)` starts a page's fetch
 * early, when a link to it is pointed at or focused, so the click finds it loaded or on its way.
 */
import { loadCodeEditor } from '../components/editors.js';

export const loadWorkflowPage = () => Promise.all([import('./workflows/WorkflowPage.js'), loadCodeEditor()]).then(([m]) => m);
export const loadNewWorkflowPage = () => Promise.all([import('./workflows/NewWorkflowPage.js'), loadCodeEditor()]).then(([m]) => m);
export const loadRunPage = () => import('./runs/RunPage.js');
export const loadNewRunPage = () => import('./new-run/NewRunPage.js');
export const loadImportPage = () => import('./import/ImportPage.js');
export const loadStepTestPage = () => Promise.all([import('./step-test/StepTestPage.js'), loadCodeEditor()]).then(([m]) => m);
export const loadSettingsPage = () => import('./settings/SettingsPage.js');

const BY_PATH: [RegExp, () => Promise<unknown>][] = [
  [/^\/workflows\/new$/, loadNewWorkflowPage],
  [/^\/workflows\/[^/]+\/run$/, loadNewRunPage],
  [/^\/workflows\/[^/]+\/import$/, loadImportPage],
  [/^\/workflows\/[^/]+\/test$/, loadStepTestPage],
  [/^\/workflows\/[^/]+$/, loadWorkflowPage],
  [/^\/runs\/[^/]+$/, loadRunPage],
  [/^\/settings$/, loadSettingsPage],
];

/** Starts loading the page at `path` (a console path, query allowed); a load that fails is left to the route to report. */
export function preloadPage(path: string): void {
  const bare = path.split('?')[0];
  const hit = BY_PATH.find(([re]) => re.test(bare));
  hit?.[1]().catch(() => undefined);
}
