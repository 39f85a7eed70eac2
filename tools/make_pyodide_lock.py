#!/usr/bin/env python3
"""Write a pyodide-lock.json that lists only the wheels present in an offline dist dir.

Pyodide's stock lock (js/node_modules/pyodide/pyodide-lock.json) lists ~357 packages whose
wheels live only on the CDN; offline, `pyodide.loadPackage` of any of them fails, and wheels
from PyPI do not match its sha256 (Pyodide repacks them). So the test dist dir gets its own
lock: the stock `info` block (ABI, platform, Python version: Pyodide checks them) and one
entry per local wheel, with its real sha256, its import names (top_level.txt, else RECORD)
and its dependencies evaluated for Pyodide (sys_platform == "emscripten", the lock's Python).

Usage:
    make_pyodide_lock.py DIST_DIR [--stock-lock PATH] [--output PATH] [--ignore-missing-deps]

Needs `packaging` (in the project's venv through pytest). Exit status 1 on a wheel that
cannot run in Pyodide or a dependency no local wheel provides (unless --ignore-missing-deps).
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import sys
import zipfile
from pathlib import Path, PurePosixPath

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STOCK_LOCK = REPO / "js" / "node_modules" / "pyodide" / "pyodide-lock.json"


class LockError(Exception):
    pass


def pyodide_marker_env(python_full: str) -> dict[str, str]:
    """Marker environment of Pyodide (CPython compiled to wasm32-emscripten)."""
    major, minor = python_full.split(".")[:2]
    env = default_environment()
    env.update(
        implementation_name="cpython",
        implementation_version=python_full,
        os_name="posix",
        platform_machine="wasm32",
        platform_python_implementation="CPython",
        platform_release="",
        platform_system="Emscripten",
        platform_version="",
        python_full_version=python_full,
        python_version=f"{major}.{minor}",
        sys_platform="emscripten",
        extra="",
    )
    return env


def check_tags(whl: Path, python_full: str) -> None:
    """Refuse wheels Pyodide cannot load (compiled for another platform or Python)."""
    _, _, _, tags = parse_wheel_filename(whl.name)
    major, minor = python_full.split(".")[:2]
    pythons = {"py3", f"py{major}{minor}", f"cp{major}{minor}"}
    abis = {"none", "abi3", f"cp{major}{minor}"}
    for tag in tags:
        platform_ok = tag.platform == "any" or tag.platform.startswith(("emscripten", "pyodide", "pyemscripten"))
        if tag.interpreter in pythons and tag.abi in abis and platform_ok:
            return
    raise LockError(f"{whl.name}: no tag usable in Pyodide (Python {major}.{minor}, wasm32)")


def read_dist_info(zf: zipfile.ZipFile, name: str) -> str | None:
    for member in zf.namelist():
        parts = PurePosixPath(member).parts
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == name:
            return zf.read(member).decode("utf-8")
    return None


def import_names(zf: zipfile.ZipFile) -> list[str]:
    """Top-level importable names: top_level.txt if the wheel has one, else from RECORD."""
    top_level = read_dist_info(zf, "top_level.txt")
    if top_level is not None:
        names = {line.strip() for line in top_level.splitlines() if line.strip()}
    else:
        record = read_dist_info(zf, "RECORD") or ""
        files = [line.split(",")[0] for line in record.splitlines() if line.strip()]
        names = set()
        for path in files or zf.namelist():
            parts = PurePosixPath(path).parts
            if not parts or parts[0].endswith((".dist-info", ".data")) or parts[0] == "__pycache__":
                continue
            if len(parts) == 1:
                if parts[0].endswith(".py"):
                    names.add(parts[0][: -len(".py")])
                elif parts[0].endswith(".so"):
                    names.add(parts[0].split(".")[0])
            else:
                names.add(parts[0])
    return sorted(n for n in names if n.isidentifier())


def wheel_entry(whl: Path, env: dict[str, str]) -> dict:
    with zipfile.ZipFile(whl) as zf:
        metadata_text = read_dist_info(zf, "METADATA")
        if metadata_text is None:
            raise LockError(f"{whl.name}: no .dist-info/METADATA")
        metadata = email.parser.Parser().parsestr(metadata_text, headersonly=True)
        imports = import_names(zf)
    depends = []
    for spec in metadata.get_all("Requires-Dist") or []:
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate(env):
            depends.append(canonicalize_name(req.name))
    return {
        "name": metadata["Name"],
        "version": metadata["Version"],
        "file_name": whl.name,
        "install_dir": "site",
        "sha256": hashlib.sha256(whl.read_bytes()).hexdigest(),
        "package_type": "package",
        "imports": imports,
        "depends": sorted(set(depends)),
        "unvendored_tests": False,
        "tool": {},
    }


def make_lock(dist_dir: Path, stock_lock: Path, ignore_missing_deps: bool = False) -> dict:
    stock = json.loads(stock_lock.read_text(encoding="utf-8"))
    info = stock["info"]
    env = pyodide_marker_env(info["python"])
    packages: dict[str, dict] = {}
    wheels = sorted(dist_dir.glob("*.whl"))
    if not wheels:
        raise LockError(f"no wheel in {dist_dir}")
    for whl in wheels:
        check_tags(whl, info["python"])
        entry = wheel_entry(whl, env)
        key = canonicalize_name(entry["name"])
        if key in packages:
            raise LockError(f"two wheels of {key}: {packages[key]['file_name']} and {whl.name}")
        packages[key] = entry
    for key, entry in packages.items():
        missing = [dep for dep in entry["depends"] if dep not in packages]
        if missing and not ignore_missing_deps:
            raise LockError(
                f"{entry['file_name']} depends on {missing} (for Pyodide), which no wheel in "
                f"{dist_dir} provides: add their wheels (pip download --no-deps "
                f"--only-binary=:all: --python-version {env['python_version']} "
                "--platform any ...) or pass --ignore-missing-deps"
            )
        entry["depends"] = [dep for dep in entry["depends"] if dep in packages]
    return {"info": info, "packages": dict(sorted(packages.items())), "tool": stock.get("tool", {})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dist_dir", type=Path, help="directory holding the wheels (and Pyodide's core files)")
    parser.add_argument("--stock-lock", type=Path, default=DEFAULT_STOCK_LOCK, help="Pyodide's own lock (for its info block)")
    parser.add_argument("--output", type=Path, help="default: DIST_DIR/pyodide-lock.json")
    parser.add_argument("--ignore-missing-deps", action="store_true", help="drop dependencies no local wheel provides")
    args = parser.parse_args(argv)
    output = args.output or args.dist_dir / "pyodide-lock.json"
    try:
        lock = make_lock(args.dist_dir, args.stock_lock, args.ignore_missing_deps)
    except (LockError, OSError, ValueError) as exc:
        print(f"make_pyodide_lock: error: {exc}", file=sys.stderr)
        return 1
    output.write_text(json.dumps(lock, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    listed = ", ".join(f"{e['name']} {e['version']} (imports {e['imports']})" for e in lock["packages"].values())
    print(f"make_pyodide_lock: wrote {output}: {listed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
