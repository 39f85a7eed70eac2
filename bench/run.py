#!/usr/bin/env python3
"""pyws's benchmark suite: pyws and its peers on CPython, in Node and in Chromium.

One echo server (picows on uvloop, its own process, 127.0.0.1, a free port) serves every
client. Workloads (no permessage-deflate anywhere):

  W1  sequential ping-pong of a 32-byte text       round trips/s, p50/p99 latency (us)
  W2  N pipelined 32-byte texts, count N echoes     messages/s
  W3  1 MiB binary echo, 8 in flight                MB/s (10^6 bytes, one way)
  W4  sequential connect + open + close             connections/s
  W5  memory per idle open connection               KiB (RSS growth / N, CPython)
  W6  `import pyws` (and each peer's import)        ms (fresh interpreter each time)

Sections, each with its baseline (a ratio is the median over repetitions of row /
reference measured in the same repetition; repetitions interleave the rows: A B C ...
A B C ..., so machine drift cancels). CPython cells carry two ratios: to websockets
(asyncio, default loop) and to the raw TCP reference on the row's own loop. A second table
gives the client's CPU per operation in every section, a third the targets' verdicts
(bench/report.py):

  cpython   pyws, websockets (baseline), aiohttp, websocket-client, picows, raw TCP; on
            the default asyncio loop, and pyws, websockets, picows, raw TCP on uvloop.
            One fresh client subprocess per row and repetition (bench/cpython_clients.py).
  node      Pyodide in Node: pyws, js.WebSocket + create_proxy (baseline), PyScript's
            pyscript.WebSocket, and Node's own JavaScript WebSocket (the ceiling); one Node
            process, the rows interleaved inside it (bench/pyodide_bench.mjs).
  chromium  the same four in one headless Chromium page.

Usage (in the bench venv; `./build.sh bench [ARGS]` sets everything up, then runs this):

  python bench/run.py [--quick] [--reps N] [--only KEYS] [--workloads W,..] [--json PATH]
                      [--pin none|same|split] [--runs N]
  python bench/pool.py RUN.json ...              pool runs; --runs N runs and pools them
  python bench/run.py --profile ROW:WORKLOAD     e.g. pyws:w2, pyws-uvloop:w1, pyws:w6
  python bench/run.py --list                     the rows and their keys

--only takes row keys and section names (cpython, node, chromium), comma-separated; a
section's baseline always runs. --workloads w1,w2,... runs only those. A full run takes
under 15 minutes, --quick under 2.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from _common import BENCH_DIR, HOST, PIN_CPUS, ROOT, start_server, stop_server
from report import (ROW, ROWS, SECTIONS, load_runs, render_cpu, render_table,
                    render_targets, targets, values)

DIST = os.path.join(ROOT, "build", "pyodide-dist")
CHROMIUM = "/usr/bin/chromium"


# Counts and repetitions. Chromium's WebSocket is ~10x slower than Node's (its network
# service sits behind IPC) and waits 10 ms between connections to one host: smaller counts.
# PyScript's send(bytes) copies byte by byte through the FFI (~0.5 s per MiB): W3 sends 8.
MODES = {
    "full": {
        "cpython": {"w1": 5000, "w2": 200000, "w3": 100, "w4": 500},
        "node": {"w1": 5000, "w2": 100000, "w3": 100, "w4": 300},
        "chromium": {"w1": 2000, "w2": 30000, "w3": 40, "w4": 60},
        "pyscript_w3": 8,
        "w5": 10000,
        "reps": {"cpython": 5, "w5": 3, "w6": 10, "node": 5, "chromium": 5},
        # seconds per phase: a repetition starts only if it should end within its phase's
        # budget (judged by the last one); budgets add up to 13.4 minutes. Many short
        # repetitions beat a few long ones on a shared machine: counts are sized for 5.
        "budget": {"cpython": 300, "w5": 210, "w6": 25, "node": 130, "chromium": 140},
    },
    "quick": {
        "cpython": {"w1": 2000, "w2": 20000, "w3": 16, "w4": 100},
        "node": {"w1": 2000, "w2": 20000, "w3": 16, "w4": 100},
        "chromium": {"w1": 1000, "w2": 10000, "w3": 8, "w4": 30},
        "pyscript_w3": 2,
        "w5": 1000,
        "reps": {"cpython": 2, "w5": 2, "w6": 3, "node": 2, "chromium": 2},
        "budget": {"cpython": 40, "w5": 20, "w6": 5, "node": 25, "chromium": 30},
    },
}
CHILD_TIMEOUT = 150.0     # seconds, one CPython client subprocess
W6_TIMEOUT = 30.0

# results[row key][rep index] = {metric: value}
Results = dict


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- CPython phases

def _client_cmd(row, url, cpu):
    cmd = [sys.executable, os.path.join(BENCH_DIR, "cpython_clients.py"), "--kind", row.kind,
           "--loop", row.loop, "--url", url]
    if cpu is not None:
        cmd += ["--cpu-index", str(cpu)]
    return cmd


def run_child(cmd, what, timeout=CHILD_TIMEOUT):
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        log(f"  ! {what}: timed out after {timeout:.0f} s")
        return None
    for line in cp.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    log(f"  ! {what} failed (exit {cp.returncode}):\n{cp.stderr[-1500:]}")
    return None


def interleaved(phase, rows, reps, budget, one, results):
    """Run ``one(row, rep)`` for every row, repetition by repetition, within ``budget``."""
    t0 = time.monotonic()
    last = 0.0
    done = 0
    for rep in range(reps):
        elapsed = time.monotonic() - t0
        if rep > 0 and elapsed + last > budget:
            log(f"[{phase}] budget of {budget} s reached: {rep} repetitions")
            break
        t_rep = time.monotonic()
        for row in rows:
            res = one(row, rep)
            if res:
                results.setdefault(row.key, {}).setdefault(rep, {}).update(res)
        last = time.monotonic() - t_rep
        done += 1
        log(f"[{phase}] repetition {rep + 1}/{reps} ({last:.0f} s)")
    return done


def phase_cpython(rows, mode, url, cpu, results):
    counts = mode["cpython"]
    cj = json.dumps(counts)
    return interleaved("cpython W1-W4", rows, mode["reps"]["cpython"], mode["budget"]["cpython"],
                       lambda row, rep: run_child(_client_cmd(row, url, cpu) + ["--counts", cj],
                                                  f"{row.key} rep {rep + 1}"), results)


def phase_w5(rows, mode, url, cpu, results):
    n = mode["w5"]

    def one(row, rep):
        res = run_child(_client_cmd(row, url, cpu) + ["--w5", str(n)], f"{row.key} W5")
        time.sleep(0.5)  # the server drops the connections the client left behind
        return res

    return interleaved("W5", rows, mode["reps"]["w5"], mode["budget"]["w5"], one, results)


W6_CODE = ("import time; t = time.perf_counter(); {stmt}; "
           "print('RESULT', '{{\"w6\": %.4f}}' % ((time.perf_counter() - t) * 1e3))")


def phase_w6(rows, mode, results):
    # Imports read bytecode caches, as after `pip install` (which compiles them): the
    # peers' are in site-packages; pyws, installed editable, gets its own here (a shell
    # with PYTHONDONTWRITEBYTECODE never writes them, and W6 would time the compiler).
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "pyws")], check=True,
                   stdout=subprocess.DEVNULL)
    return interleaved("W6", rows, mode["reps"]["w6"], mode["budget"]["w6"],
                       lambda row, rep: run_child([sys.executable, "-c", W6_CODE.format(stmt=row.w6)],
                                                  f"{row.key} W6", W6_TIMEOUT), results)


# --------------------------------------------------------------------------- Pyodide phases

def _pyodide_config(section, rows, mode, url, budget):
    base = mode[section]
    counts = {}
    for row in rows:
        c = dict(base)
        if row.kind == "pyscript" and "w3" in c:
            c["w3"] = min(c["w3"], mode["pyscript_w3"])
        counts[row.kind] = c
    return {"url": url, "reps": mode["reps"][section], "impls": [r.kind for r in rows],
            "counts": counts, "deadline": budget}


def _collect(section, rows, report, results, meta):
    """Handle one report of pyodide_bench.mjs; True when the run is over."""
    by_kind = {r.kind: r for r in rows}
    t = report.get("type")
    if t == "meta":
        meta[section] = report
        for kind, ms in (report.get("importMs") or {}).items():
            if ms is not None and kind in by_kind:
                results.setdefault(by_kind[kind].key, {}).setdefault(0, {})["w6"] = ms
        log(f"[{section}] {report.get('host')}: Pyodide {report.get('pyodide')} loaded in "
            f"{report.get('loadSeconds', 0):.1f} s, import pyws {report['importMs'].get('pyws') or 0:.0f} ms")
    elif t == "result":
        row = by_kind[report["impl"]]
        results.setdefault(row.key, {}).setdefault(report["rep"], {}).update(report["res"])
        if report["impl"] == rows[-1].kind:
            log(f"[{section}] repetition {report['rep'] + 1} done")
    elif t == "error":
        log(f"  ! {section} {report['impl']} rep {report['rep'] + 1}: {report['error']}")
    elif t == "deadline":
        log(f"[{section}] budget reached: {report['reps']} repetitions")
    elif t == "profile":
        print(report["text"])
    elif t == "fatal":
        log(f"  ! {section}: {report['error']}")
        return True
    return t == "done"


def phase_node(rows, mode, url, results, meta, config=None):
    budget = mode["budget"]["node"]
    config = config or _pyodide_config("node", rows, mode, url, budget)
    node = shutil.which("node")
    if node is None:
        log("  ! node not found: Node rows skipped")
        return
    cmd = [node, "--experimental-websocket", os.path.join(BENCH_DIR, "node_runner.mjs"),
           json.dumps(config)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout] + [lines.put(None)],
                     daemon=True).start()
    err = []
    threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True).start()
    end = time.monotonic() + budget + 90  # the last repetition, Pyodide's load, margin
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                log("  ! node: timed out")
                break
            if line is None:
                break
            if line.startswith("REPORT ") and _collect("node", rows, json.loads(line[7:]), results, meta):
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    if proc.returncode not in (0, None, -signal.SIGKILL):
        log(f"  ! node exited {proc.returncode}: {''.join(err)[-1500:]}")


class _Static(http.server.SimpleHTTPRequestHandler):
    """Serves bench/, js/ and build/pyodide-dist/ of the repository; POST /report queues."""

    reports: queue.Queue = queue.Queue()
    browser_session = 0   # the session id of Chromium's processes (POST /cpu)
    ALLOWED = ("/bench/", "/js/", "/build/pyodide-dist/")
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".json": "application/json"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=ROOT, **kwargs)

    def end_headers(self):
        # Cross-origin isolation: performance.now() at 5 us instead of 100 us (W1 latencies).
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self):
        if not self.path.startswith(self.ALLOWED):
            self.send_error(404)
            return
        super().do_GET()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/cpu":
            reply = json.dumps(browser_cpu(self.browser_session)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
            return
        self.send_response(204)
        self.end_headers()
        if self.path == "/report":
            self.reports.put(json.loads(body))

    def log_message(self, *args):
        pass


def _threads_cpu_seconds(pid):
    """CPU time of a process's live threads, in ns precision (/proc/PID/task/*/schedstat);
    /proc/PID/stat would count in 10 ms ticks."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):  # a thread or the process just ended
        pass
    return total / 1e9


