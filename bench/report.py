"""The rows, the tables and the target verdicts, shared by bench/run.py (one run) and
bench/pool.py (several runs pooled).

Results: ``{row key: {repetition: {metric: value}}}``. A ratio is always the median over
repetitions of (row / reference) measured in the same repetition, so the machine's drift
between repetitions cancels. Pooled runs are the same structure with repetitions keyed
``"RUN:REP"`` (merge_runs), so every figure and verdict of a pool is the median over every
repetition of every run.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass

from _common import fmt_rate


@dataclass
class Row:
    key: str
    section: str
    label: str
    kind: str | None = None      # cpython_clients.py --kind, or the in-runtime impl name
    loop: str = "default"
    w5: bool = False             # W5 measured for this row
    w6: str | None = None        # W6: the import statement timed


ROWS = [
    Row("pyws", "cpython", "pyws (asyncio)", "pyws", w5=True, w6="import pyws"),
    Row("websockets", "cpython", "websockets (asyncio)", "websockets", w5=True,
        w6="from websockets.asyncio.client import connect"),
    Row("aiohttp", "cpython", "aiohttp (asyncio)", "aiohttp", w5=True, w6="import aiohttp"),
    Row("websocket-client", "cpython", "websocket-client (threads)", "websocket-client",
        w5=True, w6="import websocket"),
    Row("picows", "cpython", "picows (asyncio)", "picows", w5=True, w6="import picows"),
    Row("raw-tcp", "cpython", "raw TCP reference (asyncio)", "raw-tcp"),
    Row("pyws-uvloop", "cpython", "pyws (uvloop)", "pyws", "uvloop"),
    Row("websockets-uvloop", "cpython", "websockets (uvloop)", "websockets", "uvloop"),
    Row("picows-uvloop", "cpython", "picows (uvloop)", "picows", "uvloop"),
    Row("raw-tcp-uvloop", "cpython", "raw TCP reference (uvloop)", "raw-tcp", "uvloop"),
]
for _rt, _name in (("node", "Node"), ("chromium", "Chromium")):
    ROWS += [
        Row(f"{_rt}-pyws", _rt, f"pyws, Pyodide in {_name}", "pyws"),
        Row(f"{_rt}-raw", _rt, f"js.WebSocket + create_proxy, Pyodide in {_name}", "raw"),
        Row(f"{_rt}-pyscript", _rt, f"PyScript pyscript.WebSocket, Pyodide in {_name}", "pyscript"),
        Row(f"{_rt}-js", _rt, f"{_name}'s JavaScript WebSocket (ceiling)", "js"),
    ]
ROW = {r.key: r for r in ROWS}
SECTIONS = {"cpython": "websockets", "node": "node-raw", "chromium": "chromium-raw"}
SECTION_TITLES = {
    "cpython": "CPython 3. Ratios: ws = to websockets (asyncio, default loop); raw = to the raw "
               "TCP reference on the row's own loop (asyncio rows: raw TCP asyncio; uvloop rows: "
               "raw TCP uvloop)",
    "node": "Pyodide in Node (ratio: to js.WebSocket + create_proxy)",
    "chromium": "Pyodide in headless Chromium (ratio: to js.WebSocket + create_proxy)",
}
METRICS = [("w1", "W1 rt/s"), ("w1_lat", "W1 p50/p99 us"), ("w2", "W2 msg/s"), ("w3", "W3 MB/s"),
           ("w4", "W4 conn/s"), ("w5", "W5 KiB/conn"), ("w6", "W6 import ms")]
CPU_METRICS = [("w1_cpu_us", "W1 us/rt", "{:.1f}"), ("w2_cpu_us", "W2 us/msg", "{:.2f}"),
               ("w3_cpu_ms", "W3 ms/MiB", "{:.2f}"), ("w4_cpu_us", "W4 us/conn", "{:.0f}")]
CPU_TITLES = {
    "cpython": "CPython: process time of the client subprocess (ratio: to raw TCP on the row's "
               "own loop)",
    "node": "Pyodide in Node: process.cpuUsage() of the Node process, every thread (ratio: to "
            "js.WebSocket + create_proxy)",
    "chromium": "Pyodide in Chromium: the renderer process, every thread (in brackets: every "
                "Chromium process); /proc schedstat (ratio of the renderer's: to js.WebSocket "
                "+ create_proxy)",
}


def raw_tcp_of(row: Row) -> str:
    """The raw TCP reference of a CPython row: on the row's own loop."""
    return "raw-tcp-uvloop" if row.loop == "uvloop" else "raw-tcp"


