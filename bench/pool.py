#!/usr/bin/env python3
"""Pool the CPython rows of several bench runs (``run.py --json``) into one table.

  python bench/pool.py RUN.json [RUN.json ...] [--rows pyws,picows]

For each row and workload (W1-W4): the median [min-max] over every repetition of every
run of the rate, of the row's rate divided by the baseline's and by the raw TCP
reference's in the same repetition (so the machine's drift between repetitions cancels;
uvloop rows: to the raw TCP and picows rows on uvloop), and of the client CPU per operation. On this shared machine one run is noise-prone: pool
three or more, interleaved with what they are compared against.
"""

from __future__ import annotations

import argparse
import json
import statistics

WORKLOADS = {"w1": ("rt/s", "w1_cpu_us", "us/rt"), "w2": ("msg/s", "w2_cpu_us", "us/msg"),
             "w3": ("MB/s", "w3_cpu_ms", "ms/MiB"), "w4": ("conn/s", "w4_cpu_us", "us/conn")}
REFERENCES = (("websockets", "websockets"), ("raw-tcp", "raw TCP"), ("picows", "picows"))


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


def pool(paths: list[str]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """row -> workload -> series ("rate", "cpu", "/websockets", "/raw-tcp", ...) -> values."""
    pooled: dict[str, dict[str, dict[str, list[float]]]] = {}
    for path in paths:
        with open(path, encoding="utf-8") as file:
            results = json.load(file)["results"]
        for row, reps in results.items():
            for rep, measured in reps.items():
                for workload, (_, cpu_key, _) in WORKLOADS.items():
                    if workload not in measured:
                        continue
                    series = pooled.setdefault(row, {}).setdefault(workload, {})
                    series.setdefault("rate", []).append(measured[workload])
                    if cpu_key in measured:
                        series.setdefault("cpu", []).append(measured[cpu_key])
                    for reference, _ in REFERENCES:
                        base = results.get(same_loop(reference, row), {}).get(rep, {}).get(workload)
                        if base:
                            series.setdefault("/" + reference, []).append(measured[workload] / base)
    return pooled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="JSON files written by run.py --json")
    parser.add_argument("--rows", default="", help="row keys to show (default: all)")
    args = parser.parse_args()
    pooled = pool(args.runs)
    rows = [r for r in args.rows.split(",") if r] or list(pooled)
    print(f"{len(args.runs)} runs pooled; cells: median [min-max] over every repetition")
    for workload, (unit, _, cpu_unit) in WORKLOADS.items():
        present = [row for row in rows if workload in pooled.get(row, {})]
        if not present:
            continue
        names = [name for key, name in REFERENCES]
        print(f"\n| {workload.upper()} | {unit} | " + " | ".join(f"/ {n}" for n in names)
              + f" | CPU {cpu_unit} | n |")
        print("|---" * (4 + len(names)) + "|")
        for row in present:
            series = pooled[row][workload]
            ratios = [spread(series.get("/" + key, [])) if same_loop(key, row) != row else ""
                      for key, _ in REFERENCES]
            print(f"| {row} | {spread(series['rate'], 0)} | " + " | ".join(ratios)
                  + f" | {spread(series.get('cpu', []))} | {len(series['rate'])} |")


if __name__ == "__main__":
    main()
