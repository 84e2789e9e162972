import { useEffect, useState } from "preact/hooks";
import { ApiError, TERMINAL, call, client, fill, operation, raw, type Event, type Flow, type Job, type S } from "../api";
import { FlowGraph, STATUS_LEGEND } from "../graph";
import { useDebounced, useLive } from "../live";
import { query } from "../router";
import { ErrorBox, Json, LiveBadge, Page, Status, useLoad, when } from "../ui";

const STATUSES: S["JobStatus"][] = ["queued", "running", "paused", "cancelling", "completed", "failed", "cancelled"];
const EVENT_STATUS: Record<string, S["JobStatus"]> = {
  "job.queued": "queued", "job.started": "running", "job.paused": "paused", "job.resumed": "running",
  "job.recovered": "running", "job.retried": "queued",
  "job.cancelling": "cancelling", "job.completed": "completed", "job.failed": "failed", "job.cancelled": "cancelled",
};
const JOB_TYPES = Object.keys(EVENT_STATUS);

function toIso(local: string): string | undefined {
  return local ? new Date(local).toISOString() : undefined;
}

export function JobsPage() {
  const q = query();
  const [flowId, setFlowId] = useState(q.get("flow_id") ?? "");
  const [statuses, setStatuses] = useState<S["JobStatus"][]>(q.getAll("status") as S["JobStatus"][]);
  const [after, setAfter] = useState("");
  const [before, setBefore] = useState("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]); // the cursor of each page seen
  const cursor = cursors[cursors.length - 1];
  const filterKey = JSON.stringify([flowId, statuses, after, before]);
  const page = useLoad(() => call(() => client.GET("/api/v1/jobs", {
    params: { query: {
      limit: 50,
      ...(flowId.trim() ? { flow_id: flowId.trim() } : {}),
      ...(statuses.length ? { status: statuses } : {}),
      ...(after ? { created_after: toIso(after) } : {}),
      ...(before ? { created_before: toIso(before) } : {}),
      ...(cursor ? { cursor } : {}),
    } },
  })), [filterKey, cursor]);
  useEffect(() => setCursors([null]), [filterKey]);
  const reload = useDebounced(page.reload, 400);
  const live = useLive({ types: JOB_TYPES, ...(flowId.trim() ? { flow_id: flowId.trim() } : {}) }, null, (e: Event) => {
    const status = EVENT_STATUS[e.type];
    const items = page.data?.items ?? [];
    if (items.some((j) => j.job_id === e.job_id)) {
      page.setData((old) => old && { ...old, items: old.items.map((j) => (j.job_id === e.job_id ? { ...j, status } : j)) });
    } else if (cursors.length === 1 && e.type === "job.queued") {
      reload(); // a new job: on the first page, newest first
    }
  }, page.reload);
  const toggle = (s: S["JobStatus"]) => setStatuses((old) => (old.includes(s) ? old.filter((x) => x !== s) : [...old, s]));
  return (
    <Page title="Jobs" actions={<LiveBadge state={live} />}>
      <form class="filters card" onSubmit={(e) => e.preventDefault()} aria-label="Job filters">
        <fieldset>
          <legend>Status</legend>
          {STATUSES.map((s) => (
            <label key={s} class="check"><input type="checkbox" checked={statuses.includes(s)} onChange={() => toggle(s)} /> {s}</label>
          ))}
        </fieldset>
        <div><label for="jobs-flow">Flow</label><input id="jobs-flow" value={flowId} onChange={(e) => setFlowId(e.currentTarget.value)} placeholder="flow id" /></div>
        <div><label for="jobs-after">Created after</label><input id="jobs-after" type="datetime-local" step="1" value={after} onChange={(e) => setAfter(e.currentTarget.value)} /></div>
        <div><label for="jobs-before">Created before</label><input id="jobs-before" type="datetime-local" step="1" value={before} onChange={(e) => setBefore(e.currentTarget.value)} /></div>
      </form>
      <ErrorBox error={page.error} />
      <p class="muted" aria-live="polite">{page.data ? `${page.data.total} ${page.data.total === 1 ? "job" : "jobs"} · page ${cursors.length}` : "Loading…"}</p>
      <table class="list jobs">
        <thead><tr><th scope="col">Job</th><th scope="col">Flow</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Finished</th></tr></thead>
        <tbody>
          {(page.data?.items ?? []).map((j) => (
            <tr key={j.job_id} data-job={j.job_id}>
              <td><a href={`/ui/jobs/${encodeURIComponent(j.job_id)}`}>{j.job_id}</a></td>
              <td><a href={`/ui/flows/${encodeURIComponent(j.flow_id)}`}>{j.flow_id}</a></td>
              <td><Status status={j.status} /></td>
              <td>{when(j.created_at)}</td>
              <td>{when(j.finished_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label="Pages">
        <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors([null])}>First page</button>
        <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>Previous page</button>
        <button type="button" class="secondary" disabled={!page.data?.next_cursor} onClick={() => setCursors((c) => [...c, page.data!.next_cursor])}>Next page</button>
      </nav>
    </Page>
  );
}

function summary(e: Event): string {
  const d = e.data as Record<string, unknown>;
  if (e.type === "event.emitted") return `${String(d.event)} ${JSON.stringify(d.payload)}`;
  if (e.type === "breakpoint.hit") return `at ${String(d.slot ?? "")} ${JSON.stringify(d.payload)}`;
  if (d.error) return JSON.stringify(d.error);
  const text = JSON.stringify(d);
  return text === "{}" ? "" : text;
}

function Logs({ job }: { job: Job }) {
  const { data } = useLoad(async () => {
    const op = await operation("list_job_logs");
    if (!op) return null;
    return raw<{ items?: Record<string, unknown>[] } | Record<string, unknown>[]>(op.method, fill(op.path, { job_id: job.job_id }));
  }, [job.job_id, job.status]);
  if (!data) return null;
  const items = Array.isArray(data) ? data : data.items ?? [];
  return (
    <section class="card" aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      {items.length ? (
        <pre class="logs" tabIndex={0} aria-label="Log lines of this job">{items.map((l) => [
          l.time ? new Date(String(l.time)).toLocaleTimeString(undefined, { hour12: false }) : "",
          String(l.level ?? "").toUpperCase(), l.routine_id, l.message ?? JSON.stringify(l),
          l.exception ? `\n${String(l.exception)}` : "",
        ].filter(Boolean).join("  ")).join("\n")}</pre>
      ) : <p class="muted">No log lines.</p>}
    </section>
  );
}

export function JobPage({ jobId }: { jobId: string }) {
  const job = useLoad(() => call(() => client.GET("/api/v1/jobs/{job_id}", { params: { path: { job_id: jobId } } })), [jobId]);
  const [flow, setFlow] = useState<Flow | null>(null);
  const [events, setEvents] = useState<Event[]>([]);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const flowId = job.data?.flow_id;
  // The revision the job runs (servers that keep revisions say which), else the flow as it is.
  const revision = (job.data as { flow_revision?: number } | null)?.flow_revision;
  useEffect(() => {
    if (!flowId) return;
    void (async () => {
      const current = await call(() => client.GET("/api/v1/flows/{flow_id}", { params: { path: { flow_id: flowId } } }));
      if (!revision || current.revision === revision) return current;
      return raw<Flow>("GET", `/api/v1/flows/${encodeURIComponent(flowId)}?revision=${revision}`).catch(() => current);
    })().then(setFlow, () => setFlow(null));
  }, [flowId, revision]);
  useEffect(() => setEvents([]), [jobId]);
  const refresh = useDebounced(job.reload, 150);
  const live = useLive({ job_id: jobId }, 0, (e) => {
    setEvents((old) => (old.length > 2000 ? [...old.slice(-1500), e] : [...old, e]));
    if (e.type !== "event.emitted") refresh();
  }, refresh);
  if (job.error) return <Page title={`Job ${jobId}`}><ErrorBox error={job.error} /></Page>;
  const j = job.data;
  if (!j) return <Page title={`Job ${jobId}`}><p class="muted">Loading…</p></Page>;
  const act = async (fn: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await fn();
      job.reload();
    } catch (e) {
      setActionError(e as ApiError);
    }
  };
  const cancel = () => act(() => call(() => client.POST("/api/v1/jobs/{job_id}/cancel", { params: { path: { job_id: j.job_id } } })));
  const resume = () => act(() => call(() => client.POST("/api/v1/breakpoints/{breakpoint_id}/resume", {
    params: { path: { breakpoint_id: j.paused_at!.breakpoint_id } }, body: { job_id: j.job_id },
  })));
  const retry = () => act(() => call(() => client.POST("/api/v1/jobs/{job_id}/retry", { params: { path: { job_id: j.job_id } } })));
  const counts = Object.values(j.progress).reduce<Record<string, number>>((acc, p) => ({ ...acc, [p.status]: (acc[p.status] ?? 0) + 1 }), {});
  return (
    <Page
      title={<>Job <code>{j.job_id}</code> <Status status={j.status} /></>}
      actions={<>
        <LiveBadge state={live} />
        {!TERMINAL.has(j.status) && <button type="button" class="danger" onClick={cancel} disabled={j.status === "cancelling"}>Cancel job</button>}
        {j.status === "failed" && <button type="button" onClick={retry} title="Run what failed again, from the job's last checkpoint">Retry from checkpoint</button>}
      </>}
    >
      <p class="meta">
        Flow <a href={`/ui/flows/${encodeURIComponent(j.flow_id)}`}>{j.flow_id}</a>{revision ? ` (revision ${revision})` : ""} · worker <code>{j.worker_id}</code> · created {when(j.created_at)} · started {when(j.started_at)} · finished {when(j.finished_at)}{j.recoveries ? ` · resumed ${j.recoveries === 1 ? "once" : `${j.recoveries} times`} after a restart` : ""}
      </p>
      <ErrorBox error={actionError} />
      {j.error && (
        <div class="error-box" role="alert" id="job-error">
          <strong>Failed{j.error.routine_id ? <> in <code>{j.error.routine_id}</code></> : null}</strong> <span class="code">{j.error.code}</span>
          <div>{j.error.type}: {j.error.message}</div>
        </div>
      )}
      {j.paused_at && (
        <div class="card paused" role="status" id="paused">
          <h2>Paused before <code>{j.paused_at.routine_id}.{j.paused_at.slot}</code></h2>
          <p>The payload about to enter:</p>
          <Json value={j.paused_at.payload} label="Payload at the breakpoint" />
          <button type="button" onClick={resume}>Resume job</button>
        </div>
      )}
      <div class="split wide-left">
        <div class="pane">
          <h2>Progress</h2>
          <ul class="legend" aria-label="Routines by status">
            {STATUS_LEGEND.filter((s) => counts[s]).map((s) => <li key={s}><Status status={s} /> {counts[s]}</li>)}
          </ul>
          {flow ? (
            <FlowGraph flow={flow} progress={j.progress} failed={j.error?.routine_id ?? null} paused={j.paused_at?.routine_id ?? null} />
          ) : <p class="muted">Loading the flow…</p>}
        </div>
        <div class="pane">
          <h2>Input</h2>
          <Json value={j.input} label="Job input" />
          {Object.keys(j.metadata).length > 0 && <><h2>Metadata</h2><Json value={j.metadata} label="Job metadata" /></>}
          <h2>Output</h2>
          <Json value={j.output} label="Job output" />
        </div>
      </div>
      <section class="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline <span class="muted small">{events.length} events</span></h2>
        <ol class="timeline" tabIndex={0} aria-label="Events of this job">
          {events.map((e) => (
            <li key={e.id} class={`ev ev-${e.type.replace(".", "-")}`} data-type={e.type}>
              <time dateTime={e.timestamp}>{new Date(e.timestamp).toLocaleTimeString(undefined, { hour12: false })}</time>
              <span class="etype">{e.type}</span>
              {e.routine_id && <code>{e.routine_id}</code>}
              <span class="edata">{summary(e)}</span>
            </li>
          ))}
        </ol>
      </section>
      <Logs job={j} />
    </Page>
  );
}
