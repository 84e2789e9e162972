import { useState } from "preact/hooks";
import { ApiError, call, client, type Breakpoint, type Job } from "../api";
import { useDebounced, useLive } from "../live";
import { ErrorBox, Json, LiveBadge, Page, useLoad, when } from "../ui";

const TYPES = ["breakpoint.hit", "job.paused", "job.resumed", "job.completed", "job.failed", "job.cancelled"];

async function loadAll() {
  const page = await call(() => client.GET("/api/v1/breakpoints", { params: { query: { limit: 200 } } }));
  const waiting = [...new Set(page.items.flatMap((b) => b.waiting_jobs))].slice(0, 50);
  const jobs = await Promise.all(waiting.map((id) =>
    call(() => client.GET("/api/v1/jobs/{job_id}", { params: { path: { job_id: id } } })).catch(() => null)));
  const byId = new Map(jobs.filter((j): j is Job => j !== null).map((j) => [j.job_id, j]));
  return { breakpoints: page.items, total: page.total, jobs: byId };
}

export function BreakpointsPage() {
  const state = useLoad(loadAll, []);
  const [error, setError] = useState<ApiError | null>(null);
  const reload = useDebounced(state.reload, 200);
  const live = useLive({ types: TYPES }, null, reload, state.reload);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e as ApiError);
    }
    state.reload();
  };
  const resume = (b: Breakpoint, jobId?: string) => act(() => call(() => client.POST("/api/v1/breakpoints/{breakpoint_id}/resume", {
    params: { path: { breakpoint_id: b.breakpoint_id } }, body: jobId ? { job_id: jobId } : {},
  })));
  const remove = (b: Breakpoint) => act(() => call(() => client.DELETE("/api/v1/breakpoints/{breakpoint_id}", { params: { path: { breakpoint_id: b.breakpoint_id } } })));
  const items = state.data?.breakpoints ?? [];
  return (
    <Page title="Breakpoints" actions={<LiveBadge state={live} />}>
      <p class="muted">Set a breakpoint by clicking a routine on a flow's graph. A job pauses before the routine runs (when the condition holds) until it is resumed.</p>
      <ErrorBox error={state.error ?? error} />
      {!items.length && state.data && <p class="muted">No breakpoints.</p>}
      {items.map((b) => (
        <article class="card bp" key={b.breakpoint_id} data-breakpoint={b.breakpoint_id} aria-labelledby={`bp-${b.breakpoint_id}`}>
          <div class="page-head">
            <h2 id={`bp-${b.breakpoint_id}`}>
              <a href={`/ui/flows/${encodeURIComponent(b.flow_id)}`}>{b.flow_id}</a> · before <code>{b.routine_id}{b.slot ? `.${b.slot}` : ""}</code>
            </h2>
            <div class="actions">
              {b.waiting_jobs.length > 0 && <button type="button" onClick={() => resume(b)}>Resume all ({b.waiting_jobs.length})</button>}
              <button type="button" class="danger" onClick={() => remove(b)} aria-label={`Delete breakpoint before ${b.routine_id}`}>Delete</button>
            </div>
          </div>
          <p class="meta">
            {b.condition ? <>when <code>{b.condition}</code> · </> : "always · "}
            {b.job_id ? <>job {b.job_id} only · </> : null}
            {b.enabled ? "enabled" : "disabled"} · hit {b.hit_count} times · created {when(b.created_at)}
          </p>
          {b.waiting_jobs.length > 0 ? (
            <ul class="plain waiting">
              {b.waiting_jobs.map((id) => {
                const job = state.data?.jobs.get(id);
                return (
                  <li key={id} data-job={id}>
                    <div class="row">
                      <a href={`/ui/jobs/${encodeURIComponent(id)}`}>{id}</a>
                      <button type="button" onClick={() => resume(b, id)} aria-label={`Resume job ${id}`}>Resume</button>
                    </div>
                    {job?.paused_at && <Json value={job.paused_at.payload} label={`Payload of job ${id}`} />}
                  </li>
                );
              })}
            </ul>
          ) : <p class="muted">No job waiting here.</p>}
        </article>
      ))}
    </Page>
  );
}
