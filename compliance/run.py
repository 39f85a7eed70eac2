"""Run pyws (compliance/client.py) against the Autobahn|Testsuite fuzzing server; summarize.

    python compliance/run.py [--quick] [--cases 1.*,2.*] [--exclude 9.*] [--outdir DIR]

Needs the fuzzing server installed by compliance/setup.sh (``./build.sh setup`` runs it;
``./build.sh compliance`` runs both). Starts ``wstest -m fuzzingserver`` on a free
loopback port, runs the client, stops the server and prints a summary of the server's
report: how many cases ended OK / NON-STRICT / INFORMATIONAL / UNIMPLEMENTED / FAILED, and
which cases were not OK. ``--quick`` leaves out 12.* and 13.* (permessage-deflate, about
98% of a full run). Writes DIR/summary.txt and DIR/summary.json next to the server's
reports (DIR/reports/clients/index.html); DIR defaults to build/compliance/<time>-<kind>,
with build/compliance/latest-<kind> pointing at the last one.

Exit status: 0 every offered case has a result and each is OK, NON-STRICT or
INFORMATIONAL; 3 (``--client chromium`` only) the only others are Chromium's known
failures (CHROMIUM_KNOWN); 1 anything else (a FAILED or UNIMPLEMENTED case, a case
without a result, a client that crashed); 2 the harness failed (no server, no report).

In the spirit of websockets' compliance/ directory; the server lifecycle and the summary
follow the project's shared tools (../shared/autobahn/run_client_suite.sh).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AB_ROOT = Path(os.environ.get("PYWS_AUTOBAHN_ROOT") or
               Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyws-autobahn")
WSTEST = AB_ROOT / "bin" / "wstest"
QUICK_EXCLUDE = "12.*,13.*"
KINDS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
PASSING = frozenset(KINDS[:3])

_CLOSE_CODE = ("the server closes with code {code}, which RFC 6455 does not allow on the wire, "
               "and Autobahn wants close 1002 or a dropped connection; Chromium's ParseClose "
               "refuses only 1005, 1006 and 1015, so Chromium reports close {code} with "
               "wasClean true and echoes code {code}. pyws fails the connection with 1002 "
               "here (tests/support/parity/known.py: RFC_CLOSE_CODES)")
#: Cases Chromium's own WebSocket fails (``--client chromium``, the reference run); counted
#: apart by its summary (exit status 3). pyws has no such list: it must pass every case.
CHROMIUM_KNOWN: dict[str, str] = {
    f"7.9.{n}": _CLOSE_CODE.format(code=code)
    for n, code in ((1, 0), (2, 999), (3, 1004), (6, 1016), (7, 1100), (8, 2000), (9, 2999))
}


class HarnessError(Exception):
    """The fuzzing server or its report is missing: nothing was judged."""


def case_key(case_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in case_id.split("."))


def patterns(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(message: str) -> None:
    print(f"[compliance] {message}", file=sys.stderr, flush=True)


class FuzzingServer:
    """``wstest -m fuzzingserver`` on a free loopback port, writing into ``outdir``."""

    def __init__(self, outdir: Path, cases: list[str], exclude: list[str]) -> None:
        self.outdir = outdir
        self.cases = cases
        self.exclude = exclude
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.case_count = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not os.access(WSTEST, os.X_OK):
            raise HarnessError(f"no fuzzing server at {WSTEST}: run ./build.sh setup "
                               f"(or compliance/setup.sh)")
        for attempt in range(3):  # a free port may be taken before the server binds it
            self.port = free_port()
            config = {"url": self.url, "outdir": str(self.outdir / "reports" / "clients"),
                      "cases": self.cases, "exclude-cases": self.exclude,
                      "exclude-agent-cases": {}}
            (self.outdir / "fuzzingserver.json").write_text(json.dumps(config, indent=1))
            server_log = self.outdir / "server.log"
            with open(server_log, "wb") as out:
                self.proc = subprocess.Popen(
                    [str(WSTEST), "-m", "fuzzingserver", "-s", "fuzzingserver.json", "-u", "0"],
                    cwd=self.outdir, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.poll() is None:
                text = server_log.read_text(errors="replace")
                if "will run" in text and self._accepts():
                    self.case_count = int(text.split("will run", 1)[1].split()[0])
                    return
                time.sleep(0.1)
            self.stop()
            log(f"the fuzzing server did not come up on port {self.port} (attempt {attempt + 1}): "
                + " | ".join(server_log.read_text(errors="replace").splitlines()[-3:]))
        raise HarnessError(f"no fuzzing server (log: {self.outdir / 'server.log'})")

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # Twisted stops its reactor
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def children_cpu() -> float:
    """User + system CPU seconds of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def update_reports(server: str, agent: str) -> None:
    """Ask the server to write its reports (the client normally does it itself)."""
    import asyncio
    import urllib.parse

    import pyws

    async def request() -> None:
        async with pyws.connect(f"{server}/updateReports?agent={urllib.parse.quote(agent)}",
                                open_timeout=None) as ws:
            await ws.wait_closed()

    asyncio.run(request())


