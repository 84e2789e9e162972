import { useEffect, useRef, useState } from "preact/hooks";
import type { Event } from "./api";
import { follow, type Filter, type LiveState } from "./ws";

/** Follow the live stream while mounted; `onEvent` may change between renders. */
export function useLive(filter: Filter | null, since: number | null, onEvent: (e: Event) => void, onResume?: () => void): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const resume = useRef(onResume);
  resume.current = onResume;
  const key = JSON.stringify(filter);
  useEffect(() => {
    if (!filter) return;
    return follow(filter, since, (e) => handler.current(e), (s, resumed) => {
      setState(s);
      if (resumed) resume.current?.();
    });
  }, [key]);
  return state;
}

/** A function that runs `fn` at most once per `ms`, trailing. */
export function useDebounced(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef(0);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return () => {
    if (timer.current) return;
    timer.current = window.setTimeout(() => {
      timer.current = 0;
      ref.current();
    }, ms);
  };
}
