"""Pins every internal of websockets that pyws/_cpython/_websockets_shim.py relies on.

The shim overrides private methods of websockets' protocol (``recv_frame``, ``fail``,
``discard``, ``send_frame``), replaces its reader and reads private attributes. A websockets release that changes
one of them must fail here, with a message that says what broke, before any behaviour
test fails in a way that is hard to read. test_supported_websockets_releases runs this
file, test_browser_client.py and test_framing_bytes.py under the oldest and the newest websockets that
pyproject.toml allows.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import websockets
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame
from websockets.protocol import Protocol, State
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from pyws._cpython._websockets_shim import BrowserClientProtocol, ChunkReader, apply_mask

ROOT = Path(__file__).resolve().parents[2]


def source(function: object) -> str:
    return inspect.getsource(function)  # type: ignore[arg-type]


def new_protocol() -> BrowserClientProtocol:
    return BrowserClientProtocol(parse_uri("ws://example.com/"))


def test_parse_calls_recv_frame_and_fail_inside_its_except_clauses() -> None:
    """BrowserClientProtocol.fail() reads the exception being handled (sys.exc_info)."""
    parse = source(Protocol.parse)
    assert "self.recv_frame(frame)" in parse, "parse() no longer calls recv_frame()"
    assert re.search(r"except ProtocolError as exc:\s+self\.fail\(CloseCode\.PROTOCOL_ERROR", parse), \
        "parse() no longer calls fail() from its `except ProtocolError` clause"


def test_recv_frame_close_branch_is_what_the_override_reproduces() -> None:
    """The override replaces the close branch of recv_frame(): these are its steps."""
    recv_frame = source(Protocol.recv_frame)
    # Opcodes are spelled CLOSE or OP_CLOSE depending on the release.
    for step in (r"self\.close_rcvd = Close\.parse\(frame\.data\)",
                 r"self\.close_rcvd_then_sent = False",
                 r"self\.send_frame\(Frame\((OP_)?CLOSE, frame\.data\)\)",
                 r"self\.close_sent = self\.close_rcvd\n",
                 r"self\.close_rcvd_then_sent = True",
                 r"self\.state = CLOSING",
                 r"self\.parser = self\.discard\(\)",
                 r"next\(self\.parser\)",
                 r"self\.events\.append\(frame\)",
                 r"self\.send_frame\(pong_frame\)"):
        assert re.search(step, recv_frame), f"recv_frame() changed: {step!r} is gone"


def test_fail_and_discard_work_as_the_overrides_assume() -> None:
    assert "self.parser = self.discard()" in source(Protocol.fail)
    assert inspect.isgeneratorfunction(Protocol.discard)
    assert "self.reader.discard()" in source(Protocol.discard), \
        "discard() no longer empties the buffer through reader.discard()"


def test_private_state_the_shim_reads_and_writes() -> None:
    protocol = new_protocol()
    assert isinstance(protocol.reader.buffer, bytearray)
    assert callable(protocol.reader.discard)
    for name in ("close_rcvd", "close_sent", "close_rcvd_then_sent", "events", "parser",
                 "handshake_exc", "parser_exc"):
        assert hasattr(protocol, name), f"websockets' protocol has no attribute {name!r}"
    for name in ("send_frame", "send_pong", "close_expected"):
        assert callable(getattr(protocol, name)), f"websockets' protocol has no method {name!r}"
    assert protocol.state is State.CONNECTING


def test_fragmented_message_size_attribute_matches_the_release() -> None:
    """The size of the message being received: ``cur_size`` until 15, ``current_size`` since 16."""
    protocol = new_protocol()
    major = int(websockets.version.version.split(".")[0])
    expected = "current_size" if major >= 16 else "cur_size"
    assert hasattr(protocol, expected), f"websockets {websockets.version.version}: no {expected}"
    assert expected in source(Protocol.recv_frame)


def test_deflate_factory_hooks() -> None:
    parameters = inspect.signature(ClientPerMessageDeflateFactory.process_response_params).parameters
    assert list(parameters) == ["self", "params", "accepted_extensions"]
    assert "client_max_window_bits" in inspect.signature(ClientPerMessageDeflateFactory).parameters


def test_the_reader_and_the_writer_the_shim_replaces() -> None:
    """ChunkReader replaces the StreamReader that Protocol.__init__ makes (the parser is
    started again on it), so every reader method websockets calls must be one of its own;
    send_frame() is reproduced with serialize_frame() in place of Frame.serialize()."""
    init = source(Protocol.__init__)
    assert re.search(r"self\.reader = StreamReader\(\)(.|\n)*self\.parser = self\.parse\(\)\s+"
                     r"next\(self\.parser\)", init), "Protocol.__init__ no longer makes its reader, then its parser"
    used = set(re.findall(r"self\.reader\.(\w+)", source(Protocol) + source(ClientProtocol)))
    assert used <= {"feed_data", "feed_eof", "eof", "at_eof", "read_exact", "read_line",
                    "read_to_eof", "discard"}, f"websockets reads its reader differently: {used}"
    # Each method that touches the buffer is ChunkReader's own (feed_eof() only sets eof).
    methods = {name for name, value in vars(StreamReader).items()
               if callable(value) and not name.startswith("__") and "self.buffer" in source(value)}
    assert methods >= {"feed_data", "read_exact", "at_eof", "discard", "read_line", "read_to_eof"}
    assert methods <= set(vars(ChunkReader)), f"StreamReader has methods ChunkReader lacks: {methods}"
    assert new_protocol().reader.__class__ is ChunkReader
    send_frame = source(Protocol.send_frame)
    for step in ('self.logger.debug("> %s", frame)', "self.writes.append(", "frame.serialize(",
                 "mask=self.side is CLIENT", "extensions=self.extensions"):
        assert step in send_frame, f"send_frame() changed: {step!r} is gone"
    serialize = source(Frame.serialize)
    for step in ("self.check()", "extension.encode(self)", "secrets.token_bytes(4)",
                 "apply_mask(self.data, mask_bytes)"):
        assert step in serialize, f"Frame.serialize() changed: {step!r} is gone"
    assert websockets.frames.apply_mask is apply_mask, "websockets masks with another function"


def test_client_protocol_is_what_the_shim_subclasses() -> None:
    assert issubclass(BrowserClientProtocol, ClientProtocol)
    for name in ("recv_frame", "fail", "discard"):
        assert name in vars(Protocol), f"websockets' Protocol.{name} moved or was removed"


# -- the supported range ------------------------------------------------------------------


def _allowed_range() -> str:
    with open(ROOT / "pyproject.toml", "rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    [spec] = [d.split(";")[0].strip() for d in dependencies if d.startswith("websockets")]
    return spec


def _oldest(spec: str) -> str:
    match = re.search(r">=\s*([\d.]+)", spec)
    assert match, spec
    return f"websockets=={match.group(1)}"


def _install(requirement: str) -> Path:
    """websockets installed alone into a cached directory (PyPI the first time)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pyws-websockets"
    target = cache / re.sub(r"[^\w.=<>,]", "_", requirement)
    if not (target / "websockets").is_dir():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--disable-pip-version-check", "--target", str(target), requirement],
                       check=True, capture_output=True)
    return target


@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_supported_websockets_releases(which: str) -> None:
    """The shim's pins and the sans-I/O client's tests under the release range's ends."""
    spec = _allowed_range()
    requirement = _oldest(spec) if which == "oldest" else spec
    target = _install(requirement)
    env = {**os.environ, "PYTHONPATH": str(target)}
    version = subprocess.run(
        [sys.executable, "-c", "import websockets; print(websockets.version.version)"],
        env=env, check=True, capture_output=True, text=True).stdout.strip()
    if which == "oldest":
        assert requirement.endswith("==" + version)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "-k", "not test_supported_websockets_releases",
         str(ROOT / "tests/unit/test_websockets_shim.py"),
         str(ROOT / "tests/unit/test_browser_client.py"),
         str(ROOT / "tests/unit/test_framing_bytes.py")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"websockets {version}:\n{result.stdout}\n{result.stderr}"