def browser_cpu(session):
    """{"cpu": seconds of Chromium's renderer process(es), "browser_cpu": of every process
    of the browser} (every process in ``session``, Chromium's own session: run.py starts it
    with start_new_session)."""
    renderer = total = 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[3]) != session:
                    continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                is_renderer = b"--type=renderer" in f.read()
        except (OSError, ValueError, IndexError):
            continue
        t = _threads_cpu_seconds(name)
        total += t
        if is_renderer:
            renderer += t
    return {"cpu": renderer, "browser_cpu": total}


def phase_chromium(rows, mode, url, results, meta, config=None):
    if not os.path.exists(CHROMIUM):
        log(f"  ! {CHROMIUM} not found: Chromium rows skipped")
        return
    budget = mode["budget"]["chromium"]
    config = config or _pyodide_config("chromium", rows, mode, url, budget)
    _Static.reports = queue.Queue()
    httpd = http.server.ThreadingHTTPServer((HOST, 0), _Static)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    from urllib.parse import quote
    page = (f"http://{HOST}:{httpd.server_port}/bench/chromium_page.html?config="
            f"{quote(json.dumps(config))}")
    profile = tempfile.mkdtemp(prefix="pyws-bench-chromium-")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--no-first-run", "--no-default-browser-check",
             "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
             "--disable-backgrounding-occluded-windows", f"--user-data-dir={profile}"]
    proc = subprocess.Popen([CHROMIUM, *flags, page], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    _Static.browser_session = proc.pid
    end = time.monotonic() + budget + 90
    try:
        while True:
            try:
                report = _Static.reports.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                log("  ! chromium: timed out")
                break
            if _collect("chromium", rows, report, results, meta):
                break
            if proc.poll() is not None:
                log(f"  ! chromium exited {proc.returncode}")
                break
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the browser and its helper processes
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        httpd.shutdown()
        httpd.server_close()
        shutil.rmtree(profile, ignore_errors=True)


# --------------------------------------------------------------------------- machine

def machine_info():
    """The machine, the software, the load, the date (UTC) and the command of this run."""
    info = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "command": shlex.join([os.path.relpath(sys.executable, ROOT), "bench/run.py", *sys.argv[1:]])}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    info["loadavg"] = os.getloadavg()
    for name, cmd in (("node", ["node", "--version"]), ("chromium", [CHROMIUM, "--version"])):
        try:
            info[name] = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            info[name] = None
    versions = {}
    for mod, dist in (("pyws", "pyws-client"), ("websockets", "websockets"), ("aiohttp", "aiohttp"),
                      ("websocket", "websocket-client"), ("picows", "picows"), ("uvloop", "uvloop")):
        try:
            from importlib.metadata import version
            versions[mod] = version(dist)
        except Exception:
            versions[mod] = None
    info["versions"] = versions
    return info