# --------------------------------------------------------------------------- figures

def values(results, key, metric):
    return {rep: r[metric] for rep, r in results.get(key, {}).items()
            if r.get(metric) is not None}


def pair_ratio(results, a, b, metric):
    """Median over repetitions of a/b, each pair from the same repetition (or None)."""
    va, vb = values(results, a, metric), values(results, b, metric)
    ratios = [va[rep] / vb[rep] for rep in va if rep in vb and vb[rep]]
    return statistics.median(ratios) if ratios else None


def median_of(results, key, metric):
    v = list(values(results, key, metric).values())
    return statistics.median(v) if v else None


def merge_runs(runs):
    """Several ``run.py --json`` documents -> one results dict, repetitions keyed "RUN:REP"."""
    merged: dict = {}
    for i, doc in enumerate(runs):
        for key, reps in doc["results"].items():
            for rep, measured in reps.items():
                merged.setdefault(key, {})[f"{i}:{rep}"] = measured
    return merged


def load_runs(paths):
    docs = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            docs.append(json.load(file))
    return docs


# --------------------------------------------------------------------------- tables

def fmt_small(x):
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _ratios(results, row, metric):
    """The cell's ratio text: "(1.10x ws, 0.85x raw)" on CPython, "(0.93x)" under Pyodide."""
    if row.section != "cpython":
        r = pair_ratio(results, row.key, SECTIONS[row.section], metric)
        return f" ({r:.2f}x)" if r is not None and row.key != SECTIONS[row.section] else ""
    parts = []
    for ref, name in (("websockets", "ws"), (raw_tcp_of(row), "raw")):
        r = pair_ratio(results, row.key, ref, metric) if ref != row.key else None
        if r is not None:
            parts.append(f"{r:.2f}x {name}")
    return f" ({', '.join(parts)})" if parts else ""


def cell(results, row, metric):
    if metric == "w1_lat":
        p50, p99 = median_of(results, row.key, "w1_p50"), median_of(results, row.key, "w1_p99")
        return "" if p50 is None else f"{p50:.0f}/{p99:.0f}"
    vals = list(values(results, row.key, metric).values())
    if not vals:
        return ""
    f = fmt_small if metric in ("w5", "w6") else fmt_rate
    s = f"{f(statistics.median(vals))}"
    if len(vals) > 1:
        s += f" [{f(min(vals))}-{f(max(vals))}]"
    if metric == "w6" and row.section != "cpython":
        return s + f" ({len(vals)} run{'s' if len(vals) > 1 else ''})"
    return s + _ratios(results, row, metric)


def _present(results, rows, section):
    return [r for r in rows if r.section == section and r.key in results]


def render_table(results, rows):
    head = "| client | " + " | ".join(title for _, title in METRICS) + " |"
    lines = [head, "|---|" + "---|" * len(METRICS)]
    for section, title in SECTION_TITLES.items():
        srows = _present(results, rows, section)
        if not srows:
            continue
        lines.append(f"| **{title}** |" + " |" * len(METRICS))
        for row in srows:
            label = f"**{row.label}**" if row.kind == "pyws" else row.label
            lines.append(f"| {label} | " + " | ".join(cell(results, row, m) for m, _ in METRICS) + " |")
    return "\n".join(lines)


def cpu_cell(results, row, metric, fmt):
    med = median_of(results, row.key, metric)
    if med is None:
        return ""
    s = fmt.format(med)
    if row.section == "chromium":
        browser = median_of(results, row.key, metric.replace("_cpu_", "_browser_cpu_"))
        if browser is not None:
            s += f" [{fmt.format(browser)}]"
    ref = raw_tcp_of(row) if row.section == "cpython" else SECTIONS[row.section]
    r = pair_ratio(results, row.key, ref, metric) if ref != row.key else None
    return s + (f" ({r:.2f}x)" if r is not None else "")


