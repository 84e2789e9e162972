// The one typed client: openapi-fetch over the types generated from openapi.json.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./api/schema";

export type S = components["schemas"];
export type Flow = S["Flow"];
export type Job = S["Job"];
export type Event = S["Event"];
export type Problem = S["Problem"];
export type Breakpoint = S["Breakpoint"];
export type Worker = S["Worker"];
export type RoutineType = S["RoutineType"];

const KEY = "routilux.apiKey";

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

// Asked for once, when the server answers 401: the page that asks sets this hook.
let askKey: (wrong: boolean) => Promise<string> = () => Promise.reject(new Error("no key prompt"));
export function onKeyNeeded(hook: (wrong: boolean) => Promise<string>): void {
  askKey = hook;
}

/** A problem answer (RFC 9457) from the server, or a network failure as one. */
export class ApiError extends Error {
  constructor(public problem: Problem) {
    super(problem.detail || problem.title);
  }
  get status(): number {
    return this.problem.status;
  }
  /** The located errors whose `loc` starts with `prefix` (e.g. ["body", "data"]). */
  errorsAt(...prefix: (string | number)[]): S["ProblemError"][] {
    return (this.problem.errors ?? []).filter((e) => prefix.every((p, i) => e.loc[i] === p));
  }
}

const withKey: Middleware = {
  onRequest({ request }) {
    const key = apiKey();
    if (key) request.headers.set("X-API-Key", key);
    return request;
  },
};

export const client = createClient<paths>({ baseUrl: location.origin });
client.use(withKey);

type Result<T> = { data?: T; error?: unknown; response: Response };

/** Run one call; on 401 ask for the key (once per wrong key) and try again; throw problems. */
export async function call<T>(request: () => Promise<Result<T>>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    let result: Result<T>;
    try {
      result = await request();
    } catch (e) {
      throw new ApiError({
        type: "about:blank", title: "Network error", status: 503, code: "network_error",
        detail: `The server could not be reached (${String(e)}).`, instance: "", request_id: "", errors: null,
      });
    }
    const { data, error, response } = result;
    if (response.ok) return data as T;
    if (response.status === 401 && attempt < 5) {
      setApiKey(await askKey(apiKey() !== null));
      continue;
    }
    const problem = (error && typeof error === "object" ? error : {}) as Partial<Problem>;
    throw new ApiError({
      type: problem.type ?? "about:blank",
      title: problem.title ?? response.statusText,
      status: response.status,
      detail: problem.detail ?? `HTTP ${response.status}`,
      instance: problem.instance ?? "",
      code: problem.code ?? "error",
      request_id: problem.request_id ?? "",
      errors: problem.errors ?? null,
    });
  }
}

/** Operations of the running server, by operationId (some may be newer than this build). */
export interface Operation {
  method: string;
  path: string;
}
interface Described {
  ops: Map<string, Operation>;
  eventTypes: Set<string>;
}
let described: Promise<Described> | null = null;
function describe(): Promise<Described> {
  described ??= fetch("/openapi.json")
    .then((r) => r.json())
    .then((doc: {
      paths: Record<string, Record<string, { operationId?: string }>>;
      components?: { schemas?: { EventType?: { enum?: string[] } } };
    }) => {
      const ops = new Map<string, Operation>();
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          if (op && op.operationId) ops.set(op.operationId, { method: method.toUpperCase(), path });
        }
      }
      return { ops, eventTypes: new Set(doc.components?.schemas?.EventType?.enum ?? []) };
    })
    .catch(() => ({ ops: new Map<string, Operation>(), eventTypes: new Set<string>() }));
  return described;
}
export function operation(id: string): Promise<Operation | null> {
  return describe().then((d) => d.ops.get(id) ?? null);
}
/** Of `wanted`, the event types the running server publishes (it refuses unknown ones). */
export function knownEventTypes(wanted: string[]): Promise<string[]> {
  return describe().then((d) => wanted.filter((t) => d.eventTypes.has(t)));
}

/** Fill an operation's path template: "/api/v1/flows/{flow_id}" with {flow_id: "x"}. */
export function fill(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
}

/** A call to an operation this build's schema may not know yet (feature-detected first). */
export async function raw<T>(
  method: string, path: string, body?: unknown, contentType?: string, extra: Record<string, string> = {},
): Promise<T> {
  return call<T>(async () => {
    const headers: Record<string, string> = { Accept: "application/json", ...extra };
    const key = apiKey();
    if (key) headers["X-API-Key"] = key;
    if (body !== undefined) headers["Content-Type"] = contentType ?? "application/json";
    const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const response = await fetch(path, { method, headers, body: text });
    const parsed = response.status === 204 ? undefined : await response.json().catch(() => undefined);
    return response.ok ? { data: parsed as T, response } : { error: parsed, response };
  });
}

export const TERMINAL = new Set(["completed", "failed", "cancelled"]);