#: The clients: pyws (the one under test) and Chromium's own WebSocket (the reference).
CLIENTS = {"pyws": "client.py", "chromium": "chromium_client.py"}


def run_client(client: str, server: str, agent: str, outdir: Path, timeout: float,
               verbose: bool) -> int:
    env = dict(os.environ, AUTOBAHN_SERVER=server, AUTOBAHN_AGENT=agent, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, str(HERE / CLIENTS[client]), server, agent]
    log(f"client: {' '.join(cmd)} (output: {outdir / 'client.log'})")
    with open(outdir / "client.log", "w") as client_log:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace")

        def copy_output() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                client_log.write(line)
                # The client's own progress lines; pyws's warnings (one per case where the
                # server breaks the protocol on purpose) stay in client.log unless --verbose.
                if verbose or line.startswith(("[", "case ", "Traceback")):
                    print(f"  | {line}", end="", file=sys.stderr, flush=True)

        reader = threading.Thread(target=copy_output, daemon=True)
        reader.start()
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"the client ran for more than {timeout} s: killed")
            proc.kill()
            rc = proc.wait()
        reader.join(10)
        return rc


def summarize(outdir: Path, offered: int, agent: str, meta: dict[str, Any],
              known: dict[str, str] | None = None) -> dict[str, Any]:
    known = known or {}
    index_path = outdir / "reports" / "clients" / "index.json"
    if not index_path.exists():
        raise HarnessError(f"no report at {index_path}")
    index = json.loads(index_path.read_text())
    if set(index) - {agent}:
        raise HarnessError(f"expected results of {agent} only in {index_path}, got {sorted(index)}")
    results = index.get(agent, {})  # none at all: every case is missing
    by_kind: dict[str, list[str]] = collections.defaultdict(list)
    for case_id in sorted(results, key=case_key):
        by_kind[results[case_id]["behavior"]].append(case_id)
    counts = {kind: len(by_kind.get(kind, [])) for kind in KINDS}
    other = {kind: ids for kind, ids in by_kind.items() if kind not in KINDS}
    not_passing = sorted((c for c, r in results.items() if r["behavior"] not in PASSING), key=case_key)
    close_counts = collections.Counter(r.get("behaviorClose") for r in results.values())
    durations = sorted(((r.get("duration", 0), c) for c, r in results.items()), reverse=True)
    return {
        "agent": agent,
        **meta,
        "cases_offered": offered,
        "cases_reported": len(results),
        "missing": max(offered - len(results), 0),
        "counts": counts,
        "other": other,
        "not_passing": {c: results[c]["behavior"] for c in not_passing},
        "non_strict": by_kind.get("NON-STRICT", []),
        "informational": by_kind.get("INFORMATIONAL", []),
        "close_behavior": dict(sorted(close_counts.items(), key=str)),
        "wrong_close": {c: results[c].get("behaviorClose") for c in sorted(results, key=case_key)
                        if results[c].get("behaviorClose") not in ("OK", "INFORMATIONAL")},
        "slowest_ms": [[c, d] for d, c in durations[:5]],
        "known": {c: known[c] for c in not_passing if c in known},
        "unexpected": [c for c in not_passing if c not in known],
        "ok": not not_passing and offered > 0 and len(results) >= offered,
    }


