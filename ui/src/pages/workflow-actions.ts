/**
 * Where the workflow page's action buttons lead: New run, Import from CSV, Test a step. Each takes
 * the workflow id (and, for the test, the step to preselect).
 */
const seg = encodeURIComponent;

export const newRunPath = (workflow: string): string => `/workflows/${seg(workflow)}/run`;
export const importPath = (workflow: string): string => `/workflows/${seg(workflow)}/import`;
export const stepTestPath = (workflow: string, step?: string): string =>
  `/workflows/${seg(workflow)}/test${step ? `?step=${seg(step)}` : ''}`;
export const workflowPath = (workflow: string): string => `/workflows/${seg(workflow)}`;
export const runPath = (run: string): string => `/runs/${seg(run)}`;
