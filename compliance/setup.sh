#!/usr/bin/env bash
# compliance/setup.sh - a private install of the Autobahn|Testsuite fuzzing server
# (`wstest`, autobahntestsuite 0.8.2: a Python 2.7 / Twisted program; the Python 3 release
# on PyPI does not import) for compliance/run.py. Only PyPI and the Debian archive are used.
#
# Adapted from the project's shared tools (../shared/autobahn/setup.sh, "Autobahn|Testsuite
# fuzzing server, runnable here"): the same interpreter choice, pins and loopback launcher,
# without the peers' client venv and the hand-written control client (pyws itself talks to
# the server's control URLs, see compliance/run.py).
#
# Idempotent and cached: a second run with the same setup.sh, lock and wstest_loopback.py
# returns at once; otherwise it re-uses what is there and repairs what is missing. Nothing
# is installed system-wide: no apt-get install, no change to /etc/apt, no pip into a system
# or pyenv interpreter. About 50 s fresh.
#
# Environment:
#   PYWS_AUTOBAHN_ROOT   where everything goes (default ${XDG_CACHE_HOME:-$HOME/.cache}/pyws-autobahn)
#   AB_PY27=auto         auto   : pyenv's CPython 2.7 if present and usable, else Debian
#                                 bullseye's python2.7 (below)
#                        pyenv  : require ${PYENV_ROOT:-$HOME/.pyenv}/versions/2.7.*
#                        debian : bullseye python2.7 .debs, fetched with a private apt config
#                                 and unpacked with dpkg -x into $ROOT/root (plus libssl1.1,
#                                 libffi7)
#                        /path/to/python2.7 : that interpreter
#   PY3=python3          a Python 3 for the tool venv (virtualenv 20.21.1, the last release
#                        that makes 2.7 environments)
#
# Result:
#   $ROOT/bin/wstest     wstest launcher; every listening socket bound to 127.0.0.1
#   $ROOT/venv27         Python 2.7 virtualenv with autobahntestsuite and its pinned deps
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
AB_ROOT=${PYWS_AUTOBAHN_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/pyws-autobahn}
AB_PY27=${AB_PY27:-auto}
PY3=${PY3:-python3}
LOCK="$HERE/requirements-py27.lock"
LAUNCHER_PY="$HERE/wstest_loopback.py"

log() { printf '[compliance/setup] %s\n' "$*" >&2; }
die() { printf '[compliance/setup] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$AB_ROOT"/{bin,.cache/pip,.cache/virtualenv}
cd "$AB_ROOT"
# One setup at a time: the cache is shared by every checkout on the machine.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$AB_ROOT/.setup.lock"
  flock 9
fi

# Fast path: everything was set up by this very script, lock and launcher, and still runs.
STAMP="$AB_ROOT/.setup-stamp"
want_stamp=$(cat "$HERE/setup.sh" "$LOCK" "$LAUNCHER_PY" | sha256sum | cut -d' ' -f1)-$AB_PY27
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] && "$AB_ROOT/bin/wstest" --help >/dev/null 2>&1; then
  exit 0
fi
rm -f "$STAMP"

# keep pip/virtualenv caches private to $AB_ROOT
export PIP_CACHE_DIR="$AB_ROOT/.cache/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PYTHONNOUSERSITE=1

# ---------------------------------------------------------------------------
# 1. Python 3 tool venv with a virtualenv that can still create 2.7 envs.
#    (virtualenv 20.22 dropped creating Python <= 3.6 environments; 20.21.1
#    still seeds pip 20.3.4 / setuptools 44.1.1 / wheel 0.37.1 for 2.7.)
# ---------------------------------------------------------------------------
TOOLS="$AB_ROOT/tools-venv"
if ! "$TOOLS/bin/virtualenv" --version 2>/dev/null | grep -q '^virtualenv 20\.21\.1 '; then
  log "creating $TOOLS (virtualenv 20.21.1)"
  "$PY3" -m venv --clear "$TOOLS"
  "$TOOLS/bin/pip" install -q 'virtualenv==20.21.1' 'platformdirs==3.11.0' \
      'filelock==3.32.7' 'distlib==0.4.4' 2>&1 | grep -v 'is ignored' || true
  "$TOOLS/bin/virtualenv" --version >/dev/null || die "virtualenv install failed"