# --------------------------------------------------------------------------- main

def select_rows(only):
    if not only:
        return list(ROWS)
    wanted = set(only.split(","))
    unknown = wanted - set(ROW) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"--only: unknown keys {sorted(unknown)}; see --list")
    keys = {r.key for r in ROWS if r.key in wanted or r.section in wanted}
    keys |= {SECTIONS[ROW[k].section] for k in keys}  # a section's baseline always runs
    return [r for r in ROWS if r.key in keys]


def profile(spec, mode, pin_cpus):
    row_key, _, which = spec.partition(":")
    row = ROW.get(row_key)
    if row is None or row.kind in ("js",) or which not in ("w1", "w2", "w3", "w4", "w5", "w6") or (
            row.section != "cpython" and which in ("w5", "w6")):
        raise SystemExit("--profile ROW:WORKLOAD: a Python row (see --list) and w1..w4 "
                         "(CPython rows also w5, w6)")
    if row.section != "cpython":
        srv, port = start_server(pin_cpus[0])
        try:
            url = f"ws://{HOST}:{port}/"
            n = mode[row.section][which]
            if row.kind == "pyscript" and which == "w3":
                n = min(n, mode["pyscript_w3"])
            config = {"url": url, "reps": 0, "impls": [], "counts": {}, "deadline": 0,
                      "profile": {"impl": row.kind, "workload": which, "n": n}}
            runner = phase_node if row.section == "node" else phase_chromium
            runner([row], mode, url, {}, {}, config)
        finally:
            stop_server(srv)
        return
    if which == "w6":
        stmt = row.w6 or "import pyws"
        cp = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt],
                            capture_output=True, text=True, timeout=W6_TIMEOUT)
        entries = []
        for line in cp.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[0].startswith("import time:") and parts[1].strip().isdigit():
                entries.append((int(parts[1]), int(parts[0].split(":")[1]), parts[2].rstrip()))
        total = max((c for c, _, _ in entries), default=0)
        print(f"=== python -X importtime -c {stmt!r}: {total / 1000:.1f} ms cumulative. The tree in "
              "import order (a module's children are the more indented lines above it), modules of "
              ">= 2% of the total; self us | cumulative us | module ===")
        for cum, self_us, name in entries:
            if cum >= total * 0.02:
                print(f"{self_us:>8} | {cum:>8} | {name}")
        return
    srv, port = start_server(pin_cpus[0])
    try:
        counts = dict(mode["cpython"], w5=mode["w5"])
        cmd = _client_cmd(row, f"ws://{HOST}:{port}/", pin_cpus[1]) + [
            "--counts", json.dumps(counts), "--profile", which]
        subprocess.run(cmd, timeout=CHILD_TIMEOUT * 2, stdin=subprocess.DEVNULL)
    finally:
        stop_server(srv)


