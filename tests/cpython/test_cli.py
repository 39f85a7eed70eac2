"""The command-line client (``python -m pyws``), run as a real subprocess against the real
behaviour server (tests/support/servers.py); the interactive mode runs in a pseudo-terminal.

CPython only: the CLI runs on CPython's asyncio backend (and needs subprocesses).
"""

from __future__ import annotations

import json
import os
import pathlib
import select
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from support.paths import ROOT
from support.servers import reported_close, tls_echo_server

import pyws

pytestmark = pytest.mark.skipif(
    pyws.backend != "cpython" or sys.platform == "win32",
    reason="the command-line client runs on CPython; these tests use POSIX subprocesses and ptys")

TIMEOUT = 30


@pytest.fixture
def env(tmp_path: pathlib.Path) -> dict[str, str]:
    """The child's environment: pyws from this checkout, a throwaway HOME (history)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "HOME": str(tmp_path), "TERM": "dumb",
            "PYTHONIOENCODING": "utf-8"}


def _sigint_default() -> None:
    # SIGINT may be ignored in CI's process tree: give the child Python's usual handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyws", *args], env=env, text=True, capture_output=True,
        input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
        timeout=TIMEOUT, preexec_fn=_sigint_default)


# -- scripting: --execute, --wait, --count, piped stdin ---------------------------------


def test_execute_sends_prints_replies_and_exits_0(behaviour_server, env):
    url = f"ws://127.0.0.1:{behaviour_server.port}/echo"
    done = run_cli(env, url, "-x", "hello", "--execute", "wörld ✓", "--count", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["> hello", "> wörld ✓", "< hello", "< wörld ✓"]
    err = done.stderr.splitlines()
    assert err[0].startswith(f"Connected to {url} (extensions: permessage-deflate"), err
    assert err[-1] == 'Disconnected (code: 1000, reason: "")'


def test_execute_waits_then_closes_with_1000(behaviour_server, env):
    key = uuid.uuid4().hex
    started = time.monotonic()
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/record?id={key}",
                   "-x", "hello", "--wait", "0.5")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 0.5
    assert done.stdout.startswith("> hello\n")
    assert reported_close(behaviour_server, key)["code"] == 1000


def test_binary_is_sent_and_shown_as_hex(behaviour_server, env):
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/echo",
                   "--binary", "-x", "hi\u00ff", "-x", "", "-n", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "> [binary 4 bytes] 6869c3bf", "> [binary 0 bytes]",
        "< [binary 4 bytes] 6869c3bf", "< [binary 0 bytes]"]


def test_piped_stdin_sends_each_line(behaviour_server, env):
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/echo", "-n", "3",
                   stdin="one\r\ntwo\n\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["> one", "> two", "> ", "< one", "< two", "< "]


def test_the_server_closing_ends_the_wait(behaviour_server, env):
    started = time.monotonic()
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/messages?n=3", "--wait", "60")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30  # not the 60 s of --wait
    assert done.stdout.splitlines() == ["< 0", "< 1", "< 2"]
    assert done.stderr.splitlines()[-1] == 'Disconnected (code: 1000, reason: "")'


def test_stdin_still_open_when_the_server_closes(behaviour_server, env):
    # `producer | pyws URL` where the server closes first: the thread reading stdin is
    # still blocked in a read when the process exits (no fatal error at shutdown).
    with subprocess.Popen(
            [sys.executable, "-m", "pyws", f"ws://127.0.0.1:{behaviour_server.port}/messages?n=1"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True) as proc:
        assert proc.stdin is not None
        proc.stdin.write("partial line, no newline")
        proc.stdin.flush()
        assert proc.wait(TIMEOUT) == 0  # stdin is still open: no EOF was seen
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdin.close()
    assert out == "< 0\n"
    assert err.splitlines()[-1] == 'Disconnected (code: 1000, reason: "")', err


def test_received_control_characters_are_not_sent_to_a_terminal_raw():
    from pyws._cli import format_message
    assert format_message("<", "a\x1b[2Jb\tc\nd", escape=True) == "< a\\x1b[2Jb\tc\nd"
    assert format_message("<", "a\x1b[2Jb", escape=False) == "< a\x1b[2Jb"
    assert format_message(">", b"\x00\xff") == "> [binary 2 bytes] 00ff"
    assert format_message(">", b"\x01") == "> [binary 1 byte] 01"


# -- the handshake: protocols, headers, origin -------------------------------------------


def test_the_server_selects_an_offered_protocol(behaviour_server, env):
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/echo?accept=chat",
                   "-p", "superchat", "--protocol", "chat", "--no-compression", "-x", "hi", "-n", "1")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0].endswith("(protocol: chat)")
    assert done.stdout.splitlines() == ["> hi", "< hi"]


def test_no_protocol_selected_fails_the_connection(behaviour_server, env):
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/echo?accept=", "-p", "chat", "-x", "hi")
    assert done.returncode == 1
    assert "selected no subprotocol" in done.stderr
    assert "Could not connect" in done.stderr
    assert done.stdout == ""


def test_headers_and_origin_reach_the_server(behaviour_server, env):
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/headers",
                   "-H", "Authorization: Bearer t0k3n", "--header", "X-Multi: a",
                   "-H", "x-multi:b", "--origin", "https://app.example")
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    assert line.startswith("< ")
    headers = json.loads(line[2:])
    assert headers["authorization"] == "Bearer t0k3n"
    assert headers["x-multi"] == "a, b"
    assert headers["origin"] == "https://app.example"
    assert headers["user-agent"].startswith("pyws/")


# -- how the connection ended: the exit status ------------------------------------------


def test_a_refused_connection_exits_1(refused_url, env):
    done = run_cli(env, refused_url, "-x", "hi")
    assert done.returncode == 1
    assert "ConnectionRefusedError" in done.stderr
    assert f"Could not connect to {refused_url} (code: 1006)" in done.stderr


def test_a_drop_without_close_frame_exits_1(behaviour_server, env):
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/drop")
    assert done.returncode == 1
    assert 'Disconnected (code: 1006, reason: "", not clean)' in done.stderr


def test_a_non_normal_close_code_exits_3(behaviour_server, env):
    done = run_cli(env, f"ws://127.0.0.1:{behaviour_server.port}/close?code=4001&reason=x")
    assert done.returncode == 3
    assert done.stderr.splitlines()[-1] == 'Disconnected (code: 4001, reason: "x")'


@pytest.mark.parametrize("args, message", [
    (["ws://exa mple/"], "SyntaxError: The URL"),
    (["ftp://example.com/"], "SyntaxError"),
    (["ws://127.0.0.1:9/", "-p", "chat", "-p", "chat"], "SyntaxError"),
    (["ws://127.0.0.1:9/", "-H", "no colon"], "--header wants 'NAME: VALUE'"),
    (["ws://127.0.0.1:9/", "--wait", "soon"], "not a number of seconds"),
    (["ws://127.0.0.1:9/", "--bogus"], "unrecognized arguments"),
])
def test_bad_usage_exits_2(env, args, message):
    done = run_cli(env, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_help_documents_the_exit_statuses(env):
    done = run_cli(env, "--help")
    assert done.returncode == 0
    assert "exit status:" in done.stdout and "130" in done.stdout


# -- TLS: verified by default, --insecure by explicit choice ----------------------------


@pytest.fixture(scope="module")
def self_signed_server() -> Iterator[int]:
    """A wss:// echo server on 127.0.0.1 whose certificate no trust store knows."""
    trustme = pytest.importorskip("trustme", reason="trustme is a test dependency (./build.sh setup)")
    with tls_echo_server(trustme.CA(), "127.0.0.1") as port:
        yield port


