#!/usr/bin/env node
// Run a Python file under Pyodide in Node, with pyws installed:
//   node --experimental-websocket js/run.mjs [--dist build/pyodide-dist] FILE.py
// Environment variables are passed to Python's os.environ. Node stays alive while a
// WebSocket is open (its event loop has work), like the CPython script host.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { loadPyws, runPythonFile } from "./pyws.mjs";

const args = process.argv.slice(2);
let dist = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../build/pyodide-dist");
if (args[0] === "--dist") { dist = path.resolve(args[1]); args.splice(0, 2); }
if (args.length !== 1) {
  console.error("usage: node --experimental-websocket js/run.mjs [--dist DIR] FILE.py");
  process.exit(2);
}
const env = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined));
const pyodide = await loadPyws({
  indexURL: dist + "/",
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
  env,
});
try {
  await runPythonFile(pyodide, await readFile(args[0], "utf8"), args[0]);
} catch (error) {
  // A Python exception: its message is the traceback; the rest is Pyodide's internals.
  console.error(error.type ? error.message : error);
  process.exit(1);
}
