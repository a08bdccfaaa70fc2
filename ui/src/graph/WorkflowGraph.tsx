/**
 * The workflow's graph on React Flow: the pure definition → nodes/edges conversion (build.ts) laid
 * out by dagre (layout.ts), pannable and zoomable. Used by the workflow page and the run page: a run
 * colours nodes by `states` and highlights the `path` it took; the editor marks nodes with `problems`.
 *
 * Boxes are sized to their text as the browser measures it (a canvas in the nodes' fonts); edges
 * are drawn along the routes the layout computed (routes.ts). A big graph opens on its first layers
 * at a readable zoom, not shrunk to fit: pan, zoom, the overview map or the fit button show the rest.
 */
import { memo, useEffect, useMemo, useRef } from 'react';
import {
  BaseEdge, Background, Controls, Handle, MarkerType, MiniMap, Position, ReactFlow, ReactFlowProvider,
  useReactFlow, type Edge, type EdgeProps, type FitViewOptions, type Node, type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { buildGraph, END_NODE, START_NODE, type StepNode } from './build.js';
import { layoutGraph, nodeLines, nodeTypeWord, type MeasureText, type NodeFont, type PositionedEdge } from './layout.js';
import { curvePath, orthogonalPath } from './routes.js';

export type StepState = 'not_reached' | 'running' | 'parked' | 'succeeded' | 'failed' | 'skipped';

export interface WorkflowGraphProps {
  /** The parsed definition (valid or not). */
  definition: unknown;
  /** Each step's state in a run: nodes are coloured by it. */
  states?: Record<string, StepState>;
  /** The step ids a run went through, in order: those nodes and the edges between them are highlighted. */
  path?: string[];
  /** Validation problems by step id: the node is marked and lists them. */
  problems?: Record<string, string[]>;
  /** The selected step (outlined). */
  selected?: string | null;
  onSelect?: (stepId: string) => void;
  /** Accessible name of the graph region. */
  label?: string;
  className?: string;
}

interface NodeData extends Record<string, unknown> {
  step: StepNode;
  state?: StepState;
  onPath: boolean;
  problems?: string[];
  selected: boolean;
}

const STATE_LABEL: Record<StepState, string> = {
  not_reached: 'not reached', running: 'running', parked: 'parked', succeeded: 'succeeded', failed: 'failed', skipped: 'skipped',
};

/** The fonts of the node lines (styles.css `.wf-node*`, `.react-flow__edge-text`), for measuring them. */
const SANS = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const FONTS: Record<NodeFont, string> = {
  type: `700 10px ${SANS}`, label: `600 13px ${SANS}`, id: '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', detail: `11px ${SANS}`, edge: `11px ${SANS}`,
};
let canvas: CanvasRenderingContext2D | null | undefined;
/** Text widths as this browser draws them; undefined where there is no canvas (the layout then estimates). */
function browserMeasure(): MeasureText | undefined {
  if (canvas === undefined) canvas = typeof document === 'undefined' ? null : document.createElement('canvas').getContext('2d');
  const ctx = canvas;
  if (!ctx) return undefined;
  // The type word is spaced .05em (0.5 px at 10 px).
  return (text, font) => {
    ctx.font = FONTS[font];
    return ctx.measureText(text).width + (font === 'type' ? text.length * 0.5 : 0);
  };
}

/** Everything a node shows, in full: its tooltip and its accessible name (the box may cut long lines). */
function describeNode(step: StepNode, state?: StepState, problems?: string[]): string {
  const lines = nodeLines(step);
  const what = step.kind === 'step' ? `${step.type} step ${step.stepId}` : step.kind === 'child' ? `child workflow ${step.label}` : step.label;
  return [
    what, lines.label !== step.stepId && step.kind === 'step' ? lines.label : '', step.kind !== 'step' ? '' : lines.detail ?? '', step.kind !== 'step' && step.detail ? step.detail : '',
    state ? STATE_LABEL[state] : '', problems?.length ? `${problems.length} problem${problems.length > 1 ? 's' : ''}: ${problems.join('; ')}` : '',
  ].filter(Boolean).join(' — ');
}

const StepNodeView = memo(function StepNodeView({ data }: NodeProps<Node<NodeData>>) {
  const { step, state, onPath, problems, selected } = data;
  const cls = ['wf-node', `wf-node-${step.kind}`, state ? `wf-state-${state}` : '', onPath ? 'wf-on-path' : '', problems?.length ? 'wf-has-problem' : '', selected ? 'wf-selected' : '']
    .filter(Boolean).join(' ');
  const lines = nodeLines(step);
  return (
    <div className={cls} title={describeNode(step, state, problems)} data-step={step.stepId} data-state={state}>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      {step.kind === 'step' || step.kind === 'child' || step.kind === 'missing' ? (
        <>
          <div className="wf-node-head">
            <span className={`wf-type wf-type-${step.type}`}>{nodeTypeWord(step)}</span>
            {state ? <span className="wf-state">{STATE_LABEL[state]}</span> : null}
            {problems?.length ? <span className="wf-problem-count" aria-hidden="true">{problems.length}</span> : null}
          </div>
          <div className="wf-node-label">{lines.label}</div>
          {lines.id !== undefined ? <div className="wf-node-id mono">{lines.id}</div> : null}
          {lines.detail !== undefined ? <div className="wf-node-detail">{lines.detail}</div> : null}
        </>
      ) : (
        <div className="wf-node-label">{step.label}</div>
      )}
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
});

interface EdgeData extends Record<string, unknown> {
  route: PositionedEdge;
}

/** An edge along the route the layout computed, its label where the layout left room for it. */
function RoutedEdge({ data, markerEnd, label, labelStyle, labelBgPadding, labelBgBorderRadius, sourceX, sourceY, targetX, targetY }: EdgeProps<Edge<EdgeData>>) {
  const route = data?.route;
  const path = !route || route.points.length < 2
    ? `M${sourceX},${sourceY} L${targetX},${targetY}`
    : route.shape === 'orthogonal' ? orthogonalPath(route.points) : curvePath(route.points);
  const at = route?.labelAt ?? { x: (sourceX + targetX) / 2, y: (sourceY + targetY) / 2 };
  return (
    <BaseEdge
      path={path} markerEnd={markerEnd} label={label} labelX={at.x} labelY={at.y}
      labelStyle={labelStyle} labelBgPadding={labelBgPadding} labelBgBorderRadius={labelBgBorderRadius} interactionWidth={0}
    />
  );
}

const nodeTypes = { step: StepNodeView };
const edgeTypes = { routed: RoutedEdge };

const EDGE_COLOR: Partial<Record<PositionedEdge['kind'], string>> = { on_error: 'var(--danger)', on_timeout: 'var(--warn)' };
const STATE_COLOR: Partial<Record<StepState, string>> = { succeeded: 'var(--good)', failed: 'var(--danger)', running: 'var(--info)', parked: 'var(--warn)' };
/** A node on the overview map: its run state's colour, red with problems, else the muted grey. */
const miniMapColor = (n: Node): string => {
  const d = n.data as NodeData;
  if (d.problems?.length) return 'var(--danger)';
  return (d.state && STATE_COLOR[d.state]) || 'var(--muted)';
};

/** Above this many nodes the graph opens on its first layers (this tall, in layout px) instead of all of it. */
const BIG_GRAPH = 40;
const FIRST_LAYERS_HEIGHT = 720;

function GraphInner({ definition, states, path, problems, selected, onSelect, label = 'Workflow graph', className }: WorkflowGraphProps) {
  const laid = useMemo(() => layoutGraph(buildGraph(definition), { measure: browserMeasure() }), [definition]);
  // A big graph opens on its first layers, readable; a small one fits whole, never above 100 %.
  const fitViewOptions: FitViewOptions = useMemo(() => {
    if (laid.nodes.length <= BIG_GRAPH) return { padding: 0.1, maxZoom: 1, minZoom: 0.2 };
    const top = Math.min(...laid.nodes.map((n) => n.y));
    return { padding: 0.05, maxZoom: 1, minZoom: 0.5, nodes: laid.nodes.filter((n) => n.y + n.height <= top + FIRST_LAYERS_HEIGHT).map((n) => ({ id: n.id })) };
  }, [laid]);
  // When steps come or go (a step typed in the editor), the view fits again so the new ones are in
  // sight; a change inside the steps (a run's states, a renamed field) leaves the view as it is.
  const shape = useMemo(() => laid.nodes.map((n) => n.id).join('\n'), [laid]);
  const { fitView } = useReactFlow();
  const fitted = useRef(shape);
  const fitOptions = useRef(fitViewOptions);
  fitOptions.current = fitViewOptions;
  useEffect(() => {
    if (fitted.current === shape) return;
    fitted.current = shape;
    // Two frames on: the new nodes are drawn and measured by then, and fitView counts only those.
    let frame = requestAnimationFrame(() => { frame = requestAnimationFrame(() => void fitView(fitOptions.current)); });
    return () => cancelAnimationFrame(frame);
  }, [shape, fitView]);
  const pathEdges = useMemo(() => {
    const set = new Set<string>();
    if (path && path.length) {
      set.add(`${START_NODE}->${path[0]}`);
      for (let i = 1; i < path.length; i++) set.add(`${path[i - 1]}->${path[i]}`);
    }
    return set;
  }, [path]);
  const onPathNodes = useMemo(() => new Set(path ?? []), [path]);

  const nodes: Node<NodeData>[] = useMemo(() => laid.nodes.map((n) => ({
    id: n.id,
    type: 'step',
    position: { x: n.x, y: n.y },
    width: n.width,
    height: n.height,
    draggable: false,
    connectable: false,
    selectable: n.kind === 'step',
    ariaLabel: describeNode(n, n.stepId && n.kind === 'step' ? states?.[n.stepId] : undefined, n.kind === 'step' && n.stepId ? problems?.[n.stepId] : undefined),
    data: {
      step: n,
      state: n.stepId && n.kind === 'step' ? states?.[n.stepId] : undefined,
      onPath: (n.stepId !== undefined && n.kind === 'step' && onPathNodes.has(n.stepId)) || (n.id === START_NODE && onPathNodes.size > 0),
      problems: n.kind === 'step' && n.stepId ? problems?.[n.stepId] : undefined,
      selected: !!selected && n.stepId === selected && n.kind === 'step',
    },
  })), [laid, states, problems, selected, onPathNodes]);

  const edges: Edge<EdgeData>[] = useMemo(() => laid.edges.map((e) => {
    const onPath = pathEdges.has(`${e.source}->${e.target}`) && e.target !== END_NODE;
    return {
      id: e.id,
      source: e.source,
      target: e.target,
      type: 'routed',
      data: { route: e },
      label: e.label,
      className: ['wf-edge', `wf-edge-${e.kind}`, onPath ? 'wf-edge-on-path' : ''].filter(Boolean).join(' '),
      // The arrow head in the line's colour (the stylesheet colours the line by kind and path).
      markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16, color: onPath ? 'var(--accent)' : EDGE_COLOR[e.kind] ?? 'var(--edge)' },
      labelBgPadding: [4, 2] as [number, number],
      labelBgBorderRadius: 3,
      focusable: false,
      animated: onPath && states?.[e.target] === 'running',
    };
  }), [laid, pathEdges, states]);

  return (
    <div className={`wf-graph ${className ?? ''}`} role="region" aria-label={label}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        fitView
        colorMode="system"
        fitViewOptions={fitViewOptions}
        minZoom={0.05}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        onlyRenderVisibleElements={laid.nodes.length > 60}
        onNodeClick={(_, node) => {
          const step = (node.data as NodeData).step;
          if (step.kind === 'step' && step.stepId) onSelect?.(step.stepId);
        }}
        // A focused step node (Tab reaches them) is chosen with Enter or Space, as a click chooses it.
        onKeyDown={(e) => {
          if (e.key !== 'Enter' && e.key !== ' ') return;
          const id = (e.target as HTMLElement).closest<HTMLElement>('.react-flow__node')?.dataset.id;
          const step = laid.nodes.find((n) => n.id === id);
          if (step?.kind === 'step' && step.stepId) {
            e.preventDefault();
            onSelect?.(step.stepId);
          }
        }}
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} />
        {laid.nodes.length > 12 ? <MiniMap pannable zoomable ariaLabel="Graph overview" nodeColor={miniMapColor} nodeBorderRadius={3} /> : null}
      </ReactFlow>
    </div>
  );
}

/** The graph, with its own React Flow store (several graphs may be on one page). */
export function WorkflowGraph(props: WorkflowGraphProps) {
  return (
    <ReactFlowProvider>
      <GraphInner {...props} />
    </ReactFlowProvider>
  );
}
