// Load Pyodide and pyws from a local dist dir (built by `./build.sh dist`: Pyodide's core
// files, the pyws wheel and a lock file that lists it). Works in a page, a Web Worker and
// Node (Node 20 needs --experimental-websocket for pyws to find a WebSocket).
//
//   import { loadPyws, runPythonFile } from "./pyws.mjs";
//   const pyodide = await loadPyws({ indexURL: "/dist/", stdout: console.log });
//   await runPythonFile(pyodide, await (await fetch("app.py")).text(), "app.py");

/**
 * Start Pyodide from `indexURL` and install pyws into it.
 * @param {{indexURL: string, stdout?: (line: string) => void, stderr?: (line: string) => void,
 *          env?: Record<string, string>}} options
 */
export async function loadPyws({ indexURL, stdout, stderr, env = {} }) {
  if (!indexURL.endsWith("/")) indexURL += "/";
  const { loadPyodide } = await import(indexURL + "pyodide.mjs");
  const pyodide = await loadPyodide({ indexURL, env: { HOME: "/home/pyodide", ...env } });
  if (stdout) pyodide.setStdout({ batched: stdout });
  if (stderr) pyodide.setStderr({ batched: stderr });
  await pyodide.loadPackage("pyws-client", { messageCallback: () => {} });
  return pyodide;
}

/**
 * Run a Python file's source as `__main__` would run it (top-level await allowed).
 * Its handlers keep running after it returns, on Pyodide's event loop.
 */
export async function runPythonFile(pyodide, source, filename = "main.py") {
  const globals = pyodide.globals.get("dict")();
  globals.set("__name__", "__main__");
  globals.set("__file__", filename);
  try {
    return await pyodide.runPythonAsync(source, { globals, filename });
  } finally {
    globals.destroy();
  }
}