def grouped(ids: list[str]) -> str:
    """Case ids, with runs of more than 3 in one group ("6.3.*") shortened to a count."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for case_id in ids:
        groups[".".join(case_id.split(".")[:2 if case_key(case_id)[0] in (6, 7, 9, 12, 13) else 1])].append(case_id)
    return ", ".join(f"{g}.* ({len(v)})" if len(v) > 3 else " ".join(v) for g, v in groups.items())


def format_summary(s: dict[str, Any]) -> str:
    head = "| client | cases | " + " | ".join(KINDS) + " | wall |"
    row = (f"| {s['agent']} | {s['cases_reported']} | "
           + " | ".join(str(s["counts"][k]) for k in KINDS)
           + f" | {s['client_wall_s']:.0f} s |")
    lines = [head, "|" + "---|" * (len(KINDS) + 3), row, ""]
    if s["missing"]:
        lines.append(f"MISSING: {s['missing']} of {s['cases_offered']} offered cases have no result")
    for kind in ("FAILED", "UNIMPLEMENTED", *sorted(s["other"])):
        ids = [c for c, b in s["not_passing"].items() if b == kind]
        if ids:
            known = [c for c in ids if c in s["known"]]
            note = (f" ({'all' if len(known) == len(ids) else len(known)} known: "
                    f"Chromium's own failures, see CHROMIUM_KNOWN in compliance/run.py)" if known else "")
            lines.append(f"{kind} ({len(ids)}): {' '.join(ids)}{note}")
    if s["non_strict"]:
        lines.append(f"NON-STRICT ({len(s['non_strict'])}): {' '.join(s['non_strict'])}")
    if s["informational"]:
        lines.append(f"INFORMATIONAL ({len(s['informational'])}): {' '.join(s['informational'])}")
    if s["close_behavior"]:
        lines.append("close behaviour: " + ", ".join(f"{k}={v}" for k, v in s["close_behavior"].items()))
    wrong_close: dict[str, list[str]] = collections.defaultdict(list)
    for case_id, behaviour in s["wrong_close"].items():
        wrong_close[behaviour].append(case_id)
    for behaviour, ids in wrong_close.items():
        lines.append(f"close behaviour {behaviour} ({len(ids)}): {grouped(ids)}")
    if s["slowest_ms"]:
        lines.append("slowest: " + ", ".join(f"{c} {d / 1000:.1f} s" for c, d in s["slowest_ms"]))
    lines.append(f"cases={','.join(s['cases']) or '*'} exclude={','.join(s['exclude']) or '-'}; "
                 f"{s['cases_offered']} offered; client wall time {s['client_wall_s']:.1f} s, "
                 f"total {s['total_wall_s']:.1f} s; CPU: client {s['client_cpu_s']:.1f} s, "
                 f"fuzzing server {s['server_cpu_s']:.1f} s; client exit status "
                 f"{s['client_exit_status']}")
    lines.append("RESULT: " + result(s)[1])
    return "\n".join(lines)


def result(s: dict[str, Any]) -> tuple[int, str]:
    """The exit status and its one-line meaning."""
    if s["ok"]:
        return 0, "PASS: every case OK, NON-STRICT or INFORMATIONAL"
    if (s["client_exit_status"] == 0 and not s["missing"] and not s["unexpected"]
            and s["cases_reported"]):
        return 3, f"KNOWN DEVIATIONS ONLY: {len(s['known'])} cases fail as in Chromium"
    return 1, "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"leave out the permessage-deflate cases ({QUICK_EXCLUDE})")
    parser.add_argument("--cases", default="*", help="case patterns to run (default: all)")
    parser.add_argument("--exclude", default="", help="case patterns to leave out")
    parser.add_argument("--outdir", type=Path, help="where config, logs and reports go")
    parser.add_argument("--agent", default=None, help="agent name in the report")
    parser.add_argument("--timeout", type=float, default=5400, help="seconds for the whole client run")
    parser.add_argument("--verbose", "-v", action="store_true", help="show all of the client's output")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="pyws",
                        help="pyws (default), or chromium: Chromium's own WebSocket in headless "
                             "Chromium, the reference (compliance/chromium_client.py)")
    args = parser.parse_args(argv)

    cases = patterns(args.cases)
    exclude = patterns(args.exclude) + (patterns(QUICK_EXCLUDE) if args.quick else [])
    kind = "quick" if args.quick and cases == ["*"] and exclude == patterns(QUICK_EXCLUDE) else (
        "full" if cases == ["*"] and not exclude else "custom")
    outdir = args.outdir
    if outdir is None:
        base = ROOT / "build" / "compliance"
        kind = kind if args.client == "pyws" else f"{args.client}-{kind}"
        outdir = base / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{kind}"
    outdir.mkdir(parents=True, exist_ok=True)
    outdir = outdir.resolve()
    if args.outdir is None:
        latest = outdir.parent / f"latest-{kind}"
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(outdir.name)

    sys.path.insert(0, str(ROOT))  # pyws from this checkout when not installed
    import pyws

    agent = args.agent or (f"pyws-{pyws.__version__}" if args.client == "pyws" else args.client)
    server = FuzzingServer(outdir, cases, exclude)
    t_start = time.monotonic()
    try:
        server.start()
        log(f"fuzzing server on {server.url}: {server.case_count} cases; output in {outdir}")
        t0, cpu0 = time.monotonic(), children_cpu()
        rc = run_client(args.client, server.url, agent, outdir, args.timeout, args.verbose)
        wall, cpu1 = time.monotonic() - t0, children_cpu()
        log(f"client exited with status {rc} after {wall:.1f} s")
        if not (outdir / "reports" / "clients" / "index.json").exists() and server.proc is not None:
            log("no report yet: asking the server for it")
            update_reports(server.url, agent)
        server.stop()
        cpu2 = children_cpu()  # the server's, once it has been waited for
        summary = summarize(outdir, server.case_count, agent, {
            "cases": cases, "exclude": exclude, "client_wall_s": round(wall, 1),
            "total_wall_s": round(time.monotonic() - t_start, 1), "client_exit_status": rc,
            "client_cpu_s": round(cpu1 - cpu0, 1), "server_cpu_s": round(cpu2 - cpu1, 1),
            "pyws": pyws.__version__, "python": sys.version.split()[0], "outdir": str(outdir)},
            CHROMIUM_KNOWN if args.client == "chromium" else None)
    except HarnessError as exc:
        log(f"error: {exc}")
        return 2
    finally:
        server.stop()
    if rc != 0:
        summary["ok"] = False
    status = summary["exit_status"] = result(summary)[0]
    text = format_summary(summary)
    (outdir / "summary.txt").write_text(text + "\n")
    (outdir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(text)
    print(f"reports: {outdir / 'reports' / 'clients' / 'index.html'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