fi

# ---------------------------------------------------------------------------
# 2. A Python 2.7 interpreter.
# ---------------------------------------------------------------------------
PY27_LIBDIR=""      # extra LD_LIBRARY_PATH needed by the interpreter
PY27_CFLAGS=""      # extra CFLAGS for C extensions

py27_usable() {  # $1 = interpreter; $2 = LD_LIBRARY_PATH to use
  LD_LIBRARY_PATH="${2:-${LD_LIBRARY_PATH:-}}" "$1" -c \
    'import sys, ssl, zlib, hashlib, bz2; assert sys.version_info[:2] == (2, 7)' \
    >/dev/null 2>&1
}

find_pyenv_py27() {
  local root=${PYENV_ROOT:-$HOME/.pyenv} p
  for p in "$root"/versions/2.7.*/bin/python2.7; do
    [ -x "$p" ] && py27_usable "$p" && { echo "$p"; return 0; }
  done
  return 1
}

fetch_bullseye() {  # $1 = directory to unpack into; $2.. = package names
  # Debian bookworm has no python2.7; bullseye (same archive host) does. Private apt
  # state under $AB_ROOT/apt, nothing written to /etc/apt or /var; the .debs are only
  # unpacked (dpkg -x), not installed.
  local R=$1; shift
  local A="$AB_ROOT/apt" D="$AB_ROOT/debs"
  log "fetching Debian bullseye packages ($*) into $D (private apt config)"
  mkdir -p "$A"/{lists/partial,archives/partial,cache,etc/sources.list.d,etc/preferences.d} "$D"
  : > "$A/status"
  cat > "$A/etc/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
EOF
  cat > "$A/apt.conf" <<EOF
Dir::Etc::SourceList "$A/etc/sources.list";
Dir::Etc::SourceParts "$A/etc/sources.list.d";
Dir::Etc::Preferences "$A/etc/preferences";
Dir::Etc::PreferencesParts "$A/etc/preferences.d";
Dir::State::Lists "$A/lists";
Dir::State::status "$A/status";
Dir::Cache "$A/cache";
Dir::Cache::archives "$A/archives";
APT::Architecture "amd64";
APT::Sandbox::User "root";
EOF
  APT_CONFIG="$A/apt.conf" apt-get -q update >/dev/null
  local pkg f
  for pkg in "$@"; do
    ls "$D/${pkg}_"*.deb >/dev/null 2>&1 && continue
    (cd "$D" && APT_CONFIG="$A/apt.conf" apt-get -q download "$pkg" >/dev/null)
  done
  rm -rf "$R"; mkdir -p "$R"
  for pkg in "$@"; do
    for f in "$D/${pkg}_"*.deb; do dpkg -x "$f" "$R"; done
  done
}

install_debian_py27() {
  local R="$AB_ROOT/root"
  [ -x "$R/usr/bin/python2.7" ] && py27_usable "$R/usr/bin/python2.7" "$R/usr/lib/x86_64-linux-gnu" && return 0
  # python2.7 + stdlib + headers; libssl1.1 and libffi7 are the two runtime libraries
  # bookworm no longer ships (for _ssl/_hashlib and _ctypes). All other deps are bookworm
  # libraries with the same sonames.
  fetch_bullseye "$R" python2.7 python2.7-minimal libpython2.7-minimal libpython2.7-stdlib \
      libpython2.7 libpython2.7-dev python2.7-dev libssl1.1 libffi7
  py27_usable "$R/usr/bin/python2.7" "$R/usr/lib/x86_64-linux-gnu" || die "extracted python2.7 does not work"
}

