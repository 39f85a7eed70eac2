"""The command-line client: ``python -m pyws URL`` (or the ``pyws`` console script).

In the spirit of wscat and websocat, on pyws's own ``WebSocket`` (the browser's callback
API) inside ``asyncio.run``. Three ways to drive it:

- **interactive** (stdin and stdout are terminals, no ``--execute``): a ``> `` prompt
  with readline editing and history (``~/.pyws_history``); each line is sent as one
  message; received messages are printed as ``< ...`` above the prompt. Ctrl-D or Ctrl-C
  closes with 1000 and waits (bounded) for the server's close frame.
- **line mode** (stdin is a pipe or a file): each line of stdin is sent as one message
  and echoed as ``> ...``; at the end of stdin, replies are awaited for ``--wait``
  seconds (or until ``--count`` messages arrived, or the server closes), then the
  client closes with 1000.
- **execute** (``--execute MESSAGE``, repeatable): the messages are sent once the
  connection is open, then as in line mode after the end of stdin.

stdout carries the messages (``> `` sent, ``< `` received; binary as
``[binary N bytes] <hex>``); stderr carries the rest (``Connected (...)``,
``Disconnected (...)``, warnings). The exit status says how the connection ended (see
``EXIT_STATUSES``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any, TextIO

from . import CloseEvent, DOMException, Event, MessageEvent, ReadyState, WebSocket, __version__
from ._redact import redact_url

__all__ = ["main"]

EXIT_OK = 0  # closed cleanly with 1000 (normal closure) or 1005 (no status code)
EXIT_FAILED = 1  # the connection failed (error event) or was lost (1006)
EXIT_USAGE = 2  # bad command line: options, URL, protocols, headers
EXIT_ABNORMAL = 3  # closed with another code (e.g. 1001, 1011, 4xxx) or not cleanly
EXIT_INTERRUPTED = 130  # Ctrl-C while connecting, or while closing (a second Ctrl-C)

EXIT_STATUSES = f"""\
exit status:
  {EXIT_OK}    the connection closed cleanly with code 1000 (normal) or 1005 (no code),
       whoever closed it (server, end of --wait or --count, Ctrl-D, Ctrl-C)
  {EXIT_FAILED}    the connection failed (could not connect, handshake refused, TLS error,
       protocol error: an error event) or was lost without a close frame (1006)
  {EXIT_USAGE}    bad usage: unknown option, invalid URL or protocols (names the DOM error)
  {EXIT_ABNORMAL}    the connection closed with another code (1001, 1011, 4xxx, ...) or not
       cleanly
  {EXIT_INTERRUPTED}  Ctrl-C before the connection was open, or while waiting for the server's
       close frame (e.g. a second Ctrl-C)
"""

DESCRIPTION = """\
A WebSocket client for the terminal and for scripts, on pyws (the browser's
WebSocket API). Messages go to stdout, marked '> ' (sent) and '< ' (received),
binary ones as '[binary N bytes] <hex>'; connection status goes to stderr.

Interactive when stdin and stdout are terminals: a '> ' prompt with line
editing and history (~/.pyws_history); Ctrl-D or Ctrl-C closes with 1000.
Otherwise each line of stdin is one message; at its end, replies are awaited
for --wait seconds, then the client closes with 1000.
"""

EXAMPLES = """\
examples:
  pyws wss://echo.example/                          interactive session
  pyws ws://localhost:8080 -x hello -n 1            send, print the reply, exit
  pyws ws://localhost:8080 -p chat -H "Authorization: Bearer T" < messages.txt