def test_wss_is_verified_by_default(self_signed_server, env):
    done = run_cli(env, f"wss://127.0.0.1:{self_signed_server}/", "-x", "hi")
    assert done.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in done.stderr
    assert "insecure" not in done.stderr


def test_insecure_skips_verification_and_says_so(self_signed_server, env):
    done = run_cli(env, f"wss://127.0.0.1:{self_signed_server}/", "--insecure", "-x", "hi", "-n", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["> hi", "< hi"]
    assert "warning: --insecure" in done.stderr.splitlines()[0]


# -- interactive mode, in a pseudo-terminal ---------------------------------------------


class Terminal:
    """``python -m pyws ARGS`` with a pseudo-terminal as its controlling terminal and as
    stdin, stdout and stderr (so Ctrl-C typed there sends SIGINT, as in a real one)."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        import fcntl
        import termios

        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))

        def child_setup() -> None:  # runs after setsid() (start_new_session)
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            _sigint_default()

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyws", *args], env=env, stdin=slave, stdout=slave,
            stderr=slave, start_new_session=True, preexec_fn=child_setup)
        os.close(slave)
        self.master = master
        self.output = b""
        self._seen = 0

    def expect(self, text: str, timeout: float = TIMEOUT) -> None:
        """Wait until ``text`` appears in the output after what was expected before."""
        needle = text.encode()
        deadline = time.monotonic() + timeout
        while (found := self.output.find(needle, self._seen)) < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(remaining):
                raise AssertionError(f"{text!r} not seen in the terminal: {self.output!r}")
        self._seen = found + len(needle)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True  # the deadline check decides
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed its side
            chunk = b""
        self.output += chunk
        return bool(chunk)

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        while self._read(max(0.0, deadline - time.monotonic())) and time.monotonic() < deadline:
            pass  # drain until the child closed the terminal
        return self.proc.wait(max(0.1, deadline - time.monotonic()))

    def modes(self) -> int:
        import termios
        return int(termios.tcgetattr(self.master)[3])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal(env: dict[str, str]) -> Iterator[type[Terminal]]:
    opened: list[Terminal] = []

    def start(*args: str) -> Terminal:
        term = Terminal(env, *args)
        opened.append(term)
        return term

    yield start  # type: ignore[misc]
    for term in opened:
        term.close()


def _terminal_restored(term: Terminal) -> bool:
    import termios
    modes = term.modes()
    return bool(modes & termios.ECHO and modes & termios.ICANON)


def test_interactive_line_then_ctrl_d_closes_with_1000(behaviour_server, terminal, tmp_path):
    key = uuid.uuid4().hex
    term = terminal(f"ws://127.0.0.1:{behaviour_server.port}/record?id={key}")
    term.expect("Connected to ")
    term.expect("> ")
    term.type(b"hello there\r")
    term.expect("< hello there")
    term.type(b"\x04")  # Ctrl-D on an empty line
    term.expect('Disconnected (code: 1000, reason: "")')
    assert term.wait() == 0
    assert reported_close(behaviour_server, key)["code"] == 1000
    assert "hello there" in (tmp_path / ".pyws_history").read_text()
    assert _terminal_restored(term)


def test_interactive_ctrl_c_closes_with_1000_and_exits_0(behaviour_server, terminal):
    key = uuid.uuid4().hex
    term = terminal(f"ws://127.0.0.1:{behaviour_server.port}/record?id={key}")
    term.expect("> ")
    term.type(b"first\r")
    term.expect("< first")
    term.type(b"half-typed")
    term.expect("half-typed")
    term.type(b"\x03")  # Ctrl-C: the terminal sends SIGINT
    term.expect('Disconnected (code: 1000, reason: "")')
    assert term.wait() == 0
    assert reported_close(behaviour_server, key)["code"] == 1000
    assert _terminal_restored(term)


def test_interactive_server_close_ends_the_session(behaviour_server, terminal):
    term = terminal(f"ws://127.0.0.1:{behaviour_server.port}/messages?n=2")
    term.expect("< 0")
    term.expect("< 1")
    term.expect('Disconnected (code: 1000, reason: "")')
    assert term.wait() == 0
    assert _terminal_restored(term)  # although readline was still reading a line


def test_interactive_binary(behaviour_server, terminal):
    term = terminal(f"ws://127.0.0.1:{behaviour_server.port}/echo", "--binary", "-n", "1")
    term.expect("> ")
    term.type(b"ab\r")
    term.expect("< [binary 2 bytes] 6162")
    term.expect("Disconnected (code: 1000")
    assert term.wait() == 0


def test_ctrl_c_while_connecting_exits_130(terminal):
    import socket
    with socket.socket() as listener:  # accepts TCP, never answers the handshake
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(TIMEOUT)
        term = terminal(f"ws://127.0.0.1:{listener.getsockname()[1]}/")
        connection, _ = listener.accept()  # the client is CONNECTING now
        with connection:
            term.type(b"\x03")
            term.expect("Interrupted while connecting to ")
            assert term.wait() == 130
    assert b"pyws: WebSocket connection" not in term.output  # no noise about close()


def test_a_second_ctrl_c_quits_without_waiting_for_the_server(behaviour_server, terminal):
    key = uuid.uuid4().hex  # /stall: the server stops reading, so never sees our close
    term = terminal(f"ws://127.0.0.1:{behaviour_server.port}/stall?id={key}")
    term.expect("> ")
    term.type(b"\x03")
    term.expect("Ctrl-C to quit now")
    started = time.monotonic()
    term.type(b"\x03")
    term.expect("Interrupted: not waiting for the server any more")
    assert term.wait() == 130
    assert time.monotonic() - started < 3  # neither the close timeout nor pyws's own wait
    assert _terminal_restored(term)


def test_a_closed_stdout_closes_the_connection_quietly(behaviour_server, env):
    # `pyws URL -x ... | head -1`: the reader goes away after one line.
    with subprocess.Popen(
            [sys.executable, "-m", "pyws", f"ws://127.0.0.1:{behaviour_server.port}/echo",
             "-x", "first", "-x", "x" * 100_000, "-n", "2"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == b"> first\n"
        proc.stdout.close()  # the next line (100 kB, more than a pipe holds): EPIPE
        err = proc.stderr.read().decode()
        assert proc.wait(TIMEOUT) == 0, err
    assert "Traceback" not in err and "Error" not in err, err
    assert err.splitlines()[-1] == 'Disconnected (code: 1000, reason: "")'