def check_environment(rows):
    missing = []
    for mod in ("picows", "uvloop", "websockets", "aiohttp", "websocket", "pyws"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise SystemExit(f"missing in this Python ({sys.executable}): {', '.join(missing)}. "
                         "Run ./build.sh bench (it creates .venv-bench with every peer).")
    if any(r.section != "cpython" for r in rows):
        if not os.path.exists(os.path.join(DIST, "pyodide-lock.json")):
            raise SystemExit("build/pyodide-dist is missing: run ./build.sh bench (it builds it)")
        if not os.path.exists(os.path.join(ROOT, "js", "node_modules", "@pyscript", "core")):
            log("  ! js/node_modules/@pyscript/core missing (npm ci in js/): PyScript rows will fail")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, 2 repetitions, under 2 minutes")
    ap.add_argument("--reps", type=int, default=None, help="repetitions for every phase")
    ap.add_argument("--runs", type=int, default=1,
                    help="run N times (each a run of its own, its JSON kept), then print the "
                         "pooled tables and verdicts (bench/pool.py)")
    ap.add_argument("--only", default=None, help="row keys and/or sections (cpython, node, chromium)")
    ap.add_argument("--workloads", default="w1,w2,w3,w4,w5,w6", help="a subset of w1..w6")
    ap.add_argument("--json", default=None,
                    help="write every measurement here (with --runs N: PATH-1.json ... PATH-N.json)")
    ap.add_argument("--pin", choices=sorted(PIN_CPUS), default="none",
                    help="CPU affinity of the server and the CPython clients (default none)")
    ap.add_argument("--profile", default=None, metavar="ROW:W", help="cProfile one CPython row's workload")
    ap.add_argument("--list", action="store_true", help="list the rows")
    return ap.parse_args()


def run_phases(rows, mode, workloads, pin_cpus, results, meta):
    """Every phase wanted, against one echo server; (seconds per phase, repetitions done)."""
    srv, port = start_server(pin_cpus[0])
    url = f"ws://{HOST}:{port}/"
    phase_times = {}
    reps_done = {}
    try:
        cp_rows = [r for r in rows if r.section == "cpython"]
        phases = [("cpython", lambda: phase_cpython(cp_rows, mode, url, pin_cpus[1], results),
                   cp_rows and mode["cpython"]),
                  ("w5", lambda: phase_w5([r for r in cp_rows if r.w5], mode, url, pin_cpus[1], results),
                   "w5" in workloads and any(r.w5 for r in cp_rows)),
                  ("w6", lambda: phase_w6([r for r in cp_rows if r.w6], mode, results),
                   "w6" in workloads and any(r.w6 for r in cp_rows))]
        for section, runner in (("node", phase_node), ("chromium", phase_chromium)):
            srows = [r for r in rows if r.section == section]
            phases.append((section, lambda runner=runner, srows=srows: runner(srows, mode, url, results, meta),
                           srows and (mode[section] or "w6" in workloads)))
        for name, run, wanted in phases:
            if wanted:
                t = time.monotonic()
                done = run()
                phase_times[name] = time.monotonic() - t
                if done is None:  # Node, Chromium: the repetitions their baseline reported
                    done = len(values(results, SECTIONS[name], "w1" if mode[name] else "w6"))
                reps_done[name] = done
    finally:
        stop_server(srv)
    return phase_times, reps_done


def run_several(args):
    """--runs N: N runs of this command, one after the other, each its own process with its
    own JSON; then the pooled tables and verdicts of bench/pool.py."""
    from pool import render_pool
    argv, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a in ("--runs", "--json"):
            skip = True
        elif not a.startswith(("--runs=", "--json=")):
            argv.append(a)
    if args.json:
        base, ext = os.path.splitext(args.json)
    else:
        base, ext = os.path.join(tempfile.mkdtemp(prefix="pyws-bench-runs-"), "run"), ".json"
    paths = [f"{base}-{i}{ext or '.json'}" for i in range(1, args.runs + 1)]
    for i, path in enumerate(paths, 1):
        log(f"=== run {i}/{args.runs} -> {path} (its tables on stderr)")
        cp = subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--json", path],
                            stdout=sys.stderr, stdin=subprocess.DEVNULL)
        if cp.returncode != 0:
            log(f"  ! run {i} exited {cp.returncode}")
    paths = [p for p in paths if os.path.exists(p)]
    if not paths:
        raise SystemExit("no run finished")
    print(render_pool(load_runs(paths), paths))
    return 0


