/**
 * The pages that load on first use (routes.tsx routes to them), each with what it always shows
 * fetched at the same time, not one after the other: the workflow pages their editor's CodeMirror,
 * beside the graph their own module brings. Once loaded, a page renders without suspending
 * (components/loadable.tsx). `preloadPage(path)` starts a page's fetch
 * early, when a link to it is pointed at or focused, so the click finds it loaded or on its way;
 * `warmUpLater()` loads the heavy ones once the first signed-in screen is up and the browser idle.
 */
import { loadCodeEditor } from '../components/editors.js';
import { loadable } from '../components/loadable.js';

// Each page module with what it always shows, fetched together.
const withEditor = <T,>(page: Promise<T>): Promise<T> => Promise.all([page, loadCodeEditor()]).then(([m]) => m);

export const pages = {
  workflow: loadable(() => withEditor(import('./workflows/WorkflowPage.js')).then((m) => m.WorkflowPage)),
  newWorkflow: loadable(() => withEditor(import('./workflows/NewWorkflowPage.js')).then((m) => m.NewWorkflowPage)),
  run: loadable(() => import('./runs/RunPage.js').then((m) => m.RunPage)),
  newRun: loadable(() => import('./new-run/NewRunPage.js').then((m) => m.NewRunPage)),
  import: loadable(() => import('./import/ImportPage.js').then((m) => m.ImportPage)),
  stepTest: loadable(() => withEditor(import('./step-test/StepTestPage.js')).then((m) => m.StepTestPage)),
  settings: loadable(() => import('./settings/SettingsPage.js').then((m) => m.SettingsPage)),
  launch: loadable(() => import('./launch/LaunchPage.js').then((m) => m.LaunchPage)),
};

const BY_PATH: [RegExp, () => Promise<unknown>][] = [
  [/^\/workflows\/new$/, pages.newWorkflow.preload],
  [/^\/workflows\/[^/]+\/run$/, pages.newRun.preload],
  [/^\/workflows\/[^/]+\/import$/, pages.import.preload],
  [/^\/workflows\/[^/]+\/test$/, pages.stepTest.preload],
  [/^\/workflows\/[^/]+$/, pages.workflow.preload],
  [/^\/runs\/[^/]+$/, pages.run.preload],
  [/^\/settings$/, pages.settings.preload],
];

/**
 * Loads the graph and editor pages' code in the background, once the first signed-in screen has
 * been shown for a moment and the browser is idle: the first screen stays small, and opening a
 * workflow or a run later does not wait for React Flow and CodeMirror.
 */
export function warmUpLater(delayMs = 1000): () => void {
  let idle: number | undefined;
  const timer = setTimeout(() => {
    const run = () => { pages.workflow.preload().catch(() => undefined); pages.run.preload().catch(() => undefined); };
    if (typeof requestIdleCallback === 'function') idle = requestIdleCallback(run, { timeout: 5000 });
    else run();
  }, delayMs);
  return () => {
    clearTimeout(timer);
    if (idle !== undefined) cancelIdleCallback(idle);
  };
}

/** Starts loading the page at `path` (a console path, query allowed); a load that fails is left to the route to report. */
export function preloadPage(path: string): void {
  const bare = path.split('?')[0];
  const hit = BY_PATH.find(([re]) => re.test(bare));
  hit?.[1]().catch(() => undefined);
}
