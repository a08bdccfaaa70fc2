/**
 * Positions for a workflow graph: a layered (Sugiyama) layout by dagre, top to bottom, computed
 * outside React from plain data. Pure: same graph in, same positions out.
 */
import dagre from '@dagrejs/dagre';
import type { StepNode, WorkflowGraphData } from './build.js';

export interface Size {
  width: number;
  height: number;
}

export interface PositionedNode extends StepNode {
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayoutResult {
  nodes: PositionedNode[];
  edges: WorkflowGraphData['edges'];
  width: number;
  height: number;
}

/** A node's box: steps are wide enough for their id and detail line; start and end are small. */
export function nodeSize(n: StepNode): Size {
  if (n.kind === 'start' || n.kind === 'end') return { width: 96, height: 36 };
  return { width: 220, height: n.detail ? 64 : 50 };
}

/**
 * Edges left out of the ranking: error and timeout exits often jump far (to a shared failure step
 * at the end), and every layer such an edge crosses costs dagre a dummy node to order: with them a
 * 200-step workflow took seconds, without them a fraction of one. They are still drawn.
 */
const NOT_RANKED = new Set(['on_error', 'on_timeout']);

export function layoutGraph(graph: WorkflowGraphData, direction: 'TB' | 'LR' = 'TB'): LayoutResult {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: direction, nodesep: 28, ranksep: 56, edgesep: 14, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, nodeSize(n));
  for (const e of graph.edges) {
    if (NOT_RANKED.has(e.kind)) continue;
    // Labelled edges get room for the label between the layers.
    g.setEdge(e.source, e.target, e.label ? { label: e.label, width: Math.min(160, e.label.length * 7 + 12), height: 18, labelpos: 'c' } : {}, e.id);
  }
  dagre.layout(g);
  const nodes = graph.nodes.map((n) => {
    const p = g.node(n.id) as { x: number; y: number; width: number; height: number };
    return { ...n, x: p.x - p.width / 2, y: p.y - p.height / 2, width: p.width, height: p.height };
  });
  const label = g.graph() as { width?: number; height?: number };
  return { nodes, edges: graph.edges, width: label.width ?? 0, height: label.height ?? 0 };
}
