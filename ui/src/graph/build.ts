/**
 * A workflow definition → the nodes and edges of its graph. Pure: no React, no DOM; it accepts any
 * parsed document (also one that does not validate yet, as typed in the editor) and draws what it
 * can: one node per step, edges from `next` (or the following step), each `condition` case (labelled
 * with its `when`) and `default`, `on_error`, a `wait`'s `on_timeout`, and for `call`/`foreach` the
 * child workflow they start. Edges to a step that does not exist go to a "missing" node, so a typo
 * shows where it is.
 */

export type EdgeKind = 'next' | 'case' | 'default' | 'on_error' | 'on_timeout' | 'child';

export interface StepNode {
  id: string;
  kind: 'step' | 'start' | 'end' | 'child' | 'missing';
  /** The step's type (`http`, `condition`, …); for a child node, `call` or `foreach`. */
  type: string;
  label: string;
  /** The step's id as written (child nodes: the step that starts the child). */
  stepId?: string;
  /** The step's index in `steps` (to map problems at `steps[i]` to the node). */
  index?: number;
  /** A short line under the label: the method and URL of an http step, the child workflow, … */
  detail?: string;
}

export interface StepEdge {
  id: string;
  source: string;
  target: string;
  kind: EdgeKind;
  label?: string;
}

export interface WorkflowGraphData {
  nodes: StepNode[];
  edges: StepEdge[];
}

export const START_NODE = '__start';
export const END_NODE = '__end';
const CHILD_SUFFIX = '::child';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export const childNodeId = (stepId: string): string => `${stepId}${CHILD_SUFFIX}`;
export const missingNodeId = (target: string): string => `__missing:${target}`;

function shorten(s: string, max = 48): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function detailOf(step: Record<string, unknown>): string | undefined {
  switch (step.type) {
    case 'http': {
      const url = str(step.url);
      return url ? shorten(`${str(step.method) ?? 'GET'} ${url}`) : undefined;
    }
    case 'delay':
      return step.for !== undefined ? `for ${String(step.for)}` : step.until !== undefined ? `until ${shorten(String(step.until), 36)}` : undefined;
    case 'wait':
      return `timeout ${str(step.timeout) ?? '1d'}`;
    case 'call':
    case 'foreach':
      return str(step.workflow) ? `→ ${step.workflow as string}` : undefined;
    case 'end':
      return str(step.status) ?? 'succeeded';
    case 'reply':
      return str(step.status) === 'error' ? 'error reply' : undefined;
    default:
      return undefined;
  }
}

/** The graph of `definition` (a parsed workflow document, valid or not). */
export function buildGraph(definition: unknown): WorkflowGraphData {
  const nodes: StepNode[] = [];
  const edges: StepEdge[] = [];
  const def = isObj(definition) ? definition : {};
  const rawSteps = Array.isArray(def.steps) ? def.steps : [];
  const steps: { step: Record<string, unknown>; id: string; index: number }[] = [];
  const seen = new Set<string>();
  rawSteps.forEach((s, index) => {
    if (!isObj(s)) return;
    const id = str(s.id) ?? `#${index + 1}`;
    if (seen.has(id)) return; // a duplicate id is a validation problem; draw the first
    seen.add(id);
    steps.push({ step: s, id, index });
  });
  const ids = new Set(steps.map((s) => s.id));
  const missing = new Set<string>();
  let endUsed = false;
  const edgeIds = new Set<string>();

  const target = (to: string): string => {
    if (ids.has(to)) return to;
    missing.add(to);
    return missingNodeId(to);
  };
  const addEdge = (source: string, to: string, kind: EdgeKind, label?: string): void => {
    let id = `${source}->${to}:${kind}`;
    for (let n = 2; edgeIds.has(id); n++) id = `${source}->${to}:${kind}:${n}`;
    edgeIds.add(id);
    edges.push({ id, source, target: to, kind, ...(label !== undefined ? { label } : {}) });
  };
  const toEnd = (source: string, kind: EdgeKind, label?: string): void => {
    endUsed = true;
    addEdge(source, END_NODE, kind, label);
  };

  nodes.push({ id: START_NODE, kind: 'start', type: 'start', label: 'Start' });
  const start = str(def.start) ?? steps[0]?.id;
  if (start !== undefined) addEdge(START_NODE, target(start), 'next');
  else toEnd(START_NODE, 'next');

  steps.forEach(({ step, id, index }, i) => {
    const type = str(step.type) ?? '?';
    const name = str(step.name);
    nodes.push({ id, kind: 'step', type, label: name ?? id, stepId: id, index, ...(detailOf(step) ? { detail: detailOf(step) } : {}) });
    const following = steps[i + 1]?.id;
    const fallthrough = (kind: EdgeKind, label?: string): void => {
      const next = str(step.next);
      if (next !== undefined) addEdge(id, target(next), kind, label);
      else if (following !== undefined) addEdge(id, following, kind, label);
      else toEnd(id, kind, label);
    };
    if (type === 'condition') {
      const cases = Array.isArray(step.cases) ? step.cases : [];
      for (const c of cases) {
        if (!isObj(c)) continue;
        const when = c.when === undefined ? '?' : String(c.when);
        const next = str(c.next);
        if (next !== undefined) addEdge(id, target(next), 'case', shorten(when, 40));
      }
      const dflt = str(step.default);
      if (dflt !== undefined) addEdge(id, target(dflt), 'default', 'default');
      else fallthrough('default', 'default');
    } else if (type !== 'end') {
      fallthrough('next');
    }
    const onError = str(step.on_error);
    if (onError !== undefined) addEdge(id, target(onError), 'on_error', 'on error');
    const onTimeout = str(step.on_timeout);
    if (type === 'wait' && onTimeout !== undefined) addEdge(id, target(onTimeout), 'on_timeout', 'on timeout');
    if (type === 'end') toEnd(id, 'next');
    if ((type === 'call' || type === 'foreach') && str(step.workflow)) {
      const child = childNodeId(id);
      nodes.push({
        id: child, kind: 'child', type, label: step.workflow as string, stepId: id,
        detail: type === 'foreach' ? `one run per item${step.concurrency !== undefined ? `, ${String(step.concurrency)} at once` : ''}` : step.wait === false ? 'child run, not awaited' : 'child run',
      });
      addEdge(id, child, 'child', type === 'foreach' ? 'each item' : 'calls');
    }
  });

  for (const m of missing) nodes.push({ id: missingNodeId(m), kind: 'missing', type: 'missing', label: m, detail: 'no such step' });
  if (endUsed) nodes.push({ id: END_NODE, kind: 'end', type: 'end', label: 'End' });
  return { nodes, edges };
}

/** The node a problem's path points at (`steps[3].url` → the fourth step's node), if any. */
export function nodeForProblemPath(definition: unknown, path: string): string | null {
  const m = /^steps\[(\d+)\]/.exec(path);
  if (!m || !isObj(definition) || !Array.isArray(definition.steps)) return null;
  const step = definition.steps[Number(m[1])];
  return isObj(step) && typeof step.id === 'string' ? step.id : null;
}
