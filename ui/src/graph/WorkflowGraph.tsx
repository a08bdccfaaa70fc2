/**
 * The workflow's graph on React Flow: the pure definition → nodes/edges conversion (build.ts) laid
 * out by dagre (layout.ts), pannable and zoomable. Used by the workflow page and the run page: a run
 * colours nodes by `states` and highlights the `path` it took; the editor marks nodes with `problems`.
 */
import { memo, useMemo } from 'react';
import {
  Background, Controls, Handle, MarkerType, MiniMap, Position, ReactFlow, ReactFlowProvider,
  type Edge, type Node, type NodeProps,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { buildGraph, END_NODE, START_NODE, type StepNode } from './build.js';
import { layoutGraph } from './layout.js';

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

const StepNodeView = memo(function StepNodeView({ data }: NodeProps<Node<NodeData>>) {
  const { step, state, onPath, problems, selected } = data;
  const cls = ['wf-node', `wf-node-${step.kind}`, state ? `wf-state-${state}` : '', onPath ? 'wf-on-path' : '', problems?.length ? 'wf-has-problem' : '', selected ? 'wf-selected' : '']
    .filter(Boolean).join(' ');
  const describe = [step.kind === 'step' ? `${step.type} step ${step.stepId}` : step.label, state ? STATE_LABEL[state] : '', problems?.length ? `${problems.length} problem(s): ${problems.join('; ')}` : '']
    .filter(Boolean).join(', ');
  return (
    <div className={cls} title={describe} data-step={step.stepId} data-state={state}>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      {step.kind === 'step' || step.kind === 'child' || step.kind === 'missing' ? (
        <>
          <div className="wf-node-head">
            <span className={`wf-type wf-type-${step.type}`}>{step.kind === 'child' ? 'workflow' : step.type}</span>
            {state ? <span className="wf-state">{STATE_LABEL[state]}</span> : null}
            {problems?.length ? <span className="wf-problem-count" aria-label={`${problems.length} problems`}>{problems.length}</span> : null}
          </div>
          <div className="wf-node-label">{step.label}</div>
          {step.kind === 'step' && step.label !== step.stepId ? <div className="wf-node-id mono">{step.stepId}</div> : null}
          {step.detail ? <div className="wf-node-detail">{step.detail}</div> : null}
        </>
      ) : (
        <div className="wf-node-label">{step.label}</div>
      )}
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
});

const nodeTypes = { step: StepNodeView };

function GraphInner({ definition, states, path, problems, selected, onSelect, label = 'Workflow graph', className }: WorkflowGraphProps) {
  const laid = useMemo(() => layoutGraph(buildGraph(definition)), [definition]);
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
    data: {
      step: n,
      state: n.stepId && n.kind === 'step' ? states?.[n.stepId] : undefined,
      onPath: (n.stepId !== undefined && n.kind === 'step' && onPathNodes.has(n.stepId)) || (n.id === START_NODE && onPathNodes.size > 0),
      problems: n.kind === 'step' && n.stepId ? problems?.[n.stepId] : undefined,
      selected: !!selected && n.stepId === selected && n.kind === 'step',
    },
  })), [laid, states, problems, selected, onPathNodes]);

  const edges: Edge[] = useMemo(() => laid.edges.map((e) => {
    const onPath = pathEdges.has(`${e.source}->${e.target}`) && e.target !== END_NODE;
    return {
      id: e.id,
      source: e.source,
      target: e.target,
      type: 'smoothstep',
      label: e.label,
      className: ['wf-edge', `wf-edge-${e.kind}`, onPath ? 'wf-edge-on-path' : ''].filter(Boolean).join(' '),
      markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
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
        fitView
        colorMode="system"
        fitViewOptions={{ maxZoom: 1, padding: 0.1, minZoom: 0.05 }}
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
      >
        <Background gap={20} size={1} />
        <Controls showInteractive={false} />
        {laid.nodes.length > 12 ? <MiniMap pannable zoomable ariaLabel="Graph overview" /> : null}
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
