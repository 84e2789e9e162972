import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";
import type { LiveState } from "./ws";

/** Load data on mount (and when deps change); reload() fetches again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    load().then(
      (d) => alive && (setData(d), setError(null)),
      (e) => alive && setError(e instanceof ApiError ? e : new ApiError(problemOf(e))),
    );
    return () => {
      alive = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, setData, error, reload };
}

export function problemOf(e: unknown) {
  return {
    type: "about:blank", title: "Error", status: 500, code: "client_error",
    detail: String(e), instance: "", request_id: "", errors: null,
  };
}

export function ErrorBox({ error, id }: { error: ApiError | null; id?: string }) {
  if (!error) return null;
  const p = error.problem;
  return (
    <div class="error-box" role="alert" id={id}>
      <strong>{p.title}</strong> <span class="code">{p.code}</span>
      <div>{p.detail}</div>
      {p.errors?.length ? (
        <ul>
          {p.errors.map((e, i) => (
            <li key={i}><code>{e.loc.join(".")}</code>: {e.msg}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function FieldError({ id, messages }: { id: string; messages: string[] }) {
  if (!messages.length) return null;
  return (
    <div class="field-error" id={id} role="alert">
      {messages.map((m, i) => <div key={i}>{m}</div>)}
    </div>
  );
}

export function LiveBadge({ state }: { state: LiveState }) {
  const text = state === "live" ? "Live" : state === "connecting" ? "Connecting…" : "Reconnecting…";
  return <span class={`live live-${state}`} role="status" aria-live="polite" data-live={state}>{text}</span>;
}

export function Status({ status }: { status: string }) {
  return <span class={`status s-${status}`} data-status={status}>{status}</span>;
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return <pre class="json" aria-label={label} tabIndex={0}>{JSON.stringify(value, null, 2)}</pre>;
}

export function when(ts: string | null | undefined): string {
  if (!ts) return "—";
  const d = new Date(ts);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function Page({ title, actions, children }: { title: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section>
      <div class="page-head">
        <h1>{title}</h1>
        {actions && <div class="actions">{actions}</div>}
      </div>
      {children}
    </section>
  );
}

/** Parse a JSON object typed by the user; the message says where it is wrong. */
export function parseObject(text: string, what: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return { value: {} };
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== "object" || Array.isArray(v)) return { error: `${what} must be a JSON object` };
    return { value: v as Record<string, unknown> };
  } catch (e) {
    return { error: `${what} is not valid JSON: ${(e as Error).message}` };
  }
}