def render_cpu(results, rows):
    """Client CPU per operation, every section (median over repetitions)."""
    lines = ["| client | " + " | ".join(t for _, t, _ in CPU_METRICS) + " |",
             "|---|" + "---|" * len(CPU_METRICS)]
    for section, title in CPU_TITLES.items():
        srows = [r for r in _present(results, rows, section)
                 if any(values(results, r.key, m) for m, _, _ in CPU_METRICS)]
        if not srows:
            continue
        lines.append(f"| **{title}** |" + " |" * len(CPU_METRICS))
        for row in srows:
            lines.append(f"| {row.label} | "
                         + " | ".join(cpu_cell(results, row, m, f) for m, _, f in CPU_METRICS) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- targets

# (target, row, reference, metric, threshold, higher is better)
RATIO_TARGETS = [
    ("CPython W1 >= 0.9x raw TCP (asyncio) round trips/s", "pyws", "raw-tcp", "w1", 0.9, True),
    ("CPython W1 client CPU per round trip <= 1.15x raw TCP's (asyncio)", "pyws", "raw-tcp",
     "w1_cpu_us", 1.15, False),
    ("CPython W2 >= 0.95x raw TCP (asyncio); pyws with keepalive and max_queue on", "pyws",
     "raw-tcp", "w2", 0.95, True),
    ("CPython W3 >= 0.9x raw TCP (asyncio) MB/s", "pyws", "raw-tcp", "w3", 0.9, True),
    ("CPython W3 >= picows (asyncio)", "pyws", "picows", "w3", 1.0, True),
    ("CPython W4 >= 1.5x websockets conn/s", "pyws", "websockets", "w4", 1.5, True),
    ("CPython W5 memory per idle connection <= websockets'", "pyws", "websockets", "w5", 1.0, False),
    ("uvloop W1 within 1.5x of picows (uvloop): >= 0.667x", "pyws-uvloop", "picows-uvloop", "w1",
     1 / 1.5, True),
    ("uvloop W2 within 1.5x of picows (uvloop): >= 0.667x", "pyws-uvloop", "picows-uvloop", "w2",
     1 / 1.5, True),
] + [
    (f"Node W{w} >= 0.95x js.WebSocket + create_proxy", "node-pyws", "node-raw", f"w{w}", 0.95, True)
    for w in (1, 2, 3)
] + [
    (f"Chromium W{w} >= 1.0x js.WebSocket + create_proxy", "chromium-pyws", "chromium-raw",
     f"w{w}", 1.0, True)
    for w in (1, 2, 3)
]
IMPORT_TARGET_MS = 30.0


def targets(results):
    """[(target, measured text, verdict)]: each ratio is the median over repetitions of the
    ratio within a repetition (pooled results: over every repetition of every run)."""
    out = []
    for name, a, b, metric, want, higher in RATIO_TARGETS:
        r = pair_ratio(results, a, b, metric)
        if r is None:
            out.append((name, "not measured", "n/a"))
            continue
        ok = r >= want if higher else r <= want
        n = len([rep for rep in values(results, a, metric) if rep in values(results, b, metric)])
        out.append((name, f"{r:.3f}x (n={n})", "met" if ok else "MISSED"))
    w6 = list(values(results, "pyws", "w6").values())
    name = f"CPython `import pyws` < {IMPORT_TARGET_MS:.0f} ms"
    if w6:
        m = statistics.median(w6)
        out.append((name, f"{m:.1f} ms (n={len(w6)})", "met" if m < IMPORT_TARGET_MS else "MISSED"))
    else:
        out.append((name, "not measured", "n/a"))
    return out


def render_targets(verdicts):
    lines = ["| target | measured (median ratio; n = repetitions) | verdict |", "|---|---|---|"]
    lines += [f"| {name} | {measured} | {verdict} |" for name, measured, verdict in verdicts]
    return "\n".join(lines)
