#!/usr/bin/env bash
# Build and test pyws offline (PyPI, npm and Debian apt are the only network it needs).
#
#   ./build.sh setup          idempotent: Debian chromium + chromium-driver if missing,
#                             .venv with `pip install -e '.[test]'`, `npm ci` in js/
#   ./build.sh dist           wheel -> build/wheels; build/pyodide-dist = Pyodide core files
#                             + wheels + generated pyodide-lock.json
#   ./build.sh test [ARGS]    setup, dist, then pytest (ARGS passed through: -k foo, -x, ...)
#   ./build.sh demo [ARGS]    setup, dist, then demo/run.py ARGS
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
        log "pip install -e '.[test]'"
        local pip_log="$VENV/pip-install.log" rc=0
        "$VENV/bin/pip" install -q -e '.[test]' >"$pip_log" 2>&1 || rc=$?
        # This machine's pip config names a missing local index: drop that noise.
        grep -v "^WARNING: Location 'file" "$pip_log" >&2 || true
        [ "$rc" -eq 0 ] || die "pip install -e '.[test]' failed (exit $rc)"
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

cmd_setup() {
    setup_browser
    check_node
    setup_venv
    setup_node_modules
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
}

cmd_test() {
    cmd_setup
    cmd_dist
    exec "$PY" -m pytest --dist-dir "$DIST" --runtime node,chrome "$@"
}

cmd_demo() {
    cmd_setup
    cmd_dist
    exec "$PY" demo/run.py "$@"
}

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

sub="${1:-}"
[ $# -gt 0 ] && shift
case "$sub" in
    setup) cmd_setup "$@" ;;
    dist) cmd_dist "$@" ;;
    test) cmd_test "$@" ;;
    demo) cmd_demo "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac
