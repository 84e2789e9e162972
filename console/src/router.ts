import { useEffect, useState } from "preact/hooks";

export function path(): string {
  return location.pathname;
}

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => listeners.forEach((l) => l()));

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.scrollTo(0, 0);
  listeners.forEach((l) => l());
}

export function usePath(): string {
  const [p, setP] = useState(path());
  useEffect(() => {
    const l = () => setP(path());
    listeners.add(l);
    return () => void listeners.delete(l);
  }, []);
  return p;
}

/** The query string of the current address, as an object, and a setter that replaces it. */
export function query(): URLSearchParams {
  return new URLSearchParams(location.search);
}
