import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { LineCounter, parseDocument, stringify, isMap, isPair, isScalar, type Node as YNode } from "yaml";
import { ApiError, call, client, fill, knownEventTypes, operation, raw, type Breakpoint, type Flow, type Job } from "../api";
import { useDebounced, useLive } from "../live";
import type { Filter } from "../ws";
import { FlowGraph } from "../graph";
import { navigate } from "../router";
import { ErrorBox, FieldError, LiveBadge, Page, Status, parseObject, useLoad, when } from "../ui";

const BOOKKEEPING = new Set(["revision", "created_at", "updated_at"]);
const FLOW_PAGE_TYPES = ["flow.updated", "job.queued", "job.completed", "job.failed", "job.cancelled", "breakpoint.hit"];

/** The flow's document, as the user would write it (bookkeeping left out). */
export function flowYaml(flow: Flow): string {
  const doc: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flow)) if (!BOOKKEEPING.has(k)) doc[k] = v;
  return stringify(withoutNulls(doc) ?? {}, { lineWidth: 100 });
}

/** Leave out what was not written: null values, and the objects left empty without them. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const kept = withoutNulls(v);
    const emptyObject = kept !== null && typeof kept === "object" && !Array.isArray(kept) && !Object.keys(kept).length;
    if (kept !== null && kept !== undefined && !(emptyObject && v !== null && Object.keys(v as object).length)) out[k] = kept;
  }
  return out;
}

export function FlowsPage() {
  const [search, setSearch] = useState("");
  const [flows, setFlows] = useState<Flow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const [loaded, setLoaded] = useState(false);
  const load = async (after: string | null) => {
    try {
      const page = await call(() => client.GET("/api/v1/flows", { params: { query: { limit: 200, ...(after ? { cursor: after } : {}) } } }));
      setFlows((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setTotal(page.total);
      setLoaded(true);
    } catch (e) {
      setError(e as ApiError);
    }
  };
  useEffect(() => void load(null), []);
  const needle = search.trim().toLowerCase();
  // A search covers every flow: while one is typed, the remaining pages load one after another.
  useEffect(() => {
    if (needle && cursor) void load(cursor);
  }, [needle !== "", cursor]);
  const shown = flows.filter((f) =>
    !needle || [f.flow_id, f.name ?? "", f.description ?? "", ...Object.values(f.routines).map((r) => r.class)]
      .some((s) => s.toLowerCase().includes(needle)));
  return (
    <Page title="Flows" actions={<a class="button" href="/ui/flows/new">New flow</a>}>
      <ErrorBox error={error} />
      <div class="filters">
        <label for="flow-search">Search flows</label>
        <input id="flow-search" type="search" placeholder="id, name, routine type" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <span class="muted">{shown.length} shown of {total}</span>
      </div>
      <table class="list">
        <thead><tr><th scope="col">Flow</th><th scope="col">Name</th><th scope="col">Routines</th><th scope="col">Revision</th><th scope="col">Updated</th></tr></thead>
        <tbody>
          {shown.map((f) => (
            <tr key={f.flow_id}>
              <td><a href={`/ui/flows/${encodeURIComponent(f.flow_id)}`}>{f.flow_id}</a></td>
              <td>{f.name ?? ""}</td>
              <td>{Object.keys(f.routines).length}</td>
              <td>{f.revision}</td>
              <td>{when(f.updated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loaded && !error && <p class="muted">Loading…</p>}
      {loaded && !shown.length && <p class="muted">No flows{needle ? " match" : " yet: create one"}.</p>}
      {cursor && <button type="button" onClick={() => load(cursor)}>Load more flows</button>}
    </Page>
  );
}

function RunForm({ flow }: { flow: Flow }) {
  const [input, setInput] = useState("{}");
  const [metadata, setMetadata] = useState("");
  const [errors, setErrors] = useState<{ data: string[]; metadata: string[]; other: ApiError | null }>({ data: [], metadata: [], other: null });
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const data = parseObject(input, "The input");
    const meta = parseObject(metadata, "The metadata");
    if (data.error || meta.error) {
      setErrors({ data: data.error ? [data.error] : [], metadata: meta.error ? [meta.error] : [], other: null });
      return;
    }
    setBusy(true);
    try {
      const job = await call(() => client.POST("/api/v1/flows/{flow_id}/execute", {
        params: { path: { flow_id: flow.flow_id } },
        body: { data: data.value!, ...(metadata.trim() ? { metadata: meta.value } : {}) },
      }));
      navigate(`/ui/jobs/${encodeURIComponent(job.job_id)}`);
    } catch (err) {
      const api = err as ApiError;
      const at = (field: string) => api.errorsAt("body", field).map((x) => `${x.loc.slice(2).join(".") || field}: ${x.msg}`);
      const d = at("data");
      const m = at("metadata");
      setErrors({ data: d, metadata: m, other: d.length || m.length ? null : api });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card run" onSubmit={submit} aria-labelledby="run-title">
      <h2 id="run-title">Run</h2>
      <label for="run-input">Input (JSON)</label>
      <textarea id="run-input" rows={5} spellcheck={false} value={input} onInput={(e) => setInput(e.currentTarget.value)}
        aria-invalid={errors.data.length > 0} aria-describedby="run-input-error" />
      <FieldError id="run-input-error" messages={errors.data} />
      <label for="run-metadata">Metadata (JSON, optional)</label>
      <textarea id="run-metadata" rows={2} spellcheck={false} value={metadata} onInput={(e) => setMetadata(e.currentTarget.value)}
        aria-invalid={errors.metadata.length > 0} aria-describedby="run-metadata-error" placeholder='{"source": "console"}' />
      <FieldError id="run-metadata-error" messages={errors.metadata} />
      <ErrorBox error={errors.other} />
      <button type="submit" disabled={busy}>Run flow</button>
    </form>
  );
}

function BreakpointForm({ flow, routine, onDone }: { flow: Flow; routine: string; onDone: () => void }) {
  const [condition, setCondition] = useState("");
  const [errs, setErrs] = useState<string[]>([]);
  const [other, setOther] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await call(() => client.POST("/api/v1/breakpoints", {
        body: { flow_id: flow.flow_id, routine_id: routine, enabled: true, ...(condition.trim() ? { condition: condition.trim() } : {}) },
      }));
      setCondition(""); setErrs([]); setOther(null);
      onDone();
    } catch (err) {
      const api = err as ApiError;
      const at = api.errorsAt("body", "condition").map((x) => x.msg);
      setErrs(at.length ? at : []);
      setOther(at.length ? null : api);
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby="bp-title">
      <h2 id="bp-title">Breakpoint before <code>{routine}</code></h2>
      <label for="bp-condition">Condition (CEL over <code>data</code>, optional)</label>
      <input id="bp-condition" value={condition} placeholder="data.age > 60" onInput={(e) => setCondition(e.currentTarget.value)}
        aria-invalid={errs.length > 0} aria-describedby="bp-condition-error" spellcheck={false} autoFocus />
      <FieldError id="bp-condition-error" messages={errs} />
      <ErrorBox error={other} />
      <button type="submit">Set breakpoint</button>
    </form>
  );
}

function Revisions({ flow }: { flow: Flow }) {
  const { data } = useLoad(async () => {
    const op = await operation("list_flow_revisions");
    if (!op) return null;
    return raw<{ items?: Record<string, unknown>[] } | Record<string, unknown>[]>(op.method, fill(op.path, { flow_id: flow.flow_id }));
  }, [flow.flow_id, flow.revision]);
  const [open, setOpen] = useState<number | null>(null);
  if (!data) return null;
  const items = Array.isArray(data) ? data : data.items ?? [];
  return (
    <section class="card" aria-labelledby="rev-title">
      <h2 id="rev-title">Revisions</h2>
      <ul class="plain">
        {items.map((r, i) => (
          <li key={i}>
            <button type="button" class="link" aria-expanded={open === i} onClick={() => setOpen(open === i ? null : i)}>
              Revision {String(r.revision ?? i + 1)}
            </button>{" "}
            <span class="muted">{when((r.updated_at ?? r.created_at) as string | undefined)}</span>
            {open === i && <pre class="yaml">{r.routines ? flowYaml(r as unknown as Flow) : JSON.stringify(r, null, 2)}</pre>}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function FlowPage({ flowId }: { flowId: string }) {
  const flow = useLoad(() => call(() => client.GET("/api/v1/flows/{flow_id}", { params: { path: { flow_id: flowId } } })), [flowId]);
  const bps = useLoad(() => call(() => client.GET("/api/v1/breakpoints", { params: { query: { flow_id: flowId, limit: 200 } } })), [flowId]);
  const jobs = useLoad(() => call(() => client.GET("/api/v1/jobs", { params: { query: { flow_id: flowId, limit: 5 } } })), [flowId]);
  const [selected, setSelected] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [force, setForce] = useState(false);
  const [deleteError, setDeleteError] = useState<ApiError | null>(null);
  const [canUpdate, setCanUpdate] = useState(false);
  useEffect(() => void operation("update_flow").then((op) => setCanUpdate(op !== null)), []);
  const bpSet = useMemo(() => new Set((bps.data?.items ?? []).map((b) => b.routine_id)), [bps.data]);
  // Live: a new revision redraws the page; jobs and breakpoint hits refresh their lists.
  const [filter, setFilter] = useState<Filter | null>(null);
  useEffect(() => void knownEventTypes(FLOW_PAGE_TYPES).then((types) => setFilter({ flow_id: flowId, types })), [flowId]);
  const refreshJobs = useDebounced(jobs.reload, 300);
  const refreshBps = useDebounced(bps.reload, 300);
  const live = useLive(filter, null, (e) => {
    if ((e.type as string) === "flow.updated") flow.reload();
    else if (e.type === "breakpoint.hit") refreshBps();
    else refreshJobs();
  }, () => { flow.reload(); jobs.reload(); bps.reload(); });
  if (flow.error) return <Page title={`Flow ${flowId}`}><ErrorBox error={flow.error} /></Page>;
  const f = flow.data;
  if (!f) return <Page title={`Flow ${flowId}`}><p class="muted">Loading…</p></Page>;
  const remove = async () => {
    try {
      await call(() => client.DELETE("/api/v1/flows/{flow_id}", { params: { path: { flow_id: f.flow_id }, query: force ? { force: true } : {} } }));
      navigate("/ui/flows");
    } catch (e) {
      setDeleteError(e as ApiError);
    }
  };
  return (
    <Page
      title={<>Flow <code>{f.flow_id}</code></>}
      actions={<>
        <LiveBadge state={live} />
        {canUpdate && <a class="button secondary" href={`/ui/flows/${encodeURIComponent(f.flow_id)}/edit`}>Edit</a>}
        <a class="button secondary" href={`/ui/jobs?flow_id=${encodeURIComponent(f.flow_id)}`}>Jobs</a>
        <button type="button" class="danger" onClick={() => setConfirming(true)}>Delete</button>
      </>}
    >
      {f.name && <p class="lead">{f.name}{f.description ? ` — ${f.description}` : ""}</p>}
      {confirming && (
        <div class="card confirm" role="alertdialog" aria-labelledby="del-title">
          <h2 id="del-title">Delete flow {f.flow_id}?</h2>
          <label class="check"><input type="checkbox" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} /> Also cancel its unfinished jobs (force)</label>
          <ErrorBox error={deleteError} />
          <div class="actions">
            <button type="button" class="danger" onClick={remove}>Delete for good</button>
            <button type="button" class="secondary" onClick={() => { setConfirming(false); setDeleteError(null); }}>Keep it</button>
          </div>
        </div>
      )}
      <div class="split">
        <div class="pane">
          <h2>Graph <span class="muted small">revision {f.revision} · click a routine to set a breakpoint</span></h2>
          <FlowGraph flow={f} breakpoints={bpSet} selected={selected} onSelect={setSelected} selectLabel="press to set a breakpoint" />
          {selected && <BreakpointForm flow={f} routine={selected} onDone={() => { setSelected(null); bps.reload(); }} />}
          {(bps.data?.items.length ?? 0) > 0 && (
            <p>Breakpoints: {bps.data!.items.map((b: Breakpoint) => <code key={b.breakpoint_id} class="chip">{b.routine_id}{b.condition ? ` if ${b.condition}` : ""}</code>)} <a href="/ui/breakpoints">manage</a></p>
          )}
        </div>
        <div class="pane">
          <h2>Document (YAML)</h2>
          <pre class="yaml" tabIndex={0} aria-label="Flow document in YAML">{flowYaml(f)}</pre>
        </div>
      </div>
      <div class="split">
        <RunForm flow={f} />
        <section class="card" aria-labelledby="recent-title">
          <h2 id="recent-title">Recent jobs</h2>
          <ul class="plain">
            {(jobs.data?.items ?? []).map((j: Job) => (
              <li key={j.job_id}><a href={`/ui/jobs/${encodeURIComponent(j.job_id)}`}>{j.job_id}</a> <Status status={j.status} /> <span class="muted">{when(j.created_at)}</span></li>
            ))}
          </ul>
          {!jobs.data?.items.length && <p class="muted">No jobs yet.</p>}
        </section>
      </div>
      <Revisions flow={f} />
    </Page>
  );
}

interface Located { line: number | null; where: string; msg: string }

/** Each 422 error of a flow document, with the line of the text it names (when it can be found). */
export function locate(text: string, error: ApiError): Located[] {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, keepSourceTokens: false });
  const lineOf = (path: (string | number)[]): number | null => {
    for (let n = path.length; n >= 0; n--) {
      const head = path.slice(0, n);
      const parent = n ? (doc.getIn(head.slice(0, -1), true) as YNode | undefined) : undefined;
      if (n && isMap(parent)) {
        const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(head[n - 1]));
        const key = pair?.key as YNode | undefined;
        if (key?.range) return counter.linePos(key.range[0]).line;
      }
      const node = (n ? doc.getIn(head, true) : doc.contents) as YNode | undefined;
      if (node && typeof node === "object" && "range" in node && node.range) return counter.linePos(node.range[0]).line;
    }
    return null;
  };
  const items = error.problem.errors ?? [];
  if (!items.length) return [{ line: null, where: "", msg: error.problem.detail }];
  return items.map((e) => {
    const path = e.loc[0] === "body" ? e.loc.slice(1) : e.loc;
    return { line: lineOf(path), where: path.join("."), msg: e.msg };
  });
}

