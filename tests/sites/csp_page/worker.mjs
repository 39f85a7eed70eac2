// A module Web Worker: runs example.py and posts the outcome (and the worker's own CSP
// violations: they are reported in the worker, not the page) back to the page.
import { runExample } from "./run.mjs";

const violations = [];
self.addEventListener("securitypolicyviolation", (event) => {
  violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "(inline)"}` +
                  ` at ${event.sourceFile}:${event.lineNumber} (worker)`);
});

self.onmessage = async (event) => {
  const outcome = await runExample(event.data);
  await new Promise((resolve) => setTimeout(resolve, 100));  // pending violation events
  outcome.violations = violations;
  self.postMessage(outcome);
};
