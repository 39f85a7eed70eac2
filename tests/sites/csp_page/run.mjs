// Load Pyodide and the pyws wheel with the project's own loader (js/pyws.mjs, served at
// /js/pyws.mjs) from the dist dir served at /, then run example.py. Resolves to the
// example's report, or to {error} when anything throws.
import { loadPyws, runPythonFile } from "/js/pyws.mjs";

export async function runExample(echoURL) {
  const output = [];
  try {
    const pyodide = await loadPyws({ indexURL: new URL("/", import.meta.url).href,
                                     stdout: (line) => output.push(line),
                                     stderr: (line) => output.push(line),
                                     env: { ECHO_URL: echoURL } });
    const source = await (await fetch(new URL("example.py", import.meta.url))).text();
    return { ...JSON.parse(await runPythonFile(pyodide, source, "example.py")), output };
  } catch (error) {
    return { error: String(error && error.message || error), output };
  }
}