export function NewFlowPage({ editing }: { editing?: string }) {
  const [text, setText] = useState("");
  const [located, setLocated] = useState<Located[]>([]);
  const [other, setOther] = useState<ApiError | null>(null);
  const area = useRef<HTMLTextAreaElement>(null);
  const etag = useRef<string | null>(null); // sent as If-Match: an edit never overwrites another
  useEffect(() => {
    if (!editing) return;
    void call(async () => {
      const result = await client.GET("/api/v1/flows/{flow_id}", { params: { path: { flow_id: editing } } });
      etag.current = result.response.headers.get("ETag");
      return result;
    }).then((f) => setText(flowYaml(f)), (e) => setOther(e as ApiError));
  }, [editing]);
  const goTo = (line: number) => {
    const el = area.current;
    if (!el) return;
    const lines = text.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    setLocated([]); setOther(null);
    const isJson = text.trimStart().startsWith("{");
    const type = isJson ? "application/json" : "application/yaml";
    try {
      let flow: Flow;
      if (editing) {
        const op = await operation("update_flow");
        const ifMatch: Record<string, string> = etag.current ? { "If-Match": etag.current } : {};
        flow = await raw<Flow>(op?.method ?? "PUT", fill(op?.path ?? "/api/v1/flows/{flow_id}", { flow_id: editing }), text, type, ifMatch);
      } else {
        flow = await raw<Flow>("POST", "/api/v1/flows", text, type);
      }
      navigate(`/ui/flows/${encodeURIComponent(flow.flow_id)}`);
    } catch (err) {
      const api = err as ApiError;
      if (api.status === 422 || api.status === 400) setLocated(locate(text, api));
      else setOther(api);
    }
  };
  const lineCount = text.split("\n").length;
  const bad = new Set(located.map((l) => l.line).filter((l): l is number => l !== null));
  return (
    <Page title={editing ? <>Edit flow <code>{editing}</code></> : "New flow"}>
      <form onSubmit={submit} class="card">
        <div class="filters">
          <label for="flow-file">Upload a YAML or JSON file</label>
          <input id="flow-file" type="file" accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml" onChange={async (e) => {
            const file = e.currentTarget.files?.[0];
            if (file) setText(await file.text());
          }} />
        </div>
        <label for="flow-text">Flow document (YAML or JSON)</label>
        <div class="editor">
          <div class="gutter" aria-hidden="true">
            {Array.from({ length: lineCount }, (_, i) => <div key={i} class={bad.has(i + 1) ? "bad" : ""}>{i + 1}</div>)}
          </div>
          <textarea id="flow-text" ref={area} rows={Math.max(14, lineCount + 1)} spellcheck={false} value={text}
            onInput={(e) => setText(e.currentTarget.value)} required wrap="off"
            aria-invalid={located.length > 0} aria-describedby="flow-errors"
            placeholder={"flow_id: greet\nroutines:\n  shape: {class: Mapper, config: {mappings: {name: user.name}}}\n"} />
        </div>
        <div id="flow-errors" role="alert">
          {located.length > 0 && (
            <ul class="field-error located">
              {located.map((l, i) => (
                <li key={i} data-line={l.line ?? ""}>
                  {l.line !== null ? <button type="button" class="link" onClick={() => goTo(l.line!)}>Line {l.line}</button> : <span>Document</span>}
                  {l.where && <> · <code>{l.where}</code></>}: {l.msg}
                </li>
              ))}
            </ul>
          )}
        </div>
        <ErrorBox error={other} />
        <button type="submit">{editing ? "Save new revision" : "Create flow"}</button>
      </form>
    </Page>
  );
}
