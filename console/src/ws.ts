// The live event stream (WS /api/v1/ws/events): reconnects by itself and resumes with `since`.
import { apiKey, type Event } from "./api";

export type LiveState = "connecting" | "live" | "reconnecting";

export interface Filter {
  flow_id?: string;
  job_id?: string;
  types?: string[];
}

/** How the key travels on the handshake: as a Sec-WebSocket-Protocol entry
 * `routilux.key.<base64url>` offered with `routilux.v1` (docs/events.md), never in the URL. A
 * server older than that refuses such a handshake while it answers HTTP: then, for this tab, the
 * key goes in the `api_key` query parameter that such servers read. */
export const SUBPROTOCOL = "routilux.v1";
export const KEY_PROTOCOL_PREFIX = "routilux.key.";
let keyInProtocol = true;

function b64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function url(filter: Filter, since: number | null): { href: string; protocols: string[] } {
  const q = new URLSearchParams();
  if (filter.flow_id) q.set("flow_id", filter.flow_id);
  if (filter.job_id) q.set("job_id", filter.job_id);
  if (filter.types?.length) q.set("types", filter.types.join(","));
  if (since !== null) q.set("since", String(since));
  const key = apiKey();
  const protocols: string[] = [];
  if (key && keyInProtocol) protocols.push(SUBPROTOCOL, KEY_PROTOCOL_PREFIX + b64url(key));
  else if (key) q.set("api_key", key);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const qs = q.toString();
  return { href: `${scheme}//${location.host}/api/v1/ws/events${qs ? "?" + qs : ""}`, protocols };
}

/** Follow events matching `filter`; `since` null: live only (until a reconnect, which resumes
 * after the last event seen). Returns a function that stops following. */
export function follow(
  filter: Filter,
  since: number | null,
  onEvent: (event: Event) => void,
  onState: (state: LiveState, resumed: boolean) => void,
): () => void {
  let last = since;
  let socket: WebSocket | null = null;
  let stopped = false;
  let delay = 250;
  let timer = 0;
  let everOpen = false;

  const connect = () => {
    const { href, protocols } = url(filter, last);
    socket = protocols.length ? new WebSocket(href, protocols) : new WebSocket(href);
    socket.onopen = () => {
      delay = 250;
      onState("live", everOpen);
      everOpen = true;
    };
    socket.onmessage = (message) => {
      const frame = JSON.parse(String(message.data)) as Event | { type: string };
      if (!frame.type.includes(".")) return; // control frames: pong, subscribed, error
      const event = frame as Event;
      if (last !== null && event.id <= last) return;
      last = event.id;
      onEvent(event);
    };
    const opened = { value: false };
    socket.addEventListener("open", () => (opened.value = true));
    socket.onclose = () => {
      socket = null;
      if (stopped) return;
      if (!opened.value && protocols.length) {
        // Refused while the server is up: a server that takes the key only in the query string.
        void fetch("/api/v1/health/live").then((r) => r.ok && (keyInProtocol = false), () => undefined);
      }
      onState("reconnecting", false);
      timer = window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 4000);
    };
  };
  onState("connecting", false);
  connect();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    socket?.close(1000);
  };
}
