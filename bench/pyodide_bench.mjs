// The Pyodide half of bench/run.py: one runtime (Node or a Chromium page) loads Pyodide
// and pyws (js/pyws.mjs, from build/pyodide-dist), installs bench/workloads.py,
// bench/pyodide_workloads.py and PyScript's WebSocket (npm @pyscript/core), then runs the
// workloads in-runtime, interleaved: for each repetition, every implementation in turn.
//
//   impls: "pyws" | "raw" (js.WebSocket + create_proxy) | "pyscript" (pyscript.WebSocket)
//          | "js" (the host's own JavaScript WebSocket, no Python: the ceiling)
//
// Results go to `report(object)`: {type: "meta", ...}, {type: "result", rep, impl, res},
// {type: "error", rep, impl, error}, {type: "done"}.
import { loadPyws } from "../js/pyws.mjs";

const IS_NODE = typeof process !== "undefined" && !!process.versions?.node;
const HERE = new URL(".", import.meta.url);
const PYSCRIPT_STDLIB = new URL("../js/node_modules/@pyscript/core/src/stdlib/pyscript.js", HERE);
const BENCH_FS = "/home/pyodide/bench";

const TEXT_MSG = "x".repeat(32);
const BIN_SIZE = 1 << 20;
const W3_INFLIGHT = 8;
const OP_TIMEOUT_MS = 60000;
const WARMUP = { w1: 200, w2: 2000, w3: 4, w4: 10 };
const WARM_BIN = 1 << 16;

async function readText(url) {
  if (IS_NODE) {
    const { readFile } = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    return readFile(fileURLToPath(url), "utf8");
  }
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.text();
}

// PyScript's real modules; only the package's __init__ is ours (the real one imports
// polyscript, PyScript's page runtime, which plain Pyodide does not have).
const PYSCRIPT_INIT = `"""Stub of PyScript's package __init__ (bench only): what pyscript.websocket needs."""
config = {"type": "py"}
`;

async function installPython(pyodide) {
  const FS = pyodide.FS;
  FS.mkdirTree(BENCH_FS + "/pyscript");
  for (const name of ["workloads.py", "pyodide_workloads.py"]) {
    FS.writeFile(`${BENCH_FS}/${name}`, await readText(new URL(name, HERE)));
  }
  let pyscriptVersion = null;
  try {
    const stdlib = (await import(PYSCRIPT_STDLIB.href)).default.pyscript;
    for (const name of ["websocket.py", "ffi.py", "util.py"]) {
      FS.writeFile(`${BENCH_FS}/pyscript/${name}`, stdlib[name]);
    }
    FS.writeFile(`${BENCH_FS}/pyscript/__init__.py`, PYSCRIPT_INIT);
    const pkg = JSON.parse(await readText(new URL("../js/node_modules/@pyscript/core/package.json", HERE)));
    pyscriptVersion = pkg.version;
  } catch (error) {
    pyscriptVersion = `unavailable: ${error}`;
  }
  pyodide.runPython(`import sys\nif ${JSON.stringify(BENCH_FS)} not in sys.path: sys.path.insert(0, ${JSON.stringify(BENCH_FS)})`);
  return pyscriptVersion;
}

// ------------------------------------------------------------------ the JavaScript ceiling

