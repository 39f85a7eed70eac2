// The page's module script (an inline script would be refused by the policy): runs
// example.py on the main thread (?where=main) or in a module Web Worker (?where=worker), or
// calls eval (?where=control: the policy must refuse it), and puts the outcome in
// globalThis.cspOutcome for tests/test_csp_page.py.
import { runExample } from "./run.mjs";

const violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "(inline)"}` +
                  ` at ${event.sourceFile}:${event.lineNumber}`);
});

function inWorker(echoURL) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("worker.mjs", import.meta.url), { type: "module" });
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => resolve({ error: `worker error: ${event.message}`, violations: [] });
    worker.postMessage(echoURL);
  });
}

const params = new URLSearchParams(location.search);
const echoURL = params.get("ws");
let outcome;
if (params.get("where") === "worker") {
  outcome = await inWorker(echoURL);
} else if (params.get("where") === "control") {
  try {
    outcome = { eval: String((0, eval)("'allowed'")) };
  } catch (error) {
    outcome = { eval: String(error) };
  }
  setTimeout(() => eval("'uncaught'"));
} else {
  outcome = await runExample(echoURL);
}
// Violation events are queued as tasks: let any pending one arrive.
await new Promise((resolve) => setTimeout(resolve, 100));
outcome.violations = [...violations, ...(outcome.violations || [])];
document.getElementById("outcome").textContent = JSON.stringify(outcome, null, 2);
globalThis.cspOutcome = outcome;