"""

PROMPT = "> "
SENT = ">"
RECEIVED = "<"
#: Seconds the client waits for the server's close frame after closing (then 1006).
CLOSE_TIMEOUT = 5.0
#: Seconds after closing before saying that the server is slow to answer.
SLOW_CLOSE_HINT = 1.0
#: At exit, the longest wait for the input thread to finish setting the terminal up.
SETTLE_TIMEOUT = 1.0
HISTORY_FILE = "~/.pyws_history"
HISTORY_LENGTH = 1000

_logger = logging.getLogger("pyws")


# -- the command line ----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyws",
        description=DESCRIPTION,
        epilog=EXIT_STATUSES + "\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", help="ws://, wss://, http:// (-> ws) or https:// (-> wss) URL")
    parser.add_argument("-p", "--protocol", action="append", default=[], metavar="PROTOCOL",
                        help="offer a subprotocol (repeatable; the server must select one)")
    parser.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="extra handshake header (repeatable; a repeated name joins "
                        "its values with ', ')")
    parser.add_argument("-o", "--origin", help="the Origin header (none is sent by default)")
    parser.add_argument("-x", "--execute", action="append", default=[], metavar="MESSAGE",
                        help="send MESSAGE once connected (repeatable), wait for replies "
                        "(--wait, --count), close, exit; stdin is not read")
    parser.add_argument("-w", "--wait", type=_seconds, default=2.0, metavar="SECONDS",
                        help="after --execute or the end of piped stdin, wait this long for "
                        "replies before closing (default: 2)")
    parser.add_argument("-n", "--count", type=_positive_int, metavar="N",
                        help="close once N messages were received")
    parser.add_argument("-b", "--binary", action="store_true",
                        help="send each line (or --execute message) as a binary message "
                        "(its UTF-8 bytes); received binary is always shown as hex")
    parser.add_argument("-k", "--insecure", action="store_true",
                        help="wss://: do NOT verify the server's certificate or host name "
                        "(a warning is printed); verified by default")
    parser.add_argument("--open-timeout", type=_seconds, default=30.0, metavar="SECONDS",
                        help="limit for connecting and the opening handshake (default: 30)")
    parser.add_argument("--no-compression", action="store_true",
                        help="do not offer permessage-deflate")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more details to stderr")
    parser.add_argument("-V", "--version", action="version", version=f"pyws {__version__}")
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return value


def _headers(parser: argparse.ArgumentParser, values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    names: dict[str, str] = {}  # lower-case name -> the spelling first used
    for item in values:
        name, sep, value = item.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name or any(c.isspace() or not c.isprintable() for c in name):
            # Never the value: it is often a secret (Authorization, Cookie).
            shown = f"the name {name!r}" if sep and name else "no ':' after a name"
            parser.error(f"--header wants 'NAME: VALUE', got {shown}")
        key = names.setdefault(name.lower(), name)
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _insecure_context() -> ssl.SSLContext:
    from ._cpython import _tls

    _tls.unverified_warning_given()  # the command line says it itself (main())
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# -- output ---------------------------------------------------------------------------


def _printable(text: str) -> str:
    """``text`` with control characters (but newline and tab) escaped, so a server
    cannot drive the terminal."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c in "\n\t" or not _is_control(c)
        else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0


def format_message(marker: str, data: str | bytes, escape: bool = False) -> str:
    """One message as printed: ``< text`` or ``< [binary N bytes] 00ff...``."""
    if isinstance(data, str):
        return f"{marker} {_printable(data) if escape else data}"
    size = len(data)
    line = f"{marker} [binary {size} byte{'' if size == 1 else 's'}]"
    return f"{line} {data.hex()}" if data else line


class _Console:
    """stdout for messages, stderr for status; in interactive mode, lines printed while
    the prompt is shown go above it and the prompt (with what was typed) is redrawn."""

    def __init__(self, readline: ModuleType | None) -> None:
        self.readline = readline  # set in interactive mode only
        self.prompting = False  # the input thread is inside input() (readline set up)
        self.finished = False  # no prompt will be redrawn any more
        self.reader_done = False  # the input thread ended (or never started)
        self.reader_state = threading.Condition()
        self.escape = _isatty(sys.stdout)
        self.on_broken_stdout: Callable[[], None] = lambda: None
        self._broken = False
        self._lock = threading.Lock()

    def message(self, line: str) -> None:
        self._write(sys.stdout, line)

    def status(self, line: str) -> None:
        self._write(sys.stderr, line)

    def _write(self, stream: TextIO, line: str) -> None:
        with self._lock:
            if self._broken and stream is sys.stdout:
                return
            try:
                above_prompt = self.readline is not None and self.prompting
                if above_prompt:
                    sys.stdout.write("\r\x1b[K")
                    sys.stdout.flush()
                stream.write(line + "\n")
                stream.flush()
                if above_prompt and not self.finished and self.readline is not None:
                    sys.stdout.write(PROMPT + self.readline.get_line_buffer())
                    sys.stdout.flush()
            except (BrokenPipeError, ValueError):  # e.g. `pyws URL | head -1`
                if stream is not sys.stdout or self._broken:
                    return
                self._broken = True
                _discard_stdout()
                self.on_broken_stdout()

    def reading(self, active: bool) -> None:
        """The input thread entered readline (its terminal modes are set) or left it."""
        with self.reader_state:
            self.prompting = active
            self.reader_state.notify_all()

    def reader_ended(self) -> None:
        with self.reader_state:
            self.reader_done = True
            self.reader_state.notify_all()

    def settle(self, timeout: float) -> None:
        """Wait until the input thread is inside readline or gone, so that restoring the
        terminal's modes afterwards is final (readline changes them when it starts)."""
        with self.reader_state:
            self.reader_state.wait_for(lambda: self.prompting or self.reader_done, timeout)

    def prompt(self) -> None:
        """Show the prompt (only without readline: input() shows it otherwise)."""
        with self._lock:
            sys.stdout.write(PROMPT)
            sys.stdout.flush()
        self.reading(True)

    def end_of_input(self) -> None:
        """Ctrl-D at the prompt: end the prompt's line."""
        with self._lock:
            sys.stdout.write("\n")
            sys.stdout.flush()