def render_run(doc, rows):
    """The header (machine, date, command, versions, counts) and the tables of one run."""
    info, mode, meta = doc["machine"], doc["mode"], doc["meta"]
    v = info["versions"]
    out = [f"pyws bench, {doc['kind']} mode: {doc['seconds']:.0f} s "
           f"({', '.join(f'{k} {s:.0f} s' for k, s in doc['phase_seconds'].items())}); "
           f"load average {info['loadavg'][0]:.2f} at start, {info['loadavg_end'][0]:.2f} at end",
           f"Date: {info['date']}; command: {info['command']}",
           f"Machine: {info.get('cpu', '?')}, {info['cpus']} CPUs, {info.get('memory_gib', '?')} GiB; "
           f"{info['platform']}",
           f"CPython {info['python']}: pyws {v['pyws']}, websockets {v['websockets']}, aiohttp "
           f"{v['aiohttp']}, websocket-client {v['websocket']}, picows {v['picows']}, uvloop "
           f"{v['uvloop']}; {info.get('node')}; {info.get('chromium')}"]
    for section, m in meta.items():
        out.append(f"{section}: Pyodide {m.get('pyodide')}, @pyscript/core {m.get('pyscript')}, "
                   f"crossOriginIsolated {m.get('crossOriginIsolated')}")
    out += [f"Counts: CPython {mode['cpython']}, Node {mode['node']}, Chromium {mode['chromium']} "
            f"(PyScript W3: {mode['pyscript_w3']}); W5 {mode['w5']} connections; "
            f"repetitions done {doc['reps_done']} (of {mode['reps']})",
            "Cells: median [min-max] over repetitions (median of the per-repetition ratios). "
            "W5, W6: lower is better; W6 under Pyodide is the first import, one per run.\n",
            render_table(doc["results"], rows),
            "\nClient CPU per operation (median over repetitions; ratio: median of the "
            "per-repetition ratios):\n",
            render_cpu(doc["results"], rows),
            "\nTargets (this run; they are judged on the pooled median of >= 3 runs: "
            "bench/pool.py, or --runs 3):\n",
            render_targets(doc["targets"])]
    return "\n".join(out)