function withTimeout(promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timed out`)), OP_TIMEOUT_MS); }),
  ]).finally(() => clearTimeout(timer));
}

function openSocket(url, reject) {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  ws.onerror = () => reject(new Error("WebSocket error"));
  ws.onclose = (ev) => reject(new Error(`closed early: ${ev.code}`));
  return ws;
}

function closeSocket(ws) {
  return new Promise((resolve) => {
    ws.onerror = null;
    ws.onclose = () => resolve();
    ws.close(1000);
  });
}

const jsWorkloads = {
  w1(url, n) {
    return new Promise((resolve, reject) => {
      const ws = openSocket(url, reject);
      const lat = new Float64Array(n);
      let i = 0, t0 = 0, t = 0;
      ws.onopen = () => { t = performance.now(); t0 = t; ws.send(TEXT_MSG); };
      ws.onmessage = (ev) => {
        lat[i++] = performance.now() - t0;
        if (ev.data !== TEXT_MSG) return reject(new Error("bad echo"));
        if (i < n) { t0 = performance.now(); ws.send(TEXT_MSG); return; }
        const dt = (performance.now() - t) / 1000;
        closeSocket(ws).then(() => resolve({ dt, lat }));
      };
    });
  },
  w2(url, n) {
    return new Promise((resolve, reject) => {
      const ws = openSocket(url, reject);
      let recv = 0, t = 0;
      ws.onopen = () => { t = performance.now(); for (let i = 0; i < n; i++) ws.send(TEXT_MSG); };
      ws.onmessage = () => {
        if (++recv < n) return;
        const dt = (performance.now() - t) / 1000;
        closeSocket(ws).then(() => resolve({ dt }));
      };
    });
  },
  w3(url, n, payload) {
    return new Promise((resolve, reject) => {
      const ws = openSocket(url, reject);
      let sent = 0, recv = 0, t = 0;
      ws.onopen = () => {
        t = performance.now();
        for (; sent < Math.min(W3_INFLIGHT, n); sent++) ws.send(payload);
      };
      ws.onmessage = (ev) => {
        recv++;
        if (ev.data.byteLength !== payload.length) return reject(new Error("bad echo size"));
        if (sent < n) { sent++; ws.send(payload); }
        if (recv < n) return;
        const dt = (performance.now() - t) / 1000;
        closeSocket(ws).then(() => resolve({ dt }));
      };
    });
  },
  w4(url, n) {
    return new Promise((resolve, reject) => {
      let done = 0;
      const t = performance.now();
      const start = () => {
        const ws = new WebSocket(url);
        ws.binaryType = "arraybuffer";
        ws.onopen = () => ws.close(1000);
        ws.onclose = (ev) => {
          if (!ev.wasClean) return reject(new Error(`unclean close ${ev.code}`));
          if (++done < n) start();
          else resolve({ dt: (performance.now() - t) / 1000 });
        };
      };
      start();
    });
  },
};

// The client's CPU clock: seconds, or {name: seconds} (pyodide_workloads.py's
// read_cpu_clock), maybe as a Promise.
async function readCpu(cpuClock) {
  const v = await cpuClock();
  return typeof v === "number" ? { cpu: v } : v;
}

async function runJs(url, counts, payload, cpuClock) {
  for (const [key, n] of Object.entries(WARMUP)) {
    if (!counts[key]) continue;
    await withTimeout(jsWorkloads[key](url, n, payload.subarray(0, WARM_BIN)), `js warm-up ${key}`);
  }
  const res = {};
  for (const key of ["w1", "w2", "w3", "w4"]) {
    const n = counts[key];
    if (!n) continue;
    const c0 = await readCpu(cpuClock);
    const r = await withTimeout(jsWorkloads[key](url, n, payload), `js ${key}`);
    const c1 = await readCpu(cpuClock);
    for (const [name, t1] of Object.entries(c1)) {
      if (name in c0) res[`${key}_${name}_${key === "w3" ? "ms" : "us"}`] = (t1 - c0[name]) / n * (key === "w3" ? 1e3 : 1e6);
    }
    if (key === "w1") {
      const lat = Array.from(r.lat).sort((a, b) => a - b);
      res.w1_p50 = lat[Math.floor(lat.length / 2)] * 1000;
      res.w1_p99 = lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))] * 1000;
    }
    res[key] = key === "w3" ? n * payload.length / r.dt / 1e6 : n / r.dt;
    res[key + "_n"] = n;
  }
  return res;
}

// ------------------------------------------------------------------ the driver

/**
 * @param {{indexURL: string, url: string, reps: number, impls: string[],
 *          counts: Record<string, Record<string, number>>, deadline: number,
 *          report: (o: object) => Promise<void> | void,
 *          cpuClock: () => number | object | Promise<number | object>}} config
 *   counts: per implementation, {w1: n, w2: n, w3: n, w4: n};
 *   deadline: seconds from now (Pyodide's load included) past which no repetition starts;
 *   profile: {impl, workload, n}, to cProfile one Python workload instead;
 *   cpuClock: the client's CPU time in seconds (or {cpu, ...: seconds}), read before and
 *   after each workload (Node: process.cpuUsage(); Chromium: run.py reads /proc).
 */
export async function runBench({ indexURL, url, reps, impls, counts, deadline, report, profile, cpuClock }) {
  const t0 = performance.now();
  const pyodide = await loadPyws({ indexURL });
  const loadSeconds = (performance.now() - t0) / 1000;
  const pyscriptVersion = await installPython(pyodide);
  const bench = pyodide.pyimport("pyodide_workloads");
  // W6 under Pyodide: the first import in this runtime (one sample per run).
  const importMs = {
    pyws: bench.import_time_ms("pyws"),
    pyscript: pyscriptVersion.startsWith("unavailable") ? null : bench.import_time_ms("pyscript.websocket"),
  };
  const pyws = pyodide.pyimport("pyws");
  await report({
    type: "meta",
    host: IS_NODE ? `Node ${process.version}` : navigator.userAgent,
    pyodide: pyodide.version, pyws: pyws.__version__, pyscript: pyscriptVersion,
    loadSeconds, importMs, crossOriginIsolated: globalThis.crossOriginIsolated ?? null,
  });
  pyws.destroy();
  if (profile) {
    // {impl, workload, n}: cProfile one workload instead of the measurements
    const text = await bench.profile(profile.impl, url, profile.workload, profile.n);
    await report({ type: "profile", text });
    bench.destroy();
    await report({ type: "done" });
    return;
  }
  const payload = new Uint8Array(BIN_SIZE);
  for (let i = 0; i < BIN_SIZE; i += 65536) crypto.getRandomValues(payload.subarray(i, i + 65536));
  let repStart = performance.now(), lastRep = 0;
  for (let rep = 0; rep < reps; rep++) {
    // deadline: seconds from runBench's start (Pyodide's load included); a repetition
    // starts only if one more as long as the last still ends before it.
    repStart = performance.now();
    if (rep > 0 && (repStart - t0) / 1000 + lastRep > deadline) {
      await report({ type: "deadline", reps: rep });
      break;
    }
    for (const impl of impls) {
      try {
        let res;
        if (impl === "js") {
          res = await runJs(url, counts[impl], payload, cpuClock);
        } else {
          res = JSON.parse(await bench.run(impl, url, JSON.stringify(counts[impl]), cpuClock));
        }
        await report({ type: "result", rep, impl, res });
      } catch (error) {
        await report({ type: "error", rep, impl, error: String(error && error.message || error).slice(-2000) });
      }
    }
    lastRep = (performance.now() - repStart) / 1000;
  }
  bench.destroy();
  await report({ type: "done" });
}
