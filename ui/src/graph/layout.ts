/**
 * Positions for a workflow graph: a layered (Sugiyama) layout by dagre, top to bottom, computed
 * outside React from plain data. Pure: same graph in, same positions out.
 *
 * Node boxes are sized to their text (type, name, id, detail line), within bounds: a longer text
 * is cut with an ellipsis where it is drawn, and the full text is in the node's tooltip. Edges get
 * their route from the layout: dagre's points for the ranked edges (which go around the nodes of
 * the layers they cross), and for error and timeout exits, which are left out of the ranking, an
 * orthogonal route of their own through the gaps between layers and down a lane beside the nodes
 * (routes.ts), so no edge is drawn under a node.
 */
import dagre from '@dagrejs/dagre';
import type { StepEdge, StepNode, WorkflowGraphData } from './build.js';
import { bandsOf, routeAround, type Lane, type Point, type Rect } from './routes.js';

export type { Point } from './routes.js';

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

export interface PositionedEdge extends StepEdge {
  /** The route, from the source's border to the target's. */
  points: Point[];
  /** Orthogonal routes are drawn with rounded corners, dagre's as a smooth curve. */
  shape: 'curve' | 'orthogonal';
  /** The centre of the label, when the edge has one. */
  labelAt?: Point;
}

export interface LayoutResult {
  nodes: PositionedNode[];
  edges: PositionedEdge[];
  width: number;
  height: number;
}

/** The width of `text` drawn in `font` (a canvas measure in the browser, an estimate elsewhere). */
export type MeasureText = (text: string, font: NodeFont) => number;
export type NodeFont = 'type' | 'label' | 'id' | 'detail' | 'edge';

/** Node box metrics, shared with the stylesheet (styles.css `.wf-node*`: keep them in step). */
export const NODE = {
  padX: 10, padY: 6, border: 2, head: 14, label: 18, line: 15,
  minWidth: 170, maxWidth: 300,
  /** Room in the head line for a run state ("not reached") and a problem count. */
  headExtra: 96,
  terminal: { width: 96, height: 36 },
} as const;

/** Average glyph widths of the node fonts, for layouts computed without a browser (tests). */
const AVERAGE_CHAR: Record<NodeFont, number> = { type: 7.2, label: 7.6, id: 6.7, detail: 6.2, edge: 6.4 };
export const estimateText: MeasureText = (text, font) => text.length * AVERAGE_CHAR[font];

/** The lines a node shows under its head: the name, the id when it differs, the detail. */
export function nodeLines(n: StepNode): { label: string; id?: string; detail?: string } {
  return {
    label: n.label,
    ...(n.kind === 'step' && n.stepId !== undefined && n.label !== n.stepId ? { id: n.stepId } : {}),
    ...(n.detail ? { detail: n.detail } : {}),
  };
}

/** The type word in the node's head. */
export const nodeTypeWord = (n: StepNode): string => (n.kind === 'child' ? 'workflow' : n.type).toUpperCase();

/** A node's box: as wide as its longest line (within bounds), as tall as its lines. */
export function nodeSize(n: StepNode, measure: MeasureText = estimateText): Size {
  if (n.kind === 'start' || n.kind === 'end') return { ...NODE.terminal };
  const lines = nodeLines(n);
  const content = Math.max(
    measure(nodeTypeWord(n), 'type') + NODE.headExtra,
    measure(lines.label, 'label'),
    lines.id !== undefined ? measure(lines.id, 'id') : 0,
    lines.detail !== undefined ? measure(lines.detail, 'detail') : 0,
  );
  const width = Math.min(NODE.maxWidth, Math.max(NODE.minWidth, Math.ceil(content) + 2 * (NODE.padX + NODE.border)));
  const height = 2 * (NODE.padY + NODE.border) + NODE.head + NODE.label + (lines.id !== undefined ? NODE.line : 0) + (lines.detail !== undefined ? NODE.line : 0);
  return { width, height };
}

/**
 * Edges left out of the ranking: error and timeout exits often jump far (to a shared failure step
 * at the end), and every layer such an edge crosses costs dagre a dummy node to order: with them a
 * 200-step workflow took seconds, without them a fraction of one. They are routed after the layout.
 */
const NOT_RANKED = new Set(['on_error', 'on_timeout']);
const RANK_SEP = 56;
const LABEL_HEIGHT = 18;

export interface LayoutOptions {
  measure?: MeasureText;
}

export function layoutGraph(graph: WorkflowGraphData, opts: LayoutOptions = {}): LayoutResult {
  const measure = opts.measure ?? estimateText;
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 32, ranksep: RANK_SEP, edgesep: 16, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, nodeSize(n, measure));
  const labelWidth = (label: string) => Math.min(220, Math.ceil(measure(label, 'edge')) + 12);
  for (const e of graph.edges) {
    if (NOT_RANKED.has(e.kind)) continue;
    // Labelled edges get room for the label between the layers.
    g.setEdge(e.source, e.target, e.label ? { label: e.label, width: labelWidth(e.label), height: LABEL_HEIGHT, labelpos: 'c' } : {}, e.id);
  }
  dagre.layout(g);
  const nodes: PositionedNode[] = graph.nodes.map((n) => {
    const p = g.node(n.id) as { x: number; y: number; width: number; height: number };
    return { ...n, x: p.x - p.width / 2, y: p.y - p.height / 2, width: p.width, height: p.height };
  });
  const rects = new Map<string, Rect>(nodes.map((n) => [n.id, n]));
  const bands = bandsOf(nodes);
  const lanes: Lane[] = [];
  // The ranked edges first: their labels are placed by dagre, the exits' labels keep clear of them.
  const labels: Rect[] = [];
  const ranked = new Map<string, PositionedEdge>();
  for (const e of graph.edges) {
    if (NOT_RANKED.has(e.kind)) continue;
    const laid = g.edge({ v: e.source, w: e.target, name: e.id }) as { points?: Point[]; x?: number; y?: number; width?: number } | undefined;
    const points = (laid?.points ?? []).map((p) => ({ x: p.x, y: p.y }));
    const labelAt = e.label && laid?.x !== undefined && laid.y !== undefined ? { x: laid.x, y: laid.y } : undefined;
    if (labelAt) labels.push({ x: labelAt.x - (laid!.width ?? 0) / 2, y: labelAt.y - LABEL_HEIGHT / 2, width: laid!.width ?? 0, height: LABEL_HEIGHT });
    ranked.set(e.id, { ...e, points, shape: 'curve', ...(labelAt ? { labelAt } : {}) });
  }
  const edges: PositionedEdge[] = graph.edges.map((e) => {
    const done = ranked.get(e.id);
    if (done) return done;
    const route = routeAround(rects.get(e.source)!, rects.get(e.target)!, bands, lanes, e.label ? labelWidth(e.label) : 0, labels);
    return { ...e, points: route.points, shape: 'orthogonal', ...(e.label ? { labelAt: route.labelAt } : {}) };
  });
  const label = g.graph() as { width?: number; height?: number };
  const laneRight = lanes.reduce((m, l) => Math.max(m, l.x + 16), 0);
  return { nodes, edges, width: Math.max(label.width ?? 0, laneRight), height: label.height ?? 0 };
}
