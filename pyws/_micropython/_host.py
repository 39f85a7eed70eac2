"""The host's JavaScript WebSocket, as pyws under MicroPython reaches it.

Every ``import js`` / ``jsffi`` of the MicroPython facade is here. Two constraints of
MicroPython's JavaScript bridge (1.28, the webassembly port PyScript ships) shape it:

- A JavaScript exception thrown into a call from Python cannot be caught by Python: it
  unwinds through the interpreter and ends the whole script. So each call that can throw
  (the constructor, ``send()``, ``close()``) goes through a small JavaScript function that
  catches and returns the error's name and message; pyws raises its own exception.
- ``bytes`` reach JavaScript as an opaque proxy, and a ``Uint8Array`` reaches Python one
  element per call. Binary data crosses as hex text instead: one string copy each way,
  with ``binascii``'s native ``hexlify``/``unhexlify`` on the Python side.
- A ``str`` passed to JavaScript ends at its first NUL character. A string with a NUL (a
  text message, a URL, a protocol, a reason) crosses as ``[hex of its UTF-8]``, which the
  JavaScript side decodes (strings from JavaScript to Python keep their NULs).

The JavaScript side also wires the socket's four handlers to one Python callback with
plain values (no attribute reads through proxies per event) and drops them after
``close``. The helpers are built with ``Function``, which a Content-Security-Policy
without 'unsafe-eval' forbids (as for pyws's Pyodide backend).
"""

import binascii

import js as _js_module  # type: ignore[import-not-found,unused-ignore]
import jsffi  # type: ignore[import-not-found,unused-ignore]

from ._errors import from_dom_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

js: "Any" = _js_module  # the host's global scope (untyped; mypy knows Pyodide's js)

__all__ = ["open_socket", "send", "close", "to_hex"]

_HEX = """
const d = '0123456789abcdef', t = new Uint16Array(256);
for (let i = 0; i < 256; i++) t[i] = d.charCodeAt(i >> 4) | (d.charCodeAt(i & 15) << 8);
const toHex = (buffer) => {
  const a = new Uint8Array(buffer), out = new Uint16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = t[a[i]];
  return new TextDecoder().decode(out);
};
const fromHex = (s) => {
  const n = s.length >> 1, a = new Uint8Array(n), v = (c) => (c > 57 ? c - 87 : c - 48);
  for (let i = 0, j = 0; i < n; i++, j += 2) a[i] = (v(s.charCodeAt(j)) << 4) | v(s.charCodeAt(j + 1));
  return a;
};
const str = (v) => (v === null || typeof v === "string") ? v : new TextDecoder().decode(fromHex(v[0]));
const fail = (e) => [String(e && e.name), String(e && e.message)];
"""

# open(url, protocols, notify) -> [socket] or [null, name, message]. notify(kind, a, b, c):
# ("open", protocol, extensions), ("text", data, origin), ("binary", hex, origin),
# ("error"), ("close", code, reason, wasClean).
_OPEN = _HEX + """
let ws;
try { ws = new WebSocket(str(url), protocols.map(str)); } catch (e) { return [null].concat(fail(e)); }
ws.binaryType = "arraybuffer";
ws.onopen = () => notify("open", ws.protocol, ws.extensions, null);
ws.onmessage = (e) => typeof e.data === "string" ? notify("text", e.data, e.origin, null)
                                                 : notify("binary", toHex(e.data), e.origin, null);
ws.onerror = () => notify("error", null, null, null);
ws.onclose = (e) => {
  ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
  notify("close", e.code, e.reason, e.wasClean);
};
return [ws];
"""

# send(socket, text, hex) -> null or [name, message]: text if hex is null, else binary.
_SEND = _HEX + "try { ws.send(hex === null ? str(text) : fromHex(hex)); return null; } catch (e) { return fail(e); }"

# close(socket, code, reason) -> null or [name, message]; code null: a frame with no body.
_CLOSE = _HEX + """
try { if (code === null) ws.close(); else ws.close(code, str(reason)); return null; }
catch (e) { return fail(e); }
"""

_functions: "dict[str, Any]" = {}


def _function(name: str, params: "tuple[str, ...]", body: str) -> "Any":
    function = _functions.get(name)
    if function is None:
        function = _functions[name] = js.Function.new(*(params + (body,)))
    return function


def _raise(error: "Any") -> None:
    raise from_dom_name(str(error[0]), str(error[1]))


def open_socket(url: str, protocols: "list[str]", notify: "Callable[..., None]") -> "Any":
    """A new host WebSocket whose events go to ``notify``; raises the host's DOMException
    (SyntaxError for a bad URL or protocol list) as pyws's."""
    result = _function("open", ("url", "protocols", "notify"), _OPEN)(
        _js_text(url), jsffi.to_js([_js_text(p) for p in protocols]), jsffi.create_proxy(notify))
    if result[0] is None:
        _raise((result[1], result[2]))
    return result[0]


def send(socket: "Any", data: "str | bytes") -> None:
    """Hand a message to the host socket (str: text frame, bytes: binary frame)."""
    if isinstance(data, str):
        error = _function("send", ("ws", "text", "hex"), _SEND)(socket, _js_text(data), None)
    else:
        error = _function("send", ("ws", "text", "hex"), _SEND)(socket, None, to_hex(data))
    if error is not None:
        _raise(error)


def close(socket: "Any", code: "int | None", reason: str) -> None:
    """Start the host socket's closing handshake (or fail it while connecting)."""
    error = _function("close", ("ws", "code", "reason"), _CLOSE)(socket, code, _js_text(reason))
    if error is not None:
        _raise(error)


def _js_text(text: str) -> "Any":
    """``text`` for JavaScript: as is, or ``[hex of its UTF-8]`` if it has a NUL."""
    if "\x00" in text:
        return jsffi.to_js([to_hex(text.encode())])
    return text


def to_hex(data: bytes) -> str:
    return binascii.hexlify(data).decode()


def from_hex(text: str) -> bytes:
    return binascii.unhexlify(text)
