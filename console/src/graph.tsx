// A flow drawn as a graph: routines are nodes (id and type), connections edges (event → slot).
import { Graph, layout } from "@dagrejs/dagre";
import { useMemo } from "preact/hooks";
import type { Flow, S } from "./api";

type Progress = Record<string, S["RoutineProgress"]>;

export interface GraphProps {
  flow: Flow;
  progress?: Progress;
  failed?: string | null; // the routine whose failure failed the job
  breakpoints?: Set<string>; // routine ids with a breakpoint
  paused?: string | null; // the routine a job waits before
  selected?: string | null;
  onSelect?: (routineId: string) => void;
  selectLabel?: string; // what clicking does, for screen readers
}

const NODE_W = 168;
const NODE_H = 54;

/** Where a job's input enters: the flow's entry, or every routine with no incoming edge. */
export function entryRoutines(flow: Flow): Set<string> {
  if (flow.entry) return new Set([flow.entry.split(".")[0]]);
  const targets = new Set((flow.connections ?? []).map((c) => c.to.split(".")[0]));
  return new Set(Object.keys(flow.routines).filter((id) => !targets.has(id)));
}

/** Left to right when that fits a pane; top to bottom when that is narrower (long chains). */
function laidOut(flow: Flow) {
  const across = layoutOf(flow, "LR");
  if (across.width <= FITS) return across;
  const down = layoutOf(flow, "TB");
  return down.width < across.width ? down : across;
}

const FITS = 1000; // px: at 70% (the least it shrinks) that still fits a pane at 1280 wide

function layoutOf(flow: Flow, rankdir: "LR" | "TB") {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir, nodesep: 24, ranksep: rankdir === "LR" ? 90 : 56, edgesep: 12, marginx: 12, marginy: 12 });
  for (const id of Object.keys(flow.routines)) g.setNode(id, { width: NODE_W, height: NODE_H });
  (flow.connections ?? []).forEach((c, i) => {
    const [from, event] = c.from.split(".");
    const [to, slot] = c.to.split(".");
    const label = `${event} → ${slot}`;
    g.setEdge(from, to, { label, width: label.length * 6.4 + 8, height: 16, labelpos: "c" }, `e${i}`);
  });
  layout(g);
  const graph = g.graph();
  const nodes = g.nodes().map((id) => ({ id, ...g.node(id) }));
  const edges = g.edges().map((e) => ({ key: e.name ?? `${e.v}-${e.w}`, from: e.v, to: e.w, ...g.edge(e) }));
  return { width: graph.width ?? 0, height: graph.height ?? 0, nodes, edges };
}

export function FlowGraph(props: GraphProps) {
  const { flow, progress, failed, breakpoints, paused, selected, onSelect } = props;
  const shape = useMemo(() => laidOut(flow), [flow]);
  const entries = useMemo(() => entryRoutines(flow), [flow]);
  return (
    <div class="graph" role="group" aria-label={`Graph of flow ${flow.flow_id}`}>
      <svg
        viewBox={`0 0 ${shape.width} ${shape.height}`}
        width={shape.width}
        height={shape.height}
        // Shrinks to the pane down to 70% of its size; past that the pane scrolls, text stays legible.
        style={{ width: "100%", maxWidth: `${shape.width}px`, minWidth: `${Math.round(shape.width * 0.7)}px`, height: "auto" }}
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill="#5b6472" />
          </marker>
        </defs>
        {shape.edges.map((e) => {
          const pts = (e.points ?? []) as { x: number; y: number }[];
          const d = pts.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
          return (
            <g class="edge" key={e.key} data-edge={`${e.from}->${e.to}`}>
              <path d={d} marker-end="url(#arrow)" />
              {e.x !== undefined && (
                <text x={e.x} y={(e.y ?? 0) + 4} text-anchor="middle">{String(e.label)}</text>
              )}
            </g>
          );
        })}
        {shape.nodes.map((n) => {
          const spec = flow.routines[n.id];
          const p = progress?.[n.id];
          const status = p?.status ?? "none";
          const x = n.x - NODE_W / 2;
          const y = n.y - NODE_H / 2;
          const classes = ["node", `st-${status}`];
          if (failed === n.id) classes.push("failed-here");
          if (paused === n.id) classes.push("paused-here");
          if (selected === n.id) classes.push("selected");
          const counts = p ? `${p.completed}/${p.activations}${p.failed ? ` · ${p.failed} failed` : ""}` : "";
          const bp = breakpoints?.has(n.id);
          const label = [
            `Routine ${n.id}, type ${spec.class}`,
            entries.has(n.id) ? "entry" : "",
            p ? `status ${p.status}, ${p.completed} of ${p.activations} activations completed` : "",
            bp ? "has a breakpoint" : "",
            paused === n.id ? "a job is paused here" : "",
            props.selectLabel ?? "",
          ].filter(Boolean).join(", ");
          const activate = onSelect ? () => onSelect(n.id) : undefined;
          return (
            <g
              key={n.id}
              class={classes.join(" ")}
              data-routine={n.id}
              data-status={status}
              transform={`translate(${x},${y})`}
              role={onSelect ? "button" : "img"}
              tabindex={onSelect ? 0 : undefined}
              aria-label={label}
              onClick={activate}
              onKeyDown={(ev) => {
                if (activate && (ev.key === "Enter" || ev.key === " ")) {
                  ev.preventDefault();
                  activate();
                }
              }}
            >
              <title>{label}</title>
              <rect class="box" width={NODE_W} height={NODE_H} rx="8" />
              <text class="rid" x="10" y="21">{n.id.length > 20 ? n.id.slice(0, 19) + "…" : n.id}</text>
              <text class="rtype" x="10" y="40">{spec.class}{counts ? `  ${counts}` : ""}</text>
              {entries.has(n.id) && (
                <g class="entry-mark"><rect x={NODE_W - 44} y="-9" width="40" height="16" rx="8" /><text x={NODE_W - 24} y="3" text-anchor="middle">entry</text></g>
              )}
              {bp && <circle class="bp-mark" cx="-1" cy="-1" r="7"><title>breakpoint</title></circle>}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

export const STATUS_LEGEND = ["pending", "running", "completed", "failed", "skipped", "idle", "error_continued"];