def _stdin_fd() -> int | None:
    try:
        return sys.stdin.fileno() if sys.stdin is not None else None
    except (AttributeError, ValueError, OSError):
        return None


def _raw_lines(fd: int | None, prompt: Callable[[], None]) -> Iterator[bytes | None]:
    """The lines read from ``fd`` (without "\\n" or "\\r\\n"), then None at its end."""
    pending = b""
    while fd is not None:
        prompt()
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            _logger.debug("pyws: reading stdin failed", exc_info=True)
            chunk = b""
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            yield line[:-1] if line.endswith(b"\r") else line
    if pending:
        yield pending
    yield None


def _discard_stdout() -> None:
    """stdout's reader went away: send what is left (and Python's final flush) nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


# -- the session -------------------------------------------------------------------------


class _Session:
    """One connection, driven by the socket's events, stdin and Ctrl-C."""

    def __init__(self, args: argparse.Namespace, ws: WebSocket, console: _Console,
                 interactive: bool, cleanup: Callable[[], None]) -> None:
        self.args = args
        self.cleanup = cleanup
        self.ws = ws
        self.console = console
        self.interactive = interactive
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[int] = self.loop.create_future()
        self.stop_input = threading.Event()
        self.opened = False
        self.failed = False
        self.interrupts = 0
        self.received = 0
        self.pending: list[str | bytes] = []  # lines read before the connection opened
        self.end_of_input = False
        self.timer: asyncio.TimerHandle | None = None
        self.hint: asyncio.TimerHandle | None = None
        ws.binaryType = "arraybuffer"
        ws.onopen = self.on_open
        ws.onmessage = self.on_message
        ws.onerror = self.on_error
        ws.onclose = self.on_close
        console.on_broken_stdout = self.on_broken_stdout

    # socket events

    def on_open(self, event: Event) -> None:
        self.opened = True
        details = [f"{name}: {value}" for name, value in
                   (("protocol", self.ws.protocol), ("extensions", self.ws.extensions)) if value]
        self.console.status(f"Connected to {redact_url(self.ws.url)}" + (f" ({', '.join(details)})" if details else ""))
        if self.args.execute:
            for message in self.args.execute:
                self.send(message.encode("utf-8") if self.args.binary else message)
            self.wait_then_close()
        elif self.interactive:
            self.console.reader_done = False
            self.start_thread(self.read_terminal)
        else:
            pending, self.pending = self.pending, []
            for line in pending:
                self.send(line)
            if self.end_of_input:
                self.wait_then_close()

    def on_message(self, event: MessageEvent) -> None:
        self.console.message(format_message(RECEIVED, event.data, self.console.escape))
        self.received += 1
        if self.args.count is not None and self.received >= self.args.count:
            self.close()

    def on_error(self, event: Event) -> None:
        self.failed = True

    def on_close(self, event: CloseEvent) -> None:
        self.stop_input.set()
        for timer in (self.timer, self.hint):
            if timer is not None:
                timer.cancel()
        self.console.finished = True
        if self.interrupts and not self.opened:
            self.console.status(f"Interrupted while connecting to {redact_url(self.ws.url)}")
        elif self.opened:
            reason = json.dumps(event.reason, ensure_ascii=False)
            self.console.status(f"Disconnected (code: {event.code}, reason: {reason}"
                                f"{'' if event.wasClean else ', not clean'})")
        else:
            self.console.status(f"Could not connect to {redact_url(self.ws.url)} (code: {event.code})")
        if not self.done.done():
            self.done.set_result(self.exit_status(event))

    def exit_status(self, event: CloseEvent) -> int:
        if self.interrupts and not self.opened:
            return EXIT_INTERRUPTED
        if self.failed or event.code == 1006:
            return EXIT_FAILED
        if event.wasClean and event.code in (1000, 1005):
            return EXIT_OK
        return EXIT_ABNORMAL

    # what the user does

    def send(self, data: str | bytes) -> None:
        if self.ws.readyState is not ReadyState.OPEN:
            return
        if self.args.binary and isinstance(data, str):
            data = data.encode("utf-8")
        self.ws.send(data)
        if not self.interactive:  # at the prompt, the typed line already shows it
            self.console.message(format_message(SENT, data, self.console.escape))

    def on_line(self, line: str | bytes) -> None:
        state = self.ws.readyState
        if state is ReadyState.CONNECTING:
            self.pending.append(line)
        elif state is ReadyState.OPEN:
            self.send(line)

    def on_end_of_input(self) -> None:
        if self.interactive:  # Ctrl-D: close now
            self.console.end_of_input()
            self.close()
            return
        self.end_of_input = True
        if self.ws.readyState is ReadyState.OPEN:
            self.wait_then_close()

    def on_interrupt(self) -> None:
        self.interrupts += 1
        state = self.ws.readyState
        if state is ReadyState.CONNECTING:
            _QUIET.active = True  # the user knows why the connection failed
            self.ws.close()  # fails the connection: error, then close 1006
        elif self.interrupts == 1 and state is ReadyState.OPEN:
            if self.interactive:
                self.console.end_of_input()
            self.close()
        elif not self.done.done():
            # A second Ctrl-C while the server does not answer the close: leave now,
            # without the wait for open sockets at the end of asyncio.run.
            self.console.finished = True
            self.console.status("Interrupted: not waiting for the server any more")
            self.cleanup()
            os._exit(EXIT_INTERRUPTED)

    def on_broken_stdout(self) -> None:
        self.stop_input.set()
        self.close()

    def wait_then_close(self) -> None:
        if self.timer is None:
            self.timer = self.loop.call_later(self.args.wait, self.close)

    def close(self) -> None:
        if self.ws.readyState is ReadyState.OPEN:
            self.ws.close(1000)
            self.hint = self.loop.call_later(
                SLOW_CLOSE_HINT, self.console.status,
                f"Closing: waiting up to {CLOSE_TIMEOUT:g} s for the server (Ctrl-C to quit now)")

    # stdin, in a daemon thread (a blocking read cannot be cancelled; the process exits
    # without waiting for it)

    def start_thread(self, target: Callable[[], None]) -> None:
        threading.Thread(target=target, name="pyws-stdin", daemon=True).start()

    def deliver(self, callback: Callable[..., None], *args: Any) -> bool:
        if self.stop_input.is_set():
            return False
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the session is over
            return False
        return True

    def read_terminal(self) -> None:
        """Interactive mode: readline's ``input()``. (Without readline, ``input()`` would
        read through ``sys.stdin``'s buffer, whose lock a blocked daemon thread holds at
        interpreter shutdown, a fatal error: read the file descriptor instead.)"""
        console = self.console
        if console.readline is None:
            try:
                self.read_lines(prompt=True)
            finally:
                console.reader_ended()
            return
        try:
            while not self.stop_input.is_set():
                # readline's startup hook calls console.reading(True) once it has set
                # the terminal up.
                try:
                    line = input(PROMPT)
                except EOFError:
                    self.deliver(self.on_end_of_input)
                    return
                except Exception:  # stdin went away
                    _logger.debug("pyws: reading the terminal failed", exc_info=True)
                    self.deliver(self.on_end_of_input)
                    return
                finally:
                    console.reading(False)
                if not self.deliver(self.on_line, line):
                    return
        finally:
            console.reader_ended()

    def read_lines(self, prompt: bool = False) -> None:
        """Line mode: each line of stdin (without its line ending) is a message. Reads
        the file descriptor with ``os.read``, never ``sys.stdin``: this thread may still
        be blocked in a read when the process exits."""
        for raw in _raw_lines(_stdin_fd(), prompt=lambda: self.console.prompt() if prompt else None):
            if raw is None:
                self.deliver(self.on_end_of_input)
                return
            line: str | bytes = raw if self.args.binary else raw.decode("utf-8", "replace")
            if not self.deliver(self.on_line, line):
                return


