/**
 * Edge routes and their SVG paths, pure geometry. An error or timeout exit (not ranked by the
 * layout, see layout.ts) is routed orthogonally: down out of its source into the gap below the
 * source's layer, across that gap to a vertical lane right of every node of the layers it passes,
 * along the lane to the gap above the target's layer, and down into the target. Gaps between
 * layers hold no node, and each lane keeps its distance from the lanes already taken, so such a
 * route never runs under a node or along another route.
 */

export interface Point {
  x: number;
  y: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One layer of the layout: the nodes that share a centre line, and the band they cover. */
export interface Band {
  top: number;
  bottom: number;
  /** The right edge of its rightmost node. */
  right: number;
}

/** A vertical lane already taken, between `top` and `bottom`. */
export interface Lane {
  x: number;
  top: number;
  bottom: number;
}

/** Distance of a route from a layer's band, and between two lanes. */
const GAP_OFFSET = 12;
const LANE_GAP = 12;
/** Where on a node's bottom and top border these exits leave and arrive (share of the width). */
const SIDE = 0.8;

/** The layers of a top-to-bottom layout: nodes grouped by their centre line, top first. */
export function bandsOf(nodes: Rect[]): Band[] {
  const byCentre = new Map<number, Band>();
  for (const n of nodes) {
    const c = Math.round((n.y + n.height / 2) * 2) / 2;
    const b = byCentre.get(c);
    if (b) {
      b.top = Math.min(b.top, n.y);
      b.bottom = Math.max(b.bottom, n.y + n.height);
      b.right = Math.max(b.right, n.x + n.width);
    } else byCentre.set(c, { top: n.y, bottom: n.y + n.height, right: n.x + n.width });
  }
  return [...byCentre.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
}

const bandIndex = (bands: Band[], r: Rect): number => {
  const c = r.y + r.height / 2;
  const i = bands.findIndex((b) => b.top <= c && c <= b.bottom);
  return i === -1 ? 0 : i;
};

/** Drops repeated points and the middle one of three on a line. */
function simplify(points: Point[]): Point[] {
  const out: Point[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && Math.abs(last.x - p.x) < 0.01 && Math.abs(last.y - p.y) < 0.01) continue;
    const prev = out[out.length - 2];
    if (prev && last && ((Math.abs(prev.x - last.x) < 0.01 && Math.abs(last.x - p.x) < 0.01) || (Math.abs(prev.y - last.y) < 0.01 && Math.abs(last.y - p.y) < 0.01))) out.pop();
    out.push(p);
  }
  return out;
}

const LABEL_HEIGHT = 18;

/**
 * Where a label of `width` goes: centred at `at`, moved right along its gap (which holds no node)
 * past the labels already placed (`taken`), which it then joins.
 */
function placeLabel(at: Point, width: number, taken: Rect[]): Point {
  let x = at.x;
  const box = () => ({ x: x - width / 2, y: at.y - LABEL_HEIGHT / 2, width, height: LABEL_HEIGHT });
  for (let tries = 0; tries < 50; tries++) {
    const b = box();
    const hit = taken.find((t) => b.x < t.x + t.width && t.x < b.x + b.width && b.y < t.y + t.height && t.y < b.y + b.height);
    if (!hit) break;
    x = hit.x + hit.width + 4 + width / 2;
  }
  taken.push(box());
  return { x, y: at.y };
}

/**
 * The orthogonal route of an exit from `source` to `target` among the layout's `bands`; the lane
 * it takes is added to `lanes`. `labelWidth`: the label is put just right of where the route turns
 * out of the source's gap, inside that gap (no node there), clear of the labels in `labels`.
 */
export function routeAround(source: Rect, target: Rect, bands: Band[], lanes: Lane[], labelWidth = 0, labels: Rect[] = []): { points: Point[]; labelAt: Point } {
  const s = bandIndex(bands, source);
  const t = bandIndex(bands, target);
  const exitX = source.x + source.width * SIDE;
  const entryX = target.x + target.width * SIDE;
  const below = bands[s].bottom + GAP_OFFSET;
  const above = bands[t].top - GAP_OFFSET;
  const start = { x: exitX, y: source.y + source.height };
  const end = { x: entryX, y: target.y };
  if (t === s + 1) {
    // The next layer: across the one gap between them.
    const points = simplify([start, { x: exitX, y: below }, { x: entryX, y: below }, end]);
    return { points, labelAt: placeLabel({ x: Math.max(exitX, entryX) + 4 + labelWidth / 2, y: below }, labelWidth, labels) };
  }
  // The layers the lane passes beside: those between the two gaps.
  const [from, to] = t > s ? [s + 1, t - 1] : [t, s];
  let right = -Infinity;
  for (let i = from; i <= to; i++) right = Math.max(right, bands[i].right);
  let x = Math.max(exitX, entryX, right + LANE_GAP);
  const top = Math.min(below, above);
  const bottom = Math.max(below, above);
  // Right of every node of those layers, so moving further right stays clear of them.
  while (lanes.some((l) => Math.abs(l.x - x) < LANE_GAP && l.top < bottom + LANE_GAP && top - LANE_GAP < l.bottom)) x += LANE_GAP;
  lanes.push({ x, top, bottom });
  const points = simplify([start, { x: exitX, y: below }, { x, y: below }, { x, y: above }, { x: entryX, y: above }, end]);
  const labelY = t > s ? below + 4 + LABEL_HEIGHT / 2 : below - 4 - LABEL_HEIGHT / 2;
  return { points, labelAt: placeLabel({ x: x + 4 + labelWidth / 2, y: labelY }, labelWidth, labels) };
}

const f = (n: number): string => String(Math.round(n * 10) / 10);

/** A polyline with rounded corners (radius up to `radius`, less where a leg is short). */
export function orthogonalPath(points: Point[], radius = 8): string {
  if (points.length === 0) return '';
  let d = `M${f(points[0].x)},${f(points[0].y)}`;
  for (let i = 1; i < points.length - 1; i++) {
    const [a, b, c] = [points[i - 1], points[i], points[i + 1]];
    const inLen = Math.hypot(b.x - a.x, b.y - a.y);
    const outLen = Math.hypot(c.x - b.x, c.y - b.y);
    const r = Math.min(radius, inLen / 2, outLen / 2);
    const p1 = { x: b.x - ((b.x - a.x) / inLen) * r, y: b.y - ((b.y - a.y) / inLen) * r };
    const p2 = { x: b.x + ((c.x - b.x) / outLen) * r, y: b.y + ((c.y - b.y) / outLen) * r };
    d += ` L${f(p1.x)},${f(p1.y)} Q${f(b.x)},${f(b.y)} ${f(p2.x)},${f(p2.y)}`;
  }
  const last = points[points.length - 1];
  return points.length > 1 ? `${d} L${f(last.x)},${f(last.y)}` : d;
}

/** A smooth curve through the layout's points (a uniform B-spline, ending on the first and last). */
export function curvePath(points: Point[]): string {
  if (points.length === 0) return '';
  let d = `M${f(points[0].x)},${f(points[0].y)}`;
  if (points.length === 1) return d;
  if (points.length === 2) return `${d} L${f(points[1].x)},${f(points[1].y)}`;
  let [x0, y0, x1, y1] = [points[0].x, points[0].y, points[1].x, points[1].y];
  const step = (x: number, y: number) => {
    d += ` C${f((2 * x0 + x1) / 3)},${f((2 * y0 + y1) / 3)} ${f((x0 + 2 * x1) / 3)},${f((y0 + 2 * y1) / 3)} ${f((x0 + 4 * x1 + x) / 6)},${f((y0 + 4 * y1 + y) / 6)}`;
  };
  d += ` L${f((5 * x0 + x1) / 6)},${f((5 * y0 + y1) / 6)}`;
  for (let i = 2; i < points.length; i++) {
    const { x, y } = points[i];
    step(x, y);
    [x0, y0, x1, y1] = [x1, y1, x, y];
  }
  step(x1, y1);
  return `${d} L${f(x1)},${f(y1)}`;
}

/** True when the segment a–b passes through the inside of `r` (its border excluded by `inset`). */
export function segmentCrosses(a: Point, b: Point, r: Rect, inset = 1): boolean {
  const [minX, maxX, minY, maxY] = [r.x + inset, r.x + r.width - inset, r.y + inset, r.y + r.height - inset];
  if (minX >= maxX || minY >= maxY) return false;
  // Liang–Barsky clipping of the segment against the rectangle.
  let t0 = 0;
  let t1 = 1;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  for (const [p, q] of [[-dx, a.x - minX], [dx, maxX - a.x], [-dy, a.y - minY], [dy, maxY - a.y]] as const) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return t1 - t0 > 1e-6;
}
