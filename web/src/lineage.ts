// The lineage of a dataset as a drawn DAG: dagre lays out its ancestors, descendants and
// versions (top to bottom, parents above children), and the graph is written as SVG
// with one link per dataset. The royalty path — the datasets a sale at the listed price
// credits, as AccessMarket.quote_release computes it — is drawn in the accent colour,
// with each one's share.
import dagre from "@dagrejs/dagre";
import { formatUnits } from "viem";
import { esc } from "./util";

export interface GraphNode {
  id: number;
  name: string | null;
  row_count: number;
  license: string;
  private: boolean;
  owner: string;
}

export interface GraphEdge {
  from: number;
  to: number;
  /** "parent": `to` was derived from `from`; "version": `to` is a new version of `from`. */
  kind: "parent" | "version";
}

export interface LineageGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const W = 190;
const H = 58;

function clip(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

/** Datasets on the royalty path: `credited` ids with the focus and the edges joining them
 * upward from the focus (parent -> child, both on the path). */
function onPath(graph: LineageGraph, focus: number, credited: Set<number>): Set<string> {
  const up = new Map<number, number[]>();
  for (const e of graph.edges) if (e.kind === "parent") up.set(e.to, [...(up.get(e.to) ?? []), e.from]);
  const edges = new Set<string>();
  const seen = new Set<number>([focus]);
  const queue = [focus];
  while (queue.length) {
    const child = queue.shift()!;
    for (const parent of up.get(child) ?? []) {
      if (!credited.has(parent)) continue;
      edges.add(`${parent}>${child}`);
      if (!seen.has(parent)) seen.add(parent), queue.push(parent);
    }
  }
  return edges;
}

/** The SVG of `graph` around `focus`, with `credits` (dataset id -> amount in base units
 * of an 18-decimal token) marking the royalty path. */
export function drawLineage(graph: LineageGraph, focus: number, credits: Map<number, bigint>, symbol = "SOIL"): string {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 46, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(String(n.id), { width: W, height: H });
  for (const e of graph.edges) g.setEdge(String(e.from), String(e.to), {}, `${e.kind}:${e.from}>${e.to}`);
  dagre.layout(g);
  const credited = new Set(credits.keys());
  const path = onPath(graph, focus, credited);
  const size = g.graph() as { width?: number; height?: number };
  const width = Math.ceil(size.width ?? W);
  const height = Math.ceil(size.height ?? H);
  const edges = graph.edges.map((e) => {
    const pts = (g.edge(String(e.from), String(e.to), `${e.kind}:${e.from}>${e.to}`) as { points: { x: number; y: number }[] }).points;
    const d = pts.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
    const royal = e.kind === "parent" && path.has(`${e.from}>${e.to}`);
    const cls = `edge ${e.kind}${royal ? " royalty" : ""}`;
    return `<path class="${cls}" data-from="${e.from}" data-to="${e.to}" d="${d}" marker-end="url(#arrow${royal ? "-royalty" : ""})"><title>${
      e.kind === "version" ? `#${e.to} is a new version of #${e.from}` : `#${e.to} derives from #${e.from}`
    }</title></path>`;
  });
  const nodes = graph.nodes.map((n) => {
    const box = g.node(String(n.id)) as { x: number; y: number };
    const x = box.x - W / 2;
    const y = box.y - H / 2;
    const credit = credits.get(n.id);
    const cls = ["node", n.id === focus ? "self" : "", credit !== undefined ? "royalty" : "", n.private ? "private" : ""].filter(Boolean).join(" ");
    const name = n.name ?? `dataset #${n.id}`;
    const second = credit !== undefined ? `receives ${formatUnits(credit, 18)} ${symbol}` : `${n.row_count} rows · ${n.license}`;
    return `<a href="#/dataset/${n.id}" class="${cls}" data-id="${n.id}" aria-label="${esc(`#${n.id} ${name}`)}">
      <rect x="${x}" y="${y}" width="${W}" height="${H}" rx="8"/>
      <text x="${x + 10}" y="${y + 22}" class="name">${esc(clip(name, 24))}</text>
      <text x="${x + 10}" y="${y + 42}" class="sub">#${n.id}${n.private ? " · private" : ""} · ${esc(clip(second, 26))}</text>
      <title>${esc(`#${n.id} ${name}: ${n.row_count} rows, ${n.license}, owner ${n.owner}`)}</title></a>`;
  });
  const label = `Lineage of dataset #${focus}: ${graph.nodes.length} datasets, ${graph.edges.length} links, ${credited.size} on the royalty path`;
  return `<svg id="graph" class="lineage" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(label)}">
    <defs>
      <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker>
      <marker id="arrow-royalty" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead royalty"/></marker>
    </defs>
    ${edges.join("")}${nodes.join("")}</svg>`;
}
