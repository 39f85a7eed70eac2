#!/usr/bin/env python3
"""Pool several bench runs (``run.py --json``) into one report, and judge the targets on it.

  python bench/pool.py RUN.json [RUN.json ...] [--rows pyws,picows]
  python bench/run.py --runs 3 [ARGS]      (the same, after running ARGS three times)

Prints each run's date, command, machine and load; then run.py's tables and target
verdicts over the pooled repetitions (every figure: the median over every repetition of
every run; every ratio: the median of the ratios taken within each repetition, so the
machine's drift cancels); then, per workload, the CPython rows in detail: median [min-max]
of the rate, of its ratios to websockets, to raw TCP and to picows (uvloop rows: raw TCP
and picows on uvloop), of the client CPU per operation and of its ratio to raw TCP's.
Targets are judged on the pooled median of three runs or more.
"""

from __future__ import annotations

import argparse
import statistics

from report import ROWS, load_runs, merge_runs, render_cpu, render_table, render_targets, targets

WORKLOADS = {"w1": ("rt/s", "w1_cpu_us", "us/rt"), "w2": ("msg/s", "w2_cpu_us", "us/msg"),
             "w3": ("MB/s", "w3_cpu_ms", "ms/MiB"), "w4": ("conn/s", "w4_cpu_us", "us/conn")}
REFERENCES = (("websockets", "websockets"), ("raw-tcp", "raw TCP"), ("picows", "picows"))
MIN_RUNS = 3


def spread(values: list[float], digits: int = 2) -> str:
    if not values:
        return ""
    return (f"{statistics.median(values):.{digits}f} "
            f"[{min(values):.{digits}f}-{max(values):.{digits}f}]")


def same_loop(reference: str, row: str) -> str:
    """The raw TCP and picows references on the row's own loop (uvloop rows: their uvloop
    rows); websockets stays the asyncio baseline, as in run.py's tables."""
    if reference != "websockets" and row.endswith("-uvloop"):
        return reference + "-uvloop"
    return reference


def detail(results: dict) -> dict[str, dict[str, dict[str, list[float]]]]:
    """CPython row -> workload -> series ("rate", "cpu", "/websockets", "/raw-tcp", ...,
    "cpu/raw-tcp") -> values, one per repetition."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    cpython = {r.key for r in ROWS if r.section == "cpython"}
    for row, reps in results.items():
        if row not in cpython:
            continue
        for rep, measured in reps.items():
            for workload, (_, cpu_key, _) in WORKLOADS.items():
                if workload not in measured:
                    continue
                series = out.setdefault(row, {}).setdefault(workload, {})
                series.setdefault("rate", []).append(measured[workload])
                if cpu_key in measured:
                    series.setdefault("cpu", []).append(measured[cpu_key])
                for reference, _ in REFERENCES:
                    ref = results.get(same_loop(reference, row), {}).get(rep, {})
                    if ref.get(workload):
                        series.setdefault("/" + reference, []).append(measured[workload] / ref[workload])
                    if reference == "raw-tcp" and ref.get(cpu_key) and cpu_key in measured:
                        series.setdefault("cpu/raw-tcp", []).append(measured[cpu_key] / ref[cpu_key])
    return out


def render_detail(results: dict, rows: list[str]) -> str:
    pooled = detail(results)
    rows = rows or list(pooled)
    lines = []
    for workload, (unit, _, cpu_unit) in WORKLOADS.items():
        present = [row for row in rows if workload in pooled.get(row, {})]
        if not present:
            continue
        names = [name for _, name in REFERENCES]
        lines.append(f"\n| {workload.upper()} | {unit} | " + " | ".join(f"/ {n}" for n in names)
                     + f" | CPU {cpu_unit} | CPU / raw TCP's | n |")
        lines.append("|---" * (5 + len(names)) + "|")
        for row in present:
            series = pooled[row][workload]
            ratios = [spread(series.get("/" + key, [])) if same_loop(key, row) != row else ""
                      for key, _ in REFERENCES]
            cpu_ratio = spread(series.get("cpu/raw-tcp", [])) if same_loop("raw-tcp", row) != row else ""
            lines.append(f"| {row} | {spread(series['rate'], 0)} | " + " | ".join(ratios)
                         + f" | {spread(series.get('cpu', []))} | {cpu_ratio} | {len(series['rate'])} |")
    return "\n".join(lines)


def render_pool(docs: list[dict], names: list[str], rows: list[str] | None = None) -> str:
    """Everything pool.py prints, for the run.py documents ``docs`` (read from ``names``)."""
    results = merge_runs(docs)
    out = [f"{len(docs)} runs pooled; cells: median [min-max] over every repetition of every run"]
    if len(docs) < MIN_RUNS:
        out.append(f"(fewer than {MIN_RUNS} runs: not enough to judge the targets)")
    for name, doc in zip(names, docs):
        info = doc["machine"]
        end = info.get("loadavg_end")
        out.append(f"- {name}: {info.get('date', '?')}; `{info.get('command', '?')}`; "
                   f"{info.get('cpu', '?')}, {info.get('cpus')} CPUs; load average "
                   f"{info['loadavg'][0]:.2f} at start, {f'{end[0]:.2f}' if end else '?'} at end; "
                   f"repetitions {doc.get('reps_done')}")
    shown = [r for r in ROWS if r.key in results and (not rows or r.key in rows)]
    out += ["", render_table(results, shown),
            "\nClient CPU per operation (median over every repetition; ratio: median of the "
            "per-repetition ratios):\n", render_cpu(results, shown),
            f"\nTargets, on the pooled repetitions of {len(docs)} runs:\n",
            render_targets(targets(results)),
            "\nCPython rows in detail (median [min-max]; ratios within each repetition):",
            render_detail(results, rows or [])]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="JSON files written by run.py --json")
    parser.add_argument("--rows", default="", help="row keys to show (default: all)")
    args = parser.parse_args()
    print(render_pool(load_runs(args.runs), args.runs, [r for r in args.rows.split(",") if r]))


if __name__ == "__main__":
    main()
