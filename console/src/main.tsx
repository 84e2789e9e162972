import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { onKeyNeeded, setApiKey, apiKey } from "./api";
import { FlowsPage, FlowPage, NewFlowPage } from "./pages/flows";
import { JobsPage, JobPage } from "./pages/jobs";
import { BreakpointsPage } from "./pages/breakpoints";
import { WorkersPage, TypesPage } from "./pages/workers";
import { path, navigate, usePath } from "./router";
import "./style.css";

const NAV: [string, string][] = [
  ["/ui/flows", "Flows"],
  ["/ui/jobs", "Jobs"],
  ["/ui/breakpoints", "Breakpoints"],
  ["/ui/workers", "Workers"],
  ["/ui/routine-types", "Routine types"],
];

function route(p: string) {
  let m: RegExpMatchArray | null;
  if (p === "/" || p === "/ui/" || p === "/ui/flows") return <FlowsPage />;
  if (p === "/ui/flows/new") return <NewFlowPage />;
  if ((m = p.match(/^\/ui\/flows\/([^/]+)\/edit$/))) return <NewFlowPage editing={decodeURIComponent(m[1])} />;
  if ((m = p.match(/^\/ui\/flows\/([^/]+)$/))) return <FlowPage flowId={decodeURIComponent(m[1])} />;
  if (p === "/ui/jobs") return <JobsPage />;
  if ((m = p.match(/^\/ui\/jobs\/([^/]+)$/))) return <JobPage jobId={decodeURIComponent(m[1])} />;
  if (p === "/ui/breakpoints") return <BreakpointsPage />;
  if (p === "/ui/workers") return <WorkersPage />;
  if (p === "/ui/routine-types") return <TypesPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>Nothing in the console at {p}. <a href="/ui/flows">Go to the flows</a>.</p>
    </section>
  );
}

function KeyDialog() {
  const [asking, setAsking] = useState<{ wrong: boolean; resolve: (k: string) => void } | null>(null);
  const [value, setValue] = useState("");
  useEffect(() => {
    let pending: Promise<string> | null = null;
    onKeyNeeded((wrong) => {
      pending ??= new Promise<string>((resolve) => setAsking({ wrong, resolve })).finally(() => {
        pending = null;
      });
      return pending;
    });
  }, []);
  useEffect(() => {
    // While the key is asked for, the page behind the dialog is out of reach (keyboard included).
    for (const id of ["top", "main"]) document.getElementById(id)?.toggleAttribute("inert", asking !== null);
  }, [asking]);
  if (!asking) return null;
  return (
    <div class="overlay">
      <form
        class="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="key-title"
        onSubmit={(e) => {
          e.preventDefault();
          asking.resolve(value);
          setAsking(null);
          window.dispatchEvent(new Event("routilux-key")); // the header offers to forget it
          setValue("");
        }}
      >
        <h2 id="key-title">API key needed</h2>
        <p>{asking.wrong ? "The server refused that key. " : ""}This server requires an API key. It is kept in this tab's session storage only.</p>
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autoFocus autoComplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
        <button type="submit">Use key</button>
      </form>
    </div>
  );
}

function App() {
  const p = usePath();
  const [, setKeyed] = useState(0);
  useEffect(() => {
    const changed = () => setKeyed((n) => n + 1);
    window.addEventListener("routilux-key", changed);
    return () => window.removeEventListener("routilux-key", changed);
  }, []);
  useEffect(() => {
    const main = document.getElementById("main");
    main?.focus({ preventScroll: true });
  }, [p]);
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top" id="top">
        <a class="brand" href="/ui/flows">Routilux</a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={p.startsWith(href) || (href === "/ui/flows" && (p === "/" || p === "/ui/")) ? "page" : undefined}>{label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="spacer" />
        {apiKey() && (
          <button class="link" type="button" onClick={() => { setApiKey(null); location.reload(); }}>Forget key</button>
        )}
        <a class="docs" href="/docs">API docs</a>
      </header>
      <main id="main" tabIndex={-1}>{route(p)}</main>
      <KeyDialog />
    </>
  );
}

// Same-origin links to /ui/ change the route without a reload.
document.addEventListener("click", (e) => {
  const a = (e.target as Element).closest?.("a");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = a.getAttribute("href");
  if (href && href.startsWith("/ui/") && !a.target) {
    e.preventDefault();
    navigate(href);
  }
});
void path;
render(<App />, document.getElementById("app")!);