def main():
    args = parse_args()
    if args.list:
        for r in ROWS:
            extra = ("  +W5" if r.w5 else "") + (f"  +W6 `{r.w6}`" if r.w6 else "")
            base = " (baseline)" if SECTIONS[r.section] == r.key else ""
            print(f"{r.key:20} {r.section:9} {r.label}{base}{extra}")
        return 0
    mode = json.loads(json.dumps(MODES["quick" if args.quick else "full"]))
    if args.reps:
        mode["reps"] = {k: args.reps for k in mode["reps"]}
        mode["budget"] = {k: v * 3 for k, v in mode["budget"].items()}  # explicit reps: wider
    pin_cpus = PIN_CPUS[args.pin]
    if args.profile:
        return profile(args.profile, mode, pin_cpus)

    rows = select_rows(args.only)
    workloads = set(args.workloads.split(","))
    if workloads - {"w1", "w2", "w3", "w4", "w5", "w6"}:
        raise SystemExit("--workloads: w1..w6, comma-separated")
    if args.runs > 1:
        return run_several(args)
    for section in ("cpython", "node", "chromium"):
        mode[section] = {k: n for k, n in mode[section].items() if k in workloads}
    check_environment(rows)
    info = machine_info()
    started = time.monotonic()
    log(f"pyws bench ({'quick' if args.quick else 'full'}): {len(rows)} rows; "
        f"load average {info['loadavg'][0]:.2f}")
    results: Results = {}
    meta = {}
    phase_times, reps_done = run_phases(rows, mode, workloads, pin_cpus, results, meta)
    info["loadavg_end"] = os.getloadavg()
    results = {k: {str(rep): r for rep, r in v.items()} for k, v in results.items()}
    doc = {"kind": "quick" if args.quick else "full", "machine": info, "mode": mode, "meta": meta,
           "seconds": time.monotonic() - started, "phase_seconds": phase_times,
           "reps_done": reps_done, "results": results, "targets": targets(results)}
    print(render_run(doc, rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