async def _run(args: argparse.Namespace, options: dict[str, Any], console: _Console,
               interactive: bool, cleanup: Callable[[], None]) -> int:
    try:
        ws = WebSocket(args.url, args.protocol or None, **options)
    except (DOMException, ValueError, TypeError) as exc:  # e.g. a bad --origin or --header
        _error(f"invalid arguments: {exc}")
        return EXIT_USAGE
    session = _Session(args, ws, console, interactive, cleanup)
    restore_sigint = _handle_sigint(session.on_interrupt)
    try:
        if not args.execute and not interactive:
            session.start_thread(session.read_lines)
        return await session.done
    finally:
        session.stop_input.set()
        restore_sigint()


def _handle_sigint(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on the loop for each Ctrl-C; returns the undo function."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # e.g. a background job
        return lambda: None
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, not the main thread
        try:
            previous = signal.signal(signal.SIGINT,
                                     lambda signum, frame: loop.call_soon_threadsafe(callback))
        except ValueError:  # not the main thread: Ctrl-C stays KeyboardInterrupt
            return lambda: None

        def restore_handler() -> None:
            signal.signal(signal.SIGINT, previous)

        return restore_handler

    def remove_handler() -> None:
        loop.remove_signal_handler(signal.SIGINT)

    return remove_handler


# -- interactive terminal ---------------------------------------------------------------


def _setup_readline() -> ModuleType | None:
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline: plain input()
        return None
    path = os.path.expanduser(HISTORY_FILE)
    try:
        readline.read_history_file(path)
    except (OSError, UnicodeDecodeError):
        pass
    readline.set_history_length(HISTORY_LENGTH)
    return readline


def _save_history(readline: ModuleType) -> None:
    try:
        readline.write_history_file(os.path.expanduser(HISTORY_FILE))
    except OSError:
        pass


def _terminal_state() -> Callable[[], None]:
    """Save stdin's terminal modes; the returned function restores them (readline may
    still be inside a read when the session ends)."""
    try:
        import termios
    except ImportError:
        return lambda: None
    fd = sys.stdin.fileno()
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:
        return lambda: None

    def restore() -> None:
        try:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        except termios.error:
            pass

    return restore


# -- main -------------------------------------------------------------------------------


def _error(message: str) -> None:
    print(f"pyws: {message}", file=sys.stderr, flush=True)


class _Quiet(logging.Filter):
    """Drops pyws's log records once the user interrupted the connection attempt."""

    active = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.active


_QUIET = _Quiet()


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if text.startswith("pyws: ") else f"pyws: {text}"


def _setup_logging(verbose: bool) -> Callable[[], None]:
    """pyws's records to stderr, as "pyws: ..." lines; returns what undoes it (main() may
    run inside another program, a test or a notebook)."""
    saved = (_logger.level, _logger.propagate, list(_logger.handlers), list(_logger.filters))
    _QUIET.active = False
    if _QUIET not in _logger.filters:
        _logger.addFilter(_QUIET)
    if not _logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Formatter())
        _logger.addHandler(handler)
        _logger.propagate = False
    _logger.setLevel(logging.DEBUG if verbose else logging.WARNING)

    def restore() -> None:
        level, propagate, handlers, filters = saved
        _logger.setLevel(level)
        _logger.propagate = propagate
        _logger.handlers[:] = handlers
        _logger.filters[:] = filters

    return restore


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command-line client; returns the exit status (see ``EXIT_STATUSES``)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        headers = _headers(parser, args.header)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    restore_logging = _setup_logging(args.verbose)
    options: dict[str, Any] = {
        "headers": headers or None,
        "origin": args.origin,
        "open_timeout": args.open_timeout,
        "close_timeout": CLOSE_TIMEOUT,
        "compression": None if args.no_compression else "deflate",
    }
    if args.insecure:
        _error("warning: --insecure: the server's TLS certificate and host name are NOT verified")
        options["ssl"] = _insecure_context()
    interactive = not args.execute and _isatty(sys.stdin) and _isatty(sys.stdout)
    readline = _setup_readline() if interactive else None
    restore_terminal = _terminal_state() if interactive else (lambda: None)
    console = _Console(readline)
    console.reader_done = True  # until the input thread starts
    if readline is not None:
        readline.set_startup_hook(lambda: console.reading(True))
    cleaned = False

    def cleanup() -> None:
        nonlocal cleaned
        if cleaned:
            return
        cleaned = True
        if interactive:
            console.settle(SETTLE_TIMEOUT)
            if console.prompting:  # readline is still reading: undo its terminal setup
                _write_quietly("\x1b[?2004l")  # bracketed paste off, if readline set it
            restore_terminal()
        if readline is not None:
            _save_history(readline)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass

    try:
        return asyncio.run(_run(args, options, console, interactive, cleanup))
    except KeyboardInterrupt:  # Ctrl-C outside the session's own handling
        return EXIT_INTERRUPTED
    finally:
        cleanup()
        restore_logging()


def _write_quietly(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
