import { useState } from "preact/hooks";
import { ApiError, call, client, type Worker } from "../api";
import { useDebounced, useLive } from "../live";
import { ErrorBox, Json, LiveBadge, Page, Status, useLoad, when } from "../ui";

const TYPES = ["worker.paused", "worker.resumed", "job.queued", "job.started", "job.completed", "job.failed", "job.cancelled"];

export function WorkersPage() {
  const state = useLoad(() => call(() => client.GET("/api/v1/workers", { params: { query: { limit: 200 } } })), []);
  const [error, setError] = useState<ApiError | null>(null);
  const reload = useDebounced(state.reload, 500);
  const live = useLive({ types: TYPES }, null, reload, state.reload);
  const act = async (w: Worker, what: "pause" | "resume") => {
    setError(null);
    try {
      const path = what === "pause" ? "/api/v1/workers/{worker_id}/pause" : "/api/v1/workers/{worker_id}/resume";
      await call(() => client.POST(path, { params: { path: { worker_id: w.worker_id } } }));
    } catch (e) {
      setError(e as ApiError);
    }
    state.reload();
  };
  return (
    <Page title="Workers" actions={<LiveBadge state={live} />}>
      <ErrorBox error={state.error ?? error} />
      <table class="list">
        <thead><tr><th scope="col">Worker</th><th scope="col">Flow</th><th scope="col">Status</th><th scope="col">Active</th><th scope="col">Queued</th><th scope="col">Processed</th><th scope="col">Failed</th><th scope="col">Concurrency</th><th scope="col">Since</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>
          {(state.data?.items ?? []).map((w) => (
            <tr key={w.worker_id} data-worker={w.worker_id}>
              <td><code>{w.worker_id}</code></td>
              <td><a href={`/ui/flows/${encodeURIComponent(w.flow_id)}`}>{w.flow_id}</a></td>
              <td><Status status={w.status} /></td>
              <td>{w.active_jobs}</td>
              <td>{w.queued_jobs}</td>
              <td>{w.jobs_processed}</td>
              <td>{w.jobs_failed}</td>
              <td>{w.concurrency}</td>
              <td>{when(w.created_at)}</td>
              <td>
                {w.status === "paused"
                  ? <button type="button" onClick={() => act(w, "resume")} aria-label={`Resume worker of ${w.flow_id}`}>Resume</button>
                  : <button type="button" class="secondary" onClick={() => act(w, "pause")} disabled={w.status === "stopped"} aria-label={`Pause worker of ${w.flow_id}`}>Pause</button>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {state.data && !state.data.items.length && <p class="muted">No workers yet: a flow's worker starts with its first job.</p>}
    </Page>
  );
}

export function TypesPage() {
  const state = useLoad(() => call(() => client.GET("/api/v1/routine-types")), []);
  return (
    <Page title="Routine types">
      <ErrorBox error={state.error} />
      <div class="types">
        {(state.data?.items ?? []).map((t) => (
          <article class="card" key={t.name} aria-labelledby={`type-${t.name}`}>
            <h2 id={`type-${t.name}`}>{t.name} {t.aliases.length > 0 && <span class="muted small">also {t.aliases.join(", ")}</span>}</h2>
            <p>{t.description}</p>
            <dl class="facts">
              <dt>Slots</dt><dd>{t.slots.join(", ") || "—"}</dd>
              <dt>Events</dt><dd>{t.events.join(", ") || "—"}</dd>
              <dt>Activation</dt><dd>{t.activation}</dd>
            </dl>
            <details>
              <summary>Config schema</summary>
              <Json value={t.config_schema} label={`Config schema of ${t.name}`} />
            </details>
          </article>
        ))}
      </div>
    </Page>
  );
}