case "$AB_PY27" in
  auto)
    if PY27=$(find_pyenv_py27); then :; else
      install_debian_py27
      PY27="$AB_ROOT/root/usr/bin/python2.7"
    fi ;;
  pyenv)  PY27=$(find_pyenv_py27) || die "no usable pyenv 2.7 under ${PYENV_ROOT:-$HOME/.pyenv}" ;;
  debian) install_debian_py27; PY27="$AB_ROOT/root/usr/bin/python2.7" ;;
  *)      PY27="$AB_PY27"; py27_usable "$PY27" || die "$PY27 is not a usable Python 2.7" ;;
esac
if [ "$PY27" = "$AB_ROOT/root/usr/bin/python2.7" ]; then
  PY27_LIBDIR="$AB_ROOT/root/usr/lib/x86_64-linux-gnu"
  # Debian's sysconfig hard-codes -I/usr/include/python2.7; point at the copy
  # (pyconfig.h includes <x86_64-linux-gnu/python2.7/pyconfig.h>, hence usr/include)
  PY27_CFLAGS="-I$AB_ROOT/root/usr/include/python2.7 -I$AB_ROOT/root/usr/include"
  export LD_LIBRARY_PATH="$PY27_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
log "Python 2.7: $PY27"

# ---------------------------------------------------------------------------
# 3. Python 2.7 virtualenv with autobahntestsuite 0.8.2 and pinned deps
#    (compliance/requirements-py27.lock: what `pip install autobahntestsuite==0.8.2`
#    resolves with pip 20.3.4 on CPython 2.7, each the last 2.7-compatible release or the
#    pin autobahntestsuite asks for).
# ---------------------------------------------------------------------------
V="$AB_ROOT/venv27"
want_base=$("$PY27" -c 'import sys; print(sys.prefix)')
have_base=$("$V/bin/python" -c 'import sys; print(getattr(sys, "real_prefix", sys.prefix))' 2>/dev/null || true)
if [ "$have_base" != "$want_base" ]; then
  log "creating $V from $PY27"
  "$TOOLS/bin/virtualenv" --clear --no-periodic-update \
      --app-data "$AB_ROOT/.cache/virtualenv" -p "$PY27" "$V" >/dev/null
fi
frozen=$("$V/bin/pip" freeze 2>/dev/null || true)
if ! "$V/bin/python" -c 'import autobahntestsuite, wsaccel.utf8validator, OpenSSL' >/dev/null 2>&1 \
   || ! grep -qx 'autobahntestsuite==0.8.2' <<<"$frozen"; then
  log "installing autobahntestsuite 0.8.2 + pinned deps into $V (builds wsaccel, zope.interface)"
  CFLAGS="${PY27_CFLAGS} ${CFLAGS:-}" "$V/bin/pip" install -q -r "$LOCK" \
      2>&1 | grep -vE 'is ignored|DEPRECATION' || true
fi
"$V/bin/python" -c 'import autobahntestsuite, wsaccel.utf8validator, OpenSSL' >/dev/null 2>&1 \
  || die "autobahntestsuite did not install into $V"

# ---------------------------------------------------------------------------
# 4. The launcher: wstest with every listening socket bound to loopback.
# ---------------------------------------------------------------------------
cp "$LAUNCHER_PY" "$AB_ROOT/bin/wstest_loopback.py"
{
  echo '#!/usr/bin/env bash'
  echo '# wstest (autobahntestsuite 0.8.2 on Python 2.7), bound to loopback. Written by pyws compliance/setup.sh.'
  if [ -n "$PY27_LIBDIR" ]; then
    echo "export LD_LIBRARY_PATH=\"$PY27_LIBDIR\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
  fi
  echo 'export PYTHONWARNINGS=ignore PYTHONNOUSERSITE=1'
  echo "exec \"$V/bin/python\" \"$AB_ROOT/bin/wstest_loopback.py\" \"\$@\""
} > "$AB_ROOT/bin/wstest"
chmod +x "$AB_ROOT/bin/wstest"
"$AB_ROOT/bin/wstest" --help >/dev/null 2>&1 || die "$AB_ROOT/bin/wstest does not run"

echo "$want_stamp" > "$STAMP"
log "done: $AB_ROOT/bin/wstest"
