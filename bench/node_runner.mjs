#!/usr/bin/env node
// Pyodide in Node for bench/run.py:
//   node --experimental-websocket bench/node_runner.mjs CONFIG_JSON
// CONFIG_JSON: {url, reps, impls, counts, deadline[, dist]} (see pyodide_bench.mjs runBench).
// Prints one line per report: "REPORT {json}".
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runBench } from "./pyodide_bench.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(process.argv[2]);
const dist = path.resolve(config.dist || path.join(here, "..", "build", "pyodide-dist"));
try {
  await runBench({
    ...config,
    indexURL: dist + "/",
    report: (o) => { process.stdout.write("REPORT " + JSON.stringify(o) + "\n"); },
    // The Node process's CPU time (every thread: V8, undici, libuv), in seconds.
    cpuClock: () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; },
  });
} catch (error) {
  process.stdout.write("REPORT " + JSON.stringify({ type: "fatal", error: String(error && error.stack || error) }) + "\n");
  process.exitCode = 1;
}
// Pyodide's event loop leaves cancelled timers (asyncio.wait_for's) armed in Node: exit now.
process.exit();
